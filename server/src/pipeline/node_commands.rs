//! Commands on a saved node (the CLI's `test`, `optimize`, `evaluate`, `rollback`, `delete`, the
//! REPL's and the language server's): each on the node's current version, each refusing an
//! unknown id (RegistryError::NotFound) before doing anything.

use super::events::{EventSink, Stage};
use super::evolver::{Ctx, EvolveError, Evolver};
use super::lifecycle::spec_of;
use super::optimize::{OptimizationReport, optimize};
use super::spec::Spec;
use super::verify::{TestReport, run_spec_tests};
use crate::registry::{NewVersion, NodeDetail};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

/// A version's quality, with its terms (each in [0, 1]).
#[derive(Debug, Clone, Serialize)]
pub struct Quality {
    pub node_id: String,
    pub version: i64,
    pub score: f64,
    pub terms: Vec<QualityTerm>,
}

#[derive(Debug, Clone, Serialize)]
pub struct QualityTerm {
    pub name: String,
    pub value: f64,
    pub weight: f64,
    pub why: String,
}

impl Evolver {
    /// Makes `version` (default: the current one's parent) current again. Returns (id, from, to).
    pub fn rollback(&self, id_or_prefix: &str, version: Option<i64>) -> Result<(String, i64, i64), EvolveError> {
        let detail = self.registry().get(id_or_prefix)?;
        let target = match version {
            Some(v) => v,
            None => detail
                .versions
                .iter()
                .find(|v| v.version == detail.current_version)
                .and_then(|v| v.parent_version)
                .ok_or_else(|| {
                    EvolveError::Node(format!(
                        "node {} v{} has no earlier version to roll back to",
                        detail.id, detail.current_version
                    ))
                })?,
        };
        self.registry().set_current(&detail.id, target)?;
        Ok((detail.id, detail.current_version, target))
    }

    /// Removes a node from the registry and what memory learned from it. Returns (id, artifacts).
    pub async fn delete_node(&self, id_or_prefix: &str) -> Result<(String, usize), EvolveError> {
        let id = self.registry().resolve(id_or_prefix)?;
        // Memory first: a failure there leaves the node whole, never half-deleted.
        let forgotten = match self.memory() {
            Some(memory) => memory.forget_node(&id).await.map_err(|e| EvolveError::Node(format!("memory: {e}")))?,
            None => 0,
        };
        self.registry().delete_node(&id)?;
        Ok((id, forgotten))
    }

    /// Re-runs a node's cases on its current version (recorded as a test run).
    pub async fn test_node(
        &self,
        id_or_prefix: &str,
        events: EventSink,
        cancel: CancellationToken,
    ) -> Result<(String, i64, TestReport), EvolveError> {
        let budget = self.new_budget();
        let ctx = self.work_ctx(&budget, &cancel, &events, Some("auto-evolve"));
        self.sandbox().warm_up().await?;
        let detail = self.registry().get(id_or_prefix)?;
        let spec = spec_of(&detail)?;
        let limits = self.node_limits(usize::from(detail.uses_tools), spec.test_cases.len());
        let report = run_spec_tests(&ctx, &spec, &detail.program, &limits).await?;
        self.record_test_run(&detail.id, detail.current_version, spec.test_cases.len(), &report)?;
        Ok((detail.id, detail.current_version, report))
    }

    /// Asks for faster versions of a saved node; a kept one becomes the new current version.
    pub async fn optimize_node(
        &self,
        id_or_prefix: &str,
        events: EventSink,
        cancel: CancellationToken,
    ) -> Result<(String, Option<i64>, OptimizationReport), EvolveError> {
        let budget = self.new_budget();
        let ctx = self.work_ctx(&budget, &cancel, &events, Some("auto-evolve"));
        self.sandbox().warm_up().await?;
        let detail = self.registry().get(id_or_prefix)?;
        let spec = spec_of(&detail)?;
        let limits = self.node_limits(usize::from(detail.uses_tools), spec.test_cases.len());
        let (report, version) = self.optimize_detail(&ctx, &detail, &spec, &limits).await?;
        Ok((detail.id, version, report))
    }

