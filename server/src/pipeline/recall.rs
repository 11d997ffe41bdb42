//! recall and remember: the pipeline's use of memory.
//!
//! recall (after classify): a verified function at least `reuse_threshold` similar is a reuse
//! candidate; between `related_threshold` and that, the model judges SAME (reuse candidate),
//! RELATED (its code becomes a template in the generation prompt) or DIFFERENT. A candidate is
//! reused only after its own stored tests and the new spec's tests pass on it, so a near-identical
//! task with other numbers still gets its own spec and input. A similar verified spec is shown to
//! the overseer. Escalation looks up stored fixes for a similar error.
//!
//! remember (after a verified result): spec, function (code, tests, metrics), workflow and any
//! fix, as one batch.

use serde_json::{Value, json};

use super::escalate::{AttemptBy, AttemptRecord, Verified};
use super::events::Stage;
use super::evolver::{Ctx, EvolveError};
use super::learned::{self, Figures, FixContent, FunctionContent, WorkflowContent};
use super::schema::Verdict;
use super::spec::{Spec, TestCase};
use super::verify::{run_spec_tests, run_tests};
use super::{node, schema};
use crate::config::Role;
use crate::llm::{ChatRequest, Message};
use crate::memory::{Artifact, ArtifactKind, Filter, Hit, Memory, Payload};
use crate::sandbox::NodeLimits;

/// A stored verified function that may serve the new task.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub artifact_id: String,
    pub score: f32,
    pub task: String,
    pub code: String,
    /// The cases it was verified by (from its stored spec).
    pub cases: Vec<TestCase>,
    pub function: String,
}

#[derive(Debug, Default)]
pub struct Recalled {
    pub reuse: Option<Candidate>,
    /// Related verified code for the generation prompt.
    pub template: Option<String>,
    /// A similar verified spec for the overseer.
    pub spec_hint: Option<String>,
    /// Helpers that verified nodes of similar tasks share (pattern memory), for the generator.
    pub patterns: Option<String>,
}

fn candidate(hit: &Hit) -> Option<Candidate> {
    let stored = learned::function_of(&hit.artifact)?;
    Some(Candidate {
        artifact_id: hit.artifact.id.clone(),
        score: hit.score,
        task: hit.artifact.payload.task.clone(),
        code: stored.code,
        cases: stored.spec.test_cases,
        function: stored.function,
    })
}

async fn judge(ctx: &Ctx<'_>, stored: &str, task: &str) -> Result<Verdict, EvolveError> {
    let request = ChatRequest {
        messages: vec![
            Message::system(
                "You compare two programming tasks. SAME: one function solves both exactly (only the example \
                 inputs may differ). RELATED: similar problems, but the function must change. DIFFERENT: unrelated. \
                 Answer with JSON: {\"verdict\": \"SAME\" | \"RELATED\" | \"DIFFERENT\", \"reason\": \"...\"}.",
            ),
            Message::user(format!("Stored task: {stored}\nNew task: {task}")),
        ],
        schema: Some(schema::judge()),
        temperature: Some(0.0),
        ..Default::default()
    };
    let answer = ctx.ask(Stage::Recall, 7, Role::Evaluator, None, request).await?;
    Ok(schema::parse_json_answer(&answer.text).map(|v| Verdict::of(&v)).unwrap_or(Verdict::Different))
}

