//! align: small models name a function's parameters one way in the signature and another in
//! the cases (`reverse(s)` with cases `{"string": ...}`, `multiply(a)` with cases `{"a": 6, "b":
//! 7}`). When most of the spec's inputs agree on one set of names, the signature and the odd
//! inputs out are rewritten to it, instead of sending a spec back whose every value is right.
//! Only names move: no value is invented, and an input of another length is left for
//! `Spec::problems` to report.

use super::spec::{Check, Parameter, Spec};
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// Rewrites the spec's parameter names to the shape most of its inputs share; returns what was
/// changed, one line each (empty when nothing was).
pub fn align_inputs(spec: &mut Spec) -> Vec<String> {
    let signature: Vec<String> = spec.function.parameters.iter().map(|p| p.name.clone()).collect();
    let mut inputs: Vec<Vec<String>> = spec.test_cases.iter().map(|c| c.input.keys().cloned().collect()).collect();
    if !spec.task_input.is_empty() {
        inputs.push(spec.task_input.keys().cloned().collect());
    }
    let Some(target) = majority_shape(&signature, &inputs) else {
        return Vec::new();
    };
    // A case's own fields leaked into its input (`{"s": "()", "expected": true}`) are no
    // arguments: such a spec goes back to the overseer as it is.
    if !target.iter().all(|n| super::spec::is_identifier(n) && !CASE_FIELDS.contains(&n.as_str())) {
        return Vec::new();
    }
    let mut changed = Vec::new();
    if as_set(&target) != as_set(&signature) {
        let example = first_input_with(spec, &target);
        let old = spec.signature();
        spec.function.parameters = parameters_for(&target, &spec.function.parameters, example.as_ref());
        changed.push(format!(
            "the cases name the arguments {}; the signature {old} is now {}",
            target.join(", "),
            spec.signature()
        ));
    }
    let mut renamed = Vec::new();
    for case in &mut spec.test_cases {
        if rename_positionally(&mut case.input, &target) {
            renamed.push(case.name.clone());
        }
    }
    if rename_positionally(&mut spec.task_input, &target) {
        renamed.push("task_input".into());
    }
    // A task_input short of arguments is the case named `task` (the prompt's first case is the
    // task itself) when that case holds everything task_input does.
    if spec.task_input.len() < target.len()
        && let Some(task_case) = spec.test_cases.iter().find(|c| c.name == "task")
        && task_case.input.len() == target.len()
        && spec.task_input.iter().all(|(k, v)| task_case.input.get(k) == Some(v))
    {
        spec.task_input = task_case.input.clone();
        changed.push("task_input is the `task` case's input".into());
    }
    if !renamed.is_empty() {
        changed.push(format!("{} renamed positionally to {}", renamed.join(", "), target.join(", ")));
    }
    changed
}

/// On the overseer's last try, inputs that still do not fit the signature are fitted where no
/// value has to be guessed: case fields leaked into an input that gives every argument are
/// removed; a one-parameter function's input of one other key (`{"input": "hello"}`) takes the
/// parameter's name; a task_input that does not fit is the fitting `task` case's input; a case
/// that still does not fit is dropped while another one does. Returns what changed.
pub fn fit_to_signature(spec: &mut Spec) -> Vec<String> {
    let mut changed = Vec::new();
    if let Some(parameter) = one_parameter_for_nothing(spec) {
        let old = spec.signature();
        spec.function.parameters.push(parameter);
        changed.push(format!("every input gives one value: the signature {old} is now {}", spec.signature()));
    }
    let names: Vec<String> = spec.function.parameters.iter().map(|p| p.name.clone()).collect();
    let fits = |input: &Map<String, Value>| as_set(&input.keys().cloned().collect::<Vec<_>>()) == as_set(&names);
    let fit = |input: &mut Map<String, Value>| -> bool {
        if fits(input) {
            return false;
        }
        let extra: Vec<String> = input.keys().filter(|k| !names.contains(k)).cloned().collect();
        if names.iter().all(|n| input.contains_key(n)) && extra.iter().all(|k| CASE_FIELDS.contains(&k.as_str())) {
            extra.iter().for_each(|k| {
                input.remove(k);
            });
            return true;
        }
        if names.len() == 1 && input.len() == 1 {
            return rename_positionally(input, &names);
        }
        false
    };
    let mut fitted: Vec<String> = Vec::new();
    for case in &mut spec.test_cases {
        if fit(&mut case.input) {
            fitted.push(case.name.clone());
        }
    }
    if fit(&mut spec.task_input) {
        fitted.push("task_input".into());
    }
    if !fitted.is_empty() {
        changed.push(format!("{} fitted to the signature {}", fitted.join(", "), spec.signature()));
    }
    if !fits(&spec.task_input)
        && let Some(task_case) = spec.test_cases.iter().find(|c| c.name == "task" && fits(&c.input))
    {
        spec.task_input = task_case.input.clone();
        changed.push("task_input is the `task` case's input".into());
    }
    if spec.test_cases.iter().any(|c| fits(&c.input)) {
        let dropped: Vec<String> = spec.test_cases.iter().filter(|c| !fits(&c.input)).map(|c| c.name.clone()).collect();
        if !dropped.is_empty() {
            spec.test_cases.retain(|c| fits(&c.input));
            changed.push(format!(
                "case(s) {} dropped: their inputs are not the arguments of {}",
                dropped.join(", "),
                spec.signature()
            ));
        }
    }
    changed
}

