//! `list`, `show NODE`, `run NODE --input JSON`.

use super::render::{Renderer, result_text};
use super::{CliError, CliResult, Global};
use crate::pipeline::EvolveError;
use crate::pipeline::score::human_ns;
use crate::registry::{Registry, format_unix};
use crate::{failed, usage};
use tokio_util::sync::CancellationToken;

fn registry(global: &Global) -> Result<Registry, CliError> {
    Registry::open(&crate::paths::registry_path(&global.data_dir())).map_err(|e| failed!("{e}"))
}

pub fn list(global: &Global, json: bool) -> CliResult {
    let reg = registry(global)?;
    match reg.list() {
        Ok(nodes) if json => {
            println!("{}", serde_json::to_string_pretty(&nodes).unwrap_or_default());
            Ok(())
        }
        Ok(nodes) if nodes.is_empty() => {
            println!("no nodes yet: evolve one with code-evolver evolve \"add 10 and 20\"");
            Ok(())
        }
        Ok(nodes) => {
            println!(
                "{:<28} {:<15} {:>4} {:>7} {:>6} {:>8} {:>5} {:>5}  {:<23} task",
                "node", "kind", "ver", "tests", "score", "mutants", "runs", "ok", "updated"
            );
            for n in nodes {
                println!(
                    "{:<28} {:<15} {:>4} {:>7} {:>6} {:>8} {:>5} {:>5}  {:<23} {}",
                    n.id,
                    n.kind,
                    n.current_version,
                    format!("{}/{}", n.tests_passed, n.tests_total),
                    n.score.map(|s| format!("{s:.2}×")).unwrap_or_else(|| "-".into()),
                    n.mutation_score.map(|s| format!("{:.0}%", s * 100.0)).unwrap_or_else(|| "-".into()),
                    n.runs,
                    n.success_rate.map(|r| format!("{:.0}%", r * 100.0)).unwrap_or_else(|| "-".into()),
                    format_unix(n.updated_at),
                    n.task
                );
            }
            Ok(())
        }
        Err(e) => Err(failed!("{e}")),
    }
}

