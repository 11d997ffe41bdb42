//! The smoke suite: everyday tasks of the kind an editor comment holds (arithmetic, strings,
//! lists, dicts, dates, parsing, validation, small algorithms), each with hidden cases the
//! pipeline never sees. The produced function is called on them in the sandbox with positional
//! arguments, as a user would call it, and judged here strictly (exact strings, booleans as
//! booleans, numbers to 1e-4). The cases were written from the task text by hand and checked
//! against hand-written references (tests/smoke/references.py), never from a model's output.
//! Nothing in the engine knows these tasks; they only measure it.

use crate::pipeline::compose::StepRef;
use crate::pipeline::escalate::AttemptBy;
use crate::pipeline::events::EventSink;
use crate::pipeline::tests::{NODE_FILE, NODE_MODULE};
use crate::pipeline::verify::{CallResult, parse_results};
use crate::pipeline::{EvolveError, EvolveRequest, Evolver};
use crate::sandbox::{NodeLimits, RunKind, RunRequest};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, Deserialize)]
pub struct SmokeTask {
    pub task: String,
    /// (positional arguments, expected result) pairs.
    pub hidden: Vec<(Vec<Value>, Value)>,
}

/// Which tasks: the everyday ones (one function each), or compound ones (several steps each,
/// tests/compound/tasks.json, checked by tests/compound/references.py).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suite {
    Everyday,
    Compound,
}

pub fn tasks() -> Vec<SmokeTask> {
    tasks_of(Suite::Everyday)
}

pub fn tasks_of(suite: Suite) -> Vec<SmokeTask> {
    let text = match suite {
        Suite::Everyday => include_str!("../../../../tests/smoke/tasks.json"),
        Suite::Compound => include_str!("../../../../tests/compound/tasks.json"),
    };
    serde_json::from_str(text).expect("the suite's tasks.json is valid")
}

/// How the suite is run: which tasks, and whether a compound task may become a workflow.
#[derive(Debug, Clone, Copy)]
pub struct Run<'a> {
    pub suite: Suite,
    /// Some(true): workflows; Some(false): one function per task; None: the configuration's.
    pub compose: Option<bool>,
    pub optimize: bool,
    /// Recall from and remember into memory (off: every task from nothing).
    pub memory: bool,
    /// The first tasks left out.
    pub skip: usize,
    /// Only these tasks (by their text), when given.
    pub only: Option<&'a [String]>,
}

/// The tasks a run evolves: the suite's, less the first `skip`, only those named, `limit` at most.
pub fn chosen(how: Run<'_>, limit: Option<usize>) -> Vec<SmokeTask> {
    tasks_of(how.suite)
        .into_iter()
        .skip(how.skip)
        .filter(|t| how.only.is_none_or(|only| only.contains(&t.task)))
        .take(limit.unwrap_or(usize::MAX))
        .collect()
}

/// The tasks an earlier run's `--json` lines show wrong on some hidden case.
pub fn wrong_in(path: &std::path::Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let mut wrong = Vec::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let result: Value = serde_json::from_str(line).map_err(|e| format!("line {}: {e}", n + 1))?;
        let (Some(task), Some(passed), Some(total)) =
            (result["task"].as_str(), result["hidden_passed"].as_u64(), result["hidden_total"].as_u64())
        else {
            return Err(format!("line {}: not a smoke result (task, hidden_passed, hidden_total)", n + 1));
        };
        if passed != total {
            wrong.push(task.to_string());
        }
    }
    Ok(wrong)
}

