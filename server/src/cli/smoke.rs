//! `code-evolver smoke`: the built-in smoke suite through the whole pipeline, with its pass rate.

use super::render::{Renderer, result_text};
use super::{EXIT_FAILED, Global};
use crate::config::Config;
use crate::pipeline::Evolver;
use crate::pipeline::events;
use crate::smoke::{self, SmokeReport};
use tokio_util::sync::CancellationToken;

/// Every rung of the escalation ladder on the fast generator (no stronger model).
pub fn fast_only(config: &mut Config) {
    for rung in &mut config.pipeline.escalation {
        rung.role = "generator.fast".into();
    }
}

pub async fn suite(evolver: &Evolver, limit: Option<usize>, optimize: bool, verbose: bool) -> SmokeReport {
    let cancel = CancellationToken::new();
    let on_signal = cancel.clone();
    let watcher = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_signal.cancel();
        }
    });
    let sink = if verbose { Renderer::new(false).sink() } else { events::discard() };
    let report = smoke::run(evolver, limit, optimize, sink, &cancel, |r| {
        let got = match &r.got {
            Ok(v) => result_text(v),
            Err(e) => format!("error: {}", e.chars().take(120).collect::<String>()),
        };
        println!(
            "  {}  {:<62} expected {:<14} got {} ({:.1} s, {} model calls)",
            if r.passed { "PASS" } else { "FAIL" },
            r.task,
            result_text(&r.expected),
            got,
            r.seconds,
            r.model_calls
        );
    })
    .await;
    watcher.abort();
    report
}

pub async fn run(global: &Global, limit: Option<usize>, fast_only_ladder: bool, optimize: bool, verbose: bool) -> i32 {
    let evolver = match global.evolver_with(|c| {
        if fast_only_ladder {
            fast_only(c);
        }
    }) {
        Ok(e) => e,
        Err(code) => return code,
    };
    super::announce_fallbacks(&evolver, &Renderer::new(false)).await;
    let fast = evolver.router().route(crate::config::Role::GeneratorFast);
    let top = evolver.config().pipeline.escalation.last().map(|r| r.role.clone()).unwrap_or_default();
    let top_model = crate::config::Role::parse(&top).map(|r| evolver.router().route(r).model).unwrap_or_default();
    println!(
        "smoke suite: {} tasks; generator {} ({}), ladder up to {top_model}",
        smoke::tasks().len().min(limit.unwrap_or(usize::MAX)),
        fast.model,
        fast.backend
    );
    let report = suite(&evolver, limit, optimize, verbose).await;
    println!("smoke: {}", report.summary());
    if report.total == 0 { EXIT_FAILED } else { 0 }
}
