//! Pattern memory over the CLI and a scripted model server: a helper two verified nodes define
//! word for word becomes a Pattern artifact, and the generator of a similar later task is shown it.

mod support;

use serde_json::{Value, json};
use support::{TestEnv, base_config};
use testkit::scripted_model::{Rule, Script, ScriptedServer, fixtures};

fn spec(name: &str, cases: &[(Value, i64)]) -> Value {
    json!({
        "problem": format!("{name} of a list of integers."),
        "requirements": [],
        "limits": "O(n)",
        "plan": [],
        "function": { "name": name, "parameters": [ { "name": "values", "type": "list" } ], "returns": "int" },
        "task_input": { "values": cases[0].0 },
        "example_output": cases[0].1,
        "test_cases": cases.iter().enumerate().map(|(i, (input, expected))| json!({
            "name": format!("case_{i}"), "input": { "values": input }, "expected": expected, "check": "equals"
        })).collect::<Vec<_>>(),
        "tools": []
    })
}

const SQUARE: &str = "def square(x):\n    return x * x\n";

fn task_rules(script: Script, words: &str, spec: Value, code: String) -> Script {
    script
        .rule(Rule {
            stage: Some("plan".into()),
            contains: Some(words.into()),
            replies: vec![spec],
            ..Default::default()
        })
        .rule(Rule {
            stage: Some("code".into()),
            contains: Some(words.into()),
            replies: vec![fixtures::code(&code)],
            ..Default::default()
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_helper_two_nodes_share_becomes_a_pattern_the_generator_sees() {
    let mut script = Script::new()
        .on("classify", fixtures::classify("algorithm", "simple"))
        .on("judge", json!({"verdict": "DIFFERENT", "reason": "another function"}));
    // The later tasks first: their requests also mention the earlier tasks (hints, offered
    // tools, patterns), and the first rule that matches answers.
    script = task_rules(
        script,
        "sum the squares of the even numbers in a list",
        spec("sum_even_squares", &[(json!([1, 2, 3, 4]), 20), (json!([]), 0), (json!([2]), 4)]),
        "def sum_even_squares(values):\n    return sum(v * v for v in values if v % 2 == 0)\n".to_string(),
    );
    script = task_rules(
        script,
        "largest square in a list",
        spec("max_square", &[(json!([1, -3, 2]), 9), (json!([0]), 0), (json!([5]), 25)]),
        format!("{SQUARE}\n\ndef max_square(values):\n    return max(square(v) for v in values)\n"),
    );
    script = task_rules(
        script,
        "sum the squares of a list",
        spec("sum_squares", &[(json!([1, 2, 3]), 14), (json!([]), 0), (json!([-2]), 4)]),
        format!("{SQUARE}\n\ndef sum_squares(values):\n    return sum(square(v) for v in values)\n"),
    );
    let server = ScriptedServer::start(script).await.unwrap();
    let env = TestEnv::new();
    // A low bar for "similar": the scripted embedder is a bag of words.
    env.write_config(&format!(
        "{}memory:\n  related_threshold: 0.3\n",
        base_config("ollama", &format!("url: \"{}\"", server.url))
    ));

    let first = env.run(&["evolve", "sum the squares of a list"]).await;
    assert_eq!(first.code, 0, "{}", first.all());
    assert!(!first.all().contains("patterns that recur"), "one node's helper is no pattern yet:\n{}", first.all());
    let second = env.run(&["evolve", "largest square in a list"]).await;
    assert_eq!(second.code, 0, "{}", second.all());
    assert!(second.all().contains("patterns that recur: `square` (2 nodes)"), "{}", second.all());
    let stored = env.run(&["memory", "search", "square of a list", "--kind", "pattern"]).await;
    assert!(stored.stdout.contains("pattern"), "{}", stored.all());

    let third = env.run(&["evolve", "sum the squares of the even numbers in a list"]).await;
    assert_eq!(third.code, 0, "{}", third.all());
    assert!(third.all().contains("patterns from memory go to the generator: square"), "{}", third.all());
    let asked = server.requests_for("code");
    let last = asked.last().expect("a code request").body.to_string();
    assert!(last.contains("Helpers that verified solutions of similar tasks share"), "{last}");
    assert!(last.contains("def square(x):"), "{last}");
}
