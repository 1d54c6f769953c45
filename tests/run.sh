#!/usr/bin/env bash
# The whole test suite: installs what the lab needs, then runs every Rust and
# Lua test. Lab services (dockerd, registries, sshd, HTTP servers) are started
# by the tests themselves on loopback. The tree is kept in rustfmt's style.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! cargo fmt --check >/dev/null; then
  cargo fmt --check | head -40 || true
  echo "tests/run.sh: the tree is not in rustfmt's style; run \`cargo fmt\`" >&2
  exit 1
fi
tests/lab/install.sh
cargo test --locked --lib --bins --tests "$@"