pub fn show(global: &Global, node: &str, json: bool) -> CliResult {
    let reg = registry(global)?;
    let detail = match reg.get(node) {
        Ok(d) => d,
        Err(e) => {
            return Err(usage!("{e}"));
        }
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&detail).unwrap_or_default());
        return Ok(());
    }
    println!("node {} · {} ({}) · function {}", detail.id, detail.kind, detail.complexity, detail.function_name);
    println!("task: {}", detail.task);
    if let Ok(spec) = serde_json::from_str::<crate::pipeline::spec::Spec>(&detail.spec_json) {
        println!("spec: {} — {}", spec.signature(), spec.problem);
        println!("input example: {}", serde_json::Value::Object(spec.task_input.clone()));
        if !spec.properties.is_empty() {
            let checked = spec.test_cases.iter().filter(|c| crate::pipeline::properties::of(c).is_some()).count();
            println!(
                "properties: {} ({checked} case(s) on generated inputs)",
                spec.properties.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", ")
            );
        }
    }
    println!("\nversions:");
    for v in &detail.versions {
        println!(
            "  v{}{} {:<10} {}/{} tests{}{}{}{} · {} · {}{}",
            v.version,
            if v.version == detail.current_version { "*" } else { " " },
            v.origin,
            v.tests_passed,
            v.tests_total,
            v.mutation_score.map(|s| format!(" · kill {:.0}% of mutants", s * 100.0)).unwrap_or_default(),
            v.per_call_ns.map(|ns| format!(" · {} per call", human_ns(ns))).unwrap_or_default(),
            v.score.map(|s| format!(" · score {s:.2}×")).unwrap_or_default(),
            v.parent_version.map(|p| format!(" · from v{p}")).unwrap_or_default(),
            v.model,
            format_unix(v.created_at),
            if v.change.is_empty() { String::new() } else { format!(" · {}", v.change) }
        );
    }
    let current = detail.versions.iter().find(|v| v.version == detail.current_version);
    if let Some(v) = current.filter(|v| !v.steps.is_empty()) {
        println!("\nworkflow: v{} calls {} verified step(s):", v.version, v.steps.len());
        for (i, link) in v.steps.iter().enumerate() {
            let step = reg.get(&link.node_id).ok();
            println!(
                "  {}. {} · {} v{}{} — {}",
                i + 1,
                link.name,
                link.node_id,
                link.version,
                match &step {
                    None => " (that node is gone)".to_string(),
                    Some(d) if d.current_version != link.version =>
                        format!(" (the step's current version is v{})", d.current_version),
                    Some(_) => String::new(),
                },
                step.map(|d| d.task).unwrap_or_default()
            );
        }
    }
    if !detail.stats.is_empty() {
        println!("\nreal use (runs outside tests):");
        for st in &detail.stats {
            println!(
                "  v{:<3} {} run(s) · {:.0}% ok · p50 {} · p95 {} · peak {}",
                st.version,
                st.runs,
                st.success_rate.unwrap_or(0.0) * 100.0,
                st.p50_ms.map(|ms| format!("{ms:.1} ms")).unwrap_or_else(|| "-".into()),
                st.p95_ms.map(|ms| format!("{ms:.1} ms")).unwrap_or_else(|| "-".into()),
                st.peak_rss_kb.map(|kb| format!("{:.1} MB", kb as f64 / 1024.0)).unwrap_or_else(|| "-".into())
            );
        }
        if let Ok(reg) = registry(global)
            && let Ok(points) = reg.latency_points(&detail.id, 60)
            && points.len() > 1
        {
            let (lo, hi) =
                points.iter().filter(|p| p.2).fold((f64::MAX, f64::MIN), |(lo, hi), p| (lo.min(p.1), hi.max(p.1)));
            println!(
                "  latency over the last {} runs (oldest first; ✗ failed): {}  [{:.1} … {:.1} ms]",
                points.len(),
                crate::registry::sparkline(&points),
                if lo == f64::MAX { 0.0 } else { lo },
                if hi == f64::MIN { 0.0 } else { hi }
            );
        }
    }
    if let Some(m) = current
        .and_then(|v| v.mutation_json.as_deref())
        .and_then(|j| serde_json::from_str::<crate::pipeline::mutation::MutationReport>(j).ok())
    {
        println!("\ntest strength: {}", m.summary());
        for s in &m.survivors {
            println!("    survives: {s}");
        }
    }
    println!("\ncode (v{}):", detail.current_version);
    for l in detail.code.lines() {
        println!("    {l}");
    }
    println!("\ntests:");
    for l in detail.tests.lines() {
        println!("    {l}");
    }
    if !detail.runs.is_empty() {
        println!("\nruns (latest first):");
        for r in &detail.runs {
            println!(
                "  {} v{} {:<6} {} {} → {} · {:.1} ms wall · {:.1} ms CPU · {} kB peak",
                format_unix(r.at),
                r.version,
                r.purpose,
                if r.ok { "ok " } else { "ERR" },
                r.input,
                r.output.chars().take(80).collect::<String>(),
                r.wall_ms,
                r.cpu_ms,
                r.max_rss_kb
            );
        }
    }
    Ok(())
}

pub async fn run(global: &Global, node: &str, input: &str) -> CliResult {
    let input: serde_json::Value = match serde_json::from_str(input) {
        Ok(v) => v,
        Err(e) => {
            return Err(usage!(
                "--input is not JSON ({e}); give the named arguments, e.g. --input '{{\"a\": 1, \"b\": 2}}'"
            ));
        }
    };
    let evolver = global.evolver()?;
    let renderer = Renderer::new(true);
    let cancel = CancellationToken::new();
    let on_signal = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_signal.cancel();
        }
    });
    match evolver.run_node(node, input, renderer.sink(), cancel).await {
        Ok((id, version, run)) => {
            let m = &run.metrics;
            eprintln!(
                "node {id} v{version}: {:.1} ms wall · {:.1} ms CPU · {} kB peak RSS",
                m.wall_ms,
                m.user_ms + m.sys_ms,
                m.max_rss_kb
            );
            match run.output {
                Ok(value) => {
                    println!("RESULT: {}", result_text(&value));
                    Ok(())
                }
                Err(e) => Err(failed!("{e}")),
            }
        }
        Err(EvolveError::Cancelled) => Err(CliError::Cancelled("nothing was saved".into())),
        Err(e @ (EvolveError::Registry(_) | EvolveError::Node(_))) => Err(usage!("{e}")),
        Err(e) => Err(failed!("{e}")),
    }
}