/// A hidden case's verdict: numbers equal to 1e-4 (relative) or exactly for integers, booleans
/// only as booleans, strings exactly, containers element by element.
pub fn matches(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Bool(e), Value::Bool(a)) => e == a,
        (Value::Number(e), Value::Number(a)) => {
            if let (Some(x), Some(y)) = (e.as_i64(), a.as_i64()) {
                return x == y;
            }
            match (e.as_f64(), a.as_f64()) {
                (Some(x), Some(y)) => (x - y).abs() <= (1e-4 * x.abs().max(y.abs())).max(1e-6),
                _ => false,
            }
        }
        (Value::Array(e), Value::Array(a)) => e.len() == a.len() && e.iter().zip(a).all(|(x, y)| matches(x, y)),
        (Value::Object(e), Value::Object(a)) => {
            e.len() == a.len() && e.iter().all(|(k, v)| a.get(k).is_some_and(|w| matches(v, w)))
        }
        (e, a) => e == a,
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SmokeResult {
    pub task: String,
    /// Hidden cases the produced function got right, of all.
    pub hidden_passed: usize,
    pub hidden_total: usize,
    /// The first hidden case it got wrong, or why there is no function.
    pub failure: Option<String>,
    /// Where it failed: `plan`, `tests` (no version passed), `model`, `budget`, `hidden` (a
    /// verified function that is wrong on the hidden cases), ...; None when it passed.
    pub stage: Option<String>,
    pub passed: bool,
    pub seconds: f64,
    pub model_calls: usize,
    pub attempts: usize,
    pub mutation_score: Option<f64>,
    /// The consensus judged the overseer's cases, and whether it changed them.
    pub consensus_fired: bool,
    pub consensus_changed: bool,
    pub cases_added: usize,
    /// Steps, when the task was verified as a workflow (0: one function).
    pub steps: usize,
    /// The whole task was recalled from memory (a re-run of verified code, no generation).
    pub reused: bool,
    /// What the workflow path did, from the evolve's events, whether or not it ended well: the
    /// task was split, steps begun, steps recalled from memory, and a fallback to one function.
    pub split: bool,
    pub steps_begun: usize,
    pub steps_recalled: usize,
    pub fell_back: bool,
    /// From the events too: the spec's properties were checked on generated inputs; the plan
    /// stage aligned the spec's names or retyped its dates; the spec was sent back for a value
    /// of the task it hard-coded, or for cases that never vary a parameter; an attempt's code
    /// computed with the task's values instead of its parameters, or never read one of its
    /// parameters (not tested, sent back).
    pub properties: bool,
    pub spec_aligned: bool,
    pub values_sent_back: bool,
    pub unvaried_sent_back: bool,
    pub code_hard_coded: bool,
    pub parameter_ignored: bool,
    /// Attempts that failed one case alone, alike, outvoted the overseer's value.
    pub case_outvoted: bool,
    /// The spec had fewer than three distinct cases after its correction, and the overseer
    /// added cases with new inputs.
    pub spec_filled: bool,
    /// Fresh implementations that pass the tests disagreed with the verified one on an edge
    /// input; the probe added a case there; the verified code failed it and was replaced.
    pub probe_disagreed: bool,
    pub probe_added: usize,
    pub probe_replaced: bool,
    /// The classifier's verdict (`simple`, `medium`, `complex`), from the events: the speed goal
    /// is for simple tasks.
    pub complexity: Option<String>,
}

/// What a task's events say of its workflow and its spec (see `SmokeResult::split`).
#[derive(Debug, Default)]
struct EventTrace {
    split: bool,
    steps_begun: usize,
    steps_recalled: usize,
    fell_back: bool,
    properties: bool,
    spec_aligned: bool,
    values_sent_back: bool,
    unvaried_sent_back: bool,
    code_hard_coded: bool,
    parameter_ignored: bool,
    case_outvoted: bool,
    spec_filled: bool,
    complexity: Option<String>,
    /// Model calls that ended, counted from the events: a failed evolve has no outcome to count.
    model_calls: usize,
}