/// A function of nothing whose every non-empty input gives one value under one key (a small
/// model's `upper()` over cases `{"input": "hello world"}`): its one parameter, named by the key
/// when that can be a parameter's name, else by the value's type. The value is the case's own.
fn one_parameter_for_nothing(spec: &Spec) -> Option<Parameter> {
    if !spec.function.parameters.is_empty() {
        return None;
    }
    let inputs: Vec<&Map<String, Value>> =
        spec.test_cases.iter().map(|c| &c.input).chain([&spec.task_input]).filter(|i| !i.is_empty()).collect();
    let (key, value) = inputs.first()?.iter().next()?;
    if !inputs.iter().all(|i| i.len() == 1 && i.contains_key(key)) {
        return None;
    }
    let type_ = match value {
        Value::String(_) => "str",
        Value::Number(n) if n.is_i64() || n.is_u64() => "int",
        Value::Number(_) => "float",
        Value::Bool(_) => "bool",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
        Value::Null => return None,
    };
    let usable = super::spec::is_identifier(key) && !CASE_FIELDS.contains(&key.as_str()) && key != "input";
    let name = if usable {
        key.clone()
    } else {
        match type_ {
            "str" => "text",
            "int" => "n",
            "float" => "x",
            "bool" => "flag",
            "list" => "items",
            _ => "mapping",
        }
        .to_string()
    };
    Some(Parameter { name, type_: type_.into(), description: String::new(), default: None })
}

/// JSON carries no dates: a parameter or result typed `date`/`datetime` is its ISO text, and the
/// signature says so (code written for a date object fails on every case: `'str' object has no
/// attribute 'month'`). Returns what was retyped.
pub fn dates_as_text(spec: &mut Spec) -> Vec<String> {
    let mut changed = Vec::new();
    for p in &mut spec.function.parameters {
        if let Some(text) = iso_text_type(&p.type_) {
            changed.push(format!("{}: {} -> str", p.name, p.type_));
            p.type_ = "str".into();
            if !p.description.contains("ISO") {
                p.description = format!("{text} as ISO 8601 text. {}", p.description).trim().to_string();
            }
        }
    }
    if iso_text_type(&spec.function.returns).is_some() {
        changed.push(format!("the result: {} -> str", spec.function.returns));
        spec.function.returns = "str".into();
    }
    if !changed.is_empty() && !spec.requirements.iter().any(|r| r.contains("ISO 8601")) {
        spec.requirements.push(
            "dates come in and go out as ISO 8601 text (YYYY-MM-DD); parse them with datetime.date.fromisoformat"
                .into(),
        );
    }
    changed
}

