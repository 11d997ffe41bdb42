//! optimize: asks for faster versions; a candidate must pass every test, then baseline and
//! candidate are timed alternately in the same run (median of >= 5 runs each; each run calls the
//! function on every input, repeated to fill the run, and is timed by the runner's clock around
//! the child, never by code inside it) and it is kept only when its results match the baseline's,
//! it is faster beyond the measured noise and not much bigger in memory. Score = original baseline
//! time / final time.

use super::events::Stage;
use super::evolver::{Ctx, EvolveError};
use super::generate::{Generated, extract};
use super::score::{Comparison, Rule, Samples, compare, human_ns};
use super::spec::Spec;
use super::tests::{NODE_FILE, NODE_MODULE};
use super::verify::{CallResult, parse_results, run_spec_tests};
use super::{node, prompts, schema};
use crate::llm::{ChatRequest, Message};
use crate::sandbox::{NodeLimits, RunKind, RunRequest};
use serde::Serialize;
use std::collections::BTreeMap;

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

/// One timed run: the runner's clock around the child (not a figure the code reports), per call;
/// peak RSS; CPU; and the last call's results, which must match the baseline's.
struct Timed {
    per_call_ns: f64,
    wall_ms: f64,
    rss_kb: u64,
    cpu_ms: f64,
    outputs: Vec<Option<CallResult>>,
}

