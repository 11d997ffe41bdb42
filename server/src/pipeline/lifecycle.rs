//! lifecycle: saved nodes keep evolving. A node is due when a real run raised on an input that
//! is not one of its cases (the input becomes a case: the overseer derives its expected value
//! from the problem alone, never from the failing code), or when its current version's recent
//! real runs succeed less often or take longer than before beyond `performance_threshold`. A due
//! node is re-evolved under all its cases plus the new ones (the current code as the template);
//! the new version replaces the current one only when it passes everything and is no worse on
//! the measured figures. Versions beyond the limits are pruned (the best N, the current one and
//! its lineage kept). `rollback` undoes any of it. Node commands (test, optimize, evaluate,
//! rollback, delete) live here too: the CLI, the REPL and the language server call them.

use super::escalate::{Job, generate_until_green};
use super::events::{EventSink, Stage};
use super::evolver::{Ctx, EvolveError, Evolver};
use super::optimize::no_worse;
use super::review::rederive;
use super::spec::{Check, Spec, TestCase};
use super::verify::run_spec_tests;
use super::{mutation, tests};
use crate::registry::{NewVersion, NodeDetail, UseFigures};
use serde::Serialize;
use serde_json::Value;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Real runs the due check reads per node (the current version's newest).
const WINDOW: usize = 50;
/// Failing inputs taken into one re-evolution at most.
const MAX_NEW_CASES: usize = 3;

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "why", rename_all = "snake_case")]
pub enum DueReason {
    /// Real runs raised on these inputs, which are not yet cases.
    Raised { inputs: Vec<Value>, errors: Vec<String> },
    /// The newest runs succeed less often than the older ones.
    LessReliable { recent: f64, before: f64 },
    /// The newest runs take longer than the older ones (median wall ms).
    Slower { recent_ms: f64, before_ms: f64 },
}

