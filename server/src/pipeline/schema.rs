//! The JSON schema of each stage's answer. The `title` names the stage: backends pass it as the
//! structured-output name, and the scripted test server routes on it.

use schemars::JsonSchema;
use serde_json::{Map, Value};

use super::spec::{Complexity, Spec, TaskKind};

/// The JSON schema of `T`, as backends take it: derived from the type (schemars), every
/// sub-schema inline, titled `title`, and without what grammar engines do not need (doc comments,
/// number formats, `additionalProperties: true`).
fn derived<T: JsonSchema>(title: &str) -> Value {
    let settings = schemars::generate::SchemaSettings::draft07().with(|s| {
        s.inline_subschemas = true;
        s.meta_schema = None;
    });
    let schema = settings.into_generator().into_root_schema_for::<T>();
    let mut value = plain(serde_json::to_value(&schema).unwrap_or(Value::Null));
    let mut titled = Map::new();
    titled.insert("title".into(), Value::String(title.into()));
    if let Value::Object(fields) = &mut value {
        fields.remove("title");
        titled.extend(std::mem::take(fields));
    }
    Value::Object(titled)
}

/// A schema reduced to what constrains an answer.
fn plain(value: Value) -> Value {
    match value {
        // Property names are names, not keywords: only their schemas are reduced.
        Value::Object(fields) if fields.contains_key("properties") => {
            let mut out = Map::new();
            for (key, v) in fields {
                if key == "properties"
                    && let Value::Object(props) = v
                {
                    out.insert(key, Value::Object(props.into_iter().map(|(k, p)| (k, plain(p))).collect()));
                } else if let Value::Object(one) = plain(Value::Object(Map::from_iter([(key.clone(), v)]))) {
                    out.extend(one);
                }
            }
            Value::Object(out)
        }
        other => plain_keywords(other),
    }
}

fn plain_keywords(value: Value) -> Value {
    match value {
        // `true` (anything) is written `{}`.
        Value::Bool(true) => Value::Object(Map::new()),
        Value::Object(fields) => {
            let mut out = Map::new();
            for (key, v) in fields {
                match (key.as_str(), &v) {
                    ("description" | "format" | "$schema" | "default", _) => {}
                    ("additionalProperties", Value::Bool(true)) => {}
                    // `Option<T>`: the key may be absent; when present it is a `T`.
                    ("type", Value::Array(types)) if types.len() == 2 && types.contains(&Value::from("null")) => {
                        let other = types.iter().find(|t| *t != "null").cloned().unwrap_or(Value::Null);
                        out.insert(key, other);
                    }
                    ("minimum" | "maximum" | "minItems" | "maxItems" | "maxLength", Value::Number(n)) => {
                        let whole = n.as_f64().filter(|f| f.fract() == 0.0 && *f >= 0.0).map(|f| f as u64);
                        out.insert(key, whole.map(Value::from).unwrap_or(v));
                    }
                    _ => {
                        out.insert(key, plain(v));
                    }
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(plain).collect()),
        other => other,
    }
}

/// The classifier's answer.
#[derive(JsonSchema)]
#[allow(dead_code)] // a schema; the answer is read leniently (classify::parse)
struct ClassifyAnswer {
    #[schemars(length(max = 200))]
    reason: String,
    kind: TaskKind,
    complexity: Complexity,
}

pub fn classify() -> Value {
    derived::<ClassifyAnswer>("classify")
}

pub fn plan() -> Value {
    derived::<Spec>("plan")
}

/// The review: each case worked out by hand.
#[derive(JsonSchema)]
#[allow(dead_code)] // a schema; the answer is read leniently (review.rs)
struct ReviewAnswer {
    // The review asks for at most 8 cases (review::MAX_CASES): the bounds keep a small model's
    // answer within its token limit under the grammar, however it rambles.
    #[schemars(length(max = 8))]
    cases: Vec<ReviewedCase>,
}

#[derive(JsonSchema)]
#[allow(dead_code)]
struct ReviewedCase {
    #[schemars(length(max = 60))]
    name: String,
    #[schemars(length(max = 400))]
    work: String,
    /// One line of Python over the case's arguments (expressions.rs computes it).
    #[schemars(length(max = 160))]
    expression: String,
    #[schemars(schema_with = "bounded_value")]
    result: Value,
}

/// Any JSON value of bounded size: under a grammar an unbounded `{}` lets a small model write one
/// string until the token limit, and a cut answer is no answer.
fn bounded_value(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let scalar = serde_json::json!({ "anyOf": [
        { "type": "number" }, { "type": "boolean" }, { "type": "null" }, { "type": "string", "maxLength": 120 }
    ] });
    let short_list = serde_json::json!({ "type": "array", "maxItems": 8, "items": scalar });
    let element = serde_json::json!({ "anyOf": [scalar, short_list] });
    schemars::json_schema!({ "anyOf": [
        scalar,
        { "type": "array", "maxItems": 12, "items": element },
        { "type": "object", "additionalProperties": element }
    ] })
}

pub fn review() -> Value {
    derived::<ReviewAnswer>("review")
}

/// More cases for weak tests (see extend.rs).
#[derive(JsonSchema)]
#[allow(dead_code)] // a schema; the answer is read leniently (extend.rs)
struct ExtendAnswer {
    #[schemars(length(min = 1, max = 5))]
    test_cases: Vec<ExtendedCase>,
}

#[derive(JsonSchema)]
#[allow(dead_code)]
struct ExtendedCase {
    name: String,
    #[schemars(length(max = 400))]
    work: Option<String>,
    input: Map<String, Value>,
    expected: Value,
    check: ExtendedCheck,
}

/// The checks a new case may use (no `nonempty` or `type`: those would not strengthen tests).
#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
enum ExtendedCheck {
    Equals,
    Approx,
    Contains,
}

pub fn extend() -> Value {
    derived::<ExtendAnswer>("extend")
}

/// Memory: is a stored solution's task the same as the new one, related, or different?
#[derive(JsonSchema)]
#[allow(dead_code)] // a schema; the verdict is read leniently (recall.rs)
struct JudgeAnswer {
    verdict: Verdict,
    #[schemars(length(max = 300))]
    reason: String,
}

/// The memory judge's verdict: one function solves both tasks, a related one is a template, or
/// the stored solution does not help.
#[derive(Debug, Clone, Copy, PartialEq, Eq, JsonSchema, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Verdict {
    Same,
    Related,
    Different,
}

impl Verdict {
    /// The verdict in a judge's answer (any case); anything else does not help.
    pub fn of(answer: &Value) -> Verdict {
        answer["verdict"]
            .as_str()
            .and_then(|v| serde_json::from_value(Value::String(v.trim().to_uppercase())).ok())
            .unwrap_or(Verdict::Different)
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Verdict::Same => "SAME",
            Verdict::Related => "RELATED",
            Verdict::Different => "DIFFERENT",
        })
    }
}