impl Bench<'_> {
    /// One timed run of `program` on `inputs`, each called `loops` times (0: start and import
    /// only). `per_call_ns` is the whole run's wall time per call; see `net_per_call`.
    async fn once(
        &self,
        program: &str,
        inputs: &[serde_json::Value],
        loops: u32,
    ) -> Result<Result<Timed, String>, EvolveError> {
        let request = RunRequest {
            kind: RunKind::Calls { module: NODE_MODULE.into(), function: self.function.clone(), loops },
            files: BTreeMap::from([(NODE_FILE.to_string(), program.to_string())]),
            stdin: serde_json::to_string(inputs).unwrap_or_default(),
            env: BTreeMap::new(),
            limits: self.limits.clone(),
            tools: None,
        };
        let outcome = self.ctx.run_sandboxed(&request).await?;
        if !outcome.success() {
            return Ok(Err(format!(
                "timing run {}: {}",
                outcome.describe_end(self.limits.timeout),
                outcome.stderr.lines().last().unwrap_or("")
            )));
        }
        let (outputs, fatal) = parse_results(&outcome.results, inputs.len());
        if let Some(why) = fatal {
            return Ok(Err(format!("timing run: {why}")));
        }
        if loops > 0
            && let Some(index) = outputs.iter().position(|o| !matches!(o, Some(CallResult::Returned(_))))
        {
            return Ok(Err(format!("timing run: input {} gave no result ({:?})", index + 1, outputs[index])));
        }
        let calls = f64::from(loops.max(1)) * inputs.len().max(1) as f64;
        Ok(Ok(Timed {
            per_call_ns: outcome.wall_ms * 1e6 / calls,
            wall_ms: outcome.wall_ms,
            rss_kb: outcome.max_rss_kb,
            cpu_ms: outcome.user_ms + outcome.sys_ms,
            outputs,
        }))
    }

    /// The median wall time of a run that starts, imports a trivial module and calls nothing: the
    /// fixed cost of a timed run, the same for baseline and candidate. (A program's own empty run
    /// is not used: the code under test could make it slow, and its import is its own cost.)
    async fn empty_ms(&self, inputs: &[serde_json::Value]) -> Result<Result<f64, String>, EvolveError> {
        const TRIVIAL: &str = "def trivial(**kwargs):\n    return None\n";
        let bench =
            Bench { ctx: self.ctx, function: "trivial".into(), run_ms: self.run_ms, limits: self.limits.clone() };
        let mut walls = Vec::new();
        for _ in 0..3 {
            match bench.once(TRIVIAL, inputs, 0).await? {
                Ok(t) => walls.push(t.wall_ms),
                Err(e) => return Ok(Err(e)),
            }
        }
        Ok(Ok(super::score::median(&walls)))
    }

    /// Per call, net of the run's fixed cost (fork, start, import), both measured by the runner.
    fn net_per_call(&self, timed: &Timed, empty_ms: f64, inputs: usize, loops: u32) -> f64 {
        let calls = f64::from(loops.max(1)) * inputs.max(1) as f64;
        ((timed.wall_ms - empty_ms) * 1e6 / calls).max(1.0)
    }

    /// The loop count that makes `program` work at least `run_ms` per run (fixed cost excluded):
    /// grown fourfold from 1 until a run does, and then kept, not extrapolated, so one noisy
    /// measurement cannot size it too small. Each program gets its own, so a fast candidate is
    /// timed on enough calls to measure and a slow baseline on no more than needed.
    async fn sized_loops(
        &self,
        program: &str,
        inputs: &[serde_json::Value],
        empty: f64,
    ) -> Result<Result<(u32, Timed), String>, EvolveError> {
        let mut loops: u32 = 1;
        loop {
            let mut timed = match self.once(program, inputs, loops).await? {
                Ok(t) => t,
                Err(e) => return Ok(Err(e)),
            };
            let work_ms = (timed.wall_ms - empty).max(0.0);
            if work_ms >= self.run_ms as f64 || loops >= 10_000_000 {
                timed.per_call_ns = self.net_per_call(&timed, empty, inputs.len(), loops);
                return Ok(Ok((loops, timed)));
            }
            loops = loops.saturating_mul(4);
        }
    }

    /// The baseline's first figures (and whether it runs on these inputs at all).
    async fn calibrate(
        &self,
        program: &str,
        inputs: &[serde_json::Value],
    ) -> Result<Result<Timed, String>, EvolveError> {
        let empty = match self.empty_ms(inputs).await? {
            Ok(ms) => ms,
            Err(e) => return Ok(Err(e)),
        };
        Ok(self.sized_loops(program, inputs, empty).await?.map(|(_, timed)| timed))
    }

    /// Alternates baseline and candidate runs, each with its own loop count, both net of the same
    /// fixed cost.
    async fn compare(
        &self,
        baseline: &str,
        candidate: &str,
        inputs: &[serde_json::Value],
        runs: u32,
        rule: &Rule,
    ) -> Result<Result<Comparison, String>, EvolveError> {
        let mut b = Samples { per_call_ns: vec![], rss_kb: vec![], cpu_ms: vec![] };
        let mut c = Samples { per_call_ns: vec![], rss_kb: vec![], cpu_ms: vec![] };
        let empty = match self.empty_ms(inputs).await? {
            Ok(ms) => ms,
            Err(e) => return Ok(Err(e)),
        };
        let mut loops = [0u32; 2];
        for (i, program) in [baseline, candidate].into_iter().enumerate() {
            match self.sized_loops(program, inputs, empty).await? {
                Ok((n, _)) => loops[i] = n.max(1),
                Err(e) => return Ok(Err(e)),
            }
        }
        for _ in 0..runs {
            let mut outputs = Vec::new();
            for (i, (program, samples)) in [(baseline, &mut b), (candidate, &mut c)].into_iter().enumerate() {
                match self.once(program, inputs, loops[i]).await? {
                    Ok(timed) => {
                        samples.per_call_ns.push(self.net_per_call(&timed, empty, inputs.len(), loops[i]));
                        samples.rss_kb.push(timed.rss_kb);
                        samples.cpu_ms.push(timed.cpu_ms);
                        outputs.push(timed.outputs);
                    }
                    Err(e) => return Ok(Err(e)),
                }
            }
            // A candidate that answers differently when timed than when tested is not faster.
            if outputs[0] != outputs[1] {
                return Ok(Err("the candidate's results differ from the baseline's on the timing inputs".into()));
            }
        }
        if super::score::median(&c.per_call_ns) <= 1.0 {
            return Ok(Err("the candidate's time per call is below what the runner can measure: not trusted".into()));
        }
        Ok(Ok(compare(&b, &c, rule)))
    }
}

/// Whether the optimize stage asks the model for faster versions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Ask {
    Never,
    /// An explicit request (`optimize NODE`, the editor's "optimize this function").
    Always,
    /// In an evolve: only for code slower than this per call (ns).
    AboveNs(f64),
}

