#!/usr/bin/env bash
# Runs the hostile-node suite (tests/hostile.rs) as an unprivileged user made for it, with copies
# of the test binary, the CLI and the payloads that user can read. Needs root (to make the user);
# the suite itself needs no pytest, so the system's python3 serves.
set -euo pipefail
cd "$(dirname "$0")/.."
user=ce-hostile
id "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$user"
cargo test --quiet --test hostile --no-run 2>/dev/null
target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
suite="$(ls -t "$target_dir"/debug/deps/hostile-* | grep -v '\.d$' | head -1)"
copy="$(mktemp -d /tmp/ce-hostile-XXXXXX)"
trap 'rm -rf "$copy"' EXIT
cp "$target_dir/debug/code-evolver" "$copy/code-evolver"
cp "$suite" "$copy/hostile"
cp -r tests/hostile "$copy/payloads"
chmod -R a+rX "$copy"
python="$(command -v python3.11 || command -v python3)"
case "$python" in /root/*) python=/usr/bin/python3 ;; esac
echo "hostile suite as $user (uid $(id -u "$user")), Python $python"
su "$user" -s /bin/bash -c "cd '$copy' && CE_TEST_BIN='$copy/code-evolver' CE_HOSTILE_DIR='$copy/payloads' CODE_EVOLVER_PYTHON='$python' ./hostile --test-threads=1"