/// A computed result is checked exactly when the case says exactly what it is. Small models tag
/// a case `nonempty` beside its exact expected value (`[1, 3, 6, 10]`), and such a case passes
/// code that returns its input unchanged. For a task computed without tools, a `nonempty` case
/// with a concrete expected value (not `""` or null, the prompt's placeholders for free text)
/// becomes `equals`, or `approx` for a fractional number. Returns the cases changed.
pub fn exact_checks(spec: &mut Spec, computed: bool) -> Vec<String> {
    if !computed || !spec.tools.is_empty() {
        return Vec::new();
    }
    let mut changed = Vec::new();
    for case in spec.test_cases.iter_mut().filter(|c| !c.author && c.check == Check::Nonempty) {
        let exact = match &case.expected {
            Value::Null => false,
            Value::String(s) => !s.trim().is_empty(),
            _ => true,
        };
        if exact {
            let fractional = case.expected.as_f64().is_some_and(|f| f.fract() != 0.0);
            case.check = if fractional { Check::Approx } else { Check::Equals };
            changed.push(case.name.clone());
        }
    }
    changed
}

/// A type that is no Python annotation (`list of lists`, `a number`) becomes its leading type
/// name (`list`), or none at all: the generator copies the signature, and `-> list of lists:`
/// does not parse (seen on every rung of one evolve). Returns what was changed.
pub fn python_types(spec: &mut Spec) -> Vec<String> {
    let mut changed = Vec::new();
    let mut fix = |what: String, type_: &mut String| {
        if !type_.trim().is_empty() && !is_annotation(type_) {
            let plain = leading_type(type_);
            changed.push(format!("{what}: {type_} -> {}", if plain.is_empty() { "(none)" } else { plain }));
            *type_ = plain.to_string();
        }
    };
    for p in &mut spec.function.parameters {
        fix(p.name.clone(), &mut p.type_);
    }
    fix("the result".into(), &mut spec.function.returns);
    changed
}

/// `int`, `list[int]`, `dict[str, list[int]]`, `int | None`, `typing.Any`.
fn is_annotation(type_: &str) -> bool {
    let t = type_.trim().replace(", ", ",").replace(" | ", "|");
    let mut depth = 0i32;
    for c in t.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            c if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ',' | '|') => {}
            _ => return false,
        }
        if depth < 0 {
            return false;
        }
    }
    depth == 0 && t.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
}

fn leading_type(type_: &str) -> &'static str {
    const PLAIN: &[&str] = &["list", "dict", "str", "int", "float", "bool", "tuple", "set"];
    let first = type_.split(|c: char| !c.is_ascii_alphanumeric()).find(|w| !w.is_empty()).unwrap_or("");
    let first = first.to_ascii_lowercase();
    PLAIN.iter().find(|p| **p == first).copied().unwrap_or("")
}

fn iso_text_type(type_: &str) -> Option<&'static str> {
    match type_.trim().to_ascii_lowercase().as_str() {
        "date" | "datetime.date" => Some("a date"),
        "datetime" | "datetime.datetime" => Some("a date and time"),
        "time" | "datetime.time" => Some("a time of day"),
        _ => None,
    }
}

const CASE_FIELDS: &[&str] = &["name", "input", "expected", "check", "output", "result"];

fn as_set(names: &[String]) -> BTreeSet<&str> {
    names.iter().map(String::as_str).collect()
}

/// The set of names most inputs use (the signature counts once, each input once), in the order
/// the first input of that set writes them. Ties keep the signature's. None when no set of names
/// stands out (no inputs, or the signature already has the largest count alone).
fn majority_shape(signature: &[String], inputs: &[Vec<String>]) -> Option<Vec<String>> {
    let mut shapes: Vec<(BTreeSet<&str>, &[String], usize)> = vec![(as_set(signature), signature, 1)];
    for input in inputs.iter().filter(|i| !i.is_empty()) {
        match shapes.iter_mut().find(|(set, _, _)| *set == as_set(input)) {
            Some(shape) => shape.2 += 1,
            None => shapes.push((as_set(input), input, 1)),
        }
    }
    let best = shapes.iter().map(|s| s.2).max()?;
    // The signature's shape wins a tie, unless an equally common one gives every argument it
    // names and more: a forgotten parameter is a likelier slip than cases inventing one.
    let signature_set = as_set(signature);
    let tied: Vec<_> = shapes.iter().filter(|s| s.2 == best).collect();
    let wider = tied.iter().find(|s| s.0.len() > signature_set.len() && s.0.is_superset(&signature_set));
    let (_, order, _) = wider.or(tied.first())?;
    Some(order.to_vec())
}

