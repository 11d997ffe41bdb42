//! Properties the task states of every result ("sorted", "no duplicates", ...), checked on
//! generated inputs as well as the overseer's cases. The overseer names them in the spec (from a
//! fixed list); a property one of its own cases contradicts, or one the signature cannot have,
//! is dropped. Each kept property becomes a case per generated input whose check is the property
//! itself, so it needs no expected value that a small model could get wrong: it runs where the
//! other cases run (the sandbox), is judged where they are judged (the engine), fails code the
//! way they do, and is disputed by the consensus the way a "nonempty" case is.
//!
//! The inputs are generated here, deterministically from the parameter types and the task's
//! words: edge cases first (empty, zero, negative, one element, duplicates, unicode), then larger
//! ordinary values. A property constrains returned values only: code that raises on an input the
//! problem does not allow (the maximum of an empty list) passes it.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::spec::{Check, Spec, TestCase};

/// What every result of the function has, whatever the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Property {
    /// The result is a list in ascending order.
    Sorted,
    /// The result holds the first list (or text) argument's elements, each as often, in any order.
    SameElements,
    /// Every element of the result is an element of the first list (or text) argument.
    Subset,
    /// No element of the result appears twice.
    NoDuplicates,
    /// The result is as long as the first list (or text) argument.
    SameLength,
    /// The result is a number at least 0.
    NonNegative,
}

impl Property {
    pub const ALL: [Property; 6] = [
        Property::Sorted,
        Property::SameElements,
        Property::Subset,
        Property::NoDuplicates,
        Property::SameLength,
        Property::NonNegative,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Property::Sorted => "sorted",
            Property::SameElements => "same_elements",
            Property::Subset => "subset",
            Property::NoDuplicates => "no_duplicates",
            Property::SameLength => "same_length",
            Property::NonNegative => "non_negative",
        }
    }

    /// Whether the property needs the first argument to compare with (carried as the case's
    /// `expected`).
    fn relative(self) -> bool {
        matches!(self, Property::SameElements | Property::Subset | Property::SameLength)
    }

    /// Whether `result` has the property; `first` is the call's first argument (for the relative
    /// ones). Ok, or why not in words a model can act on.
    pub fn holds(self, result: &Value, first: &Value) -> Result<(), String> {
        let items = elements(result);
        let ok = match self {
            Property::Sorted => items.as_ref().is_some_and(|xs| xs.windows(2).all(|w| !greater(&w[0], &w[1]))),
            Property::NoDuplicates => items.as_ref().is_some_and(|xs| {
                let keys: Vec<String> = xs.iter().map(Value::to_string).collect();
                let mut unique = keys.clone();
                unique.sort();
                unique.dedup();
                unique.len() == keys.len()
            }),
            Property::NonNegative => result.as_f64().is_some_and(|x| x >= 0.0),
            Property::SameLength => match (items.as_ref(), elements(first)) {
                (Some(xs), Some(ys)) => xs.len() == ys.len(),
                _ => false,
            },
            Property::SameElements => match (items.as_ref(), elements(first)) {
                (Some(xs), Some(ys)) => counted(xs) == counted(&ys),
                _ => false,
            },
            Property::Subset => match (items.as_ref(), elements(first)) {
                (Some(xs), Some(ys)) => {
                    let pool: Vec<String> = ys.iter().map(Value::to_string).collect();
                    xs.iter().all(|x| pool.contains(&x.to_string()))
                }
                _ => false,
            },
        };
        if ok {
            Ok(())
        } else {
            Err(format!("the result must be {}; got {}", self.describe(), super::tests::py_literal(result)))
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Property::Sorted => "a list in ascending order",
            Property::SameElements => "the first argument's elements, each as often, in any order",
            Property::Subset => "made only of elements of the first argument",
            Property::NoDuplicates => "a list (or text) without repeated elements",
            Property::SameLength => "as long as the first argument",
            Property::NonNegative => "a number at least 0",
        }
    }
}

/// A list's items, or a text's characters, as values.
fn elements(value: &Value) -> Option<Vec<Value>> {
    match value {
        Value::Array(items) => Some(items.clone()),
        Value::String(text) => Some(text.chars().map(|c| Value::String(c.to_string())).collect()),
        _ => None,
    }
}

fn counted(items: &[Value]) -> Vec<String> {
    let mut keys: Vec<String> = items.iter().map(Value::to_string).collect();
    keys.sort();
    keys
}

/// `a > b` for numbers and for texts; other pairs are not ordered (never "out of order").
fn greater(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64().unwrap_or(0.0) > y.as_f64().unwrap_or(0.0),
        (Value::String(x), Value::String(y)) => x > y,
        _ => false,
    }
}

