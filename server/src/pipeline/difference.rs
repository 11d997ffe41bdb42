//! difference: where a wrong result differs from the expected one, said in a few words. A small
//! model shown `expected "1:02:05", got "01:02:05"` often writes the same padding again; told
//! "the result has an extra "0" at the start" it looks where the difference is. The hint is
//! computed from the two values alone, so it says nothing the failure did not already show.

use super::tests::py_literal;
use serde_json::Value;

/// The difference between `actual` and `expected`, when one can be said briefly.
pub fn hint(expected: &Value, actual: &Value) -> Option<String> {
    match (expected, actual) {
        (Value::String(e), Value::String(a)) => text_hint(e, a),
        (Value::Array(e), Value::Array(a)) => list_hint(e, a),
        (Value::Object(e), Value::Object(a)) => {
            let missing: Vec<&String> = e.keys().filter(|k| !a.contains_key(*k)).collect();
            let extra: Vec<&String> = a.keys().filter(|k| !e.contains_key(*k)).collect();
            let keys = |ks: &[&String]| ks.iter().map(|k| py_literal(&Value::String((*k).clone()))).collect::<Vec<_>>();
            let mut parts = Vec::new();
            if !missing.is_empty() {
                parts.push(format!("the result lacks the key(s) {}", keys(&missing).join(", ")));
            }
            if !extra.is_empty() {
                parts.push(format!("the result has the key(s) {} that are not expected", keys(&extra).join(", ")));
            }
            if parts.is_empty() {
                let (key, want) = e.iter().find(|(k, v)| a.get(*k) != Some(*v))?;
                parts.push(format!(
                    "at key {}: {} where {} is expected",
                    py_literal(&Value::String(key.clone())),
                    py_literal(&a[key]),
                    py_literal(want)
                ));
            }
            Some(parts.join("; "))
        }
        _ => None,
    }
}

fn text_hint(expected: &str, actual: &str) -> Option<String> {
    let e: Vec<char> = expected.chars().collect();
    let a: Vec<char> = actual.chars().collect();
    if e.len() > 400 || a.len() > 400 || e == a {
        return None;
    }
    if expected.to_lowercase() == actual.to_lowercase() && e.len() == a.len() {
        let i = e.iter().zip(&a).position(|(x, y)| x != y)?;
        return Some(format!(
            "it differs only in letter case: {} where {} is expected, at character {}",
            quoted(&a[i..=i]),
            quoted(&e[i..=i]),
            i + 1
        ));
    }
    let prefix = e.iter().zip(&a).take_while(|(x, y)| x == y).count();
    let room = e.len().min(a.len()) - prefix;
    let suffix = e.iter().rev().zip(a.iter().rev()).take(room).take_while(|(x, y)| x == y).count();
    let expected_middle = &e[prefix..e.len() - suffix];
    let actual_middle = &a[prefix..a.len() - suffix];
    let place = if prefix == 0 && suffix > 0 {
        "at the start".to_string()
    } else if suffix == 0 && prefix > 0 {
        "at the end".to_string()
    } else if prefix > 0 {
        format!("after {}", quoted(&e[prefix.saturating_sub(6)..prefix]))
    } else {
        return None;
    };
    match (expected_middle.is_empty(), actual_middle.is_empty()) {
        (true, false) if actual_middle.len() <= 40 => {
            Some(format!("the result has an extra {} {place}", quoted(actual_middle)))
        }
        (false, true) if expected_middle.len() <= 40 => {
            Some(format!("the result lacks {} {place}", quoted(expected_middle)))
        }
        (false, false) if expected_middle.len() <= 20 && actual_middle.len() <= 20 => {
            Some(format!("{} where {} is expected, {place}", quoted(actual_middle), quoted(expected_middle)))
        }
        _ => None,
    }
}

fn list_hint(expected: &[Value], actual: &[Value]) -> Option<String> {
    let first = expected.iter().zip(actual).position(|(x, y)| x != y);
    let lengths = (expected.len() != actual.len())
        .then(|| format!("the result has {} item(s), {} expected", actual.len(), expected.len()));
    let at = first
        .map(|i| format!("at index {i}: {} where {} is expected", py_literal(&actual[i]), py_literal(&expected[i])));
    match (lengths, at) {
        (Some(l), Some(a)) => Some(format!("{l}; first {a}")),
        (Some(l), None) => Some(l),
        (None, a) => a,
    }
}

fn quoted(chars: &[char]) -> String {
    py_literal(&Value::String(chars.iter().collect()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_differences_are_located() {
        let h = |e: &str, a: &str| hint(&json!(e), &json!(a));
        assert_eq!(h("1:02:05", "01:02:05").as_deref(), Some("the result has an extra \"0\" at the start"));
        assert_eq!(
            h("helloWorld", "HelloWorld").as_deref(),
            Some("it differs only in letter case: \"H\" where \"h\" is expected, at character 1")
        );
        assert_eq!(h("abc", "ab").as_deref(), Some("the result lacks \"c\" at the end"));
        assert_eq!(h("a-b-c", "a_b-c").as_deref(), Some("\"_\" where \"-\" is expected, after \"a\""));
        assert_eq!(h("x", "x"), None);
        // Nothing in common: nothing briefer to say than the two values.
        assert_eq!(h("abc", "xyz"), None);
    }

    #[test]
    fn list_and_dict_differences_are_located() {
        assert_eq!(
            hint(&json!([1, 3, 6]), &json!([1, 2])).as_deref(),
            Some("the result has 2 item(s), 3 expected; first at index 1: 2 where 3 is expected")
        );
        assert_eq!(hint(&json!([1, 2, 3]), &json!([1, 2])).as_deref(), Some("the result has 2 item(s), 3 expected"));
        assert_eq!(
            hint(&json!({"a": 1, "b": 3, "c": 4}), &json!({"a": 1, "b": 4})).as_deref(),
            Some("the result lacks the key(s) \"c\"")
        );
        assert_eq!(hint(&json!({"a": 1}), &json!({"a": 2})).as_deref(), Some("at key \"a\": 2 where 1 is expected"));
        assert_eq!(hint(&json!(1), &json!(2)), None);
    }
}