fn first_input_with(spec: &Spec, names: &[String]) -> Option<Map<String, Value>> {
    let wanted = as_set(names);
    std::iter::once(&spec.task_input)
        .chain(spec.test_cases.iter().map(|c| &c.input))
        .find(|input| input.keys().map(String::as_str).collect::<BTreeSet<_>>() == wanted)
        .cloned()
}

/// The new parameter list: a name the signature had keeps its type and description; a new name
/// takes the type of the signature's parameter in its place when both have as many, else the
/// type its value shows.
fn parameters_for(names: &[String], old: &[Parameter], example: Option<&Map<String, Value>>) -> Vec<Parameter> {
    let same_count = names.len() == old.len();
    names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            if let Some(p) = old.iter().find(|p| &p.name == name) {
                return p.clone();
            }
            let in_place = old.get(i).filter(|p| same_count && !names.contains(&p.name));
            let type_ = match in_place {
                Some(p) if !p.type_.is_empty() => p.type_.clone(),
                _ => example.and_then(|e| e.get(name)).map(type_of).unwrap_or_default(),
            };
            Parameter {
                name: name.clone(),
                type_,
                description: in_place.map(|p| p.description.clone()).unwrap_or_default(),
                default: None,
            }
        })
        .collect()
}

fn type_of(value: &Value) -> String {
    match value {
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
        Value::Null => "",
    }
    .to_string()
}

