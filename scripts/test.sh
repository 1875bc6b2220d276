#!/usr/bin/env bash
# Runs every test of the project: formatting and lints, the Rust workspace
# tests (unit, property, snapshot, end-to-end over stdio against the fake
# Responses server), and the real-editor tests. Installs what the editor
# tests need when it is missing (apt packages, npm packages, Neovim).
#
# Usage: scripts/test.sh [--rust-only]
set -euo pipefail
cd "$(dirname "$0")/.."

rust_only=0
[ "${1:-}" = "--rust-only" ] && rust_only=1

step() { printf '\n== %s ==\n' "$*"; }

# The wire-format test (tests/tests/wire_exact.rs) puts the official openai
# SDK in a virtual environment: Debian's python3 needs python3-venv for it.
if ! python3 -c 'import ensurepip' 2>/dev/null && [ "$(id -u)" = 0 ]; then
  step "apt-get install python3-venv (for the openai SDK wire-format test)"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo build (binaries used by end-to-end and editor tests)"
cargo build --workspace --bins --locked

step "cargo test"
cargo test --workspace --locked

if [ "$rust_only" = 1 ]; then
  exit 0
fi

status=0
for runner in tests/editors/*/run.sh; do
  [ -f "$runner" ] || continue
  step "editor tests: $runner"
  if ! bash "$runner"; then
    echo "FAILED: $runner"
    status=1
  fi
done
exit "$status"
