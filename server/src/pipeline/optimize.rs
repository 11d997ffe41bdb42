//! optimize: asks for faster versions; a candidate must pass every test, then baseline and
//! candidate are timed alternately in the same run (median of >= 5 runs each, in-process per-call
//! time on inputs repeated to fill a run) and it is kept only when faster beyond the measured noise
//! and not much bigger in memory. Score = original baseline time / final time.

use super::events::Stage;
use super::evolver::{Ctx, EvolveError};
use super::generate::{Generated, extract};
use super::score::{Comparison, Rule, Samples, compare, human_ns};
use super::spec::Spec;
use super::tests::NODE_MODULE;
use super::verify::{prepare_dir, run_tests};
use super::{node, prompts, schema};
use crate::config::Role;
use crate::llm::{ChatRequest, Message};
use crate::sandbox::run::RunKind;
use crate::sandbox::{NodeLimits, RunRequest};
use serde::Serialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize)]
pub struct Iteration {
    pub index: u32,
    pub change: String,
    pub passed_tests: bool,
    pub comparison: Option<Comparison>,
    pub accepted: bool,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct OptimizationReport {
    /// Per-call time of the first verified version and of the kept one.
    pub original_ns: f64,
    pub final_ns: f64,
    /// original / final: 1.0 = unchanged.
    pub score: f64,
    pub peak_rss_kb: u64,
    pub cpu_ms: f64,
    pub iterations: Vec<Iteration>,
    pub skipped: Option<String>,
}

pub struct Optimized {
    pub code: String,
    pub node: String,
    pub report: OptimizationReport,
    /// (code, node, change) of each accepted version, in order.
    pub accepted: Vec<(String, String, String)>,
}

/// The inputs to time: the spec's benchmark input if it runs, else every test input.
fn timing_inputs(spec: &Spec) -> Vec<serde_json::Value> {
    let mut inputs: Vec<serde_json::Value> = Vec::new();
    if let Some(b) = &spec.benchmark_input {
        inputs.push(serde_json::Value::Object(b.clone()));
    }
    inputs.extend(spec.test_cases.iter().map(|c| serde_json::Value::Object(c.input.clone())));
    inputs
}

struct Bench<'a> {
    ctx: &'a Ctx<'a>,
    function: String,
    run_ms: u64,
    limits: NodeLimits,
}

impl Bench<'_> {
    /// One timed run of the node in `dir`: per-call ns, peak RSS, CPU ms.
    async fn once(&self, dir: &Path) -> Result<Result<(f64, u64, f64), String>, EvolveError> {
        let env = self.ctx.sandbox.base_env(dir);
        let request = RunRequest {
            kind: RunKind::Script {
                script: self.ctx.sandbox.runtime_dir().join("bench_harness.py"),
                args: vec![NODE_MODULE.into(), self.function.clone(), "inputs.json".into(), self.run_ms.to_string()],
            },
            cwd: dir.to_path_buf(),
            stdin: String::new(),
            env,
            limits: self.limits.clone(),
        };
        let outcome = self.ctx.run_sandboxed(&request).await?;
        if !outcome.success() {
            return Ok(Err(format!(
                "timing run {}: {}",
                outcome.describe_end(self.limits.timeout),
                outcome.stderr.lines().last().unwrap_or("")
            )));
        }
        let value: serde_json::Value = match outcome.stdout.lines().last().and_then(|l| serde_json::from_str(l).ok()) {
            Some(v) => v,
            None => {
                return Ok(Err(format!("timing run printed no figures: {}", outcome.stdout)));
            }
        };
        let ns = value.get("per_call_ns").and_then(|v| v.as_f64()).unwrap_or(f64::NAN);
        Ok(Ok((ns, outcome.max_rss_kb, outcome.user_ms + outcome.sys_ms)))
    }

    /// Alternates baseline and candidate runs.
    async fn compare(
        &self,
        baseline: &Path,
        candidate: &Path,
        runs: u32,
        rule: &Rule,
    ) -> Result<Result<Comparison, String>, EvolveError> {
        let mut b = Samples { per_call_ns: vec![], rss_kb: vec![], cpu_ms: vec![] };
        let mut c = Samples { per_call_ns: vec![], rss_kb: vec![], cpu_ms: vec![] };
        for _ in 0..runs {
            for (dir, samples) in [(baseline, &mut b), (candidate, &mut c)] {
                match self.once(dir).await? {
                    Ok((ns, rss, cpu)) => {
                        samples.per_call_ns.push(ns);
                        samples.rss_kb.push(rss);
                        samples.cpu_ms.push(cpu);
                    }
                    Err(e) => return Ok(Err(e)),
                }
            }
        }
        Ok(Ok(compare(&b, &c, rule)))
    }
}

