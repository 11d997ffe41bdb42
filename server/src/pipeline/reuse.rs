//! The same task again: when memory holds a verified function for exactly this task (the same
//! words, case and spacing aside) and this machine's registry holds that very code as the node's
//! current version (verified here, not only learned from a shared memory), its stored spec and
//! cases are the spec. No model is asked: the stored code is re-run on its cases in the sandbox,
//! linted, and run on the task's input. A task whose wording differs, or code the registry does
//! not vouch for, goes through classify and plan (recall still offers the stored code there,
//! judged against the new spec).

use super::compose::WorkflowReport;
use super::escalate::AttemptRecord;
use super::events::Stage;
use super::evolver::{Ctx, EvolveError, EvolveOutcome, EvolveRequest, Evolver, node_id};
use super::optimize::OptimizationReport;
use super::spec::Spec;
use super::verify::{prepare_dir, run_spec_tests};
use super::{analyse, classify, node, tests};
use crate::memory::{ArtifactKind, Filter, Memory};
use std::time::Instant;

/// A task's words as compared for "the same task".
pub fn normalised(task: &str) -> String {
    task.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

struct Stored {
    spec: Spec,
    code: String,
    score: f32,
}

async fn stored_for(ctx: &Ctx<'_>, memory: &Memory, task: &str) -> Option<Stored> {
    let hits = memory.similar(task, 1, &Filter::kind(ArtifactKind::Function)).await.ok()?;
    let best = hits.first()?;
    if best.score < ctx.config.memory.reuse_threshold || normalised(&best.artifact.payload.task) != normalised(task) {
        return None;
    }
    let stored = super::learned::function_of(&best.artifact)?;
    let (spec, code) = (stored.spec, stored.code);
    (!spec.test_cases.is_empty() && !code.trim().is_empty()).then_some(Stored { spec, code, score: best.score })
}

impl Evolver {
    /// The evolve of a task memory has verified before, or None to evolve it afresh.
    pub(super) async fn evolve_again(
        &self,
        ctx: &Ctx<'_>,
        request: &EvolveRequest,
        task: &str,
        started: Instant,
    ) -> Result<Option<EvolveOutcome>, EvolveError> {
        let Some(memory) = ctx.memory else { return Ok(None) };
        let Some(stored) = stored_for(ctx, memory, task).await else { return Ok(None) };
        let spec = stored.spec;
        let id = node_id(&spec.function.name, task);
        let (version, mutation, links) = match self.registry().get(&id) {
            Ok(detail) if detail.code.trim() == stored.code.trim() => {
                let current = detail.versions.iter().find(|v| v.version == detail.current_version);
                // A workflow's function: the steps its version is linked to.
                let links = current.map(|v| v.steps.clone()).unwrap_or_default();
                // The stored tests' strength, as measured when they were written.
                let mutation =
                    current.and_then(|v| v.mutation_json.as_deref()).and_then(|j| serde_json::from_str(j).ok());
                (detail.current_version, mutation, links)
            }
            _ => return Ok(None),
        };
        ctx.emit(
            Stage::Recall,
            5,
            format!(
                "this task was verified before (similarity {:.3}): its spec and {} cases are reused, no model is asked",
                stored.score,
                spec.test_cases.len()
            ),
        );
        self.sandbox().warm_up().await?;
        self.say_missing_layers(ctx).await;
        let program = node::assemble(task, &stored.code, &spec.function.name);
        let limits = self.node_limits(spec.tools.len(), spec.test_cases.len());
        let report = run_spec_tests(ctx, &spec, &program, &limits).await?;
        if !report.all_passed() {
            ctx.warn(
                Stage::Verify,
                30,
                format!(
                    "the stored code fails its own cases now ({}/{}): evolving afresh",
                    report.passed, report.total
                ),
            );
            return Ok(None);
        }
        ctx.emit(
            Stage::Verify,
            70,
            format!("reused verified code: {}/{} tests pass ({:.0} ms)", report.passed, report.total, report.wall_ms),
        );
        let test_text = tests::render(&spec, task, spec.tools.is_empty());
        let work = crate::scratch::temp_dir("recalled-")?;
        let dir = prepare_dir(work.path(), "recalled", &program, &test_text)?;
        let analysis = analyse::analyse(ctx, &program, &dir).await;
        let classification = classify::by_keywords(task);

        self.record_test_run(&id, version, spec.test_cases.len(), &report)?;
        ctx.emit(Stage::Remember, 96, format!("node {id} version {version} (nothing new to remember)"));
        let result = if request.run_task {
            let input = serde_json::Value::Object(spec.task_input.clone());
            ctx.emit(Stage::Run, 97, format!("running the node on the task's input {input}"));
            let run = self.run_program(ctx, &program, &input, &limits).await?;
            self.record(&id, version, "evolve", &run)?;
            Some(run)
        } else {
            None
        };
        ctx.emit(Stage::Done, 100, "done");
        let attempts = vec![AttemptRecord {
            rung: 0,
            by: super::escalate::AttemptBy::Memory,
            model: format!("recalled (similarity {:.3})", stored.score),
            temperature: 0.0,
            passed: report.passed,
            total: report.total,
            outcome: "reused".into(),
        }];
        let mut report = report;
        report.stderr_tail.clear();
        Ok(Some(EvolveOutcome {
            node_id: id,
            version,
            task: task.to_string(),
            classification,
            spec,
            code: stored.code,
            program,
            tests: test_text,
            report,
            attempts,
            analysis,
            optimization: OptimizationReport {
                score: 1.0,
                skipped: Some("the same task was verified and optimized before".into()),
                ..Default::default()
            },
            mutation,
            oracle: None,
            probe: None,
            result,
            // A stored workflow is re-run whole: its function, with its steps' code, passed again.
            workflow: (!links.is_empty()).then(|| WorkflowReport {
                reason: format!("re-run of a stored workflow of {} steps", links.len()),
                steps: self.steps_of(&links, 0),
            }),
            calls: ctx.budget.calls(),
            tokens: ctx.budget.tokens_used(),
            duration_ms: started.elapsed().as_millis() as u64,
        }))
    }
}
