//! `code-evolver bench humaneval`: pass@1 single-shot vs the pipeline on the same backend, scored
//! by HumanEval's hidden checks; a JSONL of per-problem results and an SVG chart.

use crate::{failed, usage};
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use super::humaneval_suite::{self, Outcome, Problem};
use crate::cli::{CliResult, Global};
use crate::config::{Config, Role};
use crate::setup::models::{FAST, POWERFUL};

pub struct Options {
    pub backend: Option<String>,
    /// fast (every role on the small model), ladder (the configuration), powerful (every role on
    /// the big model).
    pub models: String,
    pub limit: Option<usize>,
    pub skip: usize,
    pub jobs: usize,
    pub mode: String,
    pub problems: Option<PathBuf>,
    pub out: PathBuf,
}

/// Points every role at `backend` (the embedded one takes the catalogue's models) and applies the
/// model tier.
pub(super) fn adjust(config: &mut Config, backend: Option<&str>, models: &str) -> Result<(), String> {
    if let Some(name) = backend {
        let kind = config.backends.get(name).and_then(|b| b.kind).ok_or_else(|| {
            format!(
                "--backend {name}: no such backend (configured: {})",
                config.backends.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        })?;
        let embedded = kind == crate::config::BackendKind::Embedded;
        for rc in config.roles.chat_roles_mut() {
            if embedded && let Some(m) = rc.fallback_model.clone() {
                rc.model = Some(m);
            }
            rc.backend = Some(name.to_string());
        }
        if let Some(b) = config.backends.get_mut(name) {
            b.fallback = None;
        }
    }
    let embedded =
        backend.and_then(|n| config.backends.get(n)).and_then(|b| b.kind) == Some(crate::config::BackendKind::Embedded);
    let (fast, powerful) = if embedded {
        (FAST.to_string(), POWERFUL.to_string())
    } else {
        (
            config.roles.generator.fast.model.clone().unwrap_or_default(),
            config.roles.generator.powerful.model.clone().unwrap_or_default(),
        )
    };
    match models {
        "ladder" => {}
        "fast" | "powerful" => {
            let model = if models == "fast" { fast } else { powerful };
            let backend_of_gen = config.roles.generator.fast.backend.clone();
            for rc in config.roles.chat_roles_mut() {
                rc.model = Some(model.clone());
                rc.backend = backend_of_gen.clone();
            }
            for rung in &mut config.pipeline.escalation {
                rung.role = Role::GeneratorFast;
            }
        }
        other => return Err(format!("--models {other}: give fast, ladder or powerful")),
    }
    Ok(())
}

fn rate(outcomes: &[Outcome]) -> f64 {
    if outcomes.is_empty() { 0.0 } else { outcomes.iter().filter(|o| o.passed).count() as f64 / outcomes.len() as f64 }
}

fn summary(label: &str, outcomes: &[Outcome]) -> String {
    let n = outcomes.len().max(1) as f64;
    format!(
        "{label:<12} pass@1 {:.1}% ({}/{}) · {:.1} model calls and {:.0} tokens per problem · {:.1} s per problem",
        rate(outcomes) * 100.0,
        outcomes.iter().filter(|o| o.passed).count(),
        outcomes.len(),
        outcomes.iter().map(|o| o.calls).sum::<usize>() as f64 / n,
        outcomes.iter().map(|o| o.tokens).sum::<u64>() as f64 / n,
        outcomes.iter().map(|o| o.ms).sum::<u64>() as f64 / n / 1000.0
    )
}

pub async fn run(global: &Global, options: Options) -> CliResult {
    if !["single", "pipeline", "both"].contains(&options.mode.as_str()) {
        return Err(usage!("--mode {}: give single, pipeline or both", options.mode));
    }
    let mut failure = None;
    let evolver = match global.evolver_with(|c| {
        if let Err(e) = adjust(c, options.backend.as_deref(), &options.models) {
            failure = Some(e);
        }
    }) {
        Ok(e) => e,
        Err(e) => return Err(e),
    };
    if let Some(e) = failure {
        return Err(usage!("{e}"));
    }
    let path = match &options.problems {
        Some(p) => p.clone(),
        None => {
            let python = crate::paths::find_python("", &global.data_dir());
            let Some(python) = python else {
                return Err(usage!(
                    "no Python found to download {}: run `code-evolver setup`",
                    humaneval_suite::PACKAGE
                ));
            };
            match humaneval_suite::fetch(&global.data_dir(), &python).await {
                Ok(p) => p,
                Err(e) => {
                    return Err(failed!("{e}"));
                }
            }
        }
    };
    let mut problems: Vec<Problem> = match humaneval_suite::load(&path) {
        Ok(p) => p,
        Err(e) => {
            return Err(usage!("{e}"));
        }
    };
    problems.drain(..options.skip.min(problems.len()));
    if let Some(limit) = options.limit {
        problems.truncate(limit);
    }
    let _ = evolver.router().check_reachability().await;
    let generator = evolver.router().route(Role::GeneratorFast);
    let top = evolver.router().route(evolver.ladder_top()).model;
    println!(
        "bench humaneval: {} problems from {} · generator {} @ {} · ladder tops out at {} · overseer {} · {} job(s)",
        problems.len(),
        path.display(),
        generator.model,
        generator.backend,
        top,
        evolver.router().route(Role::Overseer).model,
        options.jobs
    );
    if let Err(e) = std::fs::create_dir_all(&options.out) {
        return Err(failed!("{}: {e}", options.out.display()));
    }
    let cancel = CancellationToken::new();
    let on_signal = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_signal.cancel();
        }
    });
    let jsonl = options.out.join("results.jsonl");
    let mut file = match std::fs::File::create(&jsonl) {
        Ok(f) => f,
        Err(e) => {
            return Err(failed!("{}: {e}", jsonl.display()));
        }
    };
    let started = Instant::now();
    let mut results: Vec<(&'static str, Vec<Outcome>)> = Vec::new();
    let modes: Vec<&'static str> = match options.mode.as_str() {
        "single" => vec!["single-shot"],
        "pipeline" => vec!["pipeline"],
        _ => vec!["single-shot", "pipeline"],
    };
    for mode in modes {
        let evolver = &evolver;
        let cancel = &cancel;
        let mut stream = futures_util::stream::iter(problems.iter())
            .map(|p| async move {
                if mode == "single-shot" {
                    humaneval_suite::single_shot(evolver, p, cancel).await
                } else {
                    humaneval_suite::pipeline(evolver, p, cancel).await
                }
            })
            .buffered(options.jobs.max(1));
        let mut outcomes = Vec::new();
        while let Some(o) = stream.next().await {
            println!(
                "  {:<9} {:<14} {}  {:>5.1} s  {:>2} calls  {}",
                if mode == "pipeline" { "pipeline" } else { "single" },
                o.task_id,
                if o.passed { "PASS" } else { "FAIL" },
                o.ms as f64 / 1000.0,
                o.calls,
                o.detail.chars().take(100).collect::<String>()
            );
            let _ = writeln!(file, "{}", serde_json::to_string(&o).unwrap_or_default());
            outcomes.push(o);
            if cancel.is_cancelled() {
                break;
            }
        }
        results.push((mode, outcomes));
    }
    println!();
    for (mode, outcomes) in &results {
        println!("{}", summary(mode, outcomes));
    }
    if let [(_, single), (_, pipeline)] = &results[..] {
        let (s, p) = (rate(single), rate(pipeline));
        println!(
            "pipeline - single-shot: {:+.1} points ({})",
            (p - s) * 100.0,
            if s > 0.0 { format!("{:.2}×", p / s) } else { "single-shot solved none".into() }
        );
    }
    println!("wall time {:.0} s · per-problem results: {}", started.elapsed().as_secs_f64(), jsonl.display());
    let bars: Vec<(&str, f64)> = results.iter().map(|(m, o)| (*m, rate(o))).collect();
    let svg = options.out.join("pass_rates.svg");
    let title = format!("HumanEval pass@1, {} problems, {} @ {}", problems.len(), generator.model, generator.backend);
    if let Err(e) = std::fs::write(&svg, humaneval_suite::chart(&title, &bars)) {
        return Err(failed!("{}: {e}", svg.display()));
    }
    println!("chart: {}", svg.display());
    Ok(())
}