fn write_inputs(dir: &Path, inputs: &[serde_json::Value]) -> Result<(), EvolveError> {
    std::fs::write(dir.join("inputs.json"), serde_json::to_string(inputs).unwrap_or_default())?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub async fn optimize(
    ctx: &Ctx<'_>,
    task: &str,
    spec: &Spec,
    tests: &str,
    code: &str,
    node_text: &str,
    limits: &NodeLimits,
    workdir: &Path,
    enabled: bool,
) -> Result<Optimized, EvolveError> {
    let settings = &ctx.config.pipeline.optimize;
    let mut report = OptimizationReport { score: 1.0, ..Default::default() };
    let mut best_code = code.to_string();
    let mut best_node = node_text.to_string();
    let mut accepted = Vec::new();
    if settings.iterations == 0 || !enabled {
        report.skipped =
            Some(if enabled { "pipeline.optimize.iterations is 0".into() } else { "optimization is off".into() });
        return Ok(Optimized { code: best_code, node: best_node, report, accepted });
    }
    if !spec.tools.is_empty() {
        report.skipped = Some("the node calls model tools; its time is the model's".into());
        ctx.emit(Stage::Optimize, 80, "skipped: the node's time is spent in model calls");
        return Ok(Optimized { code: best_code, node: best_node, report, accepted });
    }
    let bench =
        Bench { ctx, function: spec.function.name.clone(), run_ms: settings.run_ms.max(5), limits: limits.clone() };
    let rule = Rule {
        min_speedup: settings.min_speedup,
        noise_factor: settings.noise_factor,
        max_memory_growth: settings.max_memory_growth,
    };
    let inputs = timing_inputs(spec);
    let mut baseline_dir: PathBuf = prepare_dir(workdir, "baseline", &best_node, tests)?;
    write_inputs(&baseline_dir, &inputs)?;
    // A benchmark input the baseline cannot run is dropped rather than trusted.
    let (inputs, first) = match bench.once(&baseline_dir).await? {
        Ok(first) => (inputs, first),
        Err(_) if spec.benchmark_input.is_some() => {
            let inputs: Vec<_> = inputs[1..].to_vec();
            write_inputs(&baseline_dir, &inputs)?;
            match bench.once(&baseline_dir).await? {
                Ok(first) => (inputs, first),
                Err(e) => {
                    report.skipped = Some(e.clone());
                    ctx.warn(Stage::Optimize, 80, format!("skipped: {e}"));
                    return Ok(Optimized { code: best_code, node: best_node, report, accepted });
                }
            }
        }
        Err(e) => {
            report.skipped = Some(e.clone());
            ctx.warn(Stage::Optimize, 80, format!("skipped: {e}"));
            return Ok(Optimized { code: best_code, node: best_node, report, accepted });
        }
    };
    report.original_ns = first.0;
    report.final_ns = first.0;
    report.peak_rss_kb = first.1;
    report.cpu_ms = first.2;
    let role = Role::parse(&settings.role).unwrap_or(Role::GeneratorFast);
    for index in 1..=settings.iterations {
        ctx.check_cancel()?;
        let percent = 80 + (index * 15 / settings.iterations.max(1)) as u8 - 5;
        ctx.emit(
            Stage::Optimize,
            percent,
            format!("iteration {index}/{}: asking for a faster version", settings.iterations),
        );
        let request = ChatRequest {
            messages: vec![
                Message::system(prompts::OPTIMIZE_SYSTEM),
                Message::user(prompts::optimize_user(spec, &best_code, &human_ns(report.final_ns))),
            ],
            schema: Some(schema::optimize()),
            temperature: Some(settings.temperature),
            ..Default::default()
        };
        let answer = ctx.ask(Stage::Optimize, percent, role, None, request).await?;
        let change = schema::parse_json_answer(&answer.text)
            .and_then(|v| v.get("change").and_then(|c| c.as_str()).map(String::from))
            .unwrap_or_default();
        let mut iteration = Iteration {
            index,
            change: change.clone(),
            passed_tests: false,
            comparison: None,
            accepted: false,
            reason: String::new(),
        };
        let extracted = match extract(&answer.text, spec) {
            Generated::Code { code, note } => super::generate::tidy(ctx, code, note, percent).await?,
            unusable => unusable,
        };
        let candidate = match extracted {
            Generated::Code { code, .. } => code,
            Generated::Unusable { reason, .. } => {
                iteration.reason = format!("unusable answer: {reason}");
                ctx.warn(Stage::Optimize, percent, format!("iteration {index}: {}", iteration.reason));
                report.iterations.push(iteration);
                continue;
            }
        };
        if candidate.trim() == best_code.trim() {
            iteration.reason = "the candidate is the same code".into();
            ctx.emit(Stage::Optimize, percent, format!("iteration {index}: rejected, {}", iteration.reason));
            report.iterations.push(iteration);
            continue;
        }
        let candidate_node = node::assemble(task, &candidate, &spec.function.name);
        let dir = prepare_dir(workdir, &format!("candidate{index}"), &candidate_node, tests)?;
        let tests_report = run_tests(ctx, &dir, limits).await?;
        if !tests_report.all_passed() {
            iteration.reason = format!("fails the tests ({}/{} pass)", tests_report.passed, tests_report.total);
            ctx.emit(Stage::Optimize, percent, format!("iteration {index}: rejected, {}", iteration.reason));
            report.iterations.push(iteration);
            continue;
        }
        iteration.passed_tests = true;
        write_inputs(&dir, &inputs)?;
        ctx.emit(
            Stage::Optimize,
            percent + 2,
            format!("iteration {index}: timing baseline and candidate, {} runs each", settings.runs),
        );
        match bench.compare(&baseline_dir, &dir, settings.runs, &rule).await? {
            Err(e) => iteration.reason = e,
            Ok(cmp) => {
                // The score compares medians: the first comparison's baseline is the original.
                if !report.iterations.iter().any(|it| it.comparison.is_some()) {
                    report.original_ns = cmp.baseline_ns;
                    report.final_ns = cmp.baseline_ns;
                    report.peak_rss_kb = cmp.baseline_rss_kb;
                    report.cpu_ms = cmp.baseline_cpu_ms;
                }
                iteration.accepted = cmp.accepted;
                iteration.reason = cmp.reason.clone();
                ctx.emit(
                    Stage::Optimize,
                    percent + 4,
                    format!(
                        "iteration {index}: {} — baseline {} vs candidate {} per call; peak RSS {} → {} kB",
                        if cmp.accepted { "accepted" } else { "rejected" },
                        human_ns(cmp.baseline_ns),
                        human_ns(cmp.candidate_ns),
                        cmp.baseline_rss_kb,
                        cmp.candidate_rss_kb
                    ),
                );
                if cmp.accepted {
                    report.final_ns = cmp.candidate_ns;
                    report.peak_rss_kb = cmp.candidate_rss_kb;
                    report.cpu_ms = cmp.candidate_cpu_ms;
                    best_code = candidate.clone();
                    best_node = candidate_node.clone();
                    baseline_dir = dir.clone();
                    accepted.push((candidate, candidate_node, change));
                }
                iteration.comparison = Some(cmp);
            }
        }
        report.iterations.push(iteration);
    }
    report.score = if report.final_ns > 0.0 { report.original_ns / report.final_ns } else { 1.0 };
    ctx.emit(
        Stage::Optimize,
        95,
        format!(
            "score {:.2}× ({} → {} per call), peak RSS {} kB, CPU {:.1} ms per timed run",
            report.score,
            human_ns(report.original_ns),
            human_ns(report.final_ns),
            report.peak_rss_kb,
            report.cpu_ms
        ),
    );
    Ok(Optimized { code: best_code, node: best_node, report, accepted })
}