pub fn judge() -> Value {
    derived::<JudgeAnswer>("judge")
}

/// A faster version and what changed.
#[derive(JsonSchema)]
#[allow(dead_code)] // a schema; the answer is read leniently (optimize.rs)
struct OptimizeAnswer {
    #[schemars(length(max = 1800))]
    code: String,
    #[schemars(length(max = 300))]
    change: String,
}

pub fn optimize() -> Value {
    derived::<OptimizeAnswer>("optimize")
}

/// Whether a task is one function or a pipeline of steps (compose.rs).
pub fn decompose() -> Value {
    derived::<super::compose::Decomposition>("decompose")
}

/// The evaluator's verdict on a version (evaluate.rs).
#[derive(JsonSchema)]
#[allow(dead_code)] // a schema; the answer is read leniently (evaluate.rs)
struct EvaluateAnswer {
    scores: Scores,
    #[schemars(range(min = 0, max = 1))]
    score_overall: f64,
    #[schemars(length(max = 200))]
    verdict: String,
    #[schemars(length(max = 400))]
    notes: Option<String>,
}

#[derive(JsonSchema)]
#[allow(dead_code)]
struct Scores {
    #[schemars(range(min = 0, max = 1))]
    correctness: f64,
    #[schemars(range(min = 0, max = 1))]
    robustness: f64,
    #[schemars(range(min = 0, max = 1))]
    latency: f64,
    #[schemars(range(min = 0, max = 1))]
    memory: f64,
}

pub fn evaluate() -> Value {
    derived::<EvaluateAnswer>("evaluate")
}

/// Parses a model's JSON answer defensively: code fences, text around the object, and trailing
/// commas are tolerated.
pub fn parse_json_answer(text: &str) -> Option<Value> {
    let trimmed = text.trim();
    if let Ok(v) = serde_json::from_str::<Value>(trimmed) {
        return Some(v);
    }
    let unfenced = strip_fences(trimmed);
    if let Ok(v) = serde_json::from_str::<Value>(unfenced) {
        return Some(v);
    }
    let start = unfenced.find('{')?;
    let end = unfenced.rfind('}')?;
    if end <= start {
        return None;
    }
    let slice = &unfenced[start..=end];
    serde_json::from_str(slice).ok().or_else(|| serde_json::from_str(&without_trailing_commas(slice)).ok())
}