/// Looks the task up in memory; every finding is reported as a recall event with its similarity.
pub async fn recall(ctx: &Ctx<'_>, memory: &Memory, task: &str) -> Result<Recalled, EvolveError> {
    let settings = &ctx.config.memory;
    let mut recalled = Recalled::default();
    let functions = match memory.similar(task, settings.candidates.max(1), &Filter::kind(ArtifactKind::Function)).await
    {
        Ok(hits) => hits,
        Err(e) => {
            ctx.warn(Stage::Recall, 7, format!("memory unavailable: {e}"));
            return Ok(recalled);
        }
    };
    if let Some(best) = functions.first()
        && let Some(found) = candidate(best)
    {
        if best.score >= settings.reuse_threshold {
            ctx.emit(
                Stage::Recall,
                7,
                format!(
                    "recalled `{}` for \"{}\" (similarity {:.3}): reuse if its tests pass",
                    found.function, found.task, best.score
                ),
            );
            recalled.reuse = Some(found);
        } else if best.score >= settings.related_threshold {
            // The judge only helps: a model that fails here leaves the recall unused, not the evolve.
            let verdict = match judge(ctx, &found.task, task).await {
                Ok(v) => v,
                Err(e @ (EvolveError::Cancelled | EvolveError::Budget(_))) => return Err(e),
                Err(e) => {
                    ctx.warn(Stage::Recall, 8, format!("the memory judge failed ({e}); the recalled code is not used"));
                    Verdict::Different
                }
            };
            ctx.emit(
                Stage::Recall,
                8,
                format!(
                    "recalled `{}` for \"{}\" (similarity {:.3}): judged {verdict}",
                    found.function, found.task, best.score
                ),
            );
            match verdict {
                Verdict::Same => recalled.reuse = Some(found),
                Verdict::Related => recalled.template = Some(found.code),
                Verdict::Different => {}
            }
        } else {
            ctx.emit(Stage::Recall, 7, format!("nothing similar enough in memory (best {:.3})", best.score));
        }
    } else {
        ctx.emit(Stage::Recall, 7, "memory holds no verified function yet");
    }
    if let Some((code, names)) = super::patterns::for_task(ctx, memory, task).await {
        ctx.emit(Stage::Recall, 8, format!("patterns from memory go to the generator: {}", names.join(", ")));
        recalled.patterns = Some(code);
    }
    if let Ok(specs) = memory.similar(task, 1, &Filter::kind(ArtifactKind::Spec)).await
        && let Some(best) = specs.first()
        && best.score >= settings.spec_threshold
    {
        ctx.emit(
            Stage::Recall,
            8,
            format!(
                "a verified spec for \"{}\" (similarity {:.3}) goes to the overseer",
                best.artifact.payload.task, best.score
            ),
        );
        recalled.spec_hint = Some(format!(
            "A verified spec for a similar task (\"{}\", similarity {:.2}), for reference only:\n{}",
            best.artifact.payload.task, best.score, best.artifact.payload.content
        ));
    }
    Ok(recalled)
}

/// Tries a recalled function on the new spec: its stored tests first, then the new spec's tests.
/// Some(Verified) when both pass.
pub async fn try_reuse(
    ctx: &Ctx<'_>,
    candidate: &Candidate,
    task: &str,
    spec: &Spec,
    limits: &NodeLimits,
) -> Result<Option<Verified>, EvolveError> {
    let stored_node = node::assemble(&candidate.task, &candidate.code, &candidate.function);
    if !candidate.cases.is_empty() {
        let report = run_tests(ctx, &candidate.function, &candidate.cases, &stored_node, false, limits).await?;
        if !report.all_passed() {
            ctx.warn(
                Stage::Verify,
                30,
                format!("the recalled code fails its own tests now ({}/{}): not reused", report.passed, report.total),
            );
            return Ok(None);
        }
    }
    // The new spec may name the function differently: an alias keeps the code as verified.
    let code = if candidate.function == spec.function.name {
        candidate.code.clone()
    } else {
        format!("{}\n\n\n{} = {}\n", candidate.code.trim_end(), spec.function.name, candidate.function)
    };
    let program = node::assemble(task, &code, &spec.function.name);
    let report = run_spec_tests(ctx, spec, &program, limits).await?;
    if !report.all_passed() {
        ctx.warn(
            Stage::Verify,
            30,
            format!(
                "the recalled code passes {}/{} of the new spec's tests: generating instead",
                report.passed, report.total
            ),
        );
        return Ok(None);
    }
    ctx.emit(
        Stage::Verify,
        70,
        format!(
            "reused verified code from memory: {}/{} tests pass ({:.0} ms), no generation",
            report.passed, report.total, report.wall_ms
        ),
    );
    let attempt = AttemptRecord {
        rung: 0,
        by: AttemptBy::Memory,
        model: format!(
            "recalled {} (similarity {:.3})",
            &candidate.artifact_id[..8.min(candidate.artifact_id.len())],
            candidate.score
        ),
        temperature: 0.0,
        passed: report.passed,
        total: report.total,
        outcome: "reused".into(),
    };
    Ok(Some(Verified {
        spec: spec.clone(),
        tests: super::tests::render(spec, task, spec.tools.is_empty()),
        code,
        node: program,
        report,
        attempts: vec![attempt],
        repaired: None,
        oracle: None,
    }))
}