impl DueReason {
    pub fn describe(&self) -> String {
        match self {
            DueReason::Raised { inputs, errors } => format!(
                "raised on {} input(s) that are not cases: {} ({})",
                inputs.len(),
                inputs.iter().map(Value::to_string).collect::<Vec<_>>().join(", "),
                errors.first().map(|e| e.chars().take(120).collect::<String>()).unwrap_or_default()
            ),
            DueReason::LessReliable { recent, before } => {
                format!("success rate fell from {:.0}% to {:.0}%", before * 100.0, recent * 100.0)
            }
            DueReason::Slower { recent_ms, before_ms } => {
                format!("median run time rose from {before_ms:.1} ms to {recent_ms:.1} ms")
            }
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Due {
    pub node_id: String,
    pub version: i64,
    pub task: String,
    pub reason: DueReason,
}

#[derive(Debug, Clone, Serialize)]
pub struct Reevolved {
    pub node_id: String,
    pub from_version: i64,
    /// The new current version, when one was kept.
    pub version: Option<i64>,
    pub reason: DueReason,
    pub cases_added: Vec<String>,
    /// What was decided and why.
    pub outcome: String,
    pub pruned: Vec<i64>,
}

fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    Some(values[values.len() / 2])
}

pub(super) fn spec_of(detail: &NodeDetail) -> Result<Spec, EvolveError> {
    serde_json::from_str(&detail.spec_json)
        .map_err(|e| EvolveError::Node(format!("node {}: its stored spec does not parse ({e})", detail.id)))
}

/// Why `figures` make a node due (not counting raised inputs, which need its spec), if they do.
pub fn degraded(figures: &UseFigures, min_runs: usize, threshold: f64) -> Option<DueReason> {
    let runs = &figures.recent;
    if runs.len() < 2 * min_runs.max(1) {
        return None;
    }
    // Newest `min_runs` against the older ones of the same version.
    let (recent, before) = runs.split_at(min_runs.max(1));
    let rate = |xs: &[(i64, bool, f64, String, String)]| xs.iter().filter(|r| r.1).count() as f64 / xs.len() as f64;
    let (r, b) = (rate(recent), rate(before));
    if b - r > threshold {
        return Some(DueReason::LessReliable { recent: r, before: b });
    }
    let mut recent_ms: Vec<f64> = recent.iter().filter(|r| r.1).map(|r| r.2).collect();
    let mut before_ms: Vec<f64> = before.iter().filter(|r| r.1).map(|r| r.2).collect();
    if let (Some(rm), Some(bm)) = (median(&mut recent_ms), median(&mut before_ms))
        && rm > bm * (1.0 + threshold)
        && rm - bm > 1.0
    {
        return Some(DueReason::Slower { recent_ms: rm, before_ms: bm });
    }
    None
}

impl Evolver {
    /// The nodes due for re-evolution now (reads the registry only; no model, no sandbox).
    pub fn due_nodes(&self) -> Result<Vec<Due>, EvolveError> {
        let settings = &self.config().auto_evolution;
        let mut out = Vec::new();
        for figures in self.registry().use_figures(WINDOW)? {
            // Runs after the last re-evolution attempt only: a failed attempt is not retried
            // until something new happens.
            let attempted = figures.last_attempt_id.unwrap_or(0);
            let fresh_failures: Vec<&(i64, bool, f64, String, String)> =
                figures.recent.iter().filter(|r| !r.1 && r.0 > attempted).collect();
            if !fresh_failures.is_empty() {
                let detail = self.registry().get(&figures.node_id)?;
                let known: Vec<Value> = spec_of(&detail)
                    .map(|s| s.test_cases.iter().map(|c| Value::Object(c.input.clone())).collect())
                    .unwrap_or_default();
                let mut inputs = Vec::new();
                let mut errors = Vec::new();
                for (_, _, _, input, error) in fresh_failures {
                    let Ok(value @ Value::Object(_)) = serde_json::from_str::<Value>(input) else { continue };
                    if !known.contains(&value) && !inputs.contains(&value) && inputs.len() < MAX_NEW_CASES {
                        inputs.push(value);
                        errors.push(error.clone());
                    }
                }
                if !inputs.is_empty() {
                    out.push(Due {
                        node_id: figures.node_id.clone(),
                        version: figures.current_version,
                        task: figures.task.clone(),
                        reason: DueReason::Raised { inputs, errors },
                    });
                    continue;
                }
            }
            let newest = figures.recent.first().map(|r| r.0).unwrap_or(0);
            if newest > attempted
                && let Some(reason) =
                    degraded(&figures, settings.min_runs_before_evolution as usize, settings.performance_threshold)
            {
                out.push(Due {
                    node_id: figures.node_id.clone(),
                    version: figures.current_version,
                    task: figures.task.clone(),
                    reason,
                });
            }
        }
        Ok(out)
    }

    /// Re-evolves one due node; see the module's doc.
    pub async fn reevolve(
        &self,
        due: &Due,
        events: EventSink,
        cancel: CancellationToken,
    ) -> Result<Reevolved, EvolveError> {
        let budget = self.new_budget();
        let ctx = self.work_ctx(&budget, &cancel, &events, Some("auto-evolve"));
        self.sandbox().warm_up().await?;
        let detail = self.registry().get(&due.node_id)?;
        let spec = spec_of(&detail)?;
        let mut result = Reevolved {
            node_id: detail.id.clone(),
            from_version: detail.current_version,
            version: None,
            reason: due.reason.clone(),
            cases_added: Vec::new(),
            outcome: String::new(),
            pruned: Vec::new(),
        };
        ctx.emit(
            Stage::Plan,
            5,
            format!("node {} v{} is due: {}", detail.id, detail.current_version, due.reason.describe()),
        );
        let limits = self.node_limits(usize::from(detail.uses_tools), spec.test_cases.len() + MAX_NEW_CASES);
        let outcome = match &due.reason {
            DueReason::Raised { inputs, .. } => {
                let mut extended = spec.clone();
                let new_cases: Vec<TestCase> = inputs
                    .iter()
                    .enumerate()
                    .filter_map(|(i, input)| {
                        Some(TestCase {
                            name: format!("seen_in_use_{}", i + 1),
                            input: input.as_object()?.clone(),
                            expected: Value::Null,
                            check: Check::Equals,
                            author: false,
                        })
                    })
                    .collect();
                // Expected values from the problem alone: the overseer never sees the code or
                // what it did on these inputs.
                let asked: Vec<&TestCase> = new_cases.iter().collect();
                let derived = rederive(&ctx, &detail.task, &spec, &asked, 15).await?;
                for mut case in new_cases {
                    match derived.iter().find(|d| d.case == case.name).map(|d| &d.value) {
                        Some(value) => {
                            case.expected = value.clone();
                            result.cases_added.push(format!("{} -> {}", Value::Object(case.input.clone()), value));
                            extended.test_cases.push(case);
                        }
                        None => ctx.warn(
                            Stage::Tests,
                            18,
                            format!("no expected value derived for {}: not a case", Value::Object(case.input.clone())),
                        ),
                    }
                }
                if result.cases_added.is_empty() {
                    "the overseer derived no expected value for the failing inputs: nothing to evolve against"
                        .to_string()
                } else {
                    self.evolve_under(&ctx, &detail, &spec, extended, &limits, &mut result).await?
                }
            }
            DueReason::LessReliable { .. } | DueReason::Slower { .. } => {
                // No input to learn from: ask for a faster version under the same cases.
                let report = self.optimize_detail(&ctx, &detail, &spec, &limits).await?;
                match report.1 {
                    Some(version) => {
                        result.version = Some(version);
                        format!(
                            "a faster version v{version} ({:.2}×) replaces v{}",
                            report.0.score, detail.current_version
                        )
                    }
                    None => format!(
                        "no faster version: {}",
                        report.0.skipped.clone().unwrap_or_else(|| "every candidate was rejected".into())
                    ),
                }
            }
        };
        result.outcome = outcome;
        // The attempt is recorded either way: the node is not due again until new runs say so.
        self.registry().record_run(
            &detail.id,
            result.version.unwrap_or(detail.current_version),
            &crate::registry::RunMetrics {
                purpose: "auto-evolve",
                input: &due.reason.describe(),
                output: &result.outcome,
                ok: result.version.is_some(),
                wall_ms: 0.0,
                user_ms: 0.0,
                sys_ms: 0.0,
                max_rss_kb: 0,
                exit_code: None,
                error: None,
                caller: None,
            },
        )?;
        result.pruned = self.prune(&detail.id)?;
        ctx.emit(Stage::Done, 100, result.outcome.clone());
        Ok(result)
    }

    /// The ladder under `extended` (all old cases and the new ones), the current code as the
    /// template; a passing version is kept only when no worse than the current one.
    async fn evolve_under(
        &self,
        ctx: &Ctx<'_>,
        detail: &NodeDetail,
        spec: &Spec,
        extended: Spec,
        limits: &crate::sandbox::NodeLimits,
        result: &mut Reevolved,
    ) -> Result<String, EvolveError> {
        let test_text = tests::render(&extended, &detail.task, extended.tools.is_empty());
        // Does the current code already pass (the failure was elsewhere, or fixed by the case)?
        let now = run_spec_tests(ctx, &extended, &detail.program, limits).await?;
        if now.all_passed() {
            self.save_spec_only(detail, &extended, &test_text)?;
            return Ok(
                "the current version passes the new cases (kept as cases): the failure came from elsewhere".into()
            );
        }
        let job = Job {
            task: &detail.task,
            spec: &extended,
            tests: &test_text,
            start_rung: 0,
            limits,
            template: Some(&detail.code),
            patterns: None,
            prelude: None,
            first_temperature: Some(self.config().auto_evolution.mutation_temperature),
        };
        let verified = match generate_until_green(ctx, &job).await? {
            Ok(v) => v,
            Err(failed) => {
                return Ok(format!(
                    "no version passed all {} cases after {} attempts: v{} stays",
                    extended.test_cases.len(),
                    failed.attempts.len(),
                    detail.current_version
                ));
            }
        };
        // Timed on the inputs the current version handles (its spec may hold cases a later,
        // rolled-back version added).
        let mut timing = spec.clone();
        timing.test_cases.retain(|c| now.cases.iter().any(|r| r.name == c.name && r.passed));
        let tolerance = self.config().auto_evolution.performance_threshold;
        match no_worse(ctx, &timing, &detail.program, &verified.node, limits, tolerance).await? {
            Ok((false, cmp)) => {
                return Ok(format!(
                    "a version passes every case but is worse on the measured figures ({}): v{} stays",
                    cmp.reason, detail.current_version
                ));
            }
            Ok((true, _)) => {}
            Err(why) => ctx.warn(Stage::Optimize, 85, format!("not timed against the current version: {why}")),
        }
        let mutation =
            mutation::measure(ctx, &detail.task, &verified.spec, &verified.code, limits, verified.report.wall_ms)
                .await?;
        let spec_json = serde_json::to_string(&verified.spec).unwrap_or_default();
        let node = crate::registry::NodeRecord {
            function_name: &verified.spec.function.name,
            spec_json: &spec_json,
            tests: &verified.tests,
            uses_tools: !verified.spec.tools.is_empty(),
            ..detail.record()
        };
        let version = self.registry().save(
            &node,
            &[NewVersion {
                origin: "auto-evolved".into(),
                code: verified.code.clone(),
                program: verified.node.clone(),
                model: verified.attempts.last().map(|a| a.model.clone()).unwrap_or_default(),
                change: format!("handles {}", result.cases_added.join("; ")),
                tests_passed: verified.report.passed,
                tests_total: verified.report.total,
                per_call_ns: None,
                peak_rss_kb: Some(verified.report.max_rss_kb),
                score: None,
                findings_json: "[]".into(),
                mutation_score: mutation.as_ref().map(|m| m.score),
                mutation_json: mutation.as_ref().and_then(|m| serde_json::to_string(m).ok()),
                // A re-evolved version is new code: it is not built on the old version's steps.
                steps: Vec::new(),
            }],
        )?;
        self.record_test_run(&detail.id, version, verified.spec.test_cases.len(), &verified.report)?;
        result.version = Some(version);
        Ok(format!(
            "v{version} passes all {} cases (the new ones included) and is no worse: it replaces v{}",
            verified.spec.test_cases.len(),
            detail.current_version
        ))
    }

    /// Keeps the node's code and stores the larger spec (a new case the current code passes).
    fn save_spec_only(&self, detail: &NodeDetail, spec: &Spec, tests: &str) -> Result<(), EvolveError> {
        self.registry().update_spec(&detail.id, &serde_json::to_string(spec).unwrap_or_default(), tests)?;
        Ok(())
    }

    /// Processes every due node (or lists them, with `dry_run`).
    pub async fn evolve_due(
        &self,
        dry_run: bool,
        events: EventSink,
        cancel: CancellationToken,
    ) -> Result<(Vec<Due>, Vec<Result<Reevolved, String>>, Duration), EvolveError> {
        let started = Instant::now();
        let due = self.due_nodes()?;
        let checked = started.elapsed();
        let mut done = Vec::new();
        if !dry_run {
            for d in &due {
                if cancel.is_cancelled() {
                    break;
                }
                done.push(self.reevolve(d, events.clone(), cancel.clone()).await.map_err(|e| e.to_string()));
            }
        }
        Ok((due, done, checked))
    }

    /// Versions beyond `max_versions_per_node` go: the best `keep_best_n_versions` (tests passed,
    /// then per-call time), the current one and its ancestors stay.
    pub fn prune(&self, id: &str) -> Result<Vec<i64>, EvolveError> {
        let settings = &self.config().auto_evolution;
        let detail = self.registry().get(id)?;
        if detail.versions.len() <= settings.max_versions_per_node as usize {
            return Ok(Vec::new());
        }
        let mut keep: Vec<i64> = Vec::new();
        let mut at = Some(detail.current_version);
        while let Some(v) = at {
            keep.push(v);
            at = detail.versions.iter().find(|r| r.version == v).and_then(|r| r.parent_version);
        }
        let mut ranked: Vec<_> = detail.versions.iter().collect();
        ranked.sort_by(|a, b| {
            let ra = a.tests_passed as f64 / a.tests_total.max(1) as f64;
            let rb = b.tests_passed as f64 / b.tests_total.max(1) as f64;
            rb.total_cmp(&ra).then(a.per_call_ns.unwrap_or(f64::MAX).total_cmp(&b.per_call_ns.unwrap_or(f64::MAX)))
        });
        keep.extend(ranked.iter().take(settings.keep_best_n_versions as usize).map(|v| v.version));
        // Oldest first among those not kept, until the node is within its limit.
        let excess = detail.versions.len().saturating_sub(settings.max_versions_per_node as usize);
        let doomed: Vec<i64> =
            detail.versions.iter().map(|v| v.version).filter(|v| !keep.contains(v)).take(excess).collect();
        if doomed.is_empty() {
            return Ok(Vec::new());
        }
        self.registry().delete_versions(id, &doomed)?;
        Ok(doomed)
    }
}
