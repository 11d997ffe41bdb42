#!/usr/bin/env bash
# Installs what the VS Code end-to-end test needs, offline from the package registries:
# Debian's chromium, ripgrep and libkrb5-dev, and code-server 4.100.3 from npm into
# ~/.cache/code-evolver-test-tools/code-server. code-server's @vscode/ripgrep post-install wants
# to download rg; its download cache is pre-seeded with Debian's rg. Idempotent.
set -euo pipefail
tools="${XDG_CACHE_HOME:-$HOME/.cache}/code-evolver-test-tools"
dest="$tools/code-server"

missing=()
for pkg in libkrb5-dev ripgrep chromium; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "installing ${missing[*]} (apt)"
  $sudo apt-get install -y -q "${missing[@]}" >/dev/null || {
    echo "error: could not install ${missing[*]}: run 'sudo apt-get install ${missing[*]}'" >&2
    exit 1
  }
fi

if [ -x "$dest/node_modules/.bin/code-server" ]; then
  exit 0
fi
mkdir -p "$dest"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cache="$scratch/vscode-ripgrep-cache-1.15.11"
mkdir -p "$cache" "$scratch/rg"
cp "$(command -v rg)" "$scratch/rg/rg"
tar -C "$scratch/rg" -czf "$cache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" rg
echo "installing code-server 4.100.3 from npm into $dest (a few minutes)"
TMPDIR="$scratch" npm_config_unsafe_perm=true npm_config_nodedir=/usr npm_config_yes=true \
  npm install --prefix "$dest" --no-audit --no-fund --loglevel=error code-server@4.100.3
test -x "$dest/node_modules/.bin/code-server"
