//! `code-evolver evolve "task"`.

use super::render::{Renderer, summary};
use super::{CliError, CliResult, Global};
use crate::pipeline::{EvolveError, EvolveRequest};
use crate::{failed, usage};
use tokio_util::sync::CancellationToken;

pub struct Options {
    pub run_task: bool,
    pub optimize: bool,
    pub use_memory: bool,
    /// Split a compound task into verified steps (None: `workflow.enabled`).
    pub compose: Option<bool>,
    pub json: bool,
}

pub async fn run(global: &Global, task: &str, options: Options) -> CliResult {
    let Options { run_task, optimize, use_memory, compose, json } = options;
    if task.trim().is_empty() {
        return Err(usage!("give the task to evolve, e.g. code-evolver evolve \"add 10 and 20\""));
    }
    let evolver = global.evolver()?;
    let renderer = Renderer::new(json);
    let cancel = CancellationToken::new();
    let on_signal = cancel.clone();
    let interrupt = renderer.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            interrupt.line("interrupted: cancelling (press Ctrl-C again to quit at once)");
            on_signal.cancel();
            if tokio::signal::ctrl_c().await.is_ok() {
                crate::scratch::remove_own();
                std::process::exit(CliError::Cancelled(String::new()).exit_code());
            }
        }
    });
    super::announce_fallbacks(&evolver, &renderer).await;
    let route = evolver.router().route(crate::config::Role::GeneratorFast);
    renderer.line(&format!(
        "evolving: {task}  (generator: {} via {} {})",
        route.model,
        route.backend,
        route.endpoints.join(", ")
    ));
    let result = evolver
        .evolve(
            EvolveRequest { run_task, optimize, use_memory, compose, ..EvolveRequest::new(task) },
            renderer.sink(),
            cancel,
        )
        .await;
    renderer.finish();
    match result {
        Ok(outcome) => {
            if json {
                println!("{}", serde_json::to_string_pretty(&outcome).unwrap_or_default());
            } else {
                for line in summary(&outcome) {
                    println!("{line}");
                }
            }
            match &outcome.result {
                Some(run) if run.output.is_err() => Err(CliError::Reported),
                _ => Ok(()),
            }
        }
        Err(EvolveError::Cancelled) => Err(CliError::Cancelled("nothing was saved".into())),
        Err(e) => Err(failed!("{e}")),
    }
}
