#!/usr/bin/env bash
# Runs every test of code-evolver on a fresh machine: installs what the tests need (the Python
# venv with pytest and the linters, via `code-evolver setup`), then `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    echo "[test] installing python3-venv" >&2
    if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
    else sudo apt-get update -qq && sudo apt-get install -y -qq python3-venv >/dev/null; fi
fi

cargo build --quiet
cargo run --quiet -- setup
cargo test --no-fail-fast "$@"
