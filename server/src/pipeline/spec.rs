//! The overseer's spec: what the function is, its arguments, the user's own input, and the test
//! cases the tests are written from before any code exists.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    Arithmetic,
    SimpleContent,
    ComplexContent,
    Algorithm,
}

impl TaskKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskKind::Arithmetic => "arithmetic",
            TaskKind::SimpleContent => "simple_content",
            TaskKind::ComplexContent => "complex_content",
            TaskKind::Algorithm => "algorithm",
        }
    }
    pub fn is_content(self) -> bool {
        matches!(self, TaskKind::SimpleContent | TaskKind::ComplexContent)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Complexity {
    Simple,
    Moderate,
    Complex,
}

impl Complexity {
    pub fn as_str(self) -> &'static str {
        match self {
            Complexity::Simple => "simple",
            Complexity::Moderate => "moderate",
            Complexity::Complex => "complex",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Classification {
    pub kind: TaskKind,
    pub complexity: Complexity,
    pub reason: String,
    /// True when the model's answer was unusable and the keyword classifier decided.
    #[serde(default)]
    pub by_keywords: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
#[schemars(transform = |s: &mut schemars::Schema| require(s, &["name", "type"]))]
pub struct Parameter {
    pub name: String,
    #[serde(rename = "type", default)]
    pub type_: String,
    #[serde(default)]
    pub description: String,
    /// The task's own value, for a parameter made of a number the overseer took for a constant
    /// ("chunks of 2"): callers that pass it get their value, callers that do not get the task's.
    /// Set by the engine (task_values.rs), never asked of a model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(skip)]
    pub default: Option<Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
#[schemars(transform = |s: &mut schemars::Schema| require(s, &["name", "parameters", "returns"]))]
pub struct FunctionSig {
    pub name: String,
    pub parameters: Vec<Parameter>,
    #[serde(default)]
    pub returns: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Check {
    #[default]
    Equals,
    Approx,
    Contains,
    Nonempty,
    Type,
    /// A property of every result (properties.rs), checked without an expected value; `expected`
    /// carries the call's first argument for the properties relative to it. Never asked of a
    /// model: the engine makes these cases from the spec's `properties`.
    #[schemars(skip)]
    Holds(super::properties::Property),
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
#[schemars(transform = |s: &mut schemars::Schema| require(s, &["name", "input", "expected", "check"]))]
pub struct TestCase {
    pub name: String,
    pub input: serde_json::Map<String, Value>,
    #[serde(default)]
    pub expected: Value,
    #[serde(default)]
    #[schemars(schema_with = "check_schema")]
    pub check: Check,
    /// The task's author wrote this case (a stub's docstring example): it is the definition of
    /// right, so the review never disputes it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    #[schemars(skip)]
    pub author: bool,
}

/// The overseer's spec. Its JSON schema (what the plan stage asks for, `schema::plan`) is derived
/// from this type: the limits below are what small models' grammars can hold.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[schemars(transform = |s: &mut schemars::Schema| {
    require(s, &["problem", "requirements", "plan", "function", "task_input", "test_cases", "tools"])
})]
pub struct Spec {
    #[schemars(length(max = 400))]
    pub problem: String,
    #[serde(default)]
    #[schemars(length(max = 6), inner(length(max = 200)))]
    pub requirements: Vec<String>,
    #[serde(default)]
    #[schemars(length(max = 200))]
    pub limits: String,
    #[serde(default)]
    #[schemars(length(max = 8), inner(length(max = 200)))]
    pub plan: Vec<String>,
    pub function: FunctionSig,
    /// The arguments for the user's own task ("add 10 and 20" -> {"a": 10, "b": 20}).
    #[serde(default)]
    pub task_input: serde_json::Map<String, Value>,
    #[serde(default)]
    pub example_output: Value,
    #[schemars(length(min = 3, max = 8))]
    pub test_cases: Vec<TestCase>,
    /// An input big enough to time, for the optimizer.
    #[serde(default)]
    pub benchmark_input: Option<serde_json::Map<String, Value>>,
    #[serde(default)]
    pub tools: Vec<String>,
    /// What every result has, whatever the input (only what the task itself says): checked on
    /// generated inputs as well as on the cases.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "properties_schema")]
    pub properties: Vec<super::properties::Property>,
    /// How to call each tool that is a saved node (configured tools describe themselves).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    #[schemars(skip)]
    pub tool_notes: std::collections::BTreeMap<String, String>,
    /// The stub the task carried, as its author wrote it: its docstring is the problem in the
    /// author's own words, and the overseer's plan only a paraphrase (see escalate::show_plan).
    #[serde(skip)]
    pub stub: Option<String>,
}

/// The checks a model may write: a plain string enum, as grammars hold best (the engine's own
/// property checks are not offered).
fn check_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "type": "string", "enum": ["equals", "approx", "contains", "nonempty", "type"] })
}

fn properties_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let names: Vec<&str> = super::properties::Property::ALL.iter().map(|p| p.as_str()).collect();
    schemars::json_schema!({ "type": "array", "items": { "type": "string", "enum": names }, "maxItems": 3 })
}

