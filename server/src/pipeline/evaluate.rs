//! evaluate: the evaluator model's verdict on a saved version, the prototype's evaluation (scores
//! for correctness, robustness, latency and memory in [0, 1]). It reads the task, the code and
//! the measured figures; it only adds a term to the quality score and never overrides a test.

use super::events::Stage;
use super::evolver::{Ctx, EvolveError};
use super::schema;
use crate::config::Role;
use crate::llm::{ChatRequest, Message};
use crate::registry::NodeDetail;
use serde_json::Value;

pub const EVALUATE_SYSTEM: &str = "You review one Python function against its task. Judge correctness (does it do \
what the task says, on edge cases too), robustness (unexpected but valid input), latency and memory (is the \
approach efficient), each in [0, 1], and an overall score in [0, 1]. Answer with JSON only: {\"scores\": \
{\"correctness\": ..., \"robustness\": ..., \"latency\": ..., \"memory\": ...}, \"score_overall\": ..., \
\"verdict\": \"...\", \"notes\": \"...\"}.";

/// Ok((overall score, "verdict: notes")) from the evaluator, or Err(why there is none).
pub async fn ask(
    ctx: &Ctx<'_>,
    detail: &NodeDetail,
    version: i64,
) -> Result<Result<(f64, String), String>, EvolveError> {
    let Some(row) = detail.versions.iter().find(|v| v.version == version) else {
        return Ok(Err(format!("no version {version}")));
    };
    // The code of that version: the current one is in the detail; others are not loaded here.
    if version != detail.current_version {
        return Ok(Err("the evaluator reads the current version only".into()));
    }
    let user = format!(
        "Task: {}\n\n```python\n{}\n```\n\nMeasured: {}/{} tests pass{}{}",
        detail.task,
        detail.code.trim_end(),
        row.tests_passed,
        row.tests_total,
        row.per_call_ns.map(|ns| format!(", {ns:.0} ns per call")).unwrap_or_default(),
        row.peak_rss_kb.map(|kb| format!(", peak RSS {kb} kB")).unwrap_or_default()
    );
    let request = ChatRequest {
        messages: vec![Message::system(EVALUATE_SYSTEM), Message::user(user)],
        schema: Some(schema::evaluate()),
        temperature: Some(0.0),
        ..Default::default()
    };
    let answer = match ctx.ask(Stage::Analyse, 90, Role::Evaluator, None, request).await {
        Ok(a) => a,
        Err(e @ (EvolveError::Cancelled | EvolveError::Budget(_))) => return Err(e),
        Err(e) => return Ok(Err(e.to_string())),
    };
    let Some(value) = schema::parse_json_answer(&answer.text) else {
        return Ok(Err("the evaluator's answer is not JSON".into()));
    };
    let Some(score) = value.get("score_overall").and_then(Value::as_f64).filter(|s| (0.0..=1.0).contains(s)) else {
        return Ok(Err("the evaluator gave no score_overall in [0, 1]".into()));
    };
    let verdict = value.get("verdict").and_then(Value::as_str).unwrap_or("");
    let notes = value.get("notes").and_then(Value::as_str).unwrap_or("");
    let scores = value.get("scores").map(Value::to_string).unwrap_or_default();
    Ok(Ok((score, format!("{verdict} {scores} {notes}").trim().to_string())))
}
