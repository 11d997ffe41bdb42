//! code_values: code that computes with the task's own numbers instead of its parameters
//! (`lcm(a, b)` whose body calls `gcd(4, 6)` for "the least common multiple of 4 and 6") passes
//! every case that repeats those numbers and is wrong everywhere else. Such code is sent back
//! with what it hard-coded, and never counts in a consensus: it is not an implementation of the
//! function, only of the task's one call. So is code whose body never reads one of its
//! parameters (`power(base, exp)` returning `2 ** exp` for "2 to the power of 10"): its result
//! cannot depend on that argument, whatever cases it passes.
//!
//! Only a task input with two or more numbers, every one of them written in the code, counts:
//! one number alone is often a real constant ("fizzbuzz up to 15" tests `i % 15`), and small
//! numbers and round ones (0, 1, 2, 10, 100, ...) are everywhere in code.

use super::spec::Spec;
use super::task_values::{number_text, numbers_in};

/// The task input's numbers that the code writes as literals, when it writes all of them (and
/// there are two or more); empty otherwise.
pub fn hard_coded(spec: &Spec, code: &str) -> Vec<String> {
    let mut wanted: Vec<f64> = spec.task_input.values().flat_map(numbers_in).collect();
    wanted.retain(|n| distinctive(*n));
    wanted.sort_by(f64::total_cmp);
    wanted.dedup();
    if wanted.len() < 2 {
        return Vec::new();
    }
    let written = literals(code);
    if wanted.iter().all(|n| written.iter().any(|w| (w - n).abs() < 1e-9)) {
        wanted.iter().map(|n| number_text(*n)).collect()
    } else {
        Vec::new()
    }
}

/// The feedback for code that hard-codes `values`.
pub fn problem(spec: &Spec, values: &[String]) -> String {
    let names: Vec<&str> = spec.function.parameters.iter().map(|p| p.name.as_str()).collect();
    format!(
        "the code computes with the task's own values {} instead of its parameters {}: it must work for any arguments, not only the task's",
        values.join(", "),
        names.join(", ")
    )
}

/// The parameters (by position, as the code names them) of the spec's function that its body
/// never reads; empty when the function is not found, or takes `*args`/`**kwargs` (what a
/// position means is then the code's business).
pub fn ignored_parameters(spec: &Spec, code: &str) -> Vec<String> {
    let wanted = spec.function.parameters.len();
    let Some((names, body)) = parameters_and_body(code, &spec.function.name) else { return Vec::new() };
    if names.len() < wanted {
        return Vec::new();
    }
    names.into_iter().take(wanted).filter(|n| !reads(&body, n)).collect()
}

/// The feedback for code that ignores `names`.
pub fn ignored_problem(names: &[String]) -> String {
    let s = if names.len() == 1 { "" } else { "s" };
    format!(
        "the function never uses its parameter{s} {}: its result must depend on every argument, so compute with {}",
        names.join(", "),
        if names.len() == 1 { "it" } else { "them" }
    )
}

