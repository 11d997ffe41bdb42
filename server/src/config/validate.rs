//! Checks of the merged configuration. An error names the layer that last set the key, and its line.

use super::load::Layer;
use super::{BackendKind, Config, ConfigError, EndpointSpec, Role, ToolKind};

struct Checker<'a> {
    layers: &'a [Layer],
}

impl Checker<'_> {
    fn fail(&self, key: &str, message: String) -> ConfigError {
        let path: Vec<String> = key.split('.').map(String::from).collect();
        // The key may be a role name with a dot (generator.fast); find the deepest layer that sets
        // any prefix of the path.
        for len in (1..=path.len()).rev() {
            let prefix = &path[..len];
            if let Some(layer) = self.layers.iter().rev().find(|l| l.sets(prefix)) {
                return ConfigError::Invalid {
                    source_name: layer.name.clone(),
                    line: layer.line_of(prefix),
                    message: format!("`{key}`: {message}"),
                };
            }
        }
        ConfigError::Invalid { source_name: "configuration".into(), line: None, message: format!("`{key}`: {message}") }
    }
}

pub(super) fn validate(config: &Config, layers: &[Layer]) -> Result<(), ConfigError> {
    let c = Checker { layers };
    if config.backends.is_empty() {
        return Err(c.fail("backends", "at least one backend is needed".into()));
    }
    for (name, backend) in &config.backends {
        let key = format!("backends.{name}");
        let Some(kind) = backend.kind else {
            return Err(c.fail(&key, "`kind` is missing: use ollama, openai or embedded".into()));
        };
        let urls: Vec<&str> = if backend.endpoints.is_empty() {
            backend.url.as_deref().into_iter().collect()
        } else {
            backend
                .endpoints
                .iter()
                .map(|e| match e {
                    EndpointSpec::Url(u) => u.as_str(),
                    EndpointSpec::Full(f) => f.url.as_str(),
                })
                .collect()
        };
        if kind != BackendKind::Embedded && urls.is_empty() {
            return Err(c.fail(&key, "give a `url` or a list of `endpoints` (URLs)".into()));
        }
        for (i, url) in urls.iter().enumerate() {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                let where_ =
                    if backend.endpoints.is_empty() { format!("{key}.url") } else { format!("{key}.endpoints") };
                return Err(c.fail(&where_, format!("endpoint {} `{url}` must be an http:// or https:// URL", i + 1)));
            }
        }
        if let Some(fallback) = &backend.fallback {
            match config.backends.get(fallback) {
                None => {
                    return Err(c.fail(&format!("{key}.fallback"), format!("no backend named `{fallback}`")));
                }
                Some(_) if fallback == name => {
                    return Err(c.fail(&format!("{key}.fallback"), "a backend cannot be its own fallback".into()));
                }
                Some(f) if f.fallback.is_some() => {
                    return Err(c.fail(
                        &format!("{key}.fallback"),
                        format!("`{fallback}` has a fallback of its own; chains are not allowed"),
                    ));
                }
                _ => {}
            }
        }
        if backend.max_concurrent == Some(0) {
            return Err(c.fail(&format!("{key}.max_concurrent"), "must be at least 1".into()));
        }
        if let Some(t) = backend.timeout_s
            && t <= 0.0
        {
            return Err(c.fail(&format!("{key}.timeout_s"), "must be positive".into()));
        }
    }
    for role in Role::ALL {
        let rc = config.roles.get(role);
        let key = format!("roles.{}", role.as_str());
        match rc.backend.as_deref() {
            None => return Err(c.fail(&key, "`backend` is missing".into())),
            Some(b) if !config.backends.contains_key(b) => {
                let known: Vec<&str> = config.backends.keys().map(String::as_str).collect();
                return Err(c.fail(
                    &format!("{key}.backend"),
                    format!("no backend named `{b}` (defined: {})", known.join(", ")),
                ));
            }
            _ => {}
        }
        if rc.model.as_deref().unwrap_or("").is_empty() {
            return Err(c.fail(&key, "`model` is missing".into()));
        }
        let has_fallback =
            rc.backend.as_ref().and_then(|b| config.backends.get(b)).and_then(|b| b.fallback.as_ref()).is_some();
        if has_fallback && rc.fallback_model.as_deref().unwrap_or("").is_empty() {
            return Err(c.fail(&key, "its backend has a fallback: give the role a `fallback_model`".into()));
        }
        if let Some(t) = rc.temperature
            && !(0.0..=2.0).contains(&t)
        {
            return Err(c.fail(&format!("{key}.temperature"), "must be between 0 and 2".into()));
        }
    }
    for (id, tool) in &config.tools {
        let key = format!("tools.{id}");
        match tool.kind {
            ToolKind::Llm => {
                let llm = tool.llm.as_ref().ok_or_else(|| c.fail(&key, "an llm tool needs an `llm` section".into()))?;
                if llm.role.is_none() && llm.model.is_none() {
                    return Err(c.fail(&format!("{key}.llm"), "give a `role` or a `model`".into()));
                }
            }
            ToolKind::Executable => {
                let exe = tool
                    .executable
                    .as_ref()
                    .ok_or_else(|| c.fail(&key, "an executable tool needs an `executable` section".into()))?;
                if exe.command.is_empty() {
                    return Err(c.fail(&format!("{key}.executable.command"), "is empty".into()));
                }
            }
        }
    }
    let l = &config.limits;
    for (name, ok) in [
        ("node_timeout_s", l.node_timeout_s > 0.0),
        ("node_memory_mb", l.node_memory_mb >= 64),
        ("node_cpu_s", l.node_cpu_s > 0),
        ("node_file_size_mb", l.node_file_size_mb > 0),
        ("node_processes", l.node_processes > 0),
        ("evolve_tokens", l.evolve_tokens > 0),
        ("evolve_time_s", l.evolve_time_s > 0.0),
    ] {
        if !ok {
            let floor = if name == "node_memory_mb" { "at least 64" } else { "positive" };
            return Err(c.fail(&format!("limits.{name}"), format!("must be {floor}")));
        }
    }
    if config.pipeline.escalation.is_empty() {
        return Err(c.fail("pipeline.escalation", "the ladder needs at least one rung".into()));
    }
    let w = &config.workflow;
    if w.min_steps < 2 || w.max_steps < w.min_steps || w.max_steps > 8 {
        return Err(c.fail("workflow.max_steps", "needs 2 <= min_steps <= max_steps <= 8".into()));
    }
    if !(1..=3).contains(&w.max_depth) {
        return Err(c.fail("workflow.max_depth", "must be 1, 2 or 3 (levels of splitting)".into()));
    }
    let a = &config.auto_evolution;
    if !(0.0..1.0).contains(&a.performance_threshold) {
        return Err(c.fail("auto_evolution.performance_threshold", "must be at least 0 and below 1".into()));
    }
    if a.max_versions_per_node < 1 || a.keep_best_n_versions < 1 || a.keep_best_n_versions > a.max_versions_per_node {
        return Err(c.fail(
            "auto_evolution.keep_best_n_versions",
            "needs 1 <= keep_best_n_versions <= max_versions_per_node".into(),
        ));
    }
    if a.check_interval_minutes.is_nan() || a.check_interval_minutes <= 0.0 {
        return Err(c.fail("auto_evolution.check_interval_minutes", "must be above 0".into()));
    }
    let m = &config.pipeline.mutation;
    if !(0.0..=1.0).contains(&m.min_score) {
        return Err(c.fail("pipeline.mutation.min_score", "must be between 0 and 1".into()));
    }
    let k = &config.pipeline.consensus;
    if k.samples > 0 && (k.min_agree < 2 || k.min_agree > k.samples + 1) {
        return Err(
            c.fail("pipeline.consensus.min_agree", format!("must be between 2 and samples + 1 ({})", k.samples + 1))
        );
    }
    let o = &config.pipeline.optimize;
    if o.iterations > 0 && o.runs < 5 {
        return Err(c.fail(
            "pipeline.optimize.runs",
            "must be at least 5 (a median of fewer runs is not a measurement)".into(),
        ));
    }
    if o.min_speedup < 1.0 {
        return Err(c.fail("pipeline.optimize.min_speedup", "must be at least 1.0".into()));
    }
    let m = &config.memory;
    for (key, value) in [
        ("memory.reuse_threshold", m.reuse_threshold),
        ("memory.related_threshold", m.related_threshold),
        ("memory.spec_threshold", m.spec_threshold),
        ("memory.fix_threshold", m.fix_threshold),
    ] {
        if !(0.0..=1.0).contains(&value) {
            return Err(c.fail(key, format!("{value} is not a similarity between 0 and 1")));
        }
    }
    if m.related_threshold > m.reuse_threshold {
        return Err(c.fail("memory.related_threshold", "must not be above memory.reuse_threshold".into()));
    }
    if m.store == crate::config::MemoryStoreKind::Qdrant && m.qdrant_url.is_empty() {
        return Err(c.fail("memory.qdrant_url", "memory.store is qdrant but no qdrant_url is given".into()));
    }
    for (key, linters) in [
        ("pipeline.analysis.linters", &config.pipeline.analysis.linters),
        ("editor.diagnostics", &config.editor.diagnostics),
    ] {
        for linter in linters {
            if !crate::analysis::KNOWN_LINTERS.contains(&linter.as_str()) {
                return Err(c.fail(
                    key,
                    format!("unknown linter `{linter}` (known: {})", crate::analysis::KNOWN_LINTERS.join(", ")),
                ));
            }
        }
    }
    Ok(())
}