/// An input with as many keys as `target` but other names takes `target`'s names, in order.
/// Returns whether it changed.
fn rename_positionally(input: &mut Map<String, Value>, target: &[String]) -> bool {
    if input.is_empty()
        || input.len() != target.len()
        || as_set(&input.keys().cloned().collect::<Vec<_>>()) == as_set(target)
    {
        return false;
    }
    let values: Vec<Value> = std::mem::take(input).into_iter().map(|(_, v)| v).collect();
    *input = target.iter().cloned().zip(values).collect();
    true
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use serde_json::json;

    /// A spec of `signature` whose cases have `inputs`, each expecting 0 (shared with edge_inputs).
    pub(in crate::pipeline) fn spec(signature: Value, task_input: Value, cases: Vec<Value>) -> Spec {
        serde_json::from_value(json!({
            "problem": "p",
            "function": signature,
            "task_input": task_input,
            "test_cases": cases.into_iter().enumerate().map(|(i, input)| json!({
                "name": format!("c{i}"), "input": input, "expected": 0, "check": "equals"
            })).collect::<Vec<_>>(),
            "tools": []
        }))
        .expect("a spec")
    }

    #[test]
    fn a_signature_missing_a_parameter_every_case_gives_takes_it() {
        let mut s = spec(
            json!({"name": "multiply", "parameters": [{"name": "a", "type": "int"}], "returns": "int"}),
            json!({"a": 6, "b": 7}),
            vec![json!({"a": 6, "b": 7}), json!({"a": 0, "b": 3}), json!({"a": -2, "b": 4})],
        );
        let changed = align_inputs(&mut s);
        assert_eq!(s.signature(), "multiply(a: int, b: int) -> int");
        assert_eq!(changed.len(), 1, "{changed:?}");
        assert!(s.problems(&[]).is_empty(), "{:?}", s.problems(&[]));
    }

    #[test]
    fn a_parameter_the_cases_name_otherwise_is_renamed_and_keeps_its_type() {
        let mut s = spec(
            json!({"name": "reverse_text", "parameters": [{"name": "s", "type": "str"}], "returns": "str"}),
            json!({"string": "hello world"}),
            vec![json!({"string": "hello world"}), json!({"string": ""}), json!({"string": "ab"})],
        );
        align_inputs(&mut s);
        assert_eq!(s.signature(), "reverse_text(string: str) -> str");
        assert!(s.problems(&[]).is_empty());
    }

    #[test]
    fn a_tie_goes_to_cases_that_give_every_argument_and_more() {
        // The signature, task_input and the task case say `a`; three other cases give a and b.
        let mut s = spec(
            json!({"name": "multiply", "parameters": [{"name": "a", "type": "int"}], "returns": "int"}),
            json!({"a": 6}),
            vec![json!({"a": 6, "b": 7}), json!({"a": 1, "b": 2}), json!({"a": 0, "b": 3}), json!({"a": 6})],
        );
        s.test_cases[0].name = "task".into();
        align_inputs(&mut s);
        assert_eq!(s.signature(), "multiply(a: int, b: int) -> int");
        assert_eq!(s.task_input, json!({"a": 6, "b": 7}).as_object().cloned().unwrap());
        let problems = s.problems(&[]);
        assert_eq!(problems.len(), 1, "only the case short of b is left: {problems:?}");
    }

    #[test]
    fn an_odd_case_out_is_renamed_to_the_signature_the_rest_use() {
        let mut s = spec(
            json!({"name": "add", "parameters": [{"name": "a", "type": "int"}, {"name": "b", "type": "int"}], "returns": "int"}),
            json!({"a": 10, "b": 20}),
            vec![json!({"a": 10, "b": 20}), json!({"x": 1, "y": 2}), json!({"a": -5, "b": 5})],
        );
        align_inputs(&mut s);
        assert_eq!(s.signature(), "add(a: int, b: int) -> int");
        assert_eq!(s.test_cases[1].input, json!({"a": 1, "b": 2}).as_object().cloned().unwrap());
        assert!(s.problems(&[]).is_empty());
    }

    #[test]
    fn inputs_that_agree_on_nothing_are_left_for_the_overseer() {
        let mut s = spec(
            json!({"name": "f", "parameters": [{"name": "a", "type": "int"}], "returns": "int"}),
            json!({"a": 1}),
            vec![json!({"b": 1, "c": 2}), json!({"d": 1, "e": 2, "f": 3}), json!({"a": 2})],
        );
        let before = s.signature();
        align_inputs(&mut s);
        assert_eq!(s.signature(), before);
        assert!(!s.problems(&[]).is_empty(), "the mismatched cases are still reported");
    }

    #[test]
    fn a_date_parameter_is_its_iso_text() {
        let mut s = spec(
            json!({"name": "weekday", "parameters": [{"name": "day", "type": "date"}], "returns": "datetime.date"}),
            json!({"day": "2024-07-04"}),
            vec![json!({"day": "2024-07-04"})],
        );
        assert_eq!(dates_as_text(&mut s).len(), 2);
        assert_eq!(s.signature(), "weekday(day: str) -> str");
        assert!(s.function.parameters[0].description.contains("ISO 8601"));
        assert!(dates_as_text(&mut s).is_empty(), "once is enough");
    }

    #[test]
    fn a_case_field_leaked_into_the_inputs_is_not_taken_for_an_argument() {
        let mut s = spec(
            json!({"name": "balanced", "parameters": [{"name": "s", "type": "str"}], "returns": "bool"}),
            json!({"s": "()", "expected": true}),
            vec![json!({"s": "()", "expected": true}), json!({"s": "(", "expected": false})],
        );
        assert!(align_inputs(&mut s).is_empty());
        assert_eq!(s.signature(), "balanced(s: str) -> bool");
    }

    #[test]
    fn a_consistent_spec_is_not_touched() {
        let mut s = spec(
            json!({"name": "f", "parameters": [{"name": "xs", "type": "list"}], "returns": "int"}),
            json!({"xs": [1]}),
            vec![json!({"xs": []}), json!({"xs": [2, 3]}), json!({"xs": [1]})],
        );
        assert!(align_inputs(&mut s).is_empty());
    }

    #[test]
    fn a_nonempty_case_with_an_exact_value_is_checked_exactly_when_computed() {
        let mut s = spec(
            json!({"name": "running_totals", "parameters": [{"name": "xs", "type": "list"}], "returns": "list"}),
            json!({"xs": [1, 2]}),
            vec![json!({"xs": [1, 2]}), json!({"xs": [5]}), json!({"xs": [2.5]}), json!({"xs": []})],
        );
        let expected = [json!([1, 3]), json!([5]), json!(2.5), json!("")];
        for (case, value) in s.test_cases.iter_mut().zip(expected) {
            case.expected = value;
            case.check = Check::Nonempty;
        }
        let mut written = s.clone();
        assert!(exact_checks(&mut written, false).is_empty(), "a writing task keeps its checks");
        assert_eq!(exact_checks(&mut s, true), ["c0", "c1", "c2"]);
        let checks: Vec<Check> = s.test_cases.iter().map(|c| c.check).collect();
        assert_eq!(checks, [Check::Equals, Check::Equals, Check::Approx, Check::Nonempty]);
    }

    #[test]
    fn a_type_that_is_no_annotation_becomes_its_leading_type_name() {
        let mut s = spec(
            json!({"name": "chunks", "parameters": [{"name": "xs", "type": "list[int]"}, {"name": "m", "type": "dict[str, int | None]"}], "returns": "list of lists"}),
            json!({"xs": [1], "m": {}}),
            vec![json!({"xs": [1], "m": {}})],
        );
        assert_eq!(python_types(&mut s), ["the result: list of lists -> list"]);
        assert_eq!(s.signature(), "chunks(xs: list[int], m: dict[str, int | None]) -> list");
        s.function.returns = "a number".into();
        python_types(&mut s);
        assert_eq!(s.function.returns, "");
    }

    #[test]
    fn on_the_last_try_inputs_are_fitted_to_the_signature_or_dropped() {
        let mut s = spec(
            json!({"name": "upper", "parameters": [{"name": "text", "type": "str"}], "returns": "str"}),
            json!({"input": "hello world"}),
            vec![
                json!({"input": "hello world"}),
                json!({"text": "ab", "expected": "AB"}),
                json!({"text": "x", "other": 2}),
                json!({"a": 1, "b": 2}),
            ],
        );
        s.test_cases[0].name = "task".into();
        let changed = fit_to_signature(&mut s);
        assert_eq!(changed.len(), 2, "{changed:?}");
        assert_eq!(s.task_input, json!({"text": "hello world"}).as_object().cloned().unwrap());
        let inputs: Vec<Value> = s.test_cases.iter().map(|c| Value::Object(c.input.clone())).collect();
        assert_eq!(inputs, [json!({"text": "hello world"}), json!({"text": "ab"})]);
        let problems = s.problems(&[]);
        assert!(problems.iter().all(|p| p.contains("at least 3")), "{problems:?}");
    }

    #[test]
    fn a_function_of_nothing_over_inputs_of_one_value_takes_it_as_its_parameter() {
        let mut s = spec(
            json!({"name": "upper", "parameters": [], "returns": "str"}),
            json!({"input": "hello world"}),
            vec![json!({"input": "hello world"}), json!({}), json!({"input": "abc"})],
        );
        let changed = fit_to_signature(&mut s);
        assert!(changed[0].contains("is now upper(text: str)"), "{changed:?}");
        let inputs: Vec<Value> = s.test_cases.iter().map(|c| Value::Object(c.input.clone())).collect();
        assert_eq!(inputs, [json!({"text": "hello world"}), json!({"text": "abc"})]);
        assert_eq!(Value::Object(s.task_input.clone()), json!({"text": "hello world"}));
        // Inputs that disagree on their key leave the function as it is.
        let mut s = spec(
            json!({"name": "f", "parameters": [], "returns": "int"}),
            json!({"a": 1}),
            vec![json!({"a": 1}), json!({"b": 2})],
        );
        fit_to_signature(&mut s);
        assert!(s.function.parameters.is_empty());
    }

    #[test]
    fn inputs_of_which_none_fits_are_left_as_they_are() {
        let mut s = spec(
            json!({"name": "f", "parameters": [{"name": "a", "type": "int"}, {"name": "b", "type": "int"}], "returns": "int"}),
            json!({"a": 1}),
            vec![json!({"a": 1}), json!({"x": 1, "y": 2, "z": 3})],
        );
        assert!(fit_to_signature(&mut s).is_empty());
        assert_eq!(s.test_cases.len(), 2);
    }
}
