//! expressions: the overseer's second derivation of a case comes with a one-line Python expression
//! over the case's arguments (`math.sqrt(a ** 2 + b ** 2)` for `hypotenuse(a=3, b=4)`). Small
//! models reckon badly (the vowels of 'programming', a weekday, 98.6 °F in °C) but often write the
//! right formula; the expression is computed here, in the same sandbox as generated code (it is
//! model output, hostile until proven otherwise), and its value is preferred to the reckoned one
//! when it has the function's return type. It never sees the code under test.

use super::evolver::{Ctx, EvolveError};
use super::spec::TestCase;
use super::tests::py_literal;
use super::verify::{CallResult, call_function};
use crate::sandbox::NodeLimits;
use serde_json::Value;
use std::collections::BTreeMap;

const MODULE: &str = "derived_values";
const FUNCTION: &str = "derived_value";

/// The longest expression worth computing: a formula, not a program.
const MAX_EXPRESSION_CHARS: usize = 400;

/// Whether `expression` is worth computing: one non-empty line of bounded length.
pub fn plausible(expression: &str) -> bool {
    let expression = expression.trim();
    !expression.is_empty() && !expression.contains('\n') && expression.chars().count() <= MAX_EXPRESSION_CHARS
}

/// Computes each (case, expression) with the case's arguments bound by name, in one sandboxed run.
/// None where the expression raised, gave nothing JSON can hold, or the run failed.
pub async fn evaluate(ctx: &Ctx<'_>, items: &[(&TestCase, &str)]) -> Result<Vec<Option<Value>>, EvolveError> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let program = program(items);
    let files = BTreeMap::from([(format!("{MODULE}.py"), program)]);
    let inputs: Vec<Value> = (0..items.len()).map(|i| Value::Array(vec![Value::from(i)])).collect();
    let limits = NodeLimits::from_config(&ctx.config.limits);
    let calls = match call_function(ctx, files, MODULE, FUNCTION, &inputs, &limits).await? {
        Ok(calls) => calls,
        Err(_) => return Ok(vec![None; items.len()]),
    };
    Ok(calls
        .results
        .into_iter()
        .map(|r| match r {
            Some(CallResult::Returned(value)) => Some(value),
            _ => None,
        })
        .collect())
}

/// The module the sandbox runs: the expressions and arguments as Python literals (never pasted
/// as code around them), each evaluated with `import datetime` semantics first and then with the
/// names small models also write bare (`date(2024, 1, 1)`, `Counter`, `sqrt`).
fn program(items: &[(&TestCase, &str)]) -> String {
    let entries: Vec<String> = items
        .iter()
        .map(|(case, expression)| {
            format!(
                "    ({}, {}),",
                py_literal(&Value::String(expression.trim().to_string())),
                py_literal(&Value::Object(case.input.clone()))
            )
        })
        .collect();
    format!("{PRELUDE}\n_ITEMS = [\n{}\n]\n{EVALUATOR}", entries.join("\n"))
}

const PRELUDE: &str = r#"import calendar
import collections
import datetime as _datetime
import functools
import itertools
import math
import re
import statistics
import string

_COMMON = {
    "calendar": calendar, "collections": collections, "functools": functools,
    "itertools": itertools, "math": math, "re": re, "statistics": statistics, "string": string,
}
_SCOPES = [
    dict(_COMMON, datetime=_datetime),
    dict(_COMMON, datetime=_datetime.datetime, date=_datetime.date, timedelta=_datetime.timedelta,
         Counter=collections.Counter, reduce=functools.reduce, sqrt=math.sqrt, pi=math.pi,
         floor=math.floor, ceil=math.ceil, gcd=math.gcd, factorial=math.factorial),
]
"#;

