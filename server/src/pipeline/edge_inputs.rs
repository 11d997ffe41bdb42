//! edge_inputs: when the overseer cannot write enough cases (a small model repeats the task's
//! own case however it is asked), the missing inputs are made from the task's input by type:
//! one parameter at a time becomes empty, zero, negative, one element, a duplicate. Their
//! expected values come from the overseer's re-derivation (review.rs: the problem alone, its
//! expression computed in the sandbox), never from code. An input the problem does not allow is
//! found out by the consensus (every implementation raises) and dropped there.

use super::events::Stage;
use super::evolver::{Ctx, EvolveError};
use super::spec::{Check, Spec, TestCase, same_value};
use serde_json::{Map, Value};

/// Up to `wanted` inputs that differ from every case's and task_input's, each the task's input
/// with one argument changed; the first parameter's edges first.
pub fn edge_inputs(spec: &Spec, wanted: usize) -> Vec<Map<String, Value>> {
    let base = if spec.task_input.is_empty() {
        match spec.test_cases.first() {
            Some(case) => case.input.clone(),
            None => return Vec::new(),
        }
    } else {
        spec.task_input.clone()
    };
    let mut seen: Vec<Value> = spec.test_cases.iter().map(|c| Value::Object(c.input.clone())).collect();
    seen.push(Value::Object(base.clone()));
    let mut out = Vec::new();
    for parameter in &spec.function.parameters {
        let Some(value) = base.get(&parameter.name) else { continue };
        for edge in edges_of(value) {
            if out.len() == wanted {
                return out;
            }
            let mut input = base.clone();
            input.insert(parameter.name.clone(), edge);
            let input = Value::Object(input);
            if !seen.iter().any(|s| same_value(s, &input)) {
                seen.push(input.clone());
                out.extend(input.as_object().cloned());
            }
        }
    }
    out
}

/// Edge values of the same JSON type as `value`, the most telling first.
fn edges_of(value: &Value) -> Vec<Value> {
    match value {
        Value::Bool(b) => vec![Value::Bool(!b)],
        Value::Number(n) if n.is_i64() || n.is_u64() => {
            let n = n.as_i64().unwrap_or(i64::MAX);
            vec![
                Value::from(0),
                Value::from(1),
                Value::from(if n > 0 { n.saturating_add(7) } else { 12 }),
                Value::from(-3),
            ]
        }
        Value::Number(_) => vec![Value::from(0.0), Value::from(2.5), Value::from(-1.5)],
        Value::String(s) => {
            let words: Vec<&str> = s.split_whitespace().collect();
            let shorter = if words.len() > 1 {
                words[0].to_string()
            } else {
                s.chars().take((s.chars().count() / 2).max(1)).collect()
            };
            vec![Value::from(shorter), Value::from(""), Value::from(format!("{s} {s}"))]
        }
        Value::Array(items) => {
            let mut edges = vec![Value::Array(items.iter().take(1).cloned().collect()), Value::Array(Vec::new())];
            if let Some(first) = items.first() {
                let mut doubled = items.clone();
                doubled.push(first.clone());
                edges.push(Value::Array(doubled));
            }
            let reversed: Vec<Value> = items.iter().rev().cloned().collect();
            edges.push(Value::Array(reversed));
            edges
        }
        Value::Object(map) => {
            vec![
                Value::Object(map.iter().take(1).map(|(k, v)| (k.clone(), v.clone())).collect()),
                Value::Object(Map::new()),
            ]
        }
        Value::Null => Vec::new(),
    }
}

/// Cases on edge inputs, their expected values re-derived by the overseer from the problem; an
/// input it gave no value of the return type for is no case.
pub async fn edge_cases(
    ctx: &Ctx<'_>,
    task: &str,
    spec: &Spec,
    wanted: usize,
    percent: u8,
) -> Result<Vec<TestCase>, EvolveError> {
    let check = if spec.function.returns.trim() == "float" { Check::Approx } else { Check::Equals };
    let cases: Vec<TestCase> = edge_inputs(spec, wanted)
        .into_iter()
        .enumerate()
        .map(|(i, input)| TestCase {
            name: format!("edge_{}", i + 1),
            input,
            expected: Value::Null,
            check,
            author: false,
        })
        .collect();
    if cases.is_empty() {
        return Ok(Vec::new());
    }
    ctx.emit(Stage::Plan, percent, format!("{} edge input(s) made from the task's input", cases.len()));
    let asked: Vec<&TestCase> = cases.iter().collect();
    let derived = super::review::rederive(ctx, task, spec, &asked, percent).await?;
    Ok(cases
        .into_iter()
        .filter_map(|mut case| {
            // A value of another type than the signature's (`"[]"` for a list) is no answer.
            let value = derived
                .iter()
                .find(|d| d.case == case.name)?
                .candidates()
                .find(|v| !v.is_null() && super::expressions::fits_return_type(v, &spec.function.returns))?
                .clone();
            case.expected = value;
            Some(case)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(parameters: Value, task_input: Value, cases: Vec<Value>) -> Spec {
        super::super::align::tests::spec(
            json!({"name": "f", "parameters": parameters, "returns": "int"}),
            task_input,
            cases,
        )
    }

    #[test]
    fn a_text_becomes_one_word_empty_and_doubled_and_no_input_repeats() {
        let s = spec(
            json!([{"name": "text", "type": "str"}]),
            json!({"text": "the quick fox"}),
            vec![json!({"text": "the quick fox"}), json!({"text": ""})],
        );
        let inputs: Vec<Value> = edge_inputs(&s, 3).into_iter().map(Value::Object).collect();
        assert_eq!(inputs, [json!({"text": "the"}), json!({"text": "the quick fox the quick fox"})]);
    }

    #[test]
    fn one_argument_changes_at_a_time_and_the_count_is_bounded() {
        let s = spec(
            json!([{"name": "xs", "type": "list"}, {"name": "k", "type": "int"}]),
            json!({"xs": [3, 1], "k": 2}),
            vec![json!({"xs": [3, 1], "k": 2})],
        );
        let inputs: Vec<Value> = edge_inputs(&s, 3).into_iter().map(Value::Object).collect();
        assert_eq!(inputs, [json!({"xs": [3], "k": 2}), json!({"xs": [], "k": 2}), json!({"xs": [3, 1, 3], "k": 2})]);
        let all = edge_inputs(&s, 20);
        assert!(all.iter().any(|i| i["k"] == json!(0) && i["xs"] == json!([3, 1])), "{all:?}");
    }
}
