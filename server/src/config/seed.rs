//! Accepts the prototype's config shape (`ollama.base_url`, `ollama.models.*`) by translating it
//! into backends and roles; sections of the prototype with no meaning here are named in a warning.

use super::ConfigError;
use super::load::Layer;
use serde_yaml_ng::{Mapping, Value};

/// Prototype sections that have no counterpart; ignored with a warning instead of an error.
const IGNORED_SEED_SECTIONS: &[&str] = &[
    "quality_evaluation",
    "registry",
    "nodes",
    "rag_memory",
    "logging",
    "chat",
    "build",
    "llm",
    "optimization",
    "optimization_pressure",
    "fine_tuning",
    "git",
    "google",
];

fn s(text: &str) -> Value {
    Value::String(text.to_string())
}

fn get<'a>(map: &'a Mapping, key: &str) -> Option<&'a Value> {
    map.get(s(key))
}

pub(super) fn translate(layer: &mut Layer) -> Result<Vec<String>, ConfigError> {
    let mut warnings = Vec::new();
    let Value::Mapping(root) = &mut layer.value else {
        return Ok(warnings);
    };
    let invalid = |message: String, key: &[&str]| ConfigError::Invalid {
        source_name: layer.name.clone(),
        line: layer
            .text
            .as_deref()
            .and_then(|t| super::locate::line_of_key(t, &key.iter().map(|k| k.to_string()).collect::<Vec<_>>())),
        message,
    };

    let mut out_backends = Mapping::new();
    let mut out_roles = Mapping::new();
    if let Some(ollama) = root.remove(s("ollama")) {
        let Value::Mapping(ollama) = ollama else {
            return Err(invalid("`ollama` must be a mapping with `base_url` and `models`".into(), &["ollama"]));
        };
        let base_url = match get(&ollama, "base_url") {
            Some(Value::String(url)) => url.clone(),
            Some(_) => {
                return Err(invalid("`ollama.base_url` must be a URL string".into(), &["ollama", "base_url"]));
            }
            None => "http://127.0.0.1:11434".to_string(),
        };
        let mut backend = Mapping::new();
        backend.insert(s("kind"), s("ollama"));
        backend.insert(s("url"), s(&base_url));
        out_backends.insert(s("ollama"), Value::Mapping(backend));

        if let Some(models) = get(&ollama, "models") {
            let Value::Mapping(models) = models else {
                return Err(invalid("`ollama.models` must be a mapping".into(), &["ollama", "models"]));
            };
            // prototype key -> roles here
            let mapping: &[(&str, &[&str])] = &[
                ("triage", &["classifier"]),
                ("overseer", &["overseer"]),
                ("generator", &["generator.fast"]),
                ("escalation", &["escalation", "generator.powerful"]),
                ("evaluator", &["evaluator"]),
                ("embedding", &["embedding"]),
            ];
            for (seed_key, value) in models {
                let Some(seed_key) = seed_key.as_str() else {
                    continue;
                };
                let Some((_, roles)) = mapping.iter().find(|(k, _)| *k == seed_key) else {
                    warnings
                        .push(format!("{}: `ollama.models.{seed_key}` has no role here and is ignored", layer.name));
                    continue;
                };
                // The prototype's evaluator may be {writing, code, default}: code wins.
                let value = match (seed_key, value) {
                    ("evaluator", Value::Mapping(m)) if get(m, "model").is_none() => get(m, "code")
                        .or_else(|| get(m, "default"))
                        .or_else(|| m.values().next())
                        .cloned()
                        .unwrap_or(Value::Null),
                    _ => value.clone(),
                };
                let (model, endpoints) = match &value {
                    Value::String(model) => (model.clone(), None),
                    Value::Mapping(m) => {
                        let Some(Value::String(model)) = get(m, "model") else {
                            return Err(invalid(
                                format!("`ollama.models.{seed_key}.model` must name a model"),
                                &["ollama", "models", seed_key],
                            ));
                        };
                        let endpoints = match (get(m, "endpoints"), get(m, "endpoint")) {
                            (Some(Value::Sequence(list)), _) => Some(list.clone()),
                            (_, Some(Value::String(one))) => Some(vec![s(one)]),
                            (Some(_), _) | (_, Some(_)) => {
                                return Err(invalid(
                                    format!("`ollama.models.{seed_key}.endpoints` must be a list of URLs"),
                                    &["ollama", "models", seed_key],
                                ));
                            }
                            (None, None) => None,
                        };
                        (model.clone(), endpoints)
                    }
                    _ => {
                        return Err(invalid(
                            format!("`ollama.models.{seed_key}` must be a model name or a mapping with `model`"),
                            &["ollama", "models", seed_key],
                        ));
                    }
                };
                let backend_name = match endpoints {
                    Some(list) => {
                        let name = format!("ollama-{seed_key}");
                        let mut backend = Mapping::new();
                        backend.insert(s("kind"), s("ollama"));
                        backend.insert(s("endpoints"), Value::Sequence(list));
                        out_backends.insert(s(&name), Value::Mapping(backend));
                        name
                    }
                    None => "ollama".to_string(),
                };
                for role in roles.iter() {
                    let mut role_map = Mapping::new();
                    role_map.insert(s("backend"), s(&backend_name));
                    role_map.insert(s("model"), s(&model));
                    match role.split_once('.') {
                        Some((group, sub)) => {
                            let group = out_roles.entry(s(group)).or_insert_with(|| Value::Mapping(Mapping::new()));
                            if let Value::Mapping(group) = group {
                                group.insert(s(sub), Value::Mapping(role_map));
                            }
                        }
                        None => {
                            out_roles.insert(s(role), Value::Mapping(role_map));
                        }
                    }
                }
            }
        }
    }

    // The prototype's execution/testing limits map onto ours.
    if let Some(Value::Mapping(execution)) = root.remove(s("execution")) {
        let mut limits = Mapping::new();
        if let Some(ms) = get(&execution, "default_timeout_ms").and_then(Value::as_f64) {
            limits.insert(s("node_timeout_s"), Value::from(ms / 1000.0));
        }
        if let Some(mb) = get(&execution, "max_memory_mb").and_then(Value::as_u64) {
            limits.insert(s("node_memory_mb"), Value::from(mb));
        }
        merge_into(root, "limits", limits);
    }
    if let Some(Value::Mapping(testing)) = root.remove(s("testing")) {
        let mut pipeline = Mapping::new();
        if let Some(n) = get(&testing, "initial_optimization_iterations").and_then(Value::as_u64) {
            let mut optimize = Mapping::new();
            optimize.insert(s("iterations"), Value::from(n));
            pipeline.insert(s("optimize"), Value::Mapping(optimize));
        }
        merge_into(root, "pipeline", pipeline);
    }
    // The prototype's tools: `type` is our `kind`; keys with no counterpart are said, not fatal.
    if let Some(Value::Mapping(tools)) = root.get_mut(s("tools")) {
        for (name, tool) in tools.iter_mut() {
            let name = name.as_str().unwrap_or("?").to_string();
            let Value::Mapping(tool) = tool else { continue };
            if let Some(kind) = tool.remove(s("type")) {
                match kind.as_str() {
                    Some("llm" | "executable") => {
                        tool.entry(s("kind")).or_insert(kind);
                    }
                    other => {
                        return Err(invalid(
                            format!(
                                "`tools.{name}.type`: `{}` tools are not supported here (llm, executable)",
                                other.unwrap_or("?")
                            ),
                            &["tools", &name, "type"],
                        ));
                    }
                }
            }
            if let Some(Value::Mapping(llm)) = tool.get_mut(s("llm")) {
                // `tier` was the prototype's word for the role.
                if let Some(tier) = llm.remove(s("tier")) {
                    llm.entry(s("role")).or_insert(tier);
                }
                match llm.remove(s("endpoint")) {
                    None | Some(Value::Null) => {}
                    Some(url) => warnings.push(format!(
                        "{}: `tools.{name}.llm.endpoint` ({}) is not used: the tool runs on its role's backend (configure that backend's endpoints)",
                        layer.name,
                        url.as_str().unwrap_or("?")
                    )),
                }
            }
            if let Some(Value::Mapping(exe)) = tool.get_mut(s("executable"))
                && exe.remove(s("install_command")).is_some()
            {
                warnings.push(format!(
                    "{}: `tools.{name}.executable.install_command` is not run: install the tool yourself",
                    layer.name
                ));
            }
            for key in ["track_usage", "input_schema", "code_template", "auto_fix", "openapi", "max_output_length"] {
                if tool.remove(s(key)).is_some() {
                    warnings.push(format!("{}: `tools.{name}.{key}` has no meaning here and is ignored", layer.name));
                }
            }
        }
    }
    // `chat.workflow_mode` is this project's `workflow` section, same keys.
    if let Some(Value::Mapping(chat)) = root.get(s("chat"))
        && let Some(Value::Mapping(mode)) = get(chat, "workflow_mode")
        && !root.contains_key(s("workflow"))
    {
        let known = ["enabled", "detect_keywords", "min_steps", "max_steps", "max_depth"];
        let workflow: Mapping = mode
            .iter()
            .filter(|(k, _)| k.as_str().is_some_and(|k| known.contains(&k)))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        root.insert(s("workflow"), Value::Mapping(workflow));
    }
    for section in IGNORED_SEED_SECTIONS {
        if root.remove(s(section)).is_some() {
            warnings.push(format!(
                "{}: the prototype's `{section}` section has no meaning here and is ignored",
                layer.name
            ));
        }
    }
    if !out_backends.is_empty() {
        merge_into(root, "backends", out_backends);
    }
    if !out_roles.is_empty() {
        merge_into(root, "roles", out_roles);
    }
    Ok(warnings)
}

fn merge_into(root: &mut Mapping, key: &str, add: Mapping) {
    if add.is_empty() {
        return;
    }
    let entry = root.entry(s(key)).or_insert_with(|| Value::Mapping(Mapping::new()));
    // Keys written in our own shape win over translated ones.
    let mut translated = Value::Mapping(add);
    super::load::merge(&mut translated, entry);
    *entry = translated;
}