    pub(super) async fn optimize_detail(
        &self,
        ctx: &Ctx<'_>,
        detail: &NodeDetail,
        spec: &Spec,
        limits: &crate::sandbox::NodeLimits,
    ) -> Result<(OptimizationReport, Option<i64>), EvolveError> {
        let optimized =
            optimize(ctx, &detail.task, spec, &detail.code, &detail.program, limits, super::optimize::Ask::Always)
                .await?;
        let Some((code, program, change)) = optimized.accepted.last().cloned() else {
            return Ok((optimized.report, None));
        };
        let total = spec.test_cases.len() + usize::from(spec.tools.is_empty());
        let built_on = detail.versions.iter().find(|v| v.version == detail.current_version);
        let steps = super::compose::links(&code, built_on.map(|v| v.steps.as_slice()).unwrap_or_default());
        let version = self.registry().save(
            &detail.record(),
            &[NewVersion {
                origin: "optimized".into(),
                code,
                program,
                model: self.router().route(crate::config::Role::GeneratorFast).model,
                change,
                tests_passed: total,
                tests_total: total,
                per_call_ns: Some(optimized.report.final_ns),
                peak_rss_kb: Some(optimized.report.peak_rss_kb),
                score: Some(optimized.report.score),
                findings_json: "[]".into(),
                mutation_score: None,
                mutation_json: None,
                steps,
            }],
        )?;
        Ok((optimized.report, Some(version)))
    }

    /// A version's quality (default: the current one), with its terms: correctness (its tests
    /// and its real runs), speed and memory against the node's first version, and the
    /// evaluator model's verdict when one answers. The evaluator never lifts a version whose
    /// tests fail: the score is at most the correctness term.
    pub async fn evaluate_node(
        &self,
        id_or_prefix: &str,
        version: Option<i64>,
        events: EventSink,
        cancel: CancellationToken,
    ) -> Result<Quality, EvolveError> {
        let detail = self.registry().get(id_or_prefix)?;
        let wanted = version.unwrap_or(detail.current_version);
        let row = detail
            .versions
            .iter()
            .find(|v| v.version == wanted)
            .ok_or(crate::registry::RegistryError::NoVersion(detail.id.clone(), wanted))?;
        let first = detail.versions.first().expect("a node has a version");
        let stats = self.registry().version_stats(&detail.id)?;
        let use_stats = stats.iter().find(|s| s.version == wanted);
        let tests = row.tests_passed as f64 / row.tests_total.max(1) as f64;
        let real = use_stats.and_then(|s| s.success_rate).unwrap_or(1.0);
        let mut terms = vec![QualityTerm {
            name: "correctness".into(),
            value: tests * real,
            weight: 0.6,
            why: format!(
                "{}/{} tests pass; {} real run(s), {:.0}% ok",
                row.tests_passed,
                row.tests_total,
                use_stats.map(|s| s.runs).unwrap_or(0),
                real * 100.0
            ),
        }];
        let ratio_term = |name: &str, first: Option<f64>, this: Option<f64>, unit: &str| match (first, this) {
            (Some(f), Some(t)) if f > 0.0 && t > 0.0 => QualityTerm {
                name: name.into(),
                value: ((f / t) / 2.0).clamp(0.0, 1.0),
                weight: 0.2,
                why: format!(
                    "{t:.0} {unit} against {f:.0} {unit} for v{} (0.5 = the same, 1 = twice as good)",
                    first_version(&detail)
                ),
            },
            _ => QualityTerm {
                name: name.into(),
                value: 0.5,
                weight: 0.2,
                why: "not measured: counted as the first version's".into(),
            },
        };
        terms.push(ratio_term("speed", first.per_call_ns, row.per_call_ns, "ns per call"));
        terms.push(ratio_term(
            "memory",
            first.peak_rss_kb.map(|k| k as f64),
            row.peak_rss_kb.map(|k| k as f64),
            "kB peak",
        ));
        let budget = self.new_budget();
        let ctx = self.work_ctx(&budget, &cancel, &events, Some("auto-evolve"));
        match super::evaluate::ask(&ctx, &detail, row.version).await? {
            Ok((value, why)) => {
                terms.iter_mut().for_each(|t| t.weight *= 0.8);
                terms.push(QualityTerm { name: "evaluator".into(), value, weight: 0.2, why });
            }
            Err(why) => ctx.warn(Stage::Analyse, 90, format!("no evaluator verdict: {why}")),
        }
        let weights: f64 = terms.iter().map(|t| t.weight).sum();
        let mut score = terms.iter().map(|t| t.value * t.weight).sum::<f64>() / weights.max(f64::EPSILON);
        if tests < 1.0 {
            score = score.min(tests);
        }
        Ok(Quality { node_id: detail.id.clone(), version: wanted, score, terms })
    }
}

fn first_version(detail: &NodeDetail) -> i64 {
    detail.versions.first().map(|v| v.version).unwrap_or(1)
}
