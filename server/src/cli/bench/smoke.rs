//! `code-evolver smoke`: the everyday-task suite through the whole pipeline, judged on hidden
//! cases, with its pass rate, time and model calls per task, and where failures happened.

use super::smoke_suite::{self, SmokeReport};
use crate::cli::render::Renderer;
use crate::cli::{CliError, CliResult, Global};
use crate::config::Config;
use crate::config::Role;
use crate::pipeline::Evolver;
use crate::pipeline::events;
use crate::{failed, usage};
use tokio_util::sync::CancellationToken;

pub struct Options {
    pub limit: Option<usize>,
    /// The first tasks left out.
    pub skip: usize,
    pub jobs: usize,
    /// fast | ladder | powerful (see bench humaneval).
    pub models: String,
    pub backend: Option<String>,
    pub optimize: bool,
    pub verbose: bool,
    /// The compound-task suite instead of the everyday one.
    pub compound: bool,
    /// Workflows on or off (None: on for the compound suite, off for the everyday one).
    pub compose: Option<bool>,
    /// Recall from and remember into memory.
    pub memory: bool,
    /// Write every task's result as one JSON line here.
    pub json: Option<std::path::PathBuf>,
    /// An earlier run's JSON lines: only the tasks it got wrong are run.
    pub rerun: Option<std::path::PathBuf>,
}

/// Every rung of the escalation ladder on the fast generator (no stronger model).
pub fn fast_only(config: &mut Config) {
    for rung in &mut config.pipeline.escalation {
        rung.role = Role::GeneratorFast;
    }
}

pub async fn suite(
    evolver: &Evolver,
    limit: Option<usize>,
    jobs: usize,
    how: smoke_suite::Run<'_>,
    verbose: bool,
) -> SmokeReport {
    let cancel = CancellationToken::new();
    let on_signal = cancel.clone();
    let watcher = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_signal.cancel();
        }
    });
    let sink = if verbose { Renderer::new(false).sink() } else { events::discard() };
    let report = smoke_suite::run(evolver, limit, jobs, how, sink, &cancel, |r| {
        println!(
            "  {}  {:<70} {}/{} hidden · {:.1} s · {} calls{}{}{}{}",
            if r.passed { "PASS" } else { "FAIL" },
            r.task.chars().take(70).collect::<String>(),
            r.hidden_passed,
            r.hidden_total,
            r.seconds,
            r.model_calls,
            match (r.reused, r.split) {
                (true, _) => " · recalled from memory".to_string(),
                (false, false) => String::new(),
                (false, true) => format!(
                    " · split, {} step(s) begun ({} recalled){}",
                    r.steps_begun,
                    r.steps_recalled,
                    if r.fell_back { ", fell back to one function" } else { "" }
                ),
            },
            r.mutation_score.map(|s| format!(" · mutants killed {:.0}%", s * 100.0)).unwrap_or_default(),
            if r.consensus_changed { " · consensus changed cases" } else { "" },
            match (&r.stage, &r.failure) {
                (Some(stage), Some(why)) =>
                    format!("\n        [{stage}] {}", why.chars().take(200).collect::<String>()),
                _ => String::new(),
            }
        );
    })
    .await;
    watcher.abort();
    report
}

pub async fn run(global: &Global, options: Options) -> CliResult {
    let mut failure = None;
    let evolver = match global.evolver_with(|c| {
        // --fast-only: the ladder on the fast generator, every other role as configured.
        let models = if options.models == "fast-generator" { "ladder" } else { options.models.as_str() };
        if let Err(e) = super::humaneval::adjust(c, options.backend.as_deref(), models) {
            failure = Some(e);
        }
        if options.models == "fast-generator" {
            fast_only(c);
        }
    }) {
        Ok(e) => e,
        Err(e) => return Err(e),
    };
    if let Some(e) = failure {
        return Err(usage!("{e}"));
    }
    crate::cli::announce_fallbacks(&evolver, &Renderer::new(false)).await;
    let fast = evolver.router().route(crate::config::Role::GeneratorFast);
    let top = evolver.router().route(evolver.ladder_top()).model;
    let only = match &options.rerun {
        Some(path) => Some(smoke_suite::wrong_in(path).map_err(|e| usage!("--rerun {}: {e}", path.display()))?),
        None => None,
    };
    let how = smoke_suite::Run {
        suite: if options.compound { smoke_suite::Suite::Compound } else { smoke_suite::Suite::Everyday },
        compose: Some(options.compose.unwrap_or(options.compound)),
        optimize: options.optimize,
        memory: options.memory,
        skip: options.skip,
        only: only.as_deref(),
    };
    println!(
        "smoke suite ({}, {}{}): {} tasks · generator {} ({}) · ladder up to {top} · overseer {} · {} job(s)",
        if options.compound { "compound" } else { "everyday" },
        if how.compose == Some(true) { "workflows on" } else { "one function per task" },
        if how.memory { ", memory on" } else { "" },
        smoke_suite::chosen(how, options.limit).len(),
        fast.model,
        fast.backend,
        evolver.router().route(crate::config::Role::Overseer).model,
        options.jobs
    );
    let report = suite(&evolver, options.limit, options.jobs, how, options.verbose).await;
    println!("smoke: {}", report.summary());
    if let Some(path) = &options.json {
        let lines: Vec<String> = report.results.iter().filter_map(|r| serde_json::to_string(r).ok()).collect();
        if let Err(e) = std::fs::write(path, lines.join("\n") + "\n") {
            return Err(failed!("{}: {e}", path.display()));
        }
    }
    if report.total == 0 { Err(CliError::Reported) } else { Ok(()) }
}
