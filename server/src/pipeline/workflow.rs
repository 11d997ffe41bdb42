//! A compound task as a workflow (see compose.rs for how a task is split): each step evolved or
//! recalled as a node of its own, then the task's own function over the steps' verified code; a
//! workflow that cannot be verified falls back to one function.

use std::sync::Arc;
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use super::compose::{StepPlan, StepRef, WorkflowReport};
use super::events::{Detail, Event, EventSink, Level, Stage};
use super::evolver::{EvolveError, EvolveOutcome, EvolveRequest, Evolver};
use crate::llm::budget::Budget;
use crate::registry::StepLink;

/// The share of an evolve's budget its workflow (steps and the function over them) may spend.
const WORKFLOW_SHARE: f64 = 0.5;

/// The outcome counts every call of the workflow (its parts' calls count in the evolve's own
/// budget), not only its last evolve's.
fn count_into(budget: &Budget, outcome: &mut EvolveOutcome) {
    outcome.calls = budget.calls();
    outcome.tokens = budget.tokens_used();
}

impl Evolver {
    /// A compound task: each step evolved (or recalled) as a node of its own, then the task's own
    /// function, with the steps' verified code above it and the task's end-to-end cases. The
    /// outcome is the task's node, with the steps in `workflow`; memory keeps the workflow.
    pub(super) async fn evolve_workflow(
        &self,
        request: EvolveRequest,
        steps: Vec<StepPlan>,
        events: EventSink,
        cancel: CancellationToken,
        started: Instant,
        budget: Arc<Budget>,
    ) -> Result<EvolveOutcome, EvolveError> {
        // The steps and the function over them share half of what is left; the fallback to one
        // function gets the rest. The whole stays within `limits`.
        let part = Arc::new(budget.part(WORKFLOW_SHARE));
        let of = steps.len();
        let mut done: Vec<(StepRef, String)> = Vec::new();
        let mut tools: Vec<String> = Vec::new();
        for (i, step) in steps.into_iter().enumerate() {
            let task = step.task_text();
            let message = format!("step {}/{of}: {} — {task}", i + 1, step.name);
            (events)(&Event::new(Stage::Plan, 5, Level::Info, message).with(Detail::Step {
                number: i + 1,
                of,
                name: step.name.clone(),
                task: task.clone(),
            }));
            // A step may be split again, `workflow.max_depth` levels at most (evolve checks).
            let one = EvolveRequest {
                task: task.clone(),
                run_task: false,
                optimize: request.optimize,
                use_memory: request.use_memory,
                compose: request.compose,
                steps: Vec::new(),
                depth: request.depth + 1,
                budget: Some(part.clone()),
            };
            let outcome = match Box::pin(self.evolve(one, events.clone(), cancel.clone())).await {
                Ok(o) => o,
                Err(EvolveError::Cancelled) => return Err(EvolveError::Cancelled),
                Err(e) => {
                    let why = format!("step {}/{of} `{}` failed ({e})", i + 1, step.name);
                    return Box::pin(self.evolve_whole(request, &why, events, cancel, &budget)).await;
                }
            };
            tools.extend(outcome.spec.tools.iter().cloned());
            let reused = outcome.attempts.first().is_some_and(|a| a.by == super::escalate::AttemptBy::Memory);
            done.push((
                StepRef {
                    name: step.name,
                    task,
                    node_id: outcome.node_id.clone(),
                    version: outcome.version,
                    function: outcome.spec.function.name.clone(),
                    signature: outcome.spec.signature(),
                    reused,
                    steps: outcome.workflow.map(|w| w.steps).unwrap_or_default(),
                },
                outcome.code,
            ));
        }
        let task = request.task.clone();
        let whole =
            EvolveRequest { steps: done.clone(), compose: Some(false), budget: Some(part.clone()), ..request.clone() };
        let mut outcome = match Box::pin(self.evolve(whole, events.clone(), cancel.clone())).await {
            Ok(o) => o,
            Err(EvolveError::Cancelled) => return Err(EvolveError::Cancelled),
            Err(e) => {
                let why = format!("the function over the {of} verified steps failed ({e})");
                return Box::pin(self.evolve_whole(request, &why, events, cancel, &budget)).await;
            }
        };
        count_into(&budget, &mut outcome);
        let steps: Vec<StepRef> = done.into_iter().map(|(s, _)| s).collect();
        if request.use_memory
            && let Some(memory) = self.memory()
        {
            tools.extend(outcome.spec.tools.iter().cloned());
            tools.sort();
            tools.dedup();
            let content = super::learned::ComposedContent {
                node_id: outcome.node_id.clone(),
                version: outcome.version,
                steps: steps.clone(),
                tools,
            };
            let content = serde_json::to_value(content).unwrap_or_default();
            let o = &outcome.optimization;
            let figures = super::learned::Figures {
                tests_passed: outcome.report.passed,
                tests_total: outcome.report.total,
                per_call_ns: o.final_ns,
                score: o.score,
                peak_rss_kb: o.peak_rss_kb,
            };
            let payload = crate::memory::Payload {
                task: task.clone(),
                tags: vec!["workflow".into()],
                language: "python".into(),
                quality: 1.0,
                content,
                metrics: serde_json::to_value(figures).unwrap_or_default(),
                ..Default::default()
            };
            let artifact = crate::memory::Artifact::keyed(
                crate::memory::ArtifactKind::Workflow,
                &format!("workflow\n{}", task.trim()),
                task.clone(),
                payload,
            );
            if let Err(e) = memory.remember(vec![artifact]).await {
                tracing::warn!("workflow not remembered: {e}");
            }
        }
        outcome.workflow = Some(WorkflowReport { reason: format!("{} steps", steps.len()), steps });
        outcome.duration_ms = started.elapsed().as_millis() as u64;
        Ok(outcome)
    }

    /// A stored workflow version's steps, as the registry links them (their own steps below
    /// them), each marked reused. A link to a node that is gone is left out.
    pub(super) fn steps_of(&self, links: &[StepLink], depth: u32) -> Vec<StepRef> {
        links
            .iter()
            .filter_map(|link| {
                let detail = self.registry().get(&link.node_id).ok()?;
                let spec = super::lifecycle::spec_of(&detail).ok()?;
                let own = detail.versions.iter().find(|v| v.version == link.version).map(|v| v.steps.clone());
                Some(StepRef {
                    name: link.name.clone(),
                    task: detail.task.clone(),
                    node_id: detail.id.clone(),
                    version: link.version,
                    function: spec.function.name.clone(),
                    signature: spec.signature(),
                    reused: true,
                    steps: match own {
                        Some(own) if depth < 3 => self.steps_of(&own, depth + 1),
                        _ => Vec::new(),
                    },
                })
            })
            .collect()
    }

    /// A workflow that failed: the task evolved as one function instead, with what is left of
    /// the budget, and the user told why.
    async fn evolve_whole(
        &self,
        request: EvolveRequest,
        why: &str,
        events: EventSink,
        cancel: CancellationToken,
        budget: &Arc<Budget>,
    ) -> Result<EvolveOutcome, EvolveError> {
        (events)(&Event::new(Stage::Plan, 5, Level::Warning, format!("{why}: evolving the task as one function")));
        let rest = Arc::new(budget.part(1.0));
        let one = EvolveRequest { compose: Some(false), steps: Vec::new(), budget: Some(rest), ..request };
        let mut outcome = self.evolve(one, events, cancel).await?;
        count_into(budget, &mut outcome);
        Ok(outcome)
    }
}
