//! review: when tests fail, the overseer works out the failing cases' results again, from the
//! problem alone: it sees neither the code nor what the code returned, so tests still never come
//! from the code. A case whose second derivation differs from the first is unreliable (small
//! models get edge cases wrong) and the caller drops it; the code is then tested again. The
//! author's examples from a stub are never disputed. Each derivation comes with a Python expression
//! over the case's arguments, computed in the sandbox (expressions.rs): a small model's formula is
//! more often right than its arithmetic.

use super::events::Stage;
use super::evolver::{Ctx, EvolveError};
use super::spec::{Check, Spec, TestCase, same_value};
use super::{expressions, prompts, schema};
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

/// The most cases one review answers (the schema's bound, schema::review).
pub const MAX_CASES: usize = 8;

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
    // The answer's schema holds at most this many: the rest stay as they are.
    let cases = &cases[..cases.len().min(MAX_CASES)];
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
        tracing::debug!(answer = %answer.text, "the re-derivation is no JSON");
        return Ok(Vec::new());
    };
    // (case, reckoned result, expression) per case answered, first answer per case only.
    let mut answered: Vec<(&TestCase, Option<Value>, Option<String>)> = Vec::new();
    for item in value.get("cases").and_then(|c| c.as_array()).into_iter().flatten() {
        let Some(case) = item.get("name").and_then(|n| n.as_str()).and_then(|n| cases.iter().find(|c| c.name == n))
        else {
            continue;
        };
        if answered.iter().any(|(c, _, _)| c.name == case.name) {
            continue;
        }
        let expression =
            item.get("expression").and_then(|e| e.as_str()).filter(|e| expressions::plausible(e)).map(String::from);
        answered.push((case, item.get("result").cloned(), expression));
    }
    // The expressions are computed in the sandbox; a value of the return type beats the reckoning.
    let asked: Vec<(&TestCase, &str)> =
        answered.iter().filter_map(|(case, _, e)| e.as_deref().map(|e| (*case, e))).collect();
    let mut computed = expressions::evaluate(ctx, &asked).await?.into_iter();
    let mut derived = Vec::new();
    let mut by_expression = 0;
    for (case, reckoned, expression) in answered {
        let evaluated = if expression.is_some() { computed.next().flatten() } else { None };
        tracing::debug!(case = %case.name, expression = ?expression, evaluated = ?evaluated, result = ?reckoned, "re-derived");
        match evaluated.filter(|v| expressions::fits_return_type(v, &spec.function.returns)) {
            Some(value) => {
                by_expression += 1;
                derived.push((case.name.clone(), value));
            }
            None => {
                if let Some(result) = reckoned {
                    derived.push((case.name.clone(), result));
                }
            }
        }
    }
    if by_expression > 0 {
        ctx.emit(
            Stage::Tests,
            percent,
            format!("{by_expression} of {} re-derived value(s) computed by the overseer's expressions", derived.len()),
        );
    }
    Ok(derived)
}
