#!/usr/bin/env bash
# The whole test suite: installs what the lab needs, then runs every Rust and
# Lua test of the workspace (apex and its lab) and builds the benchmarks. Lab
# services (dockerd, registries, sshd, HTTP servers) are started by the tests
# themselves on loopback; the labs they keep for each other between test
# binaries, and a lab engine they started, are stopped when this script ends,
# whether the tests passed or not. The tree is kept in rustfmt's style.
#
# What the tests leave on disk: their temporary files go to a directory of
# this run (TMPDIR), removed at the end. Their labs are kept, stopped, in one
# cache dir per checkout, $APEX_LAB_CACHE/<checkout>/ (default
# /var/tmp/apex-lab/cache/<checkout>/: deploy, vm, lab-tests), which the next
# run reuses; `apex lab down --purge --dir DIR` removes one, `rm -rf` of the
# cache dir all of them. Stopping a lab removes from the shared Docker engine
# the images named after its registries.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! cargo fmt --check >/dev/null; then
  cargo fmt --check | head -40 || true
  echo "tests/run.sh: the tree is not in rustfmt's style; run \`cargo fmt\`" >&2
  exit 1
fi
tests/lab/install.sh

# The lab appends `lab DIR` / `engine DIR` here for every lab dir the tests
# bring up and every lab engine they start (see lab/src/record.rs).
work=$(mktemp -d "${TMPDIR:-/tmp}/apex-run.XXXXXX")
export APEX_LAB_RECORD="$work/record"
# The tests' TMPDIR is like /tmp (world-writable, sticky) below a dir anyone
# may traverse: tests run commands as other users (nobody, libvirt's qemu)
# on files they make there.
mkdir "$work/tmp"
chmod 0755 "$work"
chmod 1777 "$work/tmp"

# Stops what the record names: each lab dir (registries, sshd and its
# connections, artifact server), then each engine the tests started. What is
# gone already is no error; this never changes the run's exit status.
stop_what_the_tests_left() {
  set +e
  local lab="${CARGO_TARGET_DIR:-target}/debug/apex-lab" kind dir
  if [ -s "$APEX_LAB_RECORD" ]; then
    if [ -x "$lab" ]; then
      for kind in lab engine; do
        sort -u "$APEX_LAB_RECORD" | while read -r k dir; do
          [ "$k" = "$kind" ] && [ -d "$dir" ] || continue
          if [ "$kind" = lab ]; then
            "$lab" down --dir "$dir" >/dev/null
          else
            APEX_LAB_DOCKER_DIR="$dir" "$lab" down --dir "$work/none" --engine >/dev/null
          fi || echo "tests/run.sh: could not stop the $kind in $dir" >&2
        done
      done
    else
      echo "tests/run.sh: $lab is missing; these stay running:" >&2
      sort -u "$APEX_LAB_RECORD" >&2
    fi
  fi
  rm -rf "$work"
}
trap stop_what_the_tests_left EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

TMPDIR="$work/tmp" cargo test --locked --workspace --lib --bins --tests "$@"
cargo bench --locked --workspace --no-run
