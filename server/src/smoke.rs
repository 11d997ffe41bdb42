//! The smoke suite: simple tasks of the kinds users type (arithmetic, strings, lists, dates,
//! parsing), each with the result a correct node gives, run through the whole pipeline. Nothing in
//! the engine knows these tasks; they only measure it.

use crate::pipeline::events::EventSink;
use crate::pipeline::spec::same_value;
use crate::pipeline::{EvolveRequest, Evolver};
use serde::Serialize;
use serde_json::{Value, json};
use std::time::Instant;
use tokio_util::sync::CancellationToken;

pub struct SmokeTask {
    pub task: &'static str,
    pub expected: Value,
}

pub fn tasks() -> Vec<SmokeTask> {
    let t = |task, expected| SmokeTask { task, expected };
    vec![
        t("add 10 and 20", json!(30)),
        t("multiply 6 by 7", json!(42)),
        t("subtract 15 from 40", json!(25)),
        t("what is 2 to the power of 10", json!(1024)),
        t("compute 15 percent of 200", json!(30)),
        t("divide 100 by 8", json!(12.5)),
        t("the factorial of 6", json!(720)),
        t("reverse the string 'hello world'", json!("dlrow olleh")),
        t("count the vowels in the word 'programming'", json!(3)),
        t("convert 'hello world' to upper case", json!("HELLO WORLD")),
        t("check whether 'racecar' is a palindrome", json!(true)),
        t("count the words in 'the quick brown fox jumps'", json!(5)),
        t("sum the numbers in the list [3, 5, 7, 9]", json!(24)),
        t("find the largest number in [4, 17, 9, 2]", json!(17)),
        t("sort the list [5, 2, 8, 1] in ascending order", json!([1, 2, 5, 8])),
        t("remove duplicates from [1, 2, 2, 3, 3, 3] keeping the order", json!([1, 2, 3])),
        t("the average of [2, 4, 6, 8]", json!(5)),
        t("how many days are there between 2024-01-01 and 2024-03-01", json!(60)),
        t("what day of the week was 2024-07-04", json!("Thursday")),
        t("add 30 days to the date 2024-01-15 and give the date as YYYY-MM-DD", json!("2024-02-14")),
        t("extract the number from the text 'order #4521 shipped'", json!(4521)),
        t("extract the domain from the email address 'alice@example.com'", json!("example.com")),
        t("is 97 a prime number", json!(true)),
        t("the 10th Fibonacci number (fib(1) = 1, fib(2) = 1)", json!(55)),
    ]
}

/// Whether a node's result is the expected one (see `same_value`), but a boolean must be a boolean.
pub fn matches(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Bool(_), Value::String(_)) => false,
        _ => same_value(expected, actual),
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SmokeResult {
    pub task: String,
    pub expected: Value,
    /// The node's result, or why there is none.
    pub got: Result<Value, String>,
    pub passed: bool,
    pub seconds: f64,
    pub model_calls: usize,
    pub attempts: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct SmokeReport {
    pub results: Vec<SmokeResult>,
    pub passed: usize,
    pub total: usize,
    pub mean_seconds: f64,
}

impl SmokeReport {
    /// "17/24 passed (71%), mean 27.0 s per task"
    pub fn summary(&self) -> String {
        format!(
            "{}/{} passed ({:.0}%), mean {:.1} s per task",
            self.passed,
            self.total,
            100.0 * self.passed as f64 / self.total.max(1) as f64,
            self.mean_seconds
        )
    }
}

/// Runs every task (or the first `limit`) through `evolver`, calling `each` after each one.
pub async fn run(
    evolver: &Evolver,
    limit: Option<usize>,
    optimize: bool,
    events: EventSink,
    cancel: &CancellationToken,
    mut each: impl FnMut(&SmokeResult),
) -> SmokeReport {
    let mut results = Vec::new();
    for task in tasks().into_iter().take(limit.unwrap_or(usize::MAX)) {
        if cancel.is_cancelled() {
            break;
        }
        let started = Instant::now();
        let request = EvolveRequest { task: task.task.to_string(), run_task: true, optimize, use_memory: false };
        let outcome = evolver.evolve(request, events.clone(), cancel.clone()).await;
        let seconds = started.elapsed().as_secs_f64();
        let (got, model_calls, attempts) = match outcome {
            Ok(o) => {
                let got = match o.result {
                    Some(run) => run.output,
                    None => Err("no result".into()),
                };
                (got, o.calls.len(), o.attempts.len())
            }
            Err(e) => (Err(e.to_string()), 0, 0),
        };
        let passed = got.as_ref().map(|v| matches(&task.expected, v)).unwrap_or(false);
        let result = SmokeResult {
            task: task.task.to_string(),
            expected: task.expected,
            got,
            passed,
            seconds,
            model_calls,
            attempts,
        };
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

    #[test]
    fn results_compare_as_a_user_would() {
        assert!(matches(&json!(30), &json!(30.0)));
        assert!(matches(&json!(30), &json!("30")));
        assert!(matches(&json!("Thursday"), &json!("thursday ")));
        assert!(matches(&json!([1, 2, 5, 8]), &json!([1.0, 2, 5, 8])));
        assert!(!matches(&json!(30), &json!(31)));
        assert!(!matches(&json!(true), &json!("yes")));
        assert!(tasks().len() >= 20);
    }
}