const EVALUATOR: &str = r#"
def _plain(value):
    if isinstance(value, _datetime.timedelta):
        return value.days
    if isinstance(value, (_datetime.date, _datetime.datetime)):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return sorted(_plain(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def derived_value(i):
    expression, arguments = _ITEMS[i]
    error = None
    for scope in _SCOPES:
        names = dict(scope)
        names.update(arguments)
        try:
            return _plain(eval(expression, names))
        except Exception as e:
            error = e
    raise error
"#;

/// Whether `value` has the type the signature declares (`int`, `list[str]`, `Optional[float]`):
/// a comparison's `True` is no count, a string no list. An unknown or empty type fits anything
/// but None.
pub fn fits_return_type(value: &Value, returns: &str) -> bool {
    let mut declared = returns.trim().trim_start_matches("typing.");
    let optional = declared.starts_with("Optional[") || declared.contains("None");
    if let Some(inner) = declared.strip_prefix("Optional[").and_then(|t| t.strip_suffix(']')) {
        declared = inner;
    }
    if value.is_null() {
        return optional;
    }
    let head = declared.split(['[', '|']).next().unwrap_or("").trim().to_ascii_lowercase();
    match head.as_str() {
        "int" => value.as_f64().is_some_and(|n| n.fract() == 0.0),
        "float" => value.is_number(),
        "str" => value.is_string(),
        "bool" => value.is_boolean(),
        "list" | "tuple" | "set" | "frozenset" | "sequence" | "iterable" => value.is_array(),
        "dict" | "mapping" => value.is_object(),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn case(input: Value) -> TestCase {
        serde_json::from_value(json!({"name": "c", "input": input, "expected": 0})).unwrap()
    }

    #[test]
    fn a_comparison_is_no_count_and_a_string_no_list() {
        assert!(fits_return_type(&json!(23), "int"));
        assert!(!fits_return_type(&json!(true), "int"));
        assert!(!fits_return_type(&json!("abc"), "list[str]"));
        assert!(fits_return_type(&json!(["a"]), "List[str]"));
        assert!(fits_return_type(&json!(2.5), "float"));
        assert!(!fits_return_type(&json!(2.5), "int"));
        assert!(fits_return_type(&json!(null), "Optional[int]"));
        assert!(!fits_return_type(&json!(null), "int"));
        assert!(fits_return_type(&json!({"a": 1}), ""));
    }

    #[test]
    fn only_one_bounded_line_is_computed() {
        assert!(plausible("a + b"));
        assert!(!plausible("  "));
        assert!(!plausible("a\n+ b"));
        assert!(!plausible(&"a + ".repeat(200)));
    }

    /// The module itself, run by the real interpreter (outside any sandbox: these expressions are
    /// the test's own): arguments bound by name, dates and sets made JSON, the bare-name scope
    /// tried when the first raises, and an expression that calls the function raising.
    #[test]
    fn the_module_computes_with_the_cases_arguments() {
        let cases = [
            case(json!({"a": 3, "b": 4})),
            case(json!({"text": "programming"})),
            case(json!({"day": "2024-01-31"})),
            case(json!({"day": "2024-01-31"})),
            case(json!({"items": [3, 1, 3]})),
            case(json!({"word": "x"})),
        ];
        let expressions = [
            "math.sqrt(a ** 2 + b ** 2)",
            "sum(1 for c in text if c in 'aeiou')",
            "(datetime.date.fromisoformat(day) + datetime.timedelta(days=30))",
            "(date.fromisoformat(day) - date(2024, 1, 1))",
            "set(items)",
            "count_vowels(word)",
        ];
        let items: Vec<(&TestCase, &str)> = cases.iter().zip(expressions).collect();
        let mut script = program(&items);
        script.push_str(
            "\nimport json\nout = []\nfor i in range(len(_ITEMS)):\n    try:\n        out.append(derived_value(i))\n    except Exception as e:\n        out.append('raised ' + type(e).__name__)\nprint(json.dumps(out))\n",
        );
        let output = std::process::Command::new("python3").arg("-c").arg(&script).output().expect("python3 runs");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let values: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(values, json!([5.0, 3, "2024-03-01", 30, [1, 3], "raised NameError"]));
    }
}
