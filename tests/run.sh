#!/usr/bin/env bash
# The whole test suite: installs what the lab needs, then runs every Rust and
# Lua test. Lab services (dockerd, registries, sshd, HTTP servers) are started
# by the tests themselves on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
tests/lab/install.sh
cargo test --locked --lib --bins --tests "$@"
