#!/usr/bin/env bash
# The `openstack` command of the apex lab undercloud: appends its argv as one
# JSON line to the calls file and fails, naming it, on any `-e` environment
# file that does not exist (relative paths resolve in the work dir, where a
# deploy uploads its env files). It deploys nothing.
CALLS=@CALLS@
WORK_DIR=@WORK_DIR@

json_string() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}
  s=${s//$'\t'/\\t}
  s=${s//$'\r'/\\r}
  printf '"%s"' "$s"
}

line="[$(json_string openstack)"
for a in "$@"; do line+=",$(json_string "$a")"; done
line+="]"
printf '%s\n' "$line" >> "$CALLS"

missing=()
expect_file=0
for a in "$@"; do
  file=""
  if ((expect_file)); then
    file=$a
    expect_file=0
  else
    case "$a" in
      -e | --environment-file) expect_file=1 ;;
      --environment-file=*) file=${a#--environment-file=} ;;
      -e?*) file=${a#-e} ;;
    esac
  fi
  [[ -z $file ]] && continue
  [[ $file != /* ]] && file="$WORK_DIR/$file"
  [[ -f $file ]] || missing+=("$file")
done
if ((expect_file)); then
  echo "openstack: -e needs an environment file" >&2
  exit 1
fi
if ((${#missing[@]})); then
  for m in "${missing[@]}"; do echo "openstack: environment file not found: $m" >&2; done
  exit 1
fi
if [[ "$1 $2 $3" == "overcloud deploy"* ]]; then
  echo "Overcloud Deployed (apex lab stand-in: nothing was deployed)"
fi
exit 0
