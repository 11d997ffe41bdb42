//! The JSON schema of each stage's answer. The `title` names the stage: backends pass it as the
//! structured-output name, and the scripted test server routes on it.

use serde_json::{Value, json};

pub fn classify() -> Value {
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

pub fn plan() -> Value {
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
            "tools": { "type": "array", "items": { "type": "string" } }
        },
        "required": ["problem", "requirements", "plan", "function", "task_input", "test_cases", "tools"]
    })
}

pub fn review() -> Value {
    json!({
        "title": "review",
        "type": "object",
        "properties": {
            "cases": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "name": { "type": "string" },
                        "work": { "type": "string", "maxLength": 600 },
                        "result": {}
                    },
                    "required": ["name", "work", "result"]
                }
            }
        },
        "required": ["cases"]
    })
}

/// More cases for weak tests (see extend.rs).
pub fn extend() -> Value {
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

/// Memory: is a stored solution's task the same as the new one, related, or different?
pub fn judge() -> Value {
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

pub fn optimize() -> Value {
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
