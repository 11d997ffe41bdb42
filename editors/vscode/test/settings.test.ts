import { test } from "node:test";
import * as assert from "node:assert/strict";
import { toServerSettings } from "../src/settings";

function flat(values: Record<string, unknown>, set: string[] = Object.keys(values)) {
  return { get: <T>(k: string) => values[k] as T | undefined, isSet: (k: string) => set.includes(k) };
}

test("defaults send nothing, so the server's own configuration decides", () => {
  const defaults = {
    "backends.ollama.endpoints": [],
    "backends.openai.url": "",
    roles: {},
    "diagnostics.linters": ["ruff", "flake8", "pylint", "mypy"],
    "diagnostics.delayMs": 800,
    optimize: true,
    "memory.store": "embedded",
    "memory.qdrantUrl": "",
  };
  assert.deepEqual(toServerSettings(flat(defaults, [])), {});
});

test("settings map onto the config file's shape", () => {
  const values = {
    "backends.ollama.endpoints": ["http://gpu-1:11434", "http://gpu-2:11434"],
    "backends.openai.url": "http://10.0.0.5:8000/v1",
    "backends.openai.apiKey": "${VLLM_KEY}",
    roles: { "generator.fast": { backend: "ollama", model: "qwen2.5-coder:1.5b" }, overseer: { model: "llama3.2:3b" } },
    "diagnostics.linters": ["ruff"],
    "diagnostics.delayMs": 250.4,
    optimize: false,
    "memory.store": "qdrant",
    "memory.qdrantUrl": "http://localhost:6334",
  };
  assert.deepEqual(toServerSettings(flat(values)), {
    backends: {
      ollama: { kind: "ollama", endpoints: ["http://gpu-1:11434", "http://gpu-2:11434"] },
      openai: { kind: "openai", url: "http://10.0.0.5:8000/v1", fallback: "embedded", api_key: "${VLLM_KEY}" },
    },
    roles: { generator: { fast: { backend: "ollama", model: "qwen2.5-coder:1.5b" } }, overseer: { model: "llama3.2:3b" } },
    editor: { diagnostics: ["ruff"], lint_delay_ms: 250, optimize: false },
    memory: { store: "qdrant", qdrant_url: "http://localhost:6334" },
  });
});
