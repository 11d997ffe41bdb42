//! review: when tests fail, the overseer works out the failing cases' results again, from the
//! problem alone: it sees neither the code nor what the code returned, so tests still never come
//! from the code. A case whose second derivation differs from the first is unreliable (small
//! models get edge cases wrong) and the caller drops it; the code is then tested again. The
//! author's examples from a stub are never disputed.

use super::events::Stage;
use super::evolver::{Ctx, EvolveError};
use super::spec::{Check, Spec, TestCase, same_value};
use super::{prompts, schema};
use crate::config::Role;
use crate::llm::{ChatRequest, Message};
use serde_json::Value;

/// A disputed case: its name, the spec's expected value and the re-derived one.
pub struct Correction {
    pub case: String,
    pub was: Value,
    pub now: Value,
}

pub async fn review(
    ctx: &Ctx<'_>,
    task: &str,
    spec: &Spec,
    failing: &[String],
    percent: u8,
) -> Result<Vec<Correction>, EvolveError> {
    // The author's own examples define the task; only the overseer's derivations are disputed.
    let cases: Vec<_> = spec
        .test_cases
        .iter()
        .filter(|c| failing.contains(&c.name) && !matches!(c.check, Check::Nonempty | Check::Holds(_)) && !c.author)
        .collect();
    let derived = rederive(ctx, task, spec, &cases, percent).await?;
    let mut corrections = Vec::new();
    for (name, result) in derived {
        if let Some(case) = cases.iter().find(|c| c.name == name)
            && !agrees(case, &result)
        {
            corrections.push(Correction { case: name, was: case.expected.clone(), now: result });
        }
    }
    Ok(corrections)
}

/// Whether a derived result is what `case` expects (by the case's own check).
pub fn agrees(case: &TestCase, result: &Value) -> bool {
    match case.check {
        Check::Contains => {
            let text = result.as_str().map(String::from).unwrap_or_else(|| result.to_string());
            text.to_lowercase().contains(&case.expected.as_str().unwrap_or_default().to_lowercase())
        }
        _ => same_value(&case.expected, result),
    }
}

/// The overseer works out `cases` again from the problem alone; (case name, result) for each it
/// answered. A model failure leaves nothing derived (the caller keeps the spec as it was).
pub async fn rederive(
    ctx: &Ctx<'_>,
    task: &str,
    spec: &Spec,
    cases: &[&TestCase],
    percent: u8,
) -> Result<Vec<(String, Value)>, EvolveError> {
    if cases.is_empty() {
        return Ok(Vec::new());
    }
    ctx.emit(Stage::Tests, percent, format!("the overseer re-derives {} case(s) from the problem", cases.len()));
    let request = ChatRequest {
        messages: vec![Message::system(prompts::REVIEW_SYSTEM), Message::user(prompts::review_user(task, spec, cases))],
        schema: Some(schema::review()),
        temperature: Some(0.0),
        ..Default::default()
    };
    // The review only helps: a model failure here leaves the spec as it was.
    let answer = match ctx.ask(Stage::Tests, percent, Role::Overseer, None, request).await {
        Ok(answer) => answer,
        Err(e @ (EvolveError::Cancelled | EvolveError::Budget(_))) => return Err(e),
        Err(e) => {
            ctx.warn(Stage::Tests, percent, format!("the review failed ({e}); the spec stays as it is"));
            return Ok(Vec::new());
        }
    };
    let Some(value) = schema::parse_json_answer(&answer.text) else {
        return Ok(Vec::new());
    };
    let mut derived = Vec::new();
    for item in value.get("cases").and_then(|c| c.as_array()).into_iter().flatten() {
        let (Some(name), Some(result)) = (item.get("name").and_then(|n| n.as_str()), item.get("result")) else {
            continue;
        };
        if cases.iter().any(|c| c.name == name) && !derived.iter().any(|(n, _): &(String, Value)| n == name) {
            derived.push((name.to_string(), result.clone()));
        }
    }
    Ok(derived)
}
