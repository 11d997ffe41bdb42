//! verify: the spec's cases against the node. The sandboxed child gets the inputs only and sends
//! back each call's result as plain JSON; the verdict is computed here, in the engine, where the
//! code under test cannot reach. Expected values never enter the sandbox. The pytest file made
//! from the same cases is the user's artifact, not the source of the verdict.

use super::evolver::{Ctx, EvolveError};
use super::spec::{Check, Spec, TestCase};
use super::tests::{NODE_FILE, NODE_MODULE, py_literal};
use crate::sandbox::{NodeLimits, RunKind, RunOutcome, RunRequest, SandboxError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseResult {
    pub name: String,
    pub passed: bool,
    pub message: String,
    /// What a failing call returned (the ladder compares it across attempts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub returned: Option<Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct TestReport {
    pub passed: usize,
    pub total: usize,
    pub cases: Vec<CaseResult>,
    /// Why the whole run ended abnormally (timeout, signal, import error), if it did.
    pub abnormal: Option<String>,
    pub wall_ms: f64,
    /// User + system CPU of the test run.
    pub cpu_ms: f64,
    pub max_rss_kb: u64,
    pub stderr_tail: String,
}

impl TestReport {
    pub fn all_passed(&self) -> bool {
        self.abnormal.is_none() && self.total > 0 && self.passed == self.total
    }

    /// The failures, as fed back to the model.
    pub fn failures_text(&self) -> String {
        let mut out = String::new();
        if let Some(why) = &self.abnormal {
            out.push_str(&format!("- the test run {why}\n"));
        }
        for case in self.cases.iter().filter(|c| !c.passed) {
            out.push_str(&format!("- {}: {}\n", case.name, case.message.chars().take(400).collect::<String>()));
        }
        if out.is_empty() && !self.stderr_tail.is_empty() {
            out.push_str(&format!("- stderr: {}\n", self.stderr_tail));
        }
        out
    }
}

/// What one call of the function gave, as the child reported it.
#[derive(Debug, Clone, PartialEq)]
pub enum CallResult {
    Returned(Value),
    Raised(String),
}

/// Reads the results channel: one `{"i": n, "ok": value}` or `{"i": n, "raised": "..."}` per
/// line. Lines that are not that (the code may write anything there) are ignored; the first
/// result for an index counts; an index never reported stays None. The second value is an
/// import-time failure, if the harness reported one.
pub fn parse_results(text: &str, count: usize) -> (Vec<Option<CallResult>>, Option<String>) {
    let mut out: Vec<Option<CallResult>> = vec![None; count];
    let mut fatal = None;
    for line in text.lines() {
        let Ok(Value::Object(map)) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if let Some(Value::String(why)) = map.get("fatal") {
            fatal.get_or_insert_with(|| why.chars().take(2000).collect());
            continue;
        }
        let Some(index) = map.get("i").and_then(Value::as_u64).map(|i| i as usize) else {
            continue;
        };
        if index >= count || out[index].is_some() {
            continue;
        }
        out[index] = match (map.get("ok"), map.get("raised")) {
            (Some(value), None) => Some(CallResult::Returned(value.clone())),
            (None, Some(Value::String(why))) => Some(CallResult::Raised(why.clone())),
            _ => None,
        };
    }
    (out, fatal)
}

/// Python's `str()` of a JSON value, near enough for "contains" checks and messages.
fn py_str(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => py_literal(other),
    }
}

fn as_f64(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        _ => None,
    }
}

/// `math.isclose(rel_tol=1e-6, abs_tol=1e-9)` for numbers, element-wise for containers, `==` for
/// the rest; a bool equals the number it is in Python (True == 1).
pub fn close(actual: &Value, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::Bool(a), Value::Bool(b)) => a == b,
        (Value::Bool(_), Value::Number(_)) | (Value::Number(_), Value::Bool(_)) => as_f64(actual) == as_f64(expected),
        (Value::Number(a), Value::Number(b)) => {
            if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
                return x == y;
            }
            match (a.as_f64(), b.as_f64()) {
                (Some(x), Some(y)) => (x - y).abs() <= (1e-6 * x.abs().max(y.abs())).max(1e-9),
                _ => false,
            }
        }
        (Value::Array(a), Value::Array(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| close(x, y)),
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len() && b.iter().all(|(k, y)| a.get(k).is_some_and(|x| close(x, y)))
        }
        _ => actual == expected,
    }
}

/// pytest.approx(expected, rel=1e-3).
fn approx(actual: &Value, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::Number(_) | Value::Bool(_), Value::Number(_)) => match (as_f64(actual), as_f64(expected)) {
            (Some(a), Some(e)) => (a - e).abs() <= (1e-3 * e.abs()).max(1e-12),
            _ => false,
        },
        (Value::Array(a), Value::Array(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| approx(x, y)),
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len() && b.iter().all(|(k, y)| a.get(k).is_some_and(|x| approx(x, y)))
        }
        _ => actual == expected,
    }
}

