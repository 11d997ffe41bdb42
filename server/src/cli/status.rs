//! `code-evolver status`: every configured endpoint (reachable, version, models present), the
//! roles, the Python tools, the sandbox's confinement, and the data dir.

use super::{CliError, CliResult, Global};
use crate::config::Role;
use crate::llm::Router;
use crate::sandbox::Sandbox;
use crate::usage;
use std::collections::BTreeMap;

pub async fn run(global: &Global) -> CliResult {
    let layers = match global.loader().layers() {
        Ok(l) => l,
        Err(e) => {
            return Err(usage!("invalid configuration: {e}"));
        }
    };
    let config = global.config()?;
    let mut problems = 0;
    println!("configuration (later overrides earlier):");
    for layer in &layers {
        println!("  {}", layer.name);
    }
    let router = match Router::new(&config, &global.data_dir()) {
        Ok(r) => r,
        Err(e) => {
            return Err(usage!("{e}"));
        }
    };
    println!("\nendpoints:");
    let probes = router.probe().await;
    let mut models_by_backend: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut reachable_by_backend: BTreeMap<String, bool> = BTreeMap::new();
    for p in &probes {
        let entry = reachable_by_backend.entry(p.backend.clone()).or_insert(false);
        match &p.models {
            Ok(models) => {
                *entry = true;
                println!(
                    "  ok    {:<10} {:<8} {}  {}{} models, up to {} concurrent calls",
                    p.backend,
                    p.kind.as_str(),
                    p.url,
                    p.version.as_ref().map(|v| format!("version {v}, ")).unwrap_or_default(),
                    models.len(),
                    p.max_concurrent
                );
                models_by_backend.entry(p.backend.clone()).or_default().extend(models.iter().cloned());
            }
            Err(e) => println!("  DOWN  {:<10} {:<8} {}  {e}", p.backend, p.kind.as_str(), p.url),
        }
    }
    // A backend no endpoint of which answers hands its roles to its fallback, as an evolve does:
    // the roles are shown where they will really be served.
    let down = router.check_reachability().await;
    println!("\nroles:");
    for backend in &down {
        let fallback = config.backends.get(backend).and_then(|b| b.fallback.clone()).unwrap_or_default();
        println!("  ({backend} cannot be reached: its roles are served by {fallback})");
    }
    for role in Role::ALL {
        let route = router.route(role);
        let up = reachable_by_backend.get(&route.backend).copied().unwrap_or(false);
        let present = models_by_backend.get(&route.backend).map(|models| {
            models.iter().any(|m| {
                m == &route.model
                    || m.strip_suffix(":latest") == Some(route.model.as_str())
                    || route.model.strip_suffix(":latest") == Some(m.as_str())
            })
        });
        let state = match (up, present) {
            (false, _) => {
                problems += 1;
                "backend unreachable".to_string()
            }
            (true, Some(true)) => "model present".to_string(),
            (true, _) => {
                problems += 1;
                format!("model missing (for Ollama: ollama pull {})", route.model)
            }
        };
        println!("  {:<19} {:<28} on {:<10} {state}", role.as_str(), route.model, route.backend);
    }

    let data = global.data_dir();
    println!("\nPython and tools:");
    let python = crate::paths::find_python(&config.runtime.python, &data);
    match &python {
        Some(p) => println!("  python   {}", p.display()),
        None => {
            problems += 1;
            println!("  python   NOT FOUND: run `code-evolver setup`");
        }
    }
    let linters = crate::analysis::Linters::new(python.clone());
    for tool in ["pytest", "ruff", "flake8", "pylint", "mypy", "black"] {
        match linters.locate(tool) {
            Some(p) => println!("  {tool:<8} {}", p.display()),
            None => {
                if tool == "pytest" {
                    problems += 1;
                }
                println!(
                    "  {tool:<8} not installed{}",
                    if tool == "pytest" { " (needed: run `code-evolver setup`)" } else { "" }
                );
            }
        }
    }
    if let Some(python) = python {
        match crate::paths::runtime_dir(&data) {
            Ok(runtime) => {
                let sandbox = Sandbox::with_settings(python, runtime, config.sandbox.clone());
                match sandbox.isolation().await {
                    Ok(iso) => {
                        println!(
                            "\nsandbox (warm runner, Python {}; jail: {}):",
                            iso.python,
                            match (&iso.jail_version, &iso.jail_error) {
                                (Some(v), None) => v.clone(),
                                (_, Some(why)) => format!("NONE — {why}"),
                                _ => iso.jail.clone(),
                            }
                        );
                        for (layer, holds, stops) in iso.report() {
                            if holds {
                                println!("  {:<13} on   stops {stops}", layer.name());
                            } else {
                                println!("  {:<13} OFF  left open: {stops}", layer.name());
                            }
                        }
                        println!(
                            "  always: the verdict is computed outside the run; rlimits (address space, CPU, file size, processes, open files); every process of a run killed when it ends"
                        );
                        if !iso.network.starts_with("namespace") {
                            println!("  network fallback: {}", iso.network);
                        }
                        if iso.jail == "none" {
                            println!("  files fallback: landlock {}", iso.landlock);
                        }
                    }
                    Err(e) => {
                        problems += 1;
                        println!("\nsandbox: {e}");
                    }
                }
            }
            Err(e) => println!("\nsandbox: cannot write runtime files: {e}"),
        }
    }
    println!("\ndata dir: {}", data.display());
    let registry = crate::paths::registry_path(&data);
    if registry.exists() {
        match crate::registry::Registry::open(&registry).and_then(|r| r.list()) {
            Ok(nodes) => println!("  registry {} ({} nodes)", registry.display(), nodes.len()),
            Err(e) => println!("  registry {}: {e}", registry.display()),
        }
    } else {
        println!("  registry {} (not created yet)", registry.display());
    }
    match crate::memory::open_store(&config, &data) {
        Ok(Some(store)) => match (store.count().await, store.info().await) {
            (Ok(n), Ok(info)) => println!(
                "  memory   {} ({n} artifacts{})",
                store.describe(),
                info.map(|i| format!(", {} {}-d", i.model, i.dimension)).unwrap_or_default()
            ),
            (Err(e), _) | (_, Err(e)) => {
                problems += 1;
                println!("  memory   {}: {e}", store.describe());
            }
        },
        Ok(None) => println!("  memory   off"),
        Err(e) => {
            problems += 1;
            println!("  memory   {e}");
        }
    }
    if problems > 0 {
        println!("\n{problems} problem(s) found");
        Err(CliError::Reported)
    } else {
        println!("\nall good");
        Ok(())
    }
}
