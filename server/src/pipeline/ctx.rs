//! What one stage of an evolve needs (`Ctx`): configuration, router, sandbox, linters, budget,
//! cancel token, events, tools and memory, and the stage helpers every stage uses (events, model
//! calls with their figures, sandboxed runs that stop on cancel).

use super::budget::Budget;
use super::events::{Detail, Event, EventSink, Level, Stage};
use super::evolver::EvolveError;
use crate::analysis::Linters;
use crate::config::{Config, Role};
use crate::llm::{CallRecord, ChatRequest, Completion, Router};
use crate::memory::Memory;
use crate::sandbox::tools::ToolHandler;
use crate::sandbox::{RunOutcome, RunRequest, Sandbox};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// What one stage needs, borrowed for the length of an evolve.
pub struct Ctx<'a> {
    pub config: &'a Config,
    pub router: &'a Router,
    pub sandbox: &'a Sandbox,
    pub linters: &'a Linters,
    pub budget: &'a Budget,
    pub cancel: &'a CancellationToken,
    pub events: &'a EventSink,
    /// Serves `call_tool` for the runs of this evolve.
    pub tools: Option<Arc<dyn ToolHandler>>,
    /// Verified solutions to recall (None: memory off or unavailable).
    pub memory: Option<&'a Memory>,
}

impl Ctx<'_> {
    pub fn emit(&self, stage: Stage, percent: u8, message: impl Into<String>) {
        (self.events)(&Event::new(stage, percent, Level::Info, message));
    }

    pub fn warn(&self, stage: Stage, percent: u8, message: impl Into<String>) {
        (self.events)(&Event::new(stage, percent, Level::Warning, message));
    }

    /// An event with its typed detail.
    pub fn tell(&self, event: Event) {
        (self.events)(&event);
    }

    pub fn check_cancel(&self) -> Result<(), EvolveError> {
        if self.cancel.is_cancelled() { Err(EvolveError::Cancelled) } else { Ok(()) }
    }

    /// One model call for a stage; the event names role, model, endpoint, tokens and time.
    pub async fn ask(
        &self,
        stage: Stage,
        percent: u8,
        role: Role,
        model: Option<&str>,
        request: ChatRequest,
    ) -> Result<Completion, EvolveError> {
        self.check_cancel()?;
        let (completion, record) = self.router.chat(role, model, request, self.budget, self.cancel).await?;
        for failure in &record.failovers {
            self.warn(stage, percent, format!("failed over: {failure}"));
        }
        (self.events)(&model_call_event(stage, percent, &record));
        Ok(completion)
    }

    /// A sandboxed run that ends early, killing the child, when the evolve is cancelled.
    pub async fn run_sandboxed(&self, request: &RunRequest) -> Result<RunOutcome, EvolveError> {
        tokio::select! {
            _ = self.cancel.cancelled() => {
                self.sandbox.stop_abandoned_run().await;
                Err(EvolveError::Cancelled)
            }
            outcome = self.sandbox.run(request) => Ok(outcome?),
        }
    }
}

/// The event for a finished model call: its line and its figures.
pub fn model_call_event(stage: Stage, percent: u8, record: &CallRecord) -> Event {
    Event::new(stage, percent, Level::Model, describe_call(record)).with(Detail::ModelCall {
        role: record.role.clone(),
        model: record.model.clone(),
        backend: record.backend.clone(),
        endpoint: record.endpoint.clone(),
        prompt_tokens: record.prompt_tokens,
        completion_tokens: record.completion_tokens,
        duration_ms: record.duration_ms,
    })
}

pub fn describe_call(record: &CallRecord) -> String {
    format!(
        "{} · {} @ {} ({}) · {}+{} tokens · {} ms",
        record.role,
        record.model,
        record.endpoint,
        record.backend,
        record.prompt_tokens,
        record.completion_tokens,
        record.duration_ms
    )
}