pub async fn optimize(
    ctx: &Ctx<'_>,
    task: &str,
    spec: &Spec,
    code: &str,
    node_text: &str,
    limits: &NodeLimits,
    ask: Ask,
) -> Result<Optimized, EvolveError> {
    let enabled = !matches!(ask, Ask::Never);
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
    // A benchmark input the baseline cannot run is dropped rather than trusted.
    let (inputs, first) = match bench.calibrate(&best_node, &inputs).await? {
        Ok(first) => (inputs, first),
        Err(_) if spec.benchmark_input.is_some() => {
            let inputs: Vec<_> = inputs[1..].to_vec();
            match bench.calibrate(&best_node, &inputs).await? {
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
    report.original_ns = first.per_call_ns;
    report.final_ns = first.per_call_ns;
    report.peak_rss_kb = first.rss_kb;
    report.cpu_ms = first.cpu_ms;
    // Code already this fast gains nothing a user would notice from a model's rewrite (on the
    // smoke suite: 3 of 65 such nodes got a version 1.05-1.27x faster, at ~2.7 s of model time
    // each): the model is not asked.
    if let Ask::AboveNs(floor_ns) = ask
        && first.per_call_ns < floor_ns
    {
        let why = format!(
            "{} per call is below pipeline.optimize.skip_below_ns ({}): no rewrite asked",
            human_ns(first.per_call_ns),
            human_ns(floor_ns)
        );
        ctx.emit(Stage::Optimize, 80, format!("skipped: {why}"));
        report.skipped = Some(why);
        return Ok(Optimized { code: best_code, node: best_node, report, accepted });
    }
    let role = settings.role;
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
        let tests_report = run_spec_tests(ctx, spec, &candidate_node, limits).await?;
        if !tests_report.all_passed() {
            iteration.reason = format!("fails the tests ({}/{} pass)", tests_report.passed, tests_report.total);
            ctx.emit(Stage::Optimize, percent, format!("iteration {index}: rejected, {}", iteration.reason));
            report.iterations.push(iteration);
            continue;
        }
        iteration.passed_tests = true;
        ctx.emit(
            Stage::Optimize,
            percent + 2,
            format!("iteration {index}: timing baseline and candidate, {} runs each", settings.runs),
        );
        match bench.compare(&best_node, &candidate_node, &inputs, settings.runs, &rule).await? {
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

/// Whether `candidate` is no worse than `baseline` (two versions of one node): both timed
/// alternately on the inputs of `spec`'s cases, as an optimization is; slower by at most
/// `tolerance` (0.15 = 15%) or the measured noise, whichever is larger, and not much bigger in
/// memory. Err(why) when they cannot be compared (a run failed, or their results differ).
pub async fn no_worse(
    ctx: &Ctx<'_>,
    spec: &Spec,
    baseline: &str,
    candidate: &str,
    limits: &NodeLimits,
    tolerance: f64,
) -> Result<Result<(bool, Comparison), String>, EvolveError> {
    let settings = &ctx.config.pipeline.optimize;
    let bench =
        Bench { ctx, function: spec.function.name.clone(), run_ms: settings.run_ms.max(5), limits: limits.clone() };
    let rule =
        Rule { min_speedup: 1.0, noise_factor: settings.noise_factor, max_memory_growth: settings.max_memory_growth };
    let inputs: Vec<serde_json::Value> =
        spec.test_cases.iter().map(|c| serde_json::Value::Object(c.input.clone())).collect();
    let comparison = match bench.compare(baseline, candidate, &inputs, settings.runs.max(3), &rule).await? {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    // Slower within the tolerance or the noise counts as no worse; so does memory within the rule's.
    // Below the optimize floor (skip_below_ns) speed does not count at all: tens of nanoseconds a
    // call are nothing a user notices, and a fix may cost them.
    let under_floor =
        comparison.baseline_ns < settings.skip_below_ns && comparison.candidate_ns < settings.skip_below_ns;
    let tolerated =
        if under_floor { 0.0 } else { 1.0 / (1.0 + settings.noise_factor * comparison.noise).max(1.0 + tolerance) };
    let memory_ok = (comparison.candidate_rss_kb as f64)
        <= (comparison.baseline_rss_kb as f64) * (1.0 + settings.max_memory_growth);
    Ok(Ok((comparison.speedup >= tolerated && memory_ok, comparison)))
}