/// `events`, also noting what the workflow path did into `trace`.
fn tracing_sink(events: EventSink, trace: Arc<Mutex<EventTrace>>) -> EventSink {
    Arc::new(move |event: &crate::pipeline::Event| {
        {
            let mut t = trace.lock().unwrap();
            let m = event.message.as_str();
            if let Some(crate::pipeline::Detail::Classified { complexity, .. }) = &event.detail {
                t.complexity.get_or_insert_with(|| complexity.clone());
            }
            if matches!(event.detail, Some(crate::pipeline::Detail::ModelCall { .. })) {
                t.model_calls += 1;
            } else if matches!(event.detail, Some(crate::pipeline::Detail::Step { .. })) {
                t.steps_begun += 1;
            } else if m.starts_with("split into ") || m.starts_with("this task was built as a workflow before") {
                t.split = true;
            } else if m.starts_with("this task was verified before") && t.steps_begun > 0 {
                t.steps_recalled += 1;
            } else if m.contains("evolving the task as one function") {
                t.fell_back = true;
            } else if m.starts_with("properties ") && m.contains(" checked on ") {
                t.properties = true;
            } else if m.starts_with("spec aligned: ")
                || m.starts_with("JSON carries dates as text")
                || m.starts_with("checked exactly, as their expected values say")
                || m.starts_with("types that are no Python")
            {
                t.spec_aligned = true;
            } else if m.starts_with("unusable spec: ") {
                t.values_sent_back |= m.contains("is not in task_input") || m.contains("takes no parameters");
                t.unvaried_sent_back |= m.contains("every test case gives");
            } else if m.starts_with("not tested: the code computes with the task's own values") {
                t.code_hard_coded = true;
            } else if m.starts_with("not tested: the function never uses its parameter") {
                t.parameter_ignored = true;
            } else if m.contains(" attempts pass every other case and return ") && m.ends_with("the case is dropped") {
                t.case_outvoted = true;
            } else if m.ends_with(" case(s) added with new inputs") {
                t.spec_filled = true;
            }
        }
        events(event)
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct SmokeReport {
    pub results: Vec<SmokeResult>,
    pub passed: usize,
    pub total: usize,
    pub mean_seconds: f64,
}

impl SmokeReport {
    pub fn summary(&self) -> String {
        let n = self.total.max(1) as f64;
        let hidden: usize = self.results.iter().map(|r| r.hidden_passed).sum();
        let hidden_total: usize = self.results.iter().map(|r| r.hidden_total).sum();
        let scores: Vec<f64> = self.results.iter().filter_map(|r| r.mutation_score).collect();
        let mut stages: BTreeMap<&str, usize> = BTreeMap::new();
        for r in &self.results {
            if let Some(s) = &r.stage {
                *stages.entry(s.as_str()).or_default() += 1;
            }
        }
        let simple: Vec<f64> =
            self.results.iter().filter(|r| r.complexity.as_deref() == Some("simple")).map(|r| r.seconds).collect();
        let simple_mean = simple.iter().sum::<f64>() / simple.len().max(1) as f64;
        format!(
            "{}/{} tasks right on every hidden case ({:.0}%), {}/{} hidden cases ({:.0}%) · mean {:.1} s and {:.1} model calls per task, {:.1} s over the {} classified simple · mutation score mean {} over {} nodes · consensus fired in {} task(s), changed cases in {} · cases added for weak tests in {} · split: {} task(s), {} step(s) begun, {} recalled from memory, {} fell back to one function; verified as workflows: {} task(s) · recalled whole: {} task(s) · properties checked in {} task(s) · spec aligned in {}, sent back for a hard-coded value in {}, for cases that never vary a parameter in {} · code that computed with the task's values in {}, that ignored a parameter in {} · a case outvoted by attempts in {} · a spec of too few cases filled in {} · probe: implementations disagreed in {} task(s), cases added in {}, code replaced in {} · failures by stage: {}",
            self.passed,
            self.total,
            100.0 * self.passed as f64 / n,
            hidden,
            hidden_total,
            100.0 * hidden as f64 / hidden_total.max(1) as f64,
            self.mean_seconds,
            self.results.iter().map(|r| r.model_calls).sum::<usize>() as f64 / n,
            simple_mean,
            simple.len(),
            if scores.is_empty() {
                "-".to_string()
            } else {
                format!("{:.2}", scores.iter().sum::<f64>() / scores.len() as f64)
            },
            scores.len(),
            self.results.iter().filter(|r| r.consensus_fired).count(),
            self.results.iter().filter(|r| r.consensus_changed).count(),
            self.results.iter().filter(|r| r.cases_added > 0).count(),
            self.results.iter().filter(|r| r.split).count(),
            self.results.iter().map(|r| r.steps_begun).sum::<usize>(),
            self.results.iter().map(|r| r.steps_recalled).sum::<usize>(),
            self.results.iter().filter(|r| r.fell_back).count(),
            self.results.iter().filter(|r| r.steps > 0).count(),
            self.results.iter().filter(|r| r.reused).count(),
            self.results.iter().filter(|r| r.properties).count(),
            self.results.iter().filter(|r| r.spec_aligned).count(),
            self.results.iter().filter(|r| r.values_sent_back).count(),
            self.results.iter().filter(|r| r.unvaried_sent_back).count(),
            self.results.iter().filter(|r| r.code_hard_coded).count(),
            self.results.iter().filter(|r| r.parameter_ignored).count(),
            self.results.iter().filter(|r| r.case_outvoted).count(),
            self.results.iter().filter(|r| r.spec_filled).count(),
            self.results.iter().filter(|r| r.probe_disagreed).count(),
            self.results.iter().filter(|r| r.probe_added > 0).count(),
            self.results.iter().filter(|r| r.probe_replaced).count(),
            if stages.is_empty() {
                "none".to_string()
            } else {
                stages.iter().map(|(s, n)| format!("{s} {n}")).collect::<Vec<_>>().join(", ")
            }
        )
    }
}

fn stage_of(error: &EvolveError) -> &'static str {
    match error {
        EvolveError::Spec(_) => "plan",
        EvolveError::TestsFailed { .. } => "tests",
        EvolveError::Llm(_) | EvolveError::Model(_) => "model",
        EvolveError::Budget(_) => "budget",
        EvolveError::Blocked(_) => "analysis",
        EvolveError::Cancelled => "cancelled",
        _ => "engine",
    }
}

/// Calls `function` of `program` on each hidden case in the sandbox; (right, first wrong one).
async fn check_hidden(
    evolver: &Evolver,
    program: &str,
    function: &str,
    hidden: &[(Vec<Value>, Value)],
) -> (usize, Option<String>) {
    let inputs: Vec<Value> = hidden.iter().map(|(args, _)| Value::Array(args.clone())).collect();
    let request = RunRequest {
        kind: RunKind::Calls { module: NODE_MODULE.into(), function: function.into(), loops: 1 },
        files: BTreeMap::from([(NODE_FILE.to_string(), program.to_string())]),
        stdin: Value::Array(inputs).to_string(),
        env: BTreeMap::new(),
        limits: NodeLimits::from_config(&evolver.config().limits),
        tools: None,
    };
    let outcome = match evolver.sandbox().run(&request).await {
        Ok(o) => o,
        Err(e) => return (0, Some(format!("the hidden run failed: {e}"))),
    };
    let (results, fatal) = parse_results(&outcome.results, hidden.len());
    if let Some(why) = fatal {
        return (0, Some(format!("could not load the function: {why}")));
    }
    let mut right = 0;
    let mut first_wrong = None;
    for ((args, expected), result) in hidden.iter().zip(results) {
        let call = format!("{function}({})", args.iter().map(Value::to_string).collect::<Vec<_>>().join(", "));
        match result {
            Some(CallResult::Returned(actual)) if matches(expected, &actual) => right += 1,
            Some(CallResult::Returned(actual)) => {
                first_wrong.get_or_insert(format!("{call} gave {actual}, expected {expected}"));
            }
            Some(CallResult::Raised(why)) => {
                first_wrong.get_or_insert(format!("{call} raised {why}"));
            }
            None => {
                first_wrong
                    .get_or_insert(format!("{call} gave nothing ({})", outcome.describe_end(request.limits.timeout)));
            }
        }
    }
    (right, first_wrong)
}

async fn run_one(
    evolver: &Evolver,
    task: SmokeTask,
    how: Run<'_>,
    events: EventSink,
    cancel: &CancellationToken,
) -> SmokeResult {
    let started = Instant::now();
    let request = EvolveRequest {
        run_task: false,
        optimize: how.optimize,
        use_memory: how.memory,
        compose: how.compose,
        ..EvolveRequest::new(task.task.clone())
    };
    let trace = Arc::new(Mutex::new(EventTrace::default()));
    let outcome = evolver.evolve(request, tracing_sink(events, trace.clone()), cancel.clone()).await;
    let trace = std::mem::take(&mut *trace.lock().unwrap());
    let seconds = started.elapsed().as_secs_f64();
    let mut result = SmokeResult {
        task: task.task.clone(),
        hidden_passed: 0,
        hidden_total: task.hidden.len(),
        failure: None,
        stage: None,
        passed: false,
        seconds,
        model_calls: trace.model_calls,
        attempts: 0,
        mutation_score: None,
        consensus_fired: false,
        consensus_changed: false,
        cases_added: 0,
        steps: 0,
        reused: false,
        split: trace.split,
        steps_begun: trace.steps_begun,
        steps_recalled: trace.steps_recalled,
        fell_back: trace.fell_back,
        properties: trace.properties,
        spec_aligned: trace.spec_aligned,
        values_sent_back: trace.values_sent_back,
        unvaried_sent_back: trace.unvaried_sent_back,
        code_hard_coded: trace.code_hard_coded,
        parameter_ignored: trace.parameter_ignored,
        case_outvoted: trace.case_outvoted,
        spec_filled: trace.spec_filled,
        probe_disagreed: false,
        probe_added: 0,
        probe_replaced: false,
        complexity: trace.complexity,
    };
    match outcome {
        Ok(o) => {
            result.model_calls = o.calls.len();
            result.attempts = o.attempts.len();
            result.mutation_score = o.mutation.as_ref().map(|m| m.score);
            result.cases_added = o.mutation.as_ref().map(|m| m.cases_added).unwrap_or(0);
            result.consensus_fired = o.oracle.is_some();
            result.consensus_changed = o.oracle.as_ref().is_some_and(|r| r.changed());
            result.probe_disagreed = o.probe.as_ref().is_some_and(|p| p.disagreements > 0);
            result.probe_added = o.probe.as_ref().map_or(0, |p| p.added.len());
            result.probe_replaced = o.probe.as_ref().is_some_and(|p| p.replaced);
            let steps = o.workflow.as_ref().map(|w| w.steps.as_slice()).unwrap_or_default();
            result.steps = StepRef::count(steps);
            result.reused = o.attempts.first().is_some_and(|a| a.by == AttemptBy::Memory);
            let (right, wrong) = check_hidden(evolver, &o.program, &o.spec.function.name, &task.hidden).await;
            result.hidden_passed = right;
            result.passed = right == task.hidden.len();
            if !result.passed {
                result.stage = Some("hidden".into());
                result.failure = wrong;
            }
        }
        Err(e) => {
            result.stage = Some(stage_of(&e).into());
            result.failure = Some(e.to_string());
        }
    }
    result
}

/// Runs every task (or the first `limit`), `jobs` at a time, calling `each` after each one.
pub async fn run(
    evolver: &Evolver,
    limit: Option<usize>,
    jobs: usize,
    how: Run<'_>,
    events: EventSink,
    cancel: &CancellationToken,
    mut each: impl FnMut(&SmokeResult),
) -> SmokeReport {
    let mut stream = futures_util::stream::iter(chosen(how, limit))
        .map(|task| {
            let events = events.clone();
            async move {
                if cancel.is_cancelled() {
                    return None;
                }
                Some(run_one(evolver, task, how, events, cancel).await)
            }
        })
        .buffered(jobs.max(1));
    let mut results = Vec::new();
    while let Some(result) = stream.next().await {
        let Some(result) = result else { continue };
        each(&result);
        results.push(result);
    }
    let passed = results.iter().filter(|r| r.passed).count();
    let total = results.len();
    let mean_seconds = if total == 0 { 0.0 } else { results.iter().map(|r| r.seconds).sum::<f64>() / total as f64 };
    SmokeReport { results, passed, total, mean_seconds }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The report's workflow figures come from the evolve's own events: a split, each step
    /// begun, a step recalled, the fallback (the messages compose.rs, reuse.rs and workflow.rs say).
    #[test]
    fn a_tasks_workflow_is_traced_from_its_events() {
        use crate::pipeline::{Detail, Event, Stage, events::Level};
        let trace = Arc::new(Mutex::new(EventTrace::default()));
        let sink = tracing_sink(crate::pipeline::events::discard(), trace.clone());
        let say = |m: &str| sink(&Event::new(Stage::Plan, 5, Level::Info, m.to_string()));
        say("this task was verified before (similarity 1.000): reused");
        say("split into 2 steps (a → b): parse, then compute");
        let step = |n| {
            Event::new(Stage::Plan, 5, Level::Info, "step").with(Detail::Step {
                number: n,
                of: 2,
                name: "a".into(),
                task: "t".into(),
            })
        };
        sink(&step(1));
        say("this task was verified before (similarity 1.000): its spec and 3 cases are reused, no model is asked");
        sink(&step(2));
        say("step 2/2 `b` failed (x): evolving the task as one function");
        let t = trace.lock().unwrap();
        assert!(t.split && t.fell_back);
        assert!(!t.properties && !t.spec_aligned && !t.values_sent_back);
        drop(t);
        // And the plan stage's repairs (the messages plan.rs says).
        say("properties sorted checked on 4 generated input(s) each: 4 case(s) that need no expected value");
        say("spec aligned: the cases name the arguments a, b; the signature f(a) is now f(a, b)");
        say("unusable spec: the task's number 15 is not in task_input: every number ...");
        let t = trace.lock().unwrap();
        assert!(t.properties && t.spec_aligned && t.values_sent_back);
        assert!(!t.unvaried_sent_back && !t.code_hard_coded);
        drop(t);
        say("unusable spec: every test case gives b = 6: vary b too, or code that ignores it passes");
        say("not tested: the code computes with the task's own values 4, 6 instead of its parameters a, b: ...");
        let call = Detail::ModelCall {
            role: "overseer".into(),
            model: "m".into(),
            backend: "embedded".into(),
            endpoint: "e".into(),
            prompt_tokens: 1,
            completion_tokens: 1,
            duration_ms: 1,
        };
        sink(&Event::new(Stage::Plan, 5, Level::Model, "a call").with(call));
        let t = trace.lock().unwrap();
        assert!(t.unvaried_sent_back && t.code_hard_coded && !t.parameter_ignored);
        drop(t);
        say(
            "not tested: the function never uses its parameter base: its result must depend on every argument, so compute with it",
        );
        let t = trace.lock().unwrap();
        assert!(t.parameter_ignored && !t.case_outvoted);
        drop(t);
        say(
            "4 attempts pass every other case and return \"2024-02-14\" on the task's own case task, not the overseer's \"2024-02-15\": the case is dropped",
        );
        let t = trace.lock().unwrap();
        assert!(t.case_outvoted && !t.spec_filled);
        drop(t);
        say("2 case(s) added with new inputs");
        let t = trace.lock().unwrap();
        assert!(t.spec_filled);
        assert_eq!(t.model_calls, 1, "calls are counted from the events, so a failed evolve's are too");
        assert_eq!((t.steps_begun, t.steps_recalled), (2, 1), "a recall before any step is the whole task's");
    }

    #[test]
    fn a_rerun_takes_the_tasks_an_earlier_run_got_wrong_and_says_which_line_is_bad() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.jsonl");
        let first = &tasks_of(Suite::Everyday)[0].task;
        let third = &tasks_of(Suite::Everyday)[2].task;
        let line =
            |task: &str, passed: u64| json!({"task": task, "hidden_passed": passed, "hidden_total": 4}).to_string();
        std::fs::write(&path, format!("{}\n{}\n\n", line(first, 3), line(third, 4))).unwrap();
        let wrong = wrong_in(&path).unwrap();
        assert_eq!(wrong, std::slice::from_ref(first));
        let how =
            Run { suite: Suite::Everyday, compose: None, optimize: false, memory: false, skip: 0, only: Some(&wrong) };
        let tasks: Vec<String> = chosen(how, None).into_iter().map(|t| t.task).collect();
        assert_eq!(tasks, std::slice::from_ref(first));
        std::fs::write(&path, format!("{}\n{{\"task\": 1}}\n", line(first, 3))).unwrap();
        assert!(wrong_in(&path).unwrap_err().starts_with("line 2: not a smoke result"));
    }

    #[test]
    fn hidden_cases_are_judged_strictly() {
        assert!(matches(&json!(30), &json!(30.0)));
        assert!(matches(&json!(3.10686), &json!(3.106855961)));
        assert!(!matches(&json!(30), &json!("30")));
        assert!(!matches(&json!("ff"), &json!("FF")));
        assert!(!matches(&json!(true), &json!(1)));
        assert!(matches(&json!([1, 2, 5, 8]), &json!([1.0, 2, 5, 8])));
        assert!(!matches(&json!({"a": 1}), &json!({"a": 1, "b": 2})));
    }

    #[test]
    fn the_suite_is_large_and_every_task_has_hidden_cases() {
        let tasks = tasks();
        assert!(tasks.len() >= 60, "{} tasks", tasks.len());
        assert!(tasks.iter().all(|t| t.hidden.len() >= 3), "every task has at least 3 hidden cases");
    }
}
