#!/usr/bin/env bash
# The stand-in commands of an apex lab overcloud node (one script, one
# symlink per command name, first on the node's PATH): each call appends its
# argv as one JSON line to the node's calls file and touches nothing of this
# machine. `sudo` runs the rest of its argv only when that is a stand-in too
# (so nothing real runs as root); `tail` prints the node's messages file,
# `hiera` an address, `pgrep` finds nothing. While the node's fail file
# exists, a call whose "name args" starts with its text fails with output.
NODE_DIR=$(cd "$(dirname "$0")/.." && pwd)
name=${0##*/}

@JSON_STRING@

line="[$(json_string "$name")"
for a in "$@"; do line+=",$(json_string "$a")"; done
printf '%s]\n' "$line" >> "$NODE_DIR/calls.jsonl"

if [[ -f $NODE_DIR/fail ]]; then
  want=$(cat "$NODE_DIR/fail")
  if [[ -n $want && "$name $*" == "$want"* ]]; then
    echo "lab node ${NODE_DIR##*/}: $name failing on request ($want)" >&2
    exit 1
  fi
fi

case "$name" in
  sudo)
    [[ ${1:-} == -n ]] && shift
    if [[ ! -x $NODE_DIR/bin/${1:-none} ]]; then
      echo "lab node: sudo ${1:-}: not a stand-in command of the lab node" >&2
      exit 127
    fi
    exec "$NODE_DIR/bin/$1" "${@:2}"
    ;;
  tail) cat "$NODE_DIR/messages" ;;
  hiera) echo "192.0.2.7" ;;
  pgrep) exit 1 ;;
esac
exit 0
