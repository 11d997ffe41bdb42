#!/usr/bin/env bash
# The layer rule (docs/architecture.md): the engine (pipeline, llm, memory, sandbox, registry,
# analysis, config) imports neither adapter (cli, lsp), nor the installer (setup), nor test or
# bench code; the adapters never import each other; llm, memory and sandbox never import the
# pipeline. Fails with the offending lines.
set -euo pipefail
cd "$(dirname "$0")/.."
fail=0
forbid() { # folder, pattern, what it must not use
  local hits
  hits="$(grep -rnE "$2" "server/src/$1" --include='*.rs' || true)"
  if [ -n "$hits" ]; then
    echo "$hits"
    echo "layer rule: server/src/$1 must not use $3" >&2
    fail=1
  fi
}
for engine in pipeline llm memory sandbox registry analysis config python.rs; do
  forbid "$engine" 'crate::(cli|lsp|setup)\b' "an adapter, the installer or test code"
done
for lower in llm memory sandbox; do
  forbid "$lower" 'crate::pipeline\b' "the pipeline"
done
forbid lsp 'crate::cli\b' "the CLI"
forbid cli 'crate::lsp::' "the language server"
# Test and bench servers never ship: testkit is a dev-dependency only.
if sed -n '/^\[dependencies\]/,/^\[/p' Cargo.toml | grep -q '^testkit'; then
  echo "layer rule: testkit must stay a dev-dependency (Cargo.toml [dependencies] names it)" >&2
  fail=1
fi
if grep -rnE '\b(scripted_model|lsp_client|testkit)::' server/src --include='*.rs'; then
  echo "layer rule: the product must not use test servers (testkit)" >&2
  fail=1
fi
if [ "$fail" = 0 ]; then
  echo "layer rule: ok (engine imports no adapter; adapters do not import each other)"
fi
exit "$fail"
