//! What an evolve keeps: the verified version and each accepted optimization in the registry
//! (with the verifying test run as the first version's run), and the solution in memory.

use super::escalate::AttemptBy;
use super::evolver::{Ctx, EvolveError, Evolver, Kept};
use super::learned::Figures;
use super::recall;
use crate::memory::Memory;
use crate::registry::{NewVersion, NodeRecord};

impl Evolver {
    /// Saves the node: the verified version, then each accepted optimization as its child.
    /// Returns the node id and its newest version.
    pub(super) fn persist(&self, kept: &Kept<'_>) -> Result<(String, i64), EvolveError> {
        let (verified, optimized) = (kept.verified, kept.optimized);
        let spec = &verified.spec;
        let id = super::evolver::node_id(&spec.function.name, kept.task);
        let findings_json = serde_json::to_string(kept.analysis).unwrap_or_default();
        let mutation_score = kept.mutation.map(|m| m.score);
        let mutation_json = kept.mutation.and_then(|m| serde_json::to_string(m).ok());
        let origin = if verified.attempts.first().is_some_and(|a| a.by == AttemptBy::Memory) {
            "recalled"
        } else if verified.attempts.len() > 1 {
            "escalated"
        } else {
            "generated"
        };
        let mut versions = vec![NewVersion {
            origin: origin.into(),
            code: verified.code.clone(),
            program: verified.node.clone(),
            model: verified.attempts.last().map(|a| a.model.clone()).unwrap_or_default(),
            change: kept.change.clone(),
            tests_passed: verified.report.passed,
            tests_total: verified.report.total,
            per_call_ns: (optimized.report.original_ns > 0.0).then_some(optimized.report.original_ns),
            peak_rss_kb: None,
            score: Some(1.0),
            findings_json: findings_json.clone(),
            mutation_score,
            mutation_json: mutation_json.clone(),
            steps: super::compose::links(&verified.code, &kept.steps),
        }];
        let optimizer_role = self.config().pipeline.optimize.role;
        let optimizer_model = self.router().route(optimizer_role).model;
        let accepted_iterations: Vec<_> = optimized.report.iterations.iter().filter(|it| it.accepted).collect();
        for (i, (code, program, change)) in optimized.accepted.iter().enumerate() {
            let last = i + 1 == optimized.accepted.len();
            let comparison = accepted_iterations.get(i).and_then(|it| it.comparison.clone());
            versions.push(NewVersion {
                origin: "optimized".into(),
                code: code.clone(),
                program: program.clone(),
                model: optimizer_model.clone(),
                change: change.clone(),
                tests_passed: verified.report.total,
                tests_total: verified.report.total,
                per_call_ns: comparison.as_ref().map(|c| c.candidate_ns),
                peak_rss_kb: comparison.as_ref().map(|c| c.candidate_rss_kb),
                score: if last {
                    Some(optimized.report.score)
                } else {
                    comparison.as_ref().map(|c| optimized.report.original_ns / c.candidate_ns)
                },
                findings_json: findings_json.clone(),
                mutation_score,
                mutation_json: mutation_json.clone(),
                steps: super::compose::links(code, &kept.steps),
            });
        }
        let spec_json = serde_json::to_string(spec).unwrap_or_default();
        let node = NodeRecord {
            id: &id,
            task: kept.task,
            kind: kept.classification.kind.as_str(),
            complexity: kept.classification.complexity.as_str(),
            function_name: &spec.function.name,
            spec_json: &spec_json,
            tests: &verified.tests,
            uses_tools: !spec.tools.is_empty(),
        };
        let version = self.registry().save(&node, &versions)?;
        // The verifying test run is a run of the first new version, with its metrics.
        let verified_version = version - (versions.len() as i64 - 1);
        self.record_test_run(&id, verified_version, spec.test_cases.len(), &verified.report)?;
        Ok((id, version))
    }

    /// Stores the verified solution (task, spec, code, figures) in memory for later recall.
    pub(super) async fn learn(&self, ctx: &Ctx<'_>, memory: &Memory, kept: &Kept<'_>, id: &str, version: i64) {
        let (verified, optimized, classification) = (kept.verified, kept.optimized, kept.classification);
        let spec = &verified.spec;
        let learned = recall::Learned {
            task: kept.task,
            node_id: id,
            version,
            kind: classification.kind.as_str(),
            spec,
            verified,
            code: &optimized.code,
            figures: Figures {
                tests_passed: verified.report.passed,
                tests_total: verified.report.total,
                per_call_ns: optimized.report.final_ns,
                score: optimized.report.score,
                peak_rss_kb: optimized.report.peak_rss_kb,
            },
            stages: vec![
                format!("classified {} / {}", classification.kind.as_str(), classification.complexity.as_str()),
                format!("spec {} with {} cases", spec.signature(), spec.test_cases.len()),
                format!("{} attempt(s)", verified.attempts.len()),
                format!("optimization score {:.2}", optimized.report.score),
            ],
        };
        recall::remember(ctx, memory, &learned).await;
        let seen = super::patterns::Seen {
            node_id: id,
            task: kept.task,
            code: &optimized.code,
            entry: &spec.function.name,
            fixed: verified.repaired.as_ref().map(|(error, _)| (error.as_str(), verified.code.as_str())),
        };
        super::patterns::learn(ctx, memory, self.registry(), &seen).await;
    }
}