/// Stored fixes for an error like `failures`, as text for the next rung.
pub async fn fixes_for(ctx: &Ctx<'_>, failures: &str) -> Option<String> {
    let memory = ctx.memory?;
    let hits = memory.similar(failures, 2, &Filter::kind(ArtifactKind::Fix)).await.ok()?;
    let useful: Vec<&Hit> = hits.iter().filter(|h| h.score >= ctx.config.memory.fix_threshold).collect();
    if useful.is_empty() {
        return None;
    }
    ctx.emit(
        Stage::Escalate,
        50,
        format!("{} stored fix(es) for a similar error (best similarity {:.3})", useful.len(), useful[0].score),
    );
    let mut text = String::from("\nSimilar errors were fixed before like this:\n");
    for fix in useful.iter().filter_map(|hit| learned::fix_of(&hit.artifact)) {
        text.push_str(&format!(
            "- error: {}\n  fixed code:\n```python\n{}\n```\n",
            fix.error.lines().next().unwrap_or_default(),
            fix.after.trim_end()
        ));
    }
    Some(text)
}

/// What one verified evolve leaves in memory.
pub struct Learned<'a> {
    pub task: &'a str,
    pub node_id: &'a str,
    pub version: i64,
    pub kind: &'a str,
    pub spec: &'a Spec,
    pub verified: &'a Verified,
    pub code: &'a str,
    pub figures: Figures,
    pub stages: Vec<String>,
}

pub fn artifacts(l: &Learned<'_>) -> Vec<Artifact> {
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let quality = l.verified.report.passed as f64 / l.verified.report.total.max(1) as f64;
    let tags = vec![l.kind.to_string(), l.spec.function.name.clone()];
    let lineage = json!({"node_id": l.node_id, "version": l.version, "attempts": l.verified.attempts});
    let payload = |content: Value| Payload {
        task: l.task.to_string(),
        tags: tags.clone(),
        language: "python".into(),
        quality,
        metrics: serde_json::to_value(&l.figures).unwrap_or(Value::Null),
        lineage: lineage.clone(),
        created: now,
        content,
    };
    let spec_json = serde_json::to_value(l.spec).unwrap_or(Value::Null);
    let mut out = vec![
        Artifact::new(ArtifactKind::Spec, l.task, payload(spec_json.clone())),
        Artifact::new(
            ArtifactKind::Function,
            l.task,
            payload(
                serde_json::to_value(FunctionContent {
                    function: l.spec.function.name.clone(),
                    signature: l.spec.signature(),
                    code: l.code.to_string(),
                    tests: l.verified.tests.clone(),
                    spec: l.spec.clone(),
                })
                .unwrap_or(Value::Null),
            ),
        ),
        Artifact::new(
            ArtifactKind::Workflow,
            l.task,
            payload(
                serde_json::to_value(WorkflowContent { stages: &l.stages, attempts: &l.verified.attempts })
                    .unwrap_or(Value::Null),
            ),
        ),
    ];
    if let Some((error, before)) = &l.verified.repaired {
        out.push(Artifact::new(
            ArtifactKind::Fix,
            error.clone(),
            payload(
                serde_json::to_value(FixContent {
                    error: error.clone(),
                    before: before.clone(),
                    after: l.verified.code.clone(),
                    task: l.task.to_string(),
                })
                .unwrap_or(Value::Null),
            ),
        ));
    }
    out
}

/// Stores what an evolve learned; a failure is a warning, never a failed evolve.
pub async fn remember(ctx: &Ctx<'_>, memory: &Memory, learned: &Learned<'_>) {
    let artifacts = artifacts(learned);
    let count = artifacts.len();
    match memory.remember(artifacts).await {
        Ok(new) => ctx.emit(
            Stage::Remember,
            97,
            format!("memory: {count} artifacts ({new} new) in {}", memory.store().describe()),
        ),
        Err(e) => ctx.warn(Stage::Remember, 97, format!("not remembered: {e}")),
    }
}

impl super::evolver::Evolver {
    /// The stored artifacts most similar to `text` (for editors' completion); empty when memory
    /// is off.
    pub async fn similar(
        &self,
        text: &str,
        k: usize,
        filter: &crate::memory::Filter,
    ) -> Result<Vec<crate::memory::Hit>, crate::memory::MemoryError> {
        match self.memory() {
            Some(memory) => memory.similar(text, k, filter).await,
            None => Ok(Vec::new()),
        }
    }
}