/// Removes commas that only whitespace separates from a closing `}` or `]`, outside strings (a
/// string may hold ",}" itself).
fn without_trailing_commas(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for (i, &c) in chars.iter().enumerate() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        if c == '"' {
            in_string = true;
        } else if c == ',' && chars[i + 1..].iter().find(|n| !n.is_whitespace()).is_some_and(|n| *n == '}' || *n == ']')
        {
            continue;
        }
        out.push(c);
    }
    out
}

/// Every ``` fenced block in `text`, as (info string, body). A block cut off at the end of the
/// text (an answer that ran out of tokens) runs to the end.
pub fn fenced_blocks(text: &str) -> Vec<(&str, &str)> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("```") {
        let after = &rest[start + 3..];
        // The info string (`python`, `json`, nothing) ends at the first newline.
        let Some(newline) = after.find('\n') else { break };
        let info = after[..newline].trim();
        let body = &after[newline + 1..];
        match body.find("```") {
            Some(end) => {
                blocks.push((info, &body[..end]));
                rest = &body[end + 3..];
            }
            None => {
                blocks.push((info, body));
                break;
            }
        }
    }
    blocks
}

/// The inside of the first ``` fence, or the text itself.
pub fn strip_fences(text: &str) -> &str {
    fenced_blocks(text).first().map(|(_, body)| *body).unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The schemas as they were written by hand before they were derived from the types: what
    /// the models are asked must not change with the derivation (values, and property order,
    /// which a grammar follows).
    mod previous {
        use serde_json::{Value, json};

        pub fn previous_classify() -> Value {
            json!({
                "title": "classify",
                "type": "object",
                "properties": {
                    "reason": { "type": "string", "maxLength": 200 },
                    "kind": { "type": "string", "enum": ["arithmetic", "simple_content", "complex_content", "algorithm"] },
                    "complexity": { "type": "string", "enum": ["simple", "moderate", "complex"] }
                },
                "required": ["reason", "kind", "complexity"]
            })
        }

        pub fn previous_plan() -> Value {
            json!({
                "title": "plan",
                "type": "object",
                "properties": {
                    "problem": { "type": "string", "maxLength": 400 },
                    "requirements": { "type": "array", "items": { "type": "string", "maxLength": 200 }, "maxItems": 6 },
                    "limits": { "type": "string", "maxLength": 200 },
                    "plan": { "type": "array", "items": { "type": "string", "maxLength": 200 }, "maxItems": 8 },
                    "function": {
                        "type": "object",
                        "properties": {
                            "name": { "type": "string" },
                            "parameters": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "properties": {
                                        "name": { "type": "string" },
                                        "type": { "type": "string" },
                                        "description": { "type": "string" }
                                    },
                                    "required": ["name", "type"]
                                }
                            },
                            "returns": { "type": "string" }
                        },
                        "required": ["name", "parameters", "returns"]
                    },
                    "task_input": { "type": "object" },
                    "example_output": {},
                    "test_cases": {
                        "type": "array",
                        "minItems": 3,
                        "maxItems": 8,
                        "items": {
                            "type": "object",
                            "properties": {
                                "name": { "type": "string" },
                                "input": { "type": "object" },
                                "expected": {},
                                "check": { "type": "string", "enum": ["equals", "approx", "contains", "nonempty", "type"] }
                            },
                            "required": ["name", "input", "expected", "check"]
                        }
                    },
                    "benchmark_input": { "type": "object" },
                    "tools": { "type": "array", "items": { "type": "string" } },
                    // Added after the derivation, on purpose: the properties checked on
                    // generated inputs (properties.rs).
                    "properties": { "type": "array", "items": { "type": "string", "enum": [
                        "sorted", "same_elements", "subset", "no_duplicates", "same_length", "non_negative"
                    ] }, "maxItems": 3 }
                },
                "required": ["problem", "requirements", "plan", "function", "task_input", "test_cases", "tools"]
            })
        }

        pub fn previous_review() -> Value {
            json!({
                "title": "review",
                "type": "object",
                "properties": {
                    "cases": {
                        "type": "array",
                        "maxItems": 8,
                        "items": {
                            "type": "object",
                            "properties": {
                                "name": { "type": "string", "maxLength": 60 },
                                "work": { "type": "string", "maxLength": 400 },
                                "expression": { "type": "string", "maxLength": 160 },
                                "result": { "anyOf": [
                                    { "anyOf": [
                                        { "type": "number" }, { "type": "boolean" }, { "type": "null" },
                                        { "type": "string", "maxLength": 120 }
                                    ] },
                                    { "type": "array", "maxItems": 12, "items": { "anyOf": [
                                        { "anyOf": [
                                            { "type": "number" }, { "type": "boolean" }, { "type": "null" },
                                            { "type": "string", "maxLength": 120 }
                                        ] },
                                        { "type": "array", "maxItems": 8, "items": { "anyOf": [
                                            { "type": "number" }, { "type": "boolean" }, { "type": "null" },
                                            { "type": "string", "maxLength": 120 }
                                        ] } }
                                    ] } },
                                    { "type": "object", "additionalProperties": { "anyOf": [
                                        { "anyOf": [
                                            { "type": "number" }, { "type": "boolean" }, { "type": "null" },
                                            { "type": "string", "maxLength": 120 }
                                        ] },
                                        { "type": "array", "maxItems": 8, "items": { "anyOf": [
                                            { "type": "number" }, { "type": "boolean" }, { "type": "null" },
                                            { "type": "string", "maxLength": 120 }
                                        ] } }
                                    ] } }
                                ] }
                            },
                            "required": ["name", "work", "expression", "result"]
                        }
                    }
                },
                "required": ["cases"]
            })
        }

        pub fn previous_extend() -> Value {
            json!({
                "title": "extend",
                "type": "object",
                "properties": {
                    "test_cases": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": 5,
                        "items": {
                            "type": "object",
                            "properties": {
                                "name": { "type": "string" },
                                "work": { "type": "string", "maxLength": 400 },
                                "input": { "type": "object" },
                                "expected": {},
                                "check": { "type": "string", "enum": ["equals", "approx", "contains"] }
                            },
                            "required": ["name", "input", "expected", "check"]
                        }
                    }
                },
                "required": ["test_cases"]
            })
        }

        pub fn previous_judge() -> Value {
            json!({
                "title": "judge",
                "type": "object",
                "properties": {
                    "verdict": { "type": "string", "enum": ["SAME", "RELATED", "DIFFERENT"] },
                    "reason": { "type": "string", "maxLength": 300 }
                },
                "required": ["verdict", "reason"]
            })
        }

        pub fn previous_optimize() -> Value {
            json!({
                "title": "optimize",
                "type": "object",
                "properties": {
                    "code": { "type": "string", "maxLength": 1800 },
                    "change": { "type": "string", "maxLength": 300 }
                },
                "required": ["code", "change"]
            })
        }

        pub fn previous_evaluate() -> Value {
            let unit = json!({ "type": "number", "minimum": 0, "maximum": 1 });
            json!({
                "title": "evaluate",
                "type": "object",
                "properties": {
                    "scores": {
                        "type": "object",
                        "properties": { "correctness": unit, "robustness": unit, "latency": unit, "memory": unit },
                        "required": ["correctness", "robustness", "latency", "memory"]
                    },
                    "score_overall": unit,
                    "verdict": { "type": "string", "maxLength": 200 },
                    "notes": { "type": "string", "maxLength": 400 }
                },
                "required": ["scores", "score_overall", "verdict"]
            })
        }
    }

    fn property_orders(value: &Value, path: String, out: &mut Vec<(String, Vec<String>)>) {
        if let Value::Object(fields) = value {
            for (key, v) in fields {
                if key == "properties"
                    && let Value::Object(props) = v
                {
                    out.push((path.clone(), props.keys().cloned().collect()));
                }
                property_orders(v, format!("{path}/{key}"), out);
            }
        }
    }

    #[test]
    fn derived_schemas_are_the_schemas_the_models_were_asked_with() {
        for (derived, written) in [
            (classify(), previous::previous_classify()),
            (plan(), previous::previous_plan()),
            (review(), previous::previous_review()),
            (extend(), previous::previous_extend()),
            (judge(), previous::previous_judge()),
            (optimize(), previous::previous_optimize()),
            (evaluate(), previous::previous_evaluate()),
        ] {
            assert_eq!(derived, written, "{}", serde_json::to_string_pretty(&derived).unwrap());
            let (mut a, mut b) = (Vec::new(), Vec::new());
            property_orders(&derived, String::new(), &mut a);
            property_orders(&written, String::new(), &mut b);
            assert_eq!(a, b, "property order of {}", written["title"]);
        }
    }

    #[test]
    fn parses_fenced_and_wrapped_json() {
        assert_eq!(parse_json_answer("```json\n{\"a\": 1}\n```").unwrap()["a"], 1);
        assert_eq!(parse_json_answer("Sure! {\"a\": 2,} hope it helps").unwrap()["a"], 2);
        assert!(parse_json_answer("no json here").is_none());
    }
}

#[cfg(test)]
mod repair_tests {
    use super::*;

    #[test]
    fn trailing_commas_go_but_strings_keep_theirs() {
        let v = parse_json_answer("```json\n{\"code\": \"x = {1,}\", \"list\": [1, 2,\n],}\n```").unwrap();
        assert_eq!(v["code"], "x = {1,}");
        assert_eq!(v["list"], serde_json::json!([1, 2]));
    }
}