/// Values of a parameter type to call the function with, edge cases first; None when the type
/// is not one this can generate (a dict, a date, a class).
fn values_of(type_: &str) -> Option<Vec<Value>> {
    let t = type_.trim().to_lowercase().replace(' ', "");
    let list_of = |inner: &str| -> Option<Vec<Value>> {
        let items = values_of(inner)?;
        let mut lists = vec![json!([]), json!([items[1].clone()])];
        // Duplicates, then a longer unsorted mix.
        lists.push(Value::Array(vec![items[2].clone(), items[1].clone(), items[2].clone()]));
        lists.push(Value::Array(items.iter().rev().cloned().collect()));
        Some(lists)
    };
    match t.as_str() {
        "int" => Some(vec![json!(0), json!(3), json!(-7), json!(12), json!(1), json!(250)]),
        "float" => Some(vec![json!(0.0), json!(2.5), json!(-1.25), json!(10.0), json!(0.1), json!(99.75)]),
        "str" => {
            Some(vec![json!(""), json!("a"), json!("hello world"), json!("Ünïcode ✓"), json!("b a"), json!("zz top")])
        }
        "bool" => Some(vec![json!(true), json!(false), json!(true), json!(false), json!(true), json!(false)]),
        "list" | "list[int]" | "list[any]" => list_of("int"),
        "list[float]" => list_of("float"),
        "list[str]" => list_of("str"),
        "list[int|float]" | "list[float|int]" => list_of("float"),
        _ => None,
    }
}

/// Up to `count` argument sets for `spec`'s function, one value of each parameter per set (None
/// when a parameter's type cannot be generated).
pub fn generated_inputs(spec: &Spec, count: usize) -> Option<Vec<serde_json::Map<String, Value>>> {
    let columns: Vec<(String, Vec<Value>)> = spec
        .function
        .parameters
        .iter()
        .map(|p| values_of(&p.type_).map(|v| (p.name.clone(), v)))
        .collect::<Option<_>>()?;
    if columns.is_empty() {
        return None;
    }
    let rows = columns.iter().map(|(_, v)| v.len()).min().unwrap_or(0).min(count);
    Some(
        (0..rows)
            .map(|i| {
                // Later parameters rotate, so that edges meet ordinary values.
                columns
                    .iter()
                    .enumerate()
                    .map(|(k, (name, values))| (name.clone(), values[(i + k) % values.len()].clone()))
                    .collect()
            })
            .collect(),
    )
}

/// Whether the signature can have the property at all.
fn fits(spec: &Spec, property: Property) -> bool {
    let returns = spec.function.returns.to_lowercase();
    let sequence = |t: &str| t.starts_with("list") || t == "str" || t.is_empty();
    let first_is_sequence = spec.function.parameters.first().is_some_and(|p| sequence(&p.type_.to_lowercase()));
    match property {
        Property::Sorted | Property::NoDuplicates => sequence(&returns),
        Property::NonNegative => matches!(returns.as_str(), "int" | "float" | ""),
        Property::SameElements | Property::Subset | Property::SameLength => sequence(&returns) && first_is_sequence,
    }
}

fn first_argument(spec: &Spec, input: &serde_json::Map<String, Value>) -> Value {
    spec.function.parameters.first().and_then(|p| input.get(&p.name)).cloned().unwrap_or(Value::Null)
}

/// What `apply` did: the properties kept and the cases added, and each dropped property with why.
#[derive(Debug, Default)]
pub struct Applied {
    pub kept: Vec<Property>,
    pub cases_added: usize,
    pub dropped: Vec<String>,
}

/// Keeps the spec's properties that its signature allows and its own cases do not contradict,
/// and adds a case per kept property and generated input (at most `inputs` inputs).
pub fn apply(spec: &mut Spec, inputs: usize) -> Applied {
    let mut applied = Applied::default();
    let mut wanted: Vec<Property> = Vec::new();
    for p in &spec.properties {
        if !wanted.contains(p) {
            wanted.push(*p);
        }
    }
    for property in wanted {
        if !fits(spec, property) {
            applied.dropped.push(format!("{} (the signature cannot have it)", property.as_str()));
            continue;
        }
        let contradicted = spec.test_cases.iter().filter(|c| c.check == Check::Equals).find(|c| {
            let first = first_argument(spec, &c.input);
            property.holds(&c.expected, &first).is_err()
        });
        if let Some(case) = contradicted {
            applied.dropped.push(format!("{} (the spec's own case `{}` contradicts it)", property.as_str(), case.name));
            continue;
        }
        applied.kept.push(property);
    }
    spec.properties = applied.kept.clone();
    if applied.kept.is_empty() {
        return applied;
    }
    let Some(generated) = generated_inputs(spec, inputs) else {
        applied.dropped.extend(
            applied.kept.drain(..).map(|p| format!("{} (no inputs can be generated for this signature)", p.as_str())),
        );
        spec.properties.clear();
        return applied;
    };
    for property in &applied.kept {
        for (i, input) in generated.iter().enumerate() {
            let expected = if property.relative() { first_argument(spec, input) } else { Value::Null };
            spec.test_cases.push(TestCase {
                name: format!("property_{}_{}", property.as_str(), i + 1),
                input: input.clone(),
                expected,
                check: Check::Holds(*property),
                author: false,
            });
            applied.cases_added += 1;
        }
    }
    applied
}

