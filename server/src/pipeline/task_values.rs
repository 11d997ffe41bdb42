//! task_values: the values a task names ("compute 15 percent of 200", "reverse 'hello'") are the
//! function's arguments, so the node works for other values too. Small models hard-code them
//! (`compute_15_percent(x)`, `fib10()`): the spec then passes its own cases and is wrong on
//! every other input. This reads the task text's values and says which the spec left out.

use super::spec::{Parameter, Spec, TaskKind, is_identifier};
use serde_json::Value;

/// What the task text names.
#[derive(Debug, Default, PartialEq)]
pub struct TaskValues {
    /// Numbers (not inside quotes, a date, or a parenthesised aside).
    pub numbers: Vec<f64>,
    /// Of those, the ones outside any list or dict literal: each is an argument of its own.
    pub standalone: Vec<f64>,
    /// Whether the task names any value at all: a number, a quoted string, a list, a date.
    pub any: bool,
    /// Where each standalone number stands in the task (char index), and the word after it.
    standalone_at: Vec<(usize, Option<String>)>,
}

pub fn read(task: &str) -> TaskValues {
    let chars: Vec<char> = task.chars().collect();
    let mut out = TaskValues::default();
    let mut depth = 0usize; // inside ( )
    let mut nesting = 0usize; // inside [ ] or { }
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let before = if i == 0 { ' ' } else { chars[i - 1] };
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            '[' | '{' => {
                out.any = true;
                nesting += 1;
            }
            ']' | '}' => nesting = nesting.saturating_sub(1),
            '\'' | '"' if !before.is_alphanumeric() => {
                // A quoted value: skip to its closing quote (an apostrophe inside a word is not one).
                if let Some(end) = (i + 1..chars.len())
                    .find(|&j| chars[j] == c && chars.get(j + 1).is_none_or(|n| !n.is_alphanumeric()))
                {
                    out.any = true;
                    i = end + 1;
                    continue;
                }
            }
            _ if c.is_ascii_digit() && !before.is_alphanumeric() && before != '_' && before != '.' => {
                let start = i;
                let mut end = i;
                while end < chars.len() && (chars[end].is_ascii_digit() || chars[end] == '.') {
                    end += 1;
                }
                let mut text: String = chars[start..end].iter().collect();
                while text.ends_with('.') {
                    text.pop();
                }
                let next = chars.get(end).copied().unwrap_or(' ');
                let date = next == '-' && chars.get(end + 1).is_some_and(|d| d.is_ascii_digit());
                let after: String = chars[end..].iter().take(2).collect::<String>().to_lowercase();
                let ordinal = ["st", "nd", "rd", "th"].contains(&after.as_str());
                let word_like = next.is_alphabetic() && !ordinal;
                out.any = true;
                if date {
                    // 2024-01-15: one value, a string; skip it whole.
                    while end < chars.len() && (chars[end].is_ascii_digit() || chars[end] == '-') {
                        end += 1;
                    }
                } else if depth == 0
                    && !word_like
                    && let Ok(n) = text.parse::<f64>()
                {
                    let negative = before == '-' && (i < 2 || !chars[i - 2].is_alphanumeric());
                    let n = if negative { -n } else { n };
                    out.numbers.push(n);
                    if nesting == 0 {
                        out.standalone.push(n);
                        let rest: String = chars[end..].iter().collect();
                        let word = rest.split_whitespace().next().map(|w| w.to_string());
                        out.standalone_at.push((start, word));
                    }
                }
                i = end;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// What the spec leaves out of the task's values, as problems for the overseer. A function that
/// takes nothing when the task names values always is one; every number the task names on its
/// own must be in `task_input` ("chunks of 2", "by 2 positions", "to 2 decimal places"); for
/// arithmetic, every number the task names at all, each as a value of its own. A number the task
/// means as a constant ("the last 4 characters") is still a parameter, with the task's value for
/// its default (`default_to_task_values`), so callers that never pass it get the constant.
pub fn problems(spec: &Spec, task: &str, kind: TaskKind) -> Vec<String> {
    if kind.is_content() || !spec.tools.is_empty() {
        return Vec::new();
    }
    let values = read(task);
    if !values.any {
        return Vec::new();
    }
    if spec.function.parameters.is_empty() {
        return vec![format!(
            "{} takes no parameters, but the task names values: take them as parameters (task_input holds the task's own), so the function works for other values too",
            spec.function.name
        )];
    }
    let arithmetic = is_arithmetic(task, kind);
    let anywhere: Vec<f64> = spec.task_input.values().flat_map(numbers_in).collect();
    let own: Vec<f64> = spec.task_input.values().filter_map(Value::as_f64).collect();
    let has = |list: &[f64], n: f64| list.iter().any(|g| (*g - n).abs() < 1e-9);
    let mut out = Vec::new();
    let mut seen: Vec<f64> = Vec::new();
    for &n in &values.numbers {
        if has(&seen, n) {
            continue;
        }
        seen.push(n);
        let standalone = has(&values.standalone, n);
        if !arithmetic && !standalone {
            continue;
        }
        if !has(&anywhere, n) {
            out.push(format!(
                "the task's number {} is not in task_input: every number the task names is a parameter of {}, so it works for other numbers too",
                number_text(n),
                spec.function.name
            ));
        } else if !arithmetic && !has(&own, n) {
            // "chunks of 2" over [1, 2, 3]: the 2 inside the list is not the chunk size.
            out.push(format!(
                "the task's number {} is no parameter of {}: each number the task names on its own is a parameter of its own (task_input holds the task's value), so it works for other values too",
                number_text(n),
                spec.function.name
            ));
        } else if arithmetic && standalone && !has(&own, n) {
            // "compute 40 minus 15" as `subtract(numbers=[40, 15])`: callers pass two numbers.
            out.push(format!(
                "the task's number {} is inside a list in task_input: each number the task names on its own is a parameter of its own of {}",
                number_text(n),
                spec.function.name
            ));
        }
    }
    out
}

/// Words after a number that do not name what it is ("40 minus 15", "6 by 7").
const NOT_A_NAME: &[&str] = &[
    "and", "by", "to", "of", "from", "minus", "plus", "times", "divided", "over", "into", "with", "the", "than", "is",
    "in", "for", "or", "as", "at", "on",
];

/// The last resort for a spec that hard-coded an arithmetic task's numbers twice: each number the
/// task names on its own and task_input lacks becomes a parameter, placed in the order the task
/// names its values, and set to that number in task_input and in every case. The cases were
/// computed with that number, so each still holds; the signature is now the one callers use.
/// Returns what was added, one line each. `arithmetic`: a number inside a list of task_input is
/// one of the task's operands there; otherwise only a value of its own counts ("chunks of 2"
/// over `[1, 2, 3]`).
pub fn parameterise(spec: &mut Spec, task: &str, arithmetic: bool) -> Vec<String> {
    let values = read(task);
    let anywhere: Vec<f64> = if arithmetic {
        spec.task_input.values().flat_map(numbers_in).collect()
    } else {
        spec.task_input.values().filter_map(Value::as_f64).collect()
    };
    let mut added: Vec<(usize, Parameter, f64)> = Vec::new();
    // A parameter task_input lacks takes the first number missing from it, before any is added.
    let mut unfilled: Vec<String> = spec
        .function
        .parameters
        .iter()
        .filter(|p| !spec.task_input.contains_key(&p.name))
        .map(|p| p.name.clone())
        .collect();
    unfilled.reverse();
    let mut filled: Vec<(String, f64)> = Vec::new();
    for (&n, (at, word)) in values.standalone.iter().zip(&values.standalone_at) {
        let same = |g: &f64| (g - n).abs() < 1e-9;
        if anywhere.iter().any(same) || added.iter().any(|a| same(&a.2)) || filled.iter().any(|f| same(&f.1)) {
            continue;
        }
        if let Some(name) = unfilled.pop() {
            filled.push((name, n));
            continue;
        }
        let taken = |name: &str| {
            name == spec.function.name
                || spec.function.parameters.iter().any(|p| p.name == name)
                || added.iter().any(|a| a.1.name == name)
        };
        let named = word
            .as_deref()
            .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase())
            .filter(|w| w.len() >= 3 && !NOT_A_NAME.contains(&w.as_str()) && is_identifier(w) && !taken(w));
        let Some(name) = named.or_else(|| ["b", "c", "d", "y", "z"].iter().find(|n| !taken(n)).map(|n| n.to_string()))
        else {
            return Vec::new();
        };
        let type_ = if n.fract() == 0.0 { "int" } else { "float" };
        added.push((*at, Parameter { name, type_: type_.into(), description: String::new(), default: None }, n));
    }
    let mut changes = Vec::new();
    for (name, n) in &filled {
        let value = number_value(*n);
        spec.task_input.insert(name.clone(), value.clone());
        for case in spec.test_cases.iter_mut().filter(|c| !c.input.contains_key(name)) {
            case.input.insert(name.clone(), value.clone());
        }
        changes.push(format!(
            "the task's number {} is the parameter `{name}` task_input lacked, set to {} where it was missing",
            number_text(*n),
            number_text(*n)
        ));
    }
    if added.is_empty() {
        return changes;
    }
    // Where each existing parameter's task value stands in the task (unknown: after the rest).
    let position = |p: &Parameter| -> usize {
        let texts: Vec<String> = match spec.task_input.get(&p.name) {
            Some(Value::Number(n)) => n.as_f64().map(number_text).into_iter().collect(),
            Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
            // A list or dict as the task writes it: `[1, 2, 3]`, `{'a': 1}` (or `"a"`, or tight).
            Some(v @ (Value::Array(_) | Value::Object(_))) => {
                let literal = super::tests::py_literal(v);
                vec![literal.replace('"', "'"), literal, serde_json::to_string(v).unwrap_or_default()]
            }
            _ => Vec::new(),
        };
        texts
            .iter()
            .filter_map(|t| task.find(t.as_str()))
            .min()
            .map(|byte| task[..byte].chars().count())
            .unwrap_or(usize::MAX)
    };
    let mut ordered: Vec<(usize, Parameter)> =
        spec.function.parameters.iter().map(|p| (position(p), p.clone())).collect();
    for (at, parameter, _) in &added {
        let index = ordered.iter().position(|(pos, _)| pos > at).unwrap_or(ordered.len());
        ordered.insert(index, (*at, parameter.clone()));
    }
    spec.function.parameters = ordered.into_iter().map(|(_, p)| p).collect();
    let fill = |name: &str| added.iter().find(|a| a.1.name == name).map(|a| number_value(a.2));
    inputs_in_parameter_order(spec, fill);
    let signature = spec.signature();
    changes.extend(added.iter().map(|(_, p, n)| {
            format!(
                "the task's number {} is now the parameter `{}` of {signature}, set to {} in task_input and every case (the value they were computed with)",
                number_text(*n),
                p.name,
                number_text(*n)
            )
        }));
    changes
}

/// Arithmetic: the classifier says so, or an arithmetic word stands beside the numbers (the
/// classifier, a small model, may call "compute 40 minus 15" an algorithm).
pub fn is_arithmetic(task: &str, kind: TaskKind) -> bool {
    kind == TaskKind::Arithmetic || super::classify::by_keywords(task).kind == TaskKind::Arithmetic
}

/// The numbers the task names on its own that the spec left out of task_input: what the
/// overseer took for constants. Read before the spec is sent back, for `default_to_task_values`.
pub fn left_out(spec: &Spec, task: &str) -> Vec<f64> {
    let anywhere: Vec<f64> = spec.task_input.values().filter_map(Value::as_f64).collect();
    let mut out: Vec<f64> = Vec::new();
    for n in read(task).standalone {
        if !anywhere.iter().chain(&out).any(|g| (g - n).abs() < 1e-9) {
            out.push(n);
        }
    }
    out
}

/// A parameter that holds one of `constants` (numbers the overseer first took for constants of
/// the task) gets the task's value as its default, so the task's own call keeps working when a
/// caller passes only the data ("mask all but the last 4 characters" called with the card number
/// alone). Such parameters move after the others first (the cases give every argument by name,
/// and no code exists yet); a spec of constants alone keeps its first one without a default.
/// Returns the parameters given a default.
pub fn default_to_task_values(spec: &mut Spec, constants: &[f64]) -> Vec<String> {
    let holding: Vec<String> = spec
        .function
        .parameters
        .iter()
        .filter(|p| {
            p.default.is_none()
                && spec
                    .task_input
                    .get(&p.name)
                    .and_then(Value::as_f64)
                    .is_some_and(|v| constants.iter().any(|c| (c - v).abs() < 1e-9))
        })
        .map(|p| p.name.clone())
        .collect();
    // A stable partition: the data in its order, then the constants in theirs.
    let (mut order, constant): (Vec<Parameter>, Vec<Parameter>) =
        spec.function.parameters.iter().cloned().partition(|p| !holding.contains(&p.name));
    order.extend(constant);
    spec.function.parameters = order;
    inputs_in_parameter_order(spec, |_| None);
    let mut changed = Vec::new();
    // Defaults only at the end: a parameter with one is followed by none without.
    for p in spec.function.parameters.iter_mut().skip(1).rev() {
        if p.default.is_some() {
            continue;
        }
        if !holding.contains(&p.name) {
            break;
        }
        p.default = spec.task_input.get(&p.name).cloned();
        changed.push(p.name.clone());
    }
    changed.reverse();
    changed
}

/// Rewrites task_input and every case's input in the order of the spec's parameters, a missing
/// one taken from `fill` where it has a value. Keys that are no parameter stay, after the rest,
/// for Spec::problems to report.
fn inputs_in_parameter_order(spec: &mut Spec, fill: impl Fn(&str) -> Option<Value>) {
    let order: Vec<String> = spec.function.parameters.iter().map(|p| p.name.clone()).collect();
    let ordered = |input: &serde_json::Map<String, Value>| {
        let mut out: serde_json::Map<String, Value> = order
            .iter()
            .filter_map(|name| input.get(name).cloned().or_else(|| fill(name)).map(|v| (name.clone(), v)))
            .collect();
        for (k, v) in input {
            out.entry(k.clone()).or_insert_with(|| v.clone());
        }
        out
    };
    spec.task_input = ordered(&spec.task_input);
    for case in &mut spec.test_cases {
        case.input = ordered(&case.input);
    }
}

fn number_value(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 1e15 { Value::from(n as i64) } else { Value::from(n) }
}

pub(super) fn numbers_in(value: &Value) -> Vec<f64> {
    match value {
        Value::Number(n) => n.as_f64().into_iter().collect(),
        Value::Array(items) => items.iter().flat_map(numbers_in).collect(),
        Value::Object(map) => map.values().flat_map(numbers_in).collect(),
        _ => Vec::new(),
    }
}

pub(super) fn number_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 { format!("{}", n as i64) } else { format!("{n}") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn standalone_numbers_are_read_and_quoted_dated_or_aside_ones_are_not() {
        assert_eq!(read("compute 15 percent of 200").numbers, vec![15.0, 200.0]);
        assert_eq!(read("what is 2 to the power of 10").numbers, vec![2.0, 10.0]);
        assert_eq!(read("round 1.23456 to 2 decimal places.").numbers, vec![1.23456, 2.0]);
        assert_eq!(read("the 10th Fibonacci number (fib(1) = 1, fib(2) = 1)").numbers, vec![10.0]);
        assert_eq!(read("add 30 days to the date 2024-01-15").numbers, vec![30.0]);
        assert_eq!(read("extract the number from 'order #4521 shipped'").numbers, Vec::<f64>::new());
        assert_eq!(read("sum the numbers in [3, 5, 7, 9]").numbers, vec![3.0, 5.0, 7.0, 9.0]);
        assert!(read("sum the numbers in [3, 5, 7, 9]").standalone.is_empty());
        assert_eq!(read("split [1, 2, 3] into chunks of 2").standalone, vec![2.0]);
        assert_eq!(read("is it an IPv4 address or a utf8 string").numbers, Vec::<f64>::new());
        assert_eq!(read("add -5 and 3").numbers, vec![-5.0, 3.0]);
        assert!(read("reverse the string 'hello world'").any);
        assert!(read("what day of the week was 2024-07-04").any);
        assert!(!read("write a haiku about the sea").any);
        assert!(!read("don't shout").any, "an apostrophe inside a word opens no quote");
    }

    fn spec(parameters: Value, task_input: Value) -> Spec {
        serde_json::from_value(json!({
            "problem": "p",
            "function": {"name": "f", "parameters": parameters, "returns": "int"},
            "task_input": task_input,
            "test_cases": [],
            "tools": []
        }))
        .expect("a spec")
    }

    #[test]
    fn a_hard_coded_number_of_an_arithmetic_task_is_a_problem() {
        let s = spec(json!([{"name": "x", "type": "int"}]), json!({"x": 200}));
        let found = problems(&s, "compute 15 percent of 200", TaskKind::Arithmetic);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("number 15"), "{found:?}");
        let s = spec(json!([{"name": "p", "type": "int"}, {"name": "x", "type": "int"}]), json!({"p": 15, "x": 200}));
        assert!(problems(&s, "compute 15 percent of 200", TaskKind::Arithmetic).is_empty());
        // A number the task names on its own is an argument of its own, not a list element.
        let s = spec(json!([{"name": "numbers", "type": "list"}]), json!({"numbers": [40, 15]}));
        assert_eq!(problems(&s, "compute 40 minus 15", TaskKind::Arithmetic).len(), 2);
        let s = spec(json!([{"name": "numbers", "type": "list"}]), json!({"numbers": [3, 5, 7, 9]}));
        assert!(problems(&s, "sum the numbers in the list [3, 5, 7, 9]", TaskKind::Arithmetic).is_empty());
        // An arithmetic word makes it arithmetic whatever the classifier said.
        let s = spec(json!([{"name": "x", "type": "int"}]), json!({"x": 40}));
        assert_eq!(problems(&s, "compute 40 minus 15", TaskKind::Algorithm).len(), 1);
        // Other kinds are held to the numbers they name on their own ("chunks of 2"), not to
        // those inside a list.
        let s = spec(json!([{"name": "card", "type": "str"}]), json!({"card": "1234"}));
        assert_eq!(problems(&s, "mask all but the last 4 characters of '1234'", TaskKind::Algorithm).len(), 1);
        let s = spec(json!([{"name": "xs", "type": "list"}]), json!({"xs": [1, 2, 3]}));
        assert!(problems(&s, "reverse the list [1, 2, 3]", TaskKind::Algorithm).is_empty());
        assert_eq!(problems(&s, "split the list [1, 2, 3] into chunks of 2", TaskKind::Algorithm).len(), 1);
    }

    #[test]
    fn a_number_taken_for_a_constant_becomes_a_last_parameter_with_the_tasks_value() {
        // "chunks of 2" hard-coded twice: `size` goes after the list the task names first, and
        // defaults to 2, so a caller passing only the list gets the task's chunks.
        let task = "split the list [1, 2, 3, 4, 5] into chunks of 2";
        let mut s: Spec = serde_json::from_value(json!({
            "problem": "p",
            "function": {"name": "chunks", "parameters": [{"name": "xs", "type": "list"}], "returns": "list"},
            "task_input": {"xs": [1, 2, 3, 4, 5]},
            "test_cases": [{"name": "task", "input": {"xs": [1, 2, 3, 4, 5]}, "expected": [[1, 2], [3, 4], [5]]}],
            "tools": []
        }))
        .unwrap();
        let constants = left_out(&s, task);
        assert_eq!(constants, vec![2.0]);
        parameterise(&mut s, task, false);
        assert_eq!(default_to_task_values(&mut s, &constants), ["b"]);
        assert_eq!(s.signature(), "chunks(xs: list, b: int = 2) -> list");
        // A constant named before the data moves after it ("the last 4 characters of the card"),
        // the task's input and cases with it; a spec of constants alone keeps its first one
        // without a default.
        let mut s = spec(json!([{"name": "n", "type": "int"}, {"name": "x", "type": "int"}]), json!({"n": 2, "x": 9}));
        assert_eq!(default_to_task_values(&mut s, &[2.0]), ["n"]);
        assert_eq!(s.signature(), "f(x: int, n: int = 2) -> int");
        assert_eq!(s.task_input.keys().collect::<Vec<_>>(), ["x", "n"]);
        let mut s = spec(json!([{"name": "n", "type": "int"}, {"name": "k", "type": "int"}]), json!({"n": 2, "k": 4}));
        assert_eq!(default_to_task_values(&mut s, &[2.0, 4.0]), ["k"]);
        assert_eq!(s.signature(), "f(n: int, k: int = 4) -> int");
    }

    #[test]
    fn a_number_hard_coded_twice_becomes_a_parameter_the_cases_keep() {
        // subtract(a) with a - 15 inside: the cases were computed with 15.
        let mut s: Spec = serde_json::from_value(json!({
            "problem": "p",
            "function": {"name": "subtract", "parameters": [{"name": "a", "type": "int"}], "returns": "int"},
            "task_input": {"a": 40},
            "test_cases": [
                {"name": "task", "input": {"a": 40}, "expected": 25, "check": "equals"},
                {"name": "zero", "input": {"a": 0}, "expected": -15, "check": "equals"}
            ],
            "tools": []
        }))
        .unwrap();
        let added = parameterise(&mut s, "compute 40 minus 15", true);
        assert_eq!(added.len(), 1, "{added:?}");
        assert_eq!(s.signature(), "subtract(a: int, b: int) -> int");
        assert_eq!(s.task_input, json!({"a": 40, "b": 15}).as_object().cloned().unwrap());
        assert_eq!(s.test_cases[1].input, json!({"a": 0, "b": 15}).as_object().cloned().unwrap());
        assert!(problems(&s, "compute 40 minus 15", TaskKind::Arithmetic).is_empty());

        // A number named before the one kept goes first, named by the word after it.
        let mut s = spec(json!([{"name": "number", "type": "float"}]), json!({"number": 200}));
        parameterise(&mut s, "compute 15 percent of 200", true);
        assert_eq!(s.signature(), "f(percent: int, number: float) -> int");
        assert!(parameterise(&mut s, "compute 15 percent of 200", true).is_empty(), "nothing left to add");

        // A parameter task_input lacks is filled before any is added.
        let mut s = spec(json!([{"name": "a", "type": "int"}, {"name": "b", "type": "int"}]), json!({"a": 6}));
        parameterise(&mut s, "multiply 6 by 7", true);
        assert_eq!(s.signature(), "f(a: int, b: int) -> int");
        assert_eq!(s.task_input, json!({"a": 6, "b": 7}).as_object().cloned().unwrap());
    }

    #[test]
    fn a_function_of_nothing_for_a_task_with_values_is_a_problem() {
        let s = spec(json!([]), json!({}));
        assert_eq!(problems(&s, "the 10th Fibonacci number", TaskKind::Algorithm).len(), 1);
        assert!(problems(&s, "the 10th Fibonacci number", TaskKind::SimpleContent).is_empty());
        assert!(problems(&s, "return a random greeting", TaskKind::Algorithm).is_empty());
    }
}