pub fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !PYTHON_KEYWORDS.contains(&name)
}

/// Builtins a function must not be named after (the function would call itself).
const PYTHON_BUILTINS: &[&str] = &[
    "abs",
    "all",
    "any",
    "bin",
    "bool",
    "chr",
    "dict",
    "divmod",
    "enumerate",
    "filter",
    "float",
    "format",
    "hash",
    "hex",
    "input",
    "int",
    "isinstance",
    "len",
    "list",
    "map",
    "max",
    "min",
    "next",
    "oct",
    "open",
    "ord",
    "pow",
    "print",
    "range",
    "repr",
    "reversed",
    "round",
    "set",
    "sorted",
    "str",
    "sum",
    "tuple",
    "type",
    "zip",
];

const PYTHON_KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del",
    "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal",
    "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
];

impl Spec {
    /// Problems that make the spec unusable, as one message for the overseer to fix.
    pub fn problems(&self, known_tools: &[String]) -> Vec<String> {
        let mut out = Vec::new();
        if !is_identifier(&self.function.name) {
            out.push(format!("function.name `{}` is not a Python identifier", self.function.name));
        } else if PYTHON_BUILTINS.contains(&self.function.name.as_str()) {
            out.push(format!(
                "function.name `{}` shadows a Python builtin: choose a descriptive name such as `{}_of`",
                self.function.name, self.function.name
            ));
        }
        let names: Vec<&str> = self.function.parameters.iter().map(|p| p.name.as_str()).collect();
        for p in &names {
            if !is_identifier(p) {
                out.push(format!("parameter `{p}` is not a Python identifier"));
            }
        }
        if self.test_cases.len() < 3 {
            out.push(format!(
                "{} test cases with distinct inputs given; at least 3 are needed (each case a different input)",
                self.test_cases.len()
            ));
        }
        let check_input = |label: &str, input: &serde_json::Map<String, Value>, out: &mut Vec<String>| {
            for key in input.keys() {
                if !names.contains(&key.as_str()) {
                    out.push(format!("{label}: `{key}` is not a parameter of {}", self.function.name));
                }
            }
            for name in &names {
                if !input.contains_key(*name) {
                    out.push(format!("{label}: parameter `{name}` is missing"));
                }
            }
        };
        for case in &self.test_cases {
            check_input(&format!("test case `{}`", case.name), &case.input, &mut out);
        }
        check_input("task_input", &self.task_input, &mut out);
        for tool in &self.tools {
            if !known_tools.contains(tool) {
                out.push(format!("tool `{tool}` does not exist (known: {})", known_tools.join(", ")));
            }
        }
        out
    }

    /// `name(a: int, b: int) -> int`
    pub fn signature(&self) -> String {
        let params: Vec<String> = self
            .function
            .parameters
            .iter()
            .map(|p| {
                let typed = if p.type_.is_empty() { p.name.clone() } else { format!("{}: {}", p.name, p.type_) };
                match &p.default {
                    Some(value) => format!("{typed} = {}", super::tests::py_literal(value)),
                    None => typed,
                }
            })
            .collect();
        let returns =
            if self.function.returns.is_empty() { String::new() } else { format!(" -> {}", self.function.returns) };
        format!("{}({}){}", self.function.name, params.join(", "), returns)
    }
}

/// Small models wrap expected values: `{"result": 5}` for a function returning an int. A
/// one-key object is unwrapped unless the function returns a dict.
pub fn unwrap_expected(spec: &mut Spec) {
    let returns_dict = spec.function.returns.to_ascii_lowercase().contains("dict");
    if returns_dict {
        return;
    }
    for case in &mut spec.test_cases {
        if let Value::Object(map) = &case.expected
            && map.len() == 1
        {
            let inner = map.values().next().cloned().unwrap_or(Value::Null);
            case.expected = inner;
        }
    }
}

/// Drops every case whose input an earlier case already has (an author's example wins over an
/// overseer's case); returns how many went. The same input twice tests nothing more.
pub fn drop_repeated_inputs(cases: &mut Vec<TestCase>) -> usize {
    let before = cases.len();
    cases.sort_by_key(|c| !c.author);
    let mut seen: Vec<Value> = Vec::new();
    cases.retain(|c| {
        let input = Value::Object(c.input.clone());
        if seen.contains(&input) {
            false
        } else {
            seen.push(input);
            true
        }
    });
    before - cases.len()
}

