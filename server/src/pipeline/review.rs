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
    for Derived { case: name, value, .. } in derived {
        if let Some(case) = cases.iter().find(|c| c.name == name)
            && !agrees(case, &value)
        {
            corrections.push(Correction { case: name, was: case.expected.clone(), now: value });
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

/// One case worked out again: `value` is the computed expression's when it has the return type,
/// else the reckoned result; `others` are the overseer's other derivations of it that differ (the
/// reckoning beside a computed value, the `work` computed when it is an expression of code).
pub struct Derived {
    pub case: String,
    pub value: Value,
    pub others: Vec<Value>,
}

impl Derived {
    /// The value, then the other derivations.
    pub fn candidates(&self) -> impl Iterator<Item = &Value> {
        std::iter::once(&self.value).chain(&self.others)
    }
}

/// A `work` that small models write as code (`return len(text.split())`): the expression it
/// returns, when it is one line.
fn work_as_expression(work: &str) -> Option<String> {
    let work = work.trim();
    let expression = work.strip_prefix("return ").unwrap_or(work).trim();
    (expressions::plausible(expression) && !expression.ends_with('.')).then(|| expression.to_string())
}

/// The most cases one review answers (the schema's bound, schema::review).
pub const MAX_CASES: usize = 8;

/// The overseer works out `cases` again from the problem alone, one Derived for each it
/// answered. A model failure leaves nothing derived (the caller keeps the spec as it was).
pub async fn rederive(
    ctx: &Ctx<'_>,
    task: &str,
    spec: &Spec,
    cases: &[&TestCase],
    percent: u8,
) -> Result<Vec<Derived>, EvolveError> {
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
    let items: Vec<&Value> = value.get("cases").and_then(|c| c.as_array()).into_iter().flatten().collect();
    // Each answer is the case it names; small models also name the function instead, and an
    // answer that names no asked case is the asked case in its place when that one is unanswered.
    let mut answered: Vec<Answer> = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let named = item.get("name").and_then(|n| n.as_str()).and_then(|n| cases.iter().find(|c| c.name == n));
        let Some(case) = named.or_else(|| {
            cases.get(index).filter(|c| !items.iter().any(|i| i.get("name").and_then(|n| n.as_str()) == Some(&c.name)))
        }) else {
            continue;
        };
        if answered.iter().any(|a| a.case.name == case.name) {
            continue;
        }
        let text = |field: &str| item.get(field).and_then(|e| e.as_str());
        let expression = text("expression").filter(|e| expressions::plausible(e)).map(String::from);
        let work = text("work").and_then(work_as_expression).filter(|w| Some(w) != expression.as_ref());
        answered.push(Answer { case, reckoned: item.get("result").cloned(), expression, work });
    }
    // The expressions (and works written as code) are computed in the sandbox, in one run.
    let asked: Vec<(&TestCase, &str)> =
        answered.iter().flat_map(|a| a.expression.iter().chain(&a.work).map(move |e| (a.case, e.as_str()))).collect();
    let mut computed = expressions::evaluate(ctx, &asked).await?.into_iter();
    let fits = |v: &Value| expressions::fits_return_type(v, &spec.function.returns);
    let mut derived = Vec::new();
    let mut by_expression = 0;
    for Answer { case, reckoned, expression, work } in answered {
        let evaluated = if expression.is_some() { computed.next().flatten() } else { None };
        let worked = if work.is_some() { computed.next().flatten() } else { None };
        tracing::debug!(case = %case.name, expression = ?expression, evaluated = ?evaluated, work = ?work, worked = ?worked, result = ?reckoned, "re-derived");
        let evaluated = evaluated.filter(fits);
        if evaluated.is_some() {
            by_expression += 1;
        }
        // The computed expression first, then the reckoning, then the work computed.
        let mut candidates: Vec<Value> = Vec::new();
        for v in [evaluated, reckoned, worked.filter(fits)].into_iter().flatten() {
            if !candidates.iter().any(|c| same_value(c, &v)) {
                candidates.push(v);
            }
        }
        let mut candidates = candidates.into_iter();
        if let Some(value) = candidates.next() {
            derived.push(Derived { case: case.name.clone(), value, others: candidates.collect() });
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

/// A case as the overseer answered it.
struct Answer<'a> {
    case: &'a TestCase,
    reckoned: Option<Value>,
    expression: Option<String>,
    work: Option<String>,
}
