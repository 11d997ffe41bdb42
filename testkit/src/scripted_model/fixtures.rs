//! Scripts shared by the tests and the engine bench (`cargo bench --bench engine`).

use super::{Rule, Script};
use serde_json::{Value, json};

pub fn classify(kind: &str, complexity: &str) -> Value {
    json!({ "kind": kind, "complexity": complexity, "reason": format!("scripted: {kind}") })
}

/// The spec of `add(a, b)` for "add 10 and 20".
pub fn add_spec() -> Value {
    json!({
        "problem": "Add two numbers.",
        "requirements": ["return the sum of a and b"],
        "limits": "O(1) time and memory",
        "plan": ["return a + b"],
        "function": { "name": "add", "parameters": [ { "name": "a", "type": "int" }, { "name": "b", "type": "int" } ], "returns": "int" },
        "task_input": { "a": 10, "b": 20 },
        "example_output": 30,
        "test_cases": [
            { "name": "task", "input": { "a": 10, "b": 20 }, "expected": 30, "check": "equals" },
            { "name": "negative", "input": { "a": -5, "b": 3 }, "expected": -2, "check": "equals" },
            { "name": "zeros", "input": { "a": 0, "b": 0 }, "expected": 0, "check": "equals" }
        ],
        "tools": []
    })
}

/// A code-stage answer as models write it: a fenced block between two lines of prose.
pub fn code(code: &str) -> Value {
    Value::String(format!("Here is the function:\n```python\n{}\n```\nIt has no side effects.", code.trim_end()))
}

pub fn faster(code: &str, change: &str) -> Value {
    json!({ "code": code, "change": change })
}

pub const ADD: &str = "def add(a: int, b: int) -> int:\n    \"\"\"Return the sum of a and b.\"\"\"\n    return a + b\n";

/// "add 10 and 20" end to end; the optimizer offers the same code, which is rejected at once.
pub fn arithmetic_script() -> Script {
    Script::new()
        .on("classify", classify("arithmetic", "simple"))
        .on("plan", add_spec())
        .on("code", code(ADD))
        .on("optimize", faster(ADD, "nothing to improve"))
}

/// A spec of one parameter with `cases` (input, expected).
pub fn one_param_spec(name: &str, param: (&str, &str), returns: &str, cases: &[(Value, Value)]) -> Value {
    json!({
        "problem": format!("{name}."),
        "requirements": [],
        "limits": "O(n)",
        "plan": [],
        "function": { "name": name, "parameters": [ { "name": param.0, "type": param.1 } ], "returns": returns },
        "task_input": { param.0: cases[0].0 },
        "example_output": cases[0].1,
        "test_cases": cases.iter().enumerate().map(|(i, (input, expected))| json!({
            "name": format!("case_{i}"), "input": { param.0: input }, "expected": expected, "check": "equals"
        })).collect::<Vec<_>>(),
        "tools": []
    })
}

/// A rule for `stage` requests whose text contains `contains`.
pub fn when(stage: &str, contains: &str, reply: Value) -> Rule {
    Rule { stage: Some(stage.into()), contains: Some(contains.into()), replies: vec![reply], ..Default::default() }
}

pub const PARSE: &str = "import re\n\n\ndef parse_numbers(text):\n    return [float(n) if '.' in n else int(n) for n in re.findall(r\"-?\\d+(?:\\.\\d+)?\", text)]\n";
pub const MEAN: &str = "def mean_of(values):\n    return sum(values) / len(values)\n";
pub const WHOLE: &str = "def mean_in_line(line):\n    return mean_of(parse_numbers(line))\n";

/// "parse the numbers out of a log line, then return their mean" as a workflow of two steps
/// (parse_numbers, mean_of) and the function over them (mean_in_line).
pub fn workflow_script() -> Script {
    let step_one = "parse the numbers out of a log line: return the list of numbers in the text";
    let step_two = "return the mean of a list of numbers";
    // Later requests also carry the earlier steps' words (hints, offered tools, the steps'
    // code): the whole task's rules come first, then the second step's, then the first's.
    Script::new()
        .on(
            "decompose",
            json!({"reason": "parse, then compute", "compound": true, "steps": [
                {"name": "parse_numbers", "task": step_one, "takes": "text: str", "returns": "list[float]"},
                {"name": "mean_of", "task": step_two, "takes": "values: list[float], the first step's output", "returns": "float"}
            ]}),
        )
        .on("classify", classify("algorithm", "simple"))
        .on("judge", json!({"verdict": "DIFFERENT", "reason": "another task"}))
        .rule(when(
            "plan",
            "built from verified steps",
            one_param_spec(
                "mean_in_line",
                ("line", "str"),
                "float",
                &[(json!("a 1 b 3"), json!(2.0)), (json!("v=4"), json!(4.0)), (json!("1 2 3 4"), json!(2.5))],
            ),
        ))
        .rule(when("code", "mean_in_line", code(WHOLE)))
        .rule(when(
            "plan",
            step_two,
            one_param_spec(
                "mean_of",
                ("values", "list"),
                "float",
                &[(json!([1, 2, 3]), json!(2.0)), (json!([5]), json!(5.0)), (json!([2, 4]), json!(3.0))],
            ),
        ))
        .rule(when("code", "mean_of", code(MEAN)))
        .rule(when(
            "plan",
            step_one,
            one_param_spec(
                "parse_numbers",
                ("text", "str"),
                "list",
                &[(json!("a 1 b 2.5"), json!([1, 2.5])), (json!(""), json!([])), (json!("x=3"), json!([3]))],
            ),
        ))
        .rule(when("code", "parse_numbers", code(PARSE)))
}
