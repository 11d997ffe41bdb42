//! The examples an author writes in a stub's docstring become the spec's test cases
//! (runtime/stub_spec.py). Authors write them in many ways; each way here must give the right
//! input and expected value, and prose that is not an example must give none.

use serde_json::{Value, json};
use std::io::Write;
use std::process::{Command, Stdio};

/// The cases stub_spec.py reads from `task`, as (input, expected) pairs.
fn cases(task: &str) -> Vec<(Value, Value)> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/runtime/stub_spec.py");
    let mut child =
        Command::new("python3").arg(script).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("python3 runs");
    child.stdin.take().unwrap().write_all(task.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "stub_spec.py failed on:\n{task}");
    let line = String::from_utf8(out.stdout).unwrap();
    let parsed: Value = serde_json::from_str(line.trim().lines().last().unwrap()).unwrap();
    parsed["cases"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|c| (c["input"].clone(), c["expected"].clone()))
        .collect()
}

fn stub(signature: &str, docstring: &str) -> String {
    let body: String = docstring.lines().map(|l| format!("    {l}\n")).collect();
    format!("def {signature}:\n    \"\"\"\n{body}    \"\"\"\n")
}

#[test]
fn arrows_and_words_between_call_and_value() {
    let doc = "Counts the vowels in a word.\n\
               count_vowels(\"tree\") => 2\n\
               count_vowels(\"sky\") ==> 0\n\
               count_vowels(\"aeiou\") ➞ 5\n\
               * count_vowels(\"banana\") -> 3\n\
               count_vowels(\"queue\") returns 4\n\
               count_vowels(\"idea\") should return 3.\n\
               count_vowels(\"ox\") = 1\n\
               count_vowels(\"eel\")   # returns 2\n\
               for count_vowels(\"oboe\") == 3\n\
               >>> count_vowels(\"audio\") == 4\n";
    let found = cases(&stub("count_vowels(word)", doc));
    let expected = [
        ("tree", 2),
        ("sky", 0),
        ("aeiou", 5),
        ("banana", 3),
        ("queue", 4),
        ("idea", 3),
        ("ox", 1),
        ("eel", 2),
        ("oboe", 3),
        ("audio", 4),
    ];
    let mut got: Vec<(String, i64)> = found
        .iter()
        .map(|(input, want)| (input["word"].as_str().unwrap().to_string(), want.as_i64().unwrap()))
        .collect();
    got.sort();
    let mut want: Vec<(String, i64)> = expected.iter().map(|(w, n)| (w.to_string(), *n)).collect();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn trailing_prose_after_the_value_is_not_part_of_it() {
    let doc = "is_even(4) => true\n\
               is_even(7) => False (seven is odd)\n\
               is_even(10) returns True # ten\n\
               total(5) -> 10 - 3 - 2 = 5\n";
    let found = cases(&stub("is_even(n)", doc));
    assert_eq!(
        found,
        vec![(json!({"n": 4}), json!(true)), (json!({"n": 7}), json!(false)), (json!({"n": 10}), json!(true))]
    );
    // A sum is not cut to its first number: the value is what follows its last `=`.
    let found = cases(&stub("budget(total, spent)", "budget(20, 5) -> 20 - 5 = 15\nbudget(9, 1) -> 9 - 1\n"));
    assert_eq!(found, vec![(json!({"total": 20, "spent": 5}), json!(15))]);
}

#[test]
fn input_output_lines_and_for_x_the_output_should_be() {
    let doc = "Example 1:\n    Input: [3, 1, 2]\n    Output: 1\n    Explanation: the smallest.\n\
               Example 2:\n    Input: []\n    Output: None\n";
    let found = cases(&stub("smallest(items)", doc));
    assert_eq!(found, vec![(json!({"items": [3, 1, 2]}), json!(1)), (json!({"items": []}), Value::Null)]);

    let doc = "Input: words = [\"a\", \"bb\"], k = 1\nOutput: [\"a\"]\n\
               For words = [\"ccc\"], k = 3 the output should be [\"ccc\"].\n\
               For k = 2, words = [], that is nothing, the output should be []\n";
    let found = cases(&stub("of_length(words, k)", doc));
    assert_eq!(
        found,
        vec![
            (json!({"words": ["a", "bb"], "k": 1}), json!(["a"])),
            (json!({"words": ["ccc"], "k": 3}), json!(["ccc"])),
            (json!({"words": [], "k": 2}), json!([])),
        ]
    );
}

#[test]
fn equations_that_define_the_function_and_odd_typed_examples_are_not_cases() {
    // `=` lines that call the function on their right are its definition, not examples.
    let doc = "fib(0) = 0\nfib(1) = 1\nfib(n) = fib(n - 1) + fib(n - 2)\nfib(2) = fib(1) + fib(0)\n\
               fib_list(3) = [0, 1, 1]\n";
    assert!(cases(&stub("fib(n)", doc)).is_empty());

    // The author wrote ("b") for a one-element tuple among tuples: it is a string, dropped.
    let doc = "between(\"a\", \"d\") ==> (\"b\", \"c\")\nbetween(\"a\", \"c\") ==> (\"b\")\n\
               between(\"a\", \"b\") ==> ()\n";
    let found = cases(&stub("between(first, last)", doc));
    assert_eq!(
        found,
        vec![(json!({"first": "a", "last": "d"}), json!(["b", "c"])), (json!({"first": "a", "last": "b"}), json!([])),]
    );

    // Prose mentioning the function without a literal value gives nothing.
    let doc = "Call is_happy(s) for each word; is_happy(word) is then stored.\nis_happy(abc) => True\n";
    assert!(cases(&stub("is_happy(s)", doc)).is_empty());
}

#[test]
fn one_broken_doctest_does_not_lose_the_others() {
    // A "\n" in a docstring that is not raw splits the call over two lines, which the doctest
    // parser rejects along with every other example.
    let task = "def strip_digits(text):\n    \"\"\"\n    >>> strip_digits('a1')\n    'a'\n    \
                >>> strip_digits(\"b2\nc3\")\n    'b\\nc'\n    >>> strip_digits('')\n    ''\n    \"\"\"\n";
    let found = cases(task);
    assert_eq!(found, vec![(json!({"text": "a1"}), json!("a")), (json!({"text": ""}), json!(""))]);
}
