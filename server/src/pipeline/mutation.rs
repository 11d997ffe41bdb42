//! mutation: how strong the final tests are. runtime/mutate.py (in the sandbox: it parses hostile
//! code) makes small mutants of the verified function — an operator, a comparison or boundary, a
//! constant, `and`/`or`, `not`, `min`/`max` — and each runs against the spec's cases here, judged
//! like the code itself. A mutant the cases do not fail survives. The share killed is the
//! mutation score; survivors that are equivalent to the original count against it too (no tool
//! can tell them apart in general), so it is a lower bound.

use super::evolver::{Ctx, EvolveError};
use super::node;
use super::spec::Spec;
use super::tests::{NODE_FILE, NODE_MODULE};
use super::verify::run_cases;
use crate::sandbox::{NodeLimits, RunRequest};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct MutationReport {
    pub mutants: usize,
    pub killed: usize,
    /// killed / mutants.
    pub score: f64,
    /// What the surviving mutants changed ("line 3: `<` -> `<=`"), the first few.
    pub survivors: Vec<String>,
    /// Cases the overseer added because too few mutants were killed.
    #[serde(default)]
    pub cases_added: usize,
    /// The score before those cases, when cases were added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_before: Option<f64>,
    pub ms: u64,
}

impl MutationReport {
    /// "mutation score 0.83 (25/30 mutants killed)"
    pub fn summary(&self) -> String {
        let mut text = format!("mutation score {:.2} ({}/{} mutants killed)", self.score, self.killed, self.mutants);
        if let Some(before) = self.score_before {
            text.push_str(&format!(", {before:.2} before {} added case(s)", self.cases_added));
        }
        text
    }
}

#[derive(Deserialize)]
struct Mutant {
    #[serde(default)]
    r#where: String,
    change: String,
    code: String,
}

#[derive(Deserialize)]
struct MutateAnswer {
    #[serde(default)]
    mutants: Vec<Mutant>,
    #[serde(default)]
    error: Option<String>,
}

/// The mutants of `code` (the model's part of a node), made in the sandbox.
async fn make_mutants(ctx: &Ctx<'_>, code: &str, max: u32) -> Result<Vec<Mutant>, EvolveError> {
    let stdin = serde_json::json!({"code": code, "max": max}).to_string();
    let request = RunRequest::runtime_script("mutate.py", stdin, NodeLimits::from_config(&ctx.config.limits));
    let outcome = ctx.run_sandboxed(&request).await?;
    let line = outcome.stdout.lines().last().unwrap_or("{}");
    let answer: MutateAnswer = serde_json::from_str(line).unwrap_or(MutateAnswer { mutants: vec![], error: None });
    if let Some(why) = answer.error {
        tracing::debug!("no mutants: {why}");
    }
    Ok(answer.mutants)
}

/// Runs the spec's cases against mutants of `code`. None when the node calls model tools (each
/// mutant would pay for the model again) or no mutant could be made.
pub async fn measure(
    ctx: &Ctx<'_>,
    task: &str,
    spec: &Spec,
    code: &str,
    limits: &NodeLimits,
    verified_wall_ms: f64,
) -> Result<Option<MutationReport>, EvolveError> {
    let max = ctx.config.pipeline.mutation.max_mutants;
    if max == 0 || !spec.tools.is_empty() || spec.test_cases.is_empty() {
        return Ok(None);
    }
    let started = Instant::now();
    let mutants = make_mutants(ctx, code, max).await?;
    if mutants.is_empty() {
        return Ok(None);
    }
    // A mutant that loops forever is killed by its timeout; it need not wait the node's whole one.
    let timeout = Duration::from_millis((verified_wall_ms * 20.0).max(1000.0) as u64).min(limits.timeout);
    let limits = NodeLimits { timeout, ..limits.clone() };
    let mut report = MutationReport { mutants: mutants.len(), ..Default::default() };
    for mutant in &mutants {
        let program = node::assemble(task, &mutant.code, &spec.function.name);
        let files = BTreeMap::from([(NODE_FILE.to_string(), program)]);
        let run = run_cases(ctx, files, NODE_MODULE, &spec.function.name, &spec.test_cases, &limits).await?;
        if run.all_passed() {
            if report.survivors.len() < 8 {
                report.survivors.push(format!("{}: {}", mutant.r#where, mutant.change));
            }
        } else {
            report.killed += 1;
        }
    }
    report.score = report.killed as f64 / report.mutants as f64;
    report.ms = started.elapsed().as_millis() as u64;
    Ok(Some(report))
}
