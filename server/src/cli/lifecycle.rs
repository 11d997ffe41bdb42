//! Node commands: `test`, `optimize`, `evaluate`, `rollback`, `delete` a saved node, and
//! `evolve-due` (the auto-evolution check, for cron). Each refuses a bad id clearly (exit 2).

use super::render::Renderer;
use super::{CliError, CliResult, Global};
use crate::pipeline::EvolveError;
use crate::pipeline::score::human_ns;
use crate::{failed, usage};
use tokio_util::sync::CancellationToken;

fn cancel_on_ctrl_c() -> CancellationToken {
    let cancel = CancellationToken::new();
    let on_signal = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_signal.cancel();
        }
    });
    cancel
}

/// Exit code for an engine error: a bad id or node is the user's input (2).
fn failed(e: EvolveError) -> CliResult {
    match e {
        EvolveError::Cancelled => Err(CliError::Cancelled("nothing was saved".into())),
        e @ (EvolveError::Registry(_) | EvolveError::Node(_)) => Err(usage!("{e}")),
        e => Err(failed!("{e}")),
    }
}

pub async fn test(global: &Global, node: &str) -> CliResult {
    let evolver = global.evolver()?;
    match evolver.test_node(node, Renderer::new(true).sink(), cancel_on_ctrl_c()).await {
        Ok((id, version, report)) => {
            println!("node {id} v{version}: {}/{} tests pass ({:.0} ms)", report.passed, report.total, report.wall_ms);
            for case in report.cases.iter().filter(|c| !c.passed) {
                println!("  FAIL {}: {}", case.name, case.message);
            }
            if report.all_passed() { Ok(()) } else { Err(CliError::Reported) }
        }
        Err(e) => failed(e),
    }
}

pub async fn optimize(global: &Global, node: &str) -> CliResult {
    let evolver = global.evolver()?;
    let renderer = Renderer::new(true);
    match evolver.optimize_node(node, renderer.sink(), cancel_on_ctrl_c()).await {
        Ok((id, Some(version), report)) => {
            println!(
                "node {id}: v{version} kept, {:.2}× faster ({} → {} per call)",
                report.score,
                human_ns(report.original_ns),
                human_ns(report.final_ns)
            );
            Ok(())
        }
        Ok((id, None, report)) => {
            println!(
                "node {id}: no faster version kept{}",
                report.skipped.map(|s| format!(" ({s})")).unwrap_or_default()
            );
            Ok(())
        }
        Err(e) => failed(e),
    }
}

pub async fn evaluate(global: &Global, node: &str, version: Option<i64>, json: bool) -> CliResult {
    let evolver = global.evolver()?;
    match evolver.evaluate_node(node, version, Renderer::new(true).sink(), cancel_on_ctrl_c()).await {
        Ok(q) if json => {
            println!("{}", serde_json::to_string_pretty(&q).unwrap_or_default());
            Ok(())
        }
        Ok(q) => {
            println!("node {} v{}: quality {:.2}", q.node_id, q.version, q.score);
            for t in &q.terms {
                println!("  {:<12} {:.2} × weight {:.2} — {}", t.name, t.value, t.weight, t.why);
            }
            Ok(())
        }
        Err(e) => failed(e),
    }
}

pub fn rollback(global: &Global, node: &str, version: Option<i64>) -> CliResult {
    let evolver = global.evolver()?;
    match evolver.rollback(node, version) {
        Ok((id, from, to)) => {
            println!("node {id}: current version v{from} -> v{to}");
            Ok(())
        }
        Err(e) => failed(e),
    }
}

pub async fn delete(global: &Global, node: &str) -> CliResult {
    let evolver = global.evolver()?;
    match evolver.delete_node(node).await {
        Ok((id, artifacts)) => {
            println!("deleted node {id} and {artifacts} memory artifact(s) learned from it");
            Ok(())
        }
        Err(e) => failed(e),
    }
}

pub async fn evolve_due(global: &Global, dry_run: bool, json: bool) -> CliResult {
    let evolver = global.evolver()?;
    let renderer = Renderer::new(true);
    let sink = if json { crate::pipeline::events::discard() } else { renderer.sink() };
    match evolver.evolve_due(dry_run, sink, cancel_on_ctrl_c()).await {
        Ok((due, done, checked)) => {
            if json {
                let done: Vec<serde_json::Value> = done
                    .iter()
                    .map(|r| match r {
                        Ok(r) => serde_json::to_value(r).unwrap_or_default(),
                        Err(e) => serde_json::json!({ "error": e }),
                    })
                    .collect();
                println!(
                    "{}",
                    serde_json::json!({ "due": due, "processed": done, "check_ms": checked.as_secs_f64() * 1000.0 })
                );
                return Ok(());
            }
            println!("{} node(s) due (checked in {:.1} ms)", due.len(), checked.as_secs_f64() * 1000.0);
            for d in &due {
                println!("  {} v{}: {}", d.node_id, d.version, d.reason.describe());
            }
            let mut failures = 0;
            for r in &done {
                match r {
                    Ok(r) => {
                        println!("{} v{}: {}", r.node_id, r.from_version, r.outcome);
                        for case in &r.cases_added {
                            println!("    new case {case}");
                        }
                        if !r.pruned.is_empty() {
                            println!(
                                "    pruned {}",
                                r.pruned.iter().map(|v| format!("v{v}")).collect::<Vec<_>>().join(", ")
                            );
                        }
                    }
                    Err(e) => {
                        eprintln!("error: {e}");
                        failures += 1;
                    }
                }
            }
            if failures == 0 { Ok(()) } else { Err(CliError::Reported) }
        }
        Err(e) => failed(e),
    }
}