/// The parameter names of `def name(...)` and the text of its body (the def line's rest and the
/// lines indented under it).
fn parameters_and_body(code: &str, name: &str) -> Option<(Vec<String>, String)> {
    let lines: Vec<&str> = code.lines().collect();
    let head = format!("def {name}(");
    let start = lines.iter().position(|l| l.trim_start().starts_with(&head))?;
    let indent = indentation(lines[start]);
    let from_def = lines[start..].join("\n");
    let open = from_def.find('(')?;
    let chars: Vec<char> = from_def[open..].chars().collect();
    let (mut depth, mut quote, mut close) = (0i32, None::<char>, None);
    let mut part = String::new();
    let mut parts = Vec::new();
    for (i, &c) in chars.iter().enumerate() {
        match quote {
            Some(q) => {
                if c == q {
                    quote = None;
                }
                continue;
            }
            None if c == '\'' || c == '"' => quote = Some(c),
            None if "([{".contains(c) => depth += 1,
            None if ")]}".contains(c) => depth -= 1,
            None => {}
        }
        if depth == 0 {
            close = Some(i);
            break;
        }
        if depth == 1 && c == ',' {
            parts.push(std::mem::take(&mut part));
        } else if i > 0 {
            part.push(c);
        }
    }
    parts.push(part);
    let close = open + chars[..close?].iter().map(|c| c.len_utf8()).sum::<usize>();
    let mut names = Vec::new();
    for p in parts.iter().map(|p| p.trim()).filter(|p| !p.is_empty() && *p != "/") {
        if p.starts_with('*') {
            return None;
        }
        let n = p.split([':', '=']).next().unwrap_or("").trim();
        if n != "self" && n != "cls" {
            names.push(n.to_string());
        }
    }
    // The body: what follows the closing parenthesis on its line, then the lines indented deeper
    // than the def (blank lines included).
    let after = &from_def[close + 1..];
    let mut rest = after.lines();
    let mut body = rest.next().unwrap_or("").to_string();
    for line in rest {
        if !line.trim().is_empty() && indentation(line) <= indent {
            break;
        }
        body.push('\n');
        body.push_str(line);
    }
    Some((names, body))
}

