//! The tests stage: a pytest file written by a template from the spec's test cases, before any code
//! exists. The model never sees code when tests are made, so tests cannot copy the code's mistakes.

use super::spec::Spec;
use serde_json::Value;

pub const TEST_FILE: &str = "test_solution.py";
pub const NODE_FILE: &str = "solution.py";
pub const NODE_MODULE: &str = "solution";

/// A JSON value as a Python literal.
/// A case's input as keyword arguments, `text="hello", limit=5`, in the input's order.
pub fn keyword_arguments(input: &serde_json::Map<String, Value>) -> String {
    input.iter().map(|(k, v)| format!("{k}={}", py_literal(v))).collect::<Vec<_>>().join(", ")
}

pub fn py_literal(value: &Value) -> String {
    match value {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
        // JSON string escapes are valid Python string escapes.
        Value::String(s) => serde_json::to_string(s).unwrap_or_default(),
        Value::Array(items) => format!("[{}]", items.iter().map(py_literal).collect::<Vec<_>>().join(", ")),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}: {}", serde_json::to_string(k).unwrap_or_default(), py_literal(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn check_name(check: super::spec::Check) -> &'static str {
    use super::spec::Check::*;
    match check {
        Equals => "equals",
        Approx => "approx",
        Contains => "contains",
        Nonempty => "nonempty",
        Type => "type",
        Holds(property) => property.as_str(),
    }
}

/// The pytest file for `spec`. With `contract`, one more test runs the node as a program (JSON on
/// stdin, `{"result": ...}` on stdout), as `code-evolver run` will.
pub fn render(spec: &Spec, task: &str, contract: bool) -> String {
    render_importing(spec, task, NODE_MODULE, contract)
}

/// The pytest file for `spec`, importing the function from `module`.
pub fn render_importing(spec: &Spec, task: &str, module: &str, contract: bool) -> String {
    let function = &spec.function.name;
    let mut cases = String::new();
    for case in &spec.test_cases {
        cases.push_str(&format!(
            "    {{\"name\": {}, \"input\": {}, \"expected\": {}, \"check\": \"{}\"}},\n",
            serde_json::to_string(&case.name).unwrap_or_default(),
            py_literal(&Value::Object(case.input.clone())),
            py_literal(&case.expected),
            check_name(case.check)
        ));
    }
    // The task sits in the module docstring: it must not end it (triple quotes) nor escape
    // anything (backslashes), whatever the user typed.
    let task_line = task.replace(['\n', '\r'], " ").replace('\\', "\\\\").replace("\"\"\"", "'''");
    let mut text = format!(
        r#""""Tests for `{function}`, written from its spec before any code existed.

Task: {task_line}
"""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from {module} import {function}

CASES = [
{cases}]


def _plain(value):
    """The value as JSON would carry it (tuples become lists)."""
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError):
        return value


def _close(actual, expected):
    if isinstance(expected, bool) or isinstance(actual, bool):
        return actual == expected
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        return math.isclose(actual, expected, rel_tol=1e-6, abs_tol=1e-9)
    if isinstance(expected, list) and isinstance(actual, list):
        return len(actual) == len(expected) and all(_close(a, e) for a, e in zip(actual, expected))
    if isinstance(expected, dict) and isinstance(actual, dict):
        return actual.keys() == expected.keys() and all(_close(actual[k], expected[k]) for k in expected)
    return actual == expected


def _coerce(expected, actual):
    """Spec values written as text ("12.5", "true") compare as the value they spell."""
    if isinstance(expected, str) and isinstance(actual, bool) and expected.strip().lower() in ("true", "false"):
        return expected.strip().lower() == "true"
    if isinstance(expected, str) and isinstance(actual, (int, float)) and not isinstance(actual, bool):
        try:
            return float(expected)
        except ValueError:
            return expected
    return expected


def check(kind, actual, expected):
    actual = _plain(actual)
    expected = _coerce(expected, actual)
    if kind == "equals":
        assert _close(actual, expected), f"expected {{expected!r}}, got {{actual!r}}"
    elif kind == "approx":
        assert actual == pytest.approx(expected, rel=1e-3), f"expected about {{expected!r}}, got {{actual!r}}"
    elif kind == "contains":
        assert str(expected).lower() in str(actual).lower(), f"expected a result containing {{expected!r}}, got {{actual!r}}"
    elif kind == "nonempty":
        assert actual not in (None, "", [], {{}}) and str(actual).strip(), f"expected a non-empty result, got {{actual!r}}"
    elif kind == "type":
        names = {{"str": str, "int": int, "float": (int, float), "bool": bool, "list": list, "dict": dict}}
        assert isinstance(actual, names.get(expected, object)), f"expected a {{expected}}, got {{actual!r}}"
    else:
        check_property(kind, actual, expected)


def _items(value):
    return list(value) if isinstance(value, (list, str)) else None


def check_property(kind, actual, first):
    """A property of every result; `first` is the call's first argument."""
    items, pool = _items(actual), _items(first)
    keys = sorted(json.dumps(x, sort_keys=True) for x in items or [])
    if kind == "sorted":
        ok = items is not None and all(not a > b for a, b in zip(items, items[1:]))
    elif kind == "no_duplicates":
        ok = items is not None and len(set(keys)) == len(keys)
    elif kind == "non_negative":
        ok = isinstance(actual, (int, float)) and not isinstance(actual, bool) and actual >= 0
    elif kind == "same_length":
        ok = items is not None and pool is not None and len(items) == len(pool)
    elif kind == "same_elements":
        ok = items is not None and pool is not None and keys == sorted(json.dumps(x, sort_keys=True) for x in pool)
    elif kind == "subset":
        ok = items is not None and pool is not None and all(x in pool for x in items)
    else:
        raise AssertionError(f"unknown check {{kind!r}}")
    assert ok, f"the result must have the property {{kind}}, got {{actual!r}}"


PROPERTIES = ("sorted", "no_duplicates", "non_negative", "same_length", "same_elements", "subset")


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_case(case):
    if case["check"] in PROPERTIES:
        try:
            actual = {function}(**case["input"])
        except Exception:  # a property constrains returned values only
            return
        check(case["check"], actual, case["expected"])
        return
    check(case["check"], {function}(**case["input"]), case["expected"])
"#,
    );
    if contract {
        text.push_str(&format!(
            r#"

def test_node_contract():
    """The node as a program: JSON arguments on stdin, {{"result": ...}} on stdout."""
    case = CASES[0]
    node = Path(__file__).with_name("{NODE_FILE}")
    proc = subprocess.run(
        [sys.executable, str(node)], input=json.dumps(case["input"]), capture_output=True, text=True, timeout=60, check=False
    )
    lines = proc.stdout.strip().splitlines()
    assert lines, f"no output; stderr: {{proc.stderr[-500:]}}"
    out = json.loads(lines[-1])
    assert "result" in out, out
    check(case["check"], out["result"], case["expected"])
"#
        ));
    }
    text
}
