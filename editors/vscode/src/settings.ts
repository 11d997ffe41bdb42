// VS Code settings (codeEvolver.*) → the server's configuration shape (backends, roles, editor,
// memory), sent as initializationOptions and on every change. Only what the user set is sent, so
// the server's own files keep their say for everything else. Pure: unit-tested.

export interface FlatSettings {
  get<T>(key: string): T | undefined;
  /** Whether the user (or workspace) set the key, as opposed to its default. */
  isSet(key: string): boolean;
}

type Json = { [key: string]: unknown };

export function toServerSettings(s: FlatSettings): Json {
  const out: Json = {};
  const backends: Json = {};
  const endpoints = s.get<string[]>("backends.ollama.endpoints") ?? [];
  if (s.isSet("backends.ollama.endpoints") && endpoints.length > 0) {
    backends["ollama"] = { kind: "ollama", endpoints };
  }
  const openaiUrl = (s.get<string>("backends.openai.url") ?? "").trim();
  if (openaiUrl) {
    const openai: Json = { kind: "openai", url: openaiUrl, fallback: "embedded" };
    const key = (s.get<string>("backends.openai.apiKey") ?? "").trim();
    if (key) {
      openai["api_key"] = key;
    }
    backends["openai"] = openai;
  }
  if (Object.keys(backends).length > 0) {
    out["backends"] = backends;
  }
  const roles = s.get<Json>("roles") ?? {};
  if (Object.keys(roles).length > 0) {
    // "generator.fast" → roles.generator.fast, as in the config file.
    const nested: Json = {};
    for (const [name, value] of Object.entries(roles)) {
      const [head, tail] = name.split(".", 2);
      if (tail) {
        const group = (nested[head] as Json) ?? {};
        group[tail] = value;
        nested[head] = group;
      } else {
        nested[head] = value;
      }
    }
    out["roles"] = nested;
  }
  const editor: Json = {};
  if (s.isSet("diagnostics.linters")) {
    editor["diagnostics"] = s.get<string[]>("diagnostics.linters") ?? [];
  }
  if (s.isSet("diagnostics.delayMs")) {
    editor["lint_delay_ms"] = Math.max(0, Math.round(s.get<number>("diagnostics.delayMs") ?? 0));
  }
  if (s.isSet("optimize")) {
    editor["optimize"] = s.get<boolean>("optimize") ?? true;
  }
  if (Object.keys(editor).length > 0) {
    out["editor"] = editor;
  }
  const memory: Json = {};
  if (s.isSet("memory.store")) {
    memory["store"] = s.get<string>("memory.store");
  }
  const qdrant = (s.get<string>("memory.qdrantUrl") ?? "").trim();
  if (qdrant) {
    memory["qdrant_url"] = qdrant;
  }
  if (Object.keys(memory).length > 0) {
    out["memory"] = memory;
  }
  return out;
}