fn indentation(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// Whether `name` occurs in `body` as a whole identifier (an f-string's `{name}` counts).
fn reads(body: &str, name: &str) -> bool {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    body.match_indices(name).any(|(i, _)| {
        let before = body[..i].chars().next_back();
        let after = body[i + name.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

/// A number that code rarely writes unless it was copied from the task.
fn distinctive(n: f64) -> bool {
    let a = n.abs();
    a >= 3.0 && ![10.0, 100.0, 1000.0].contains(&a)
}

/// The numeric literals of Python code, outside strings, comments and `def` lines (a default
/// argument equal to the task's value is harmless: the cases pass every argument).
fn literals(code: &str) -> Vec<f64> {
    let mut out = Vec::new();
    for line in without_strings(code).lines() {
        let line = line.split('#').next().unwrap_or("");
        if line.trim_start().starts_with("def ") {
            continue;
        }
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let before = if i == 0 { ' ' } else { chars[i - 1] };
            if chars[i].is_ascii_digit() && !(before.is_alphanumeric() || before == '_' || before == '.') {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.' || chars[i] == '_') {
                    i += 1;
                }
                let text: String = chars[start..i].iter().filter(|c| **c != '_').collect();
                out.extend(text.trim_end_matches('.').parse::<f64>().ok());
            } else {
                i += 1;
            }
        }
    }
    out
}

/// The code with every string literal's text blanked (quotes and newlines kept), so a number
/// inside a string or a docstring is not read as a literal and a `#` inside one is no comment.
fn without_strings(code: &str) -> String {
    let chars: Vec<char> = code.chars().collect();
    let mut out = String::with_capacity(code.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '#' {
            // A comment: kept to its line end (the caller cuts it), its quotes are not strings.
            while i < chars.len() && chars[i] != '\n' {
                out.push(chars[i]);
                i += 1;
            }
            continue;
        }
        if c == '\'' || c == '"' {
            let triple = chars.get(i + 1) == Some(&c) && chars.get(i + 2) == Some(&c);
            let quote_len = if triple { 3 } else { 1 };
            out.extend(std::iter::repeat_n(c, quote_len));
            i += quote_len;
            while i < chars.len() {
                if chars[i] == '\\' {
                    i += 2;
                    continue;
                }
                let closes =
                    chars[i] == c && (!triple || (chars.get(i + 1) == Some(&c) && chars.get(i + 2) == Some(&c)));
                if closes {
                    out.extend(std::iter::repeat_n(c, quote_len));
                    i += quote_len;
                    break;
                }
                if chars[i] == '\n' {
                    out.push('\n');
                    if !triple {
                        i += 1;
                        break;
                    }
                }
                i += 1;
            }
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn spec(task_input: Value) -> Spec {
        serde_json::from_value(json!({
            "problem": "p",
            "function": {"name": "lcm", "parameters": [{"name": "a", "type": "int"}, {"name": "b", "type": "int"}], "returns": "int"},
            "task_input": task_input,
            "test_cases": [],
        }))
        .expect("a spec")
    }

    #[test]
    fn code_that_computes_with_the_task_numbers_is_caught() {
        let s = spec(json!({"a": 4, "b": 6}));
        let copied = "def lcm(a: int, b: int) -> int:\n    g = gcd(4, 6)  # the task's\n    return abs(a * b) // g\n";
        assert_eq!(hard_coded(&s, copied), ["4", "6"]);
        assert!(problem(&s, &hard_coded(&s, copied)).contains("parameters a, b"));
    }

    #[test]
    fn parameters_defaults_strings_comments_and_lone_constants_are_not_hard_coding() {
        let s = spec(json!({"a": 4, "b": 6}));
        let right = "def lcm(a=4, b=6):\n    \"\"\"lcm(4, 6) == 12\"\"\"\n    # e.g. 4 and 6\n    print('4 6')\n    return a * b // gcd(a, b)\n";
        assert!(hard_coded(&s, right).is_empty());
        // One of the two numbers only: a constant the code may need.
        assert!(hard_coded(&s, "def lcm(a, b):\n    return a * b // 4\n").is_empty());
        // One number alone is never enough ("fizzbuzz up to 15" writes `% 15`).
        let fizz = spec(json!({"n": 15}));
        assert!(hard_coded(&fizz, "def f(n):\n    return [i for i in range(n) if i % 15 == 0]\n").is_empty());
        // Small and round numbers are everywhere in code.
        let small = spec(json!({"a": 2, "b": 10}));
        assert!(hard_coded(&small, "def f(a, b):\n    return 2 * 10\n").is_empty());
    }

    #[test]
    fn a_parameter_the_body_never_reads_is_caught_by_its_position() {
        let s = spec(json!({"a": 2, "b": 10}));
        assert_eq!(ignored_parameters(&s, "def lcm(base, exp):\n    return 2 ** exp\n"), ["base"]);
        // Renamed parameters are judged by position; a default with a comma is one parameter.
        let wide = "def lcm(\n    x: int,\n    y: str = \", \",\n) -> int:\n    return x\n";
        assert_eq!(ignored_parameters(&s, wide), ["y"]);
        assert_eq!(ignored_parameters(&s, "def lcm(a, b): return a\n"), ["b"]);
        assert!(ignored_problem(&["base".into()]).contains("never uses its parameter base"));
    }

    #[test]
    fn parameters_read_anywhere_in_the_body_and_unreadable_defs_are_not_caught() {
        let s = spec(json!({"a": 2, "b": 10}));
        let fstring = "def lcm(a, b):\n    def inner():\n        return f'{b}'\n\n    return a + int(inner())\nb = 3\n";
        assert!(ignored_parameters(&s, fstring).is_empty());
        // A later top-level `b` is not the body's.
        assert_eq!(ignored_parameters(&s, "def lcm(a, b):\n    return a\nprint(b)\n"), ["b"]);
        assert!(ignored_parameters(&s, "def lcm(*args):\n    return args[0]\n").is_empty());
        assert!(ignored_parameters(&s, "def other(a, b):\n    return 1\n").is_empty());
        // `ab` is not `a`.
        assert_eq!(ignored_parameters(&s, "def lcm(a, b):\n    ab = 1\n    return ab * b\n"), ["a"]);
    }

    #[test]
    fn numbers_inside_lists_count_and_floats_compare_by_value() {
        let s = spec(json!({"xs": [3.5, 7]}));
        assert_eq!(hard_coded(&s, "def f(xs):\n    return 3.5 + 7.0\n"), ["3.5", "7"]);
    }
}