/// The property a case checks, when it is a property case.
pub fn of(case: &TestCase) -> Option<Property> {
    match case.check {
        Check::Holds(p) => Some(p),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(params: &[(&str, &str)], returns: &str, properties: &[Property], cases: Value) -> Spec {
        serde_json::from_value(json!({
            "problem": "p", "requirements": [], "limits": "", "plan": [],
            "function": {"name": "f", "parameters": params.iter().map(|(n, t)| json!({"name": n, "type": t})).collect::<Vec<_>>(), "returns": returns},
            "task_input": {}, "test_cases": cases, "tools": [],
            "properties": properties,
        }))
        .unwrap()
    }

    #[test]
    fn each_property_holds_on_what_has_it_and_fails_otherwise() {
        assert!(Property::Sorted.holds(&json!([1, 2, 2, 5]), &Value::Null).is_ok());
        assert!(Property::Sorted.holds(&json!([2, 1]), &Value::Null).is_err());
        assert!(Property::Sorted.holds(&json!("abcz"), &Value::Null).is_ok(), "a text's characters in order");
        assert!(Property::Sorted.holds(&json!(3), &Value::Null).is_err());
        assert!(Property::NoDuplicates.holds(&json!([1, 2, 3]), &Value::Null).is_ok());
        assert!(Property::NoDuplicates.holds(&json!([1, 2, 1]), &Value::Null).is_err());
        assert!(Property::SameElements.holds(&json!([3, 1, 2]), &json!([1, 2, 3])).is_ok());
        assert!(Property::SameElements.holds(&json!([1, 2]), &json!([1, 2, 2])).is_err());
        assert!(Property::Subset.holds(&json!([2, 2]), &json!([1, 2])).is_ok());
        assert!(Property::Subset.holds(&json!([4]), &json!([1, 2])).is_err());
        assert!(Property::SameLength.holds(&json!("cba"), &json!("abc")).is_ok());
        assert!(Property::SameLength.holds(&json!([1]), &json!([1, 2])).is_err());
        assert!(Property::NonNegative.holds(&json!(0), &Value::Null).is_ok());
        assert!(Property::NonNegative.holds(&json!(-0.5), &Value::Null).is_err());
        let why = Property::Sorted.holds(&json!([2, 1]), &Value::Null).unwrap_err();
        assert_eq!(why, "the result must be a list in ascending order; got [2, 1]");
    }

    #[test]
    fn kept_properties_become_cases_on_generated_inputs() {
        let cases = json!([{"name": "task", "input": {"xs": [3, 1]}, "expected": [1, 3], "check": "equals"}]);
        let mut s = spec(&[("xs", "list[int]")], "list[int]", &[Property::Sorted, Property::SameElements], cases);
        let applied = apply(&mut s, 4);
        assert_eq!(applied.kept, [Property::Sorted, Property::SameElements]);
        assert_eq!(applied.cases_added, 8);
        let inputs: Vec<&Value> = s.test_cases.iter().skip(1).take(4).map(|c| &c.input["xs"]).collect();
        assert_eq!(inputs[0], &json!([]), "the empty list first");
        assert!(inputs.iter().any(|xs| xs.as_array().is_some_and(|a| a.len() == 3 && a[0] == a[2])), "duplicates");
        let same = s.test_cases.iter().find(|c| c.name == "property_same_elements_2").unwrap();
        assert_eq!(same.expected, same.input["xs"], "a relative property carries the first argument");
        assert_eq!(same.check, Check::Holds(Property::SameElements));
    }

    #[test]
    fn a_property_the_spec_contradicts_or_cannot_have_is_dropped() {
        // "sort descending": the overseer also said "sorted", which its own case contradicts.
        let cases = json!([{"name": "desc", "input": {"xs": [1, 3]}, "expected": [3, 1], "check": "equals"}]);
        let mut s = spec(&[("xs", "list")], "list", &[Property::Sorted, Property::NonNegative], cases);
        let applied = apply(&mut s, 4);
        assert!(applied.kept.is_empty());
        assert_eq!(applied.cases_added, 0);
        assert!(applied.dropped[0].contains("case `desc` contradicts"), "{:?}", applied.dropped);
        assert!(applied.dropped[1].contains("signature cannot"), "{:?}", applied.dropped);
        assert_eq!(s.test_cases.len(), 1);
        // A type nothing can be generated for keeps the spec as it was.
        let mut d = spec(&[("d", "dict")], "list", &[Property::NoDuplicates], json!([]));
        assert_eq!(apply(&mut d, 4).cases_added, 0);
        assert!(d.properties.is_empty());
    }

    #[test]
    fn inputs_cover_every_parameter_and_rotate() {
        let s = spec(&[("text", "str"), ("n", "int")], "str", &[], json!([]));
        let inputs = generated_inputs(&s, 4).unwrap();
        assert_eq!(inputs.len(), 4);
        assert_eq!(inputs[0]["text"], json!(""));
        assert_eq!(inputs[0]["n"], json!(3), "the second parameter is rotated by one");
        assert!(generated_inputs(&spec(&[("when", "datetime")], "str", &[], json!([])), 4).is_none());
    }
}