/// Spec values written as text ("12.5", "true") compare as the value they spell.
fn coerce(expected: &Value, actual: &Value) -> Value {
    if let Value::String(text) = expected {
        let lower = text.trim().to_lowercase();
        // A small model writes Python's None as text.
        if actual.is_null() && (lower == "none" || lower == "null") {
            return Value::Null;
        }
        if actual.is_boolean() && (lower == "true" || lower == "false") {
            return Value::Bool(lower == "true");
        }
        if actual.is_number()
            && let Ok(number) = text.trim().parse::<f64>()
            && let Some(n) = serde_json::Number::from_f64(number)
        {
            return Value::Number(n);
        }
    }
    expected.clone()
}

fn is_empty_value(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

fn has_type(value: &Value, name: &str) -> bool {
    match name {
        "str" => value.is_string(),
        "int" => value.is_i64() || value.is_u64() || value.is_boolean(),
        "float" => value.is_number() || value.is_boolean(),
        "bool" => value.is_boolean(),
        "list" => value.is_array(),
        "dict" => value.is_object(),
        _ => true,
    }
}

/// One case's verdict: Ok, or the failure in the words a model (and a user) can act on.
pub fn check(kind: Check, actual: &Value, expected: &Value) -> Result<(), String> {
    let original = expected;
    let expected = coerce(expected, actual);
    let (ok, wanted) = match kind {
        Check::Equals => (close(actual, &expected), format!("expected {}", py_literal(&expected))),
        Check::Approx => (approx(actual, &expected), format!("expected about {}", py_literal(&expected))),
        Check::Contains => (
            py_str(actual).to_lowercase().contains(&py_str(&expected).to_lowercase()),
            format!("expected a result containing {}", py_literal(&expected)),
        ),
        Check::Nonempty => (!is_empty_value(actual), "expected a non-empty result".to_string()),
        Check::Type => {
            let name = expected.as_str().unwrap_or("");
            (has_type(actual, name), format!("expected a {name}"))
        }
        // `expected` is the call's first argument, as the case carries it (not coerced).
        Check::Holds(property) => return property.holds(actual, original),
    };
    if ok {
        return Ok(());
    }
    let got = py_literal(actual);
    match super::difference::hint(&expected, actual).filter(|_| kind == Check::Equals) {
        Some(hint) => Err(format!("{wanted}, got {got}: {hint}")),
        None => Err(format!("{wanted}, got {got}")),
    }
}

fn tail(text: &str, chars: usize) -> String {
    let count = text.chars().count();
    text.chars().skip(count.saturating_sub(chars)).collect()
}

fn abnormal_end(outcome: &RunOutcome, limits: &NodeLimits) -> Option<String> {
    if outcome.timed_out || outcome.signal.is_some() {
        Some(format!(
            "was {}: the code probably loops forever or is far too slow",
            outcome.describe_end(limits.timeout)
        ))
    } else if outcome.results_overflow {
        Some("wrote more results than any test needs and was killed".into())
    } else {
        None
    }
}

/// What one sandboxed run of `function` on a list of inputs gave: the run, each call's result, and
/// an import-time failure if there was one. None when the code broke the runner (it is restarted).
pub struct Calls {
    pub outcome: RunOutcome,
    pub results: Vec<Option<CallResult>>,
    pub fatal: Option<String>,
}

/// Calls `function` of `module` (one of `files`) on each input in one sandboxed run. An input
/// object is named arguments, a list positional ones. Err(why) when the code broke the runner.
pub async fn call_function(
    ctx: &Ctx<'_>,
    files: BTreeMap<String, String>,
    module: &str,
    function: &str,
    inputs: &[Value],
    limits: &NodeLimits,
) -> Result<Result<Calls, String>, EvolveError> {
    ctx.check_cancel()?;
    let request = RunRequest {
        kind: RunKind::Calls { module: module.into(), function: function.into(), loops: 1 },
        files,
        stdin: serde_json::to_string(inputs).unwrap_or_else(|_| "[]".into()),
        env: BTreeMap::new(),
        limits: limits.clone(),
        tools: ctx.tools.clone(),
    };
    let outcome = match ctx.run_sandboxed(&request).await {
        Ok(outcome) => outcome,
        Err(EvolveError::Sandbox(SandboxError::Runner(why))) => return Ok(Err(why)),
        Err(e) => return Err(e),
    };
    let (results, fatal) = parse_results(&outcome.results, inputs.len());
    Ok(Ok(Calls { outcome, results, fatal }))
}

/// Calls `function` of `module` (one of `files`) on every case's input in one sandboxed run and
/// judges each result here.
pub async fn run_cases(
    ctx: &Ctx<'_>,
    files: BTreeMap<String, String>,
    module: &str,
    function: &str,
    cases: &[TestCase],
    limits: &NodeLimits,
) -> Result<TestReport, EvolveError> {
    let inputs: Vec<Value> = cases.iter().map(|c| Value::Object(c.input.clone())).collect();
    let Calls { outcome, results, fatal } = match call_function(ctx, files, module, function, &inputs, limits).await? {
        Ok(calls) => calls,
        // The code under test broke the runner (it is restarted): that is this code failing, not
        // the evolve.
        Err(why) => return Ok(runner_failed(cases, &why)),
    };
    let mut report = TestReport {
        wall_ms: outcome.wall_ms,
        cpu_ms: outcome.user_ms + outcome.sys_ms,
        max_rss_kb: outcome.max_rss_kb,
        stderr_tail: tail(&outcome.stderr, 1500),
        ..Default::default()
    };
    let ended = abnormal_end(&outcome, limits);
    if let Some(why) = &fatal {
        report.abnormal = Some(format!("could not load `{function}`: {why}"));
    }
    for (case, result) in cases.iter().zip(results) {
        let mut returned = None;
        let (passed, message) = match result {
            Some(CallResult::Returned(actual)) => match check(case.check, &actual, &case.expected) {
                Ok(()) => (true, String::new()),
                // A generated input is in no case line the model saw: the message names it.
                Err(why) if matches!(case.check, Check::Holds(_)) => {
                    (false, format!("on {}: {why}", super::tests::py_literal(&Value::Object(case.input.clone()))))
                }
                Err(why) => {
                    returned = Some(actual);
                    (false, why)
                }
            },
            // A property constrains returned values only: raising on a generated input the
            // problem does not allow is no failure.
            Some(CallResult::Raised(_)) if matches!(case.check, Check::Holds(_)) => (true, String::new()),
            Some(CallResult::Raised(error)) => (false, format!("raised {error}")),
            None => (
                false,
                match (&ended, &fatal) {
                    (Some(why), _) => format!("no result: the run {why}"),
                    (None, Some(why)) => format!("no result: {why}"),
                    (None, None) => format!(
                        "no result: the run ended with {} before this call returned{}",
                        outcome.describe_end(limits.timeout),
                        last_line(&outcome.stderr).map(|l| format!(" ({l})")).unwrap_or_default()
                    ),
                },
            ),
        };
        report.cases.push(CaseResult { name: case.name.clone(), passed, message, returned });
    }
    if report.abnormal.is_none()
        && let Some(why) = ended
        && report.cases.iter().any(|c| !c.passed)
    {
        report.abnormal = Some(why);
    }
    if cases.is_empty() {
        report.abnormal = Some("has no test cases".into());
    }
    report.total = report.cases.len();
    report.passed = report.cases.iter().filter(|c| c.passed).count();
    Ok(report)
}

/// A directory under the evolve's work dir with the node and its pytest file: what the linters read
/// and the user can run. No generated code runs here; the engine only writes it.
pub fn prepare_dir(
    root: &std::path::Path,
    label: &str,
    node: &str,
    tests: &str,
) -> Result<std::path::PathBuf, EvolveError> {
    let dir = tempfile::Builder::new().prefix(&format!("{label}-")).tempdir_in(root)?.keep();
    std::fs::write(dir.join(NODE_FILE), node)?;
    std::fs::write(dir.join(super::tests::TEST_FILE), tests)?;
    Ok(dir)
}

/// Every case failed: the run broke the sandbox's runner.
fn runner_failed(cases: &[TestCase], why: &str) -> TestReport {
    let message = format!("no result: the code broke the sandbox's runner ({why})");
    TestReport {
        total: cases.len(),
        cases: cases
            .iter()
            .map(|c| CaseResult { name: c.name.clone(), passed: false, message: message.clone(), returned: None })
            .collect(),
        abnormal: Some(format!("broke the sandbox's runner ({why}); it was restarted")),
        ..Default::default()
    }
}

fn last_line(text: &str) -> Option<&str> {
    text.lines().rev().map(str::trim).find(|l| !l.is_empty())
}

/// The spec's cases against a node program; with `contract`, one more run calls the node as a
/// program (JSON on stdin, `{"result": ...}` on stdout), as `code-evolver run` will.
pub async fn run_tests(
    ctx: &Ctx<'_>,
    function: &str,
    cases: &[TestCase],
    program: &str,
    contract: bool,
    limits: &NodeLimits,
) -> Result<TestReport, EvolveError> {
    let files = BTreeMap::from([(NODE_FILE.to_string(), program.to_string())]);
    let mut report = run_cases(ctx, files.clone(), NODE_MODULE, function, cases, limits).await?;
    if contract && report.all_passed() {
        let case = &cases[0];
        let request = RunRequest {
            kind: RunKind::Script { script: NODE_FILE.into(), runtime: false, args: vec![] },
            files,
            stdin: Value::Object(case.input.clone()).to_string(),
            env: BTreeMap::new(),
            limits: limits.clone(),
            tools: ctx.tools.clone(),
        };
        let outcome = match ctx.run_sandboxed(&request).await {
            Ok(outcome) => outcome,
            Err(EvolveError::Sandbox(SandboxError::Runner(why))) => {
                let mut failed = runner_failed(cases, &why);
                failed.total = cases.len() + 1;
                return Ok(failed);
            }
            Err(e) => return Err(e),
        };
        report.wall_ms += outcome.wall_ms;
        let message = match super::node::parse_output(&outcome, limits) {
            Ok(result) => check(case.check, &result, &case.expected).err().unwrap_or_default(),
            Err(why) => why,
        };
        report.cases.push(CaseResult {
            name: "node_contract".into(),
            passed: message.is_empty(),
            message,
            returned: None,
        });
        report.total = report.cases.len();
        report.passed = report.cases.iter().filter(|c| c.passed).count();
    }
    Ok(report)
}

/// `run_tests` on a spec: its function, its cases, and the program contract unless the node calls
/// model tools (a second run would pay for the model again).
pub async fn run_spec_tests(
    ctx: &Ctx<'_>,
    spec: &Spec,
    program: &str,
    limits: &NodeLimits,
) -> Result<TestReport, EvolveError> {
    run_tests(ctx, &spec.function.name, &spec.test_cases, program, spec.tools.is_empty(), limits).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn equals_is_close_for_numbers_and_exact_elsewhere() {
        assert!(check(Check::Equals, &json!(30), &json!(30)).is_ok());
        assert!(check(Check::Equals, &json!(0.1 + 0.2), &json!(0.3)).is_ok());
        assert!(check(Check::Equals, &json!(31), &json!(30)).is_err());
        assert!(check(Check::Equals, &json!([1, 2]), &json!([1, 2, 3])).is_err());
        assert!(check(Check::Equals, &json!({"a": 1}), &json!({"a": 1, "b": 2})).is_err());
        assert!(check(Check::Equals, &json!({"a": 1, "c": 2}), &json!({"a": 1, "b": 2})).is_err());
        assert!(check(Check::Equals, &json!("x"), &json!("X")).is_err());
        assert!(check(Check::Equals, &json!(true), &json!(1)).is_ok());
        assert!(check(Check::Equals, &json!(12.5), &json!("12.5")).is_ok());
        assert!(check(Check::Equals, &json!(false), &json!("False")).is_ok());
        assert!(check(Check::Equals, &Value::Null, &json!("None")).is_ok());
        assert!(check(Check::Equals, &json!("None"), &Value::Null).is_err());
        assert_eq!(check(Check::Equals, &json!(31), &json!(30)).unwrap_err(), "expected 30, got 31");
        // Large integers compare exactly.
        assert!(check(Check::Equals, &json!(9007199254740993_i64), &json!(9007199254740992_i64)).is_err());
    }

    #[test]
    fn other_checks() {
        assert!(check(Check::Approx, &json!(2.5012), &json!(2.5)).is_ok());
        assert!(check(Check::Approx, &json!(2.6), &json!(2.5)).is_err());
        assert!(check(Check::Contains, &json!("Hello, World"), &json!("world")).is_ok());
        assert!(check(Check::Contains, &json!("Hello"), &json!("world")).is_err());
        assert!(check(Check::Nonempty, &json!(" "), &Value::Null).is_err());
        assert!(check(Check::Nonempty, &json!([0]), &Value::Null).is_ok());
        assert!(check(Check::Type, &json!(2.5), &json!("float")).is_ok());
        assert!(check(Check::Type, &json!("2.5"), &json!("float")).is_err());
    }

    #[test]
    fn results_channel_is_read_defensively() {
        let text = "garbage\n{\"i\": 1, \"ok\": 5}\n{\"i\": 1, \"ok\": 6}\n{\"i\": 7, \"ok\": 1}\n[1]\n{\"i\": 0, \"raised\": \"ValueError: x\"}\n";
        let (results, fatal) = parse_results(text, 3);
        assert_eq!(results[0], Some(CallResult::Raised("ValueError: x".into())));
        assert_eq!(results[1], Some(CallResult::Returned(json!(5))), "the first answer for an index counts");
        assert_eq!(results[2], None);
        assert!(fatal.is_none());
        let (_, fatal) = parse_results("{\"fatal\": \"ImportError: nope\"}\n", 1);
        assert_eq!(fatal.as_deref(), Some("ImportError: nope"));
    }
}