/// The parameters every case gives the same value (of a function of two or more): code that
/// ignores such a parameter, or computes with the task's value of it, passes every case. One
/// line each, for the overseer.
pub fn unvaried_parameters(spec: &Spec) -> Vec<String> {
    let cases: Vec<&TestCase> = spec.test_cases.iter().filter(|c| !matches!(c.check, Check::Holds(_))).collect();
    if spec.function.parameters.len() < 2 || cases.len() < 3 || cases.iter().any(|c| c.author) {
        return Vec::new();
    }
    let mut found = Vec::new();
    for p in &spec.function.parameters {
        let first = cases[0].input.get(&p.name);
        if first.is_some() && cases.iter().all(|c| c.input.get(&p.name) == first) {
            let value = first.map(|v| v.to_string()).unwrap_or_default();
            found.push(format!(
                "every test case gives {} = {value}: vary {} too, or code that ignores it passes",
                p.name, p.name
            ));
        }
    }
    found
}

/// Makes test case names unique Python-id-safe slugs, in place.
pub fn normalise_case_names(cases: &mut [TestCase]) {
    let mut seen = std::collections::HashSet::new();
    for (i, case) in cases.iter_mut().enumerate() {
        let mut slug: String = case
            .name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' })
            .collect::<String>()
            .trim_matches('_')
            .to_string();
        while slug.contains("__") {
            slug = slug.replace("__", "_");
        }
        if slug.is_empty() {
            slug = format!("case_{}", i + 1);
        }
        let mut unique = slug.clone();
        let mut n = 2;
        while !seen.insert(unique.clone()) {
            unique = format!("{slug}_{n}");
            n += 1;
        }
        case.name = unique;
    }
}

/// Whether two JSON values are the same result: numbers within 1e-6 (30 == 30.0, "30" == 30),
/// strings without surrounding space or case differences, lists and objects element by element.
pub fn same_value(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Number(e), Value::Number(a)) => {
            let (e, a) = (e.as_f64().unwrap_or(f64::NAN), a.as_f64().unwrap_or(f64::NAN));
            (e - a).abs() <= 1e-6 * e.abs().max(1.0)
        }
        (Value::String(e), Value::String(a)) => e.trim().eq_ignore_ascii_case(a.trim()),
        (Value::Array(e), Value::Array(a)) => e.len() == a.len() && e.iter().zip(a).all(|(x, y)| same_value(x, y)),
        (Value::Object(e), Value::Object(a)) => {
            e.len() == a.len() && e.iter().all(|(k, v)| a.get(k).is_some_and(|w| same_value(v, w)))
        }
        (Value::Number(_), Value::String(s)) | (Value::String(s), Value::Number(_)) => {
            let number = if let Value::Number(_) = expected { expected } else { actual };
            s.trim()
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .is_some_and(|n| same_value(number, &Value::Number(n)))
        }
        (Value::Bool(b), Value::String(s)) | (Value::String(s), Value::Bool(b)) => {
            s.trim().eq_ignore_ascii_case(if *b { "true" } else { "false" })
        }
        (e, a) => e == a,
    }
}

/// The keys a model's answer must have: the fields a missing value of which is an error in the
/// answer, though the type reads leniently with defaults (schemars would list only the fields
/// without `serde(default)`).
pub(super) fn require(schema: &mut schemars::Schema, names: &[&str]) {
    schema.insert("required".into(), Value::from(names.iter().map(|n| Value::from(*n)).collect::<Vec<_>>()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn case(name: &str, a: i64, expected: i64, author: bool) -> TestCase {
        serde_json::from_value(json!({"name": name, "input": {"a": a}, "expected": expected, "author": author}))
            .unwrap()
    }

    #[test]
    fn a_repeated_input_is_dropped_and_the_author_wins() {
        let mut cases = vec![
            case("one", 1, 2, false),
            case("again", 1, 3, false),
            case("two", 2, 4, false),
            case("mine", 2, 5, true),
        ];
        assert_eq!(drop_repeated_inputs(&mut cases), 2);
        let kept: Vec<(&str, i64)> = cases.iter().map(|c| (c.name.as_str(), c.expected.as_i64().unwrap())).collect();
        assert_eq!(kept, [("mine", 5), ("one", 2)]);
    }

    #[test]
    fn a_parameter_no_case_varies_is_found() {
        let spec: Spec = serde_json::from_value(json!({
            "problem": "p",
            "function": {"name": "lcm", "parameters": [{"name": "a", "type": "int"}, {"name": "b", "type": "int"}], "returns": "int"},
            "test_cases": [
                {"name": "t", "input": {"a": 4, "b": 6}, "expected": 12},
                {"name": "u", "input": {"a": 1, "b": 6}, "expected": 6},
                {"name": "v", "input": {"a": 0, "b": 6}, "expected": 0},
            ],
        }))
        .unwrap();
        let found = unvaried_parameters(&spec);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("b = 6"), "{found:?}");
        let mut varied = spec.clone();
        varied.test_cases[2].input.insert("b".into(), json!(9));
        assert!(unvaried_parameters(&varied).is_empty());
    }
}
