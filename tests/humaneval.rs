//! `bench humaneval` on three problems against the scripted model server: one the model gets
//! right, one it always gets wrong, and one the pipeline repairs by escalation. The scores come
//! from the hidden `check` functions, which no model request may contain.

mod support;

use serde_json::{Value, json};
use support::TestEnv;
use testkit::scripted_model::{Rule, Script, ScriptedServer};

fn problem(id: &str, prompt: &str, test: &str, entry: &str) -> String {
    json!({"task_id": id, "prompt": prompt, "canonical_solution": "", "test": test, "entry_point": entry}).to_string()
}

fn code_rule(marker: &str, replies: Vec<&str>) -> Rule {
    Rule {
        contains: Some(marker.into()),
        replies: replies.into_iter().map(|r| Value::String(r.into())).collect(),
        ..Default::default()
    }
}

fn spec(name: &str, params: &[&str], input: Value, expected: Value) -> Value {
    json!({
        "problem": "as the docstring says",
        "function": {"name": name, "parameters": params.iter().map(|p| json!({"name": p, "type": "int"})).collect::<Vec<_>>(), "returns": "int"},
        "task_input": input.clone(),
        "example_output": expected.clone(),
        "test_cases": [{"name": "task", "input": input, "expected": expected, "check": "equals"}],
        "tools": []
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_shot_and_pipeline_are_scored_by_the_hidden_checks() {
    let problems = [
        problem(
            "Test/alpha",
            "def add_a(x: int, y: int) -> int:\n    \"\"\"Add two numbers (ALPHA).\n    >>> add_a(1, 2)\n    3\n    >>> add_a(0, 0)\n    0\n    \"\"\"\n",
            "def check(candidate):\n    assert candidate(2, 3) == 5  # HIDDEN-ALPHA\n    assert candidate(-1, 1) == 0\n",
            "add_a",
        ),
        problem(
            "Test/beta",
            "def mul_b(x: int, y: int) -> int:\n    \"\"\"Multiply two numbers (BETA).\n    >>> mul_b(2, 3)\n    6\n    \"\"\"\n",
            "def check(candidate):\n    assert candidate(4, 5) == 20  # HIDDEN-BETA\n",
            "mul_b",
        ),
        problem(
            "Test/gamma",
            "def neg_c(x: int) -> int:\n    \"\"\"Negate a number (GAMMA).\n    >>> neg_c(3)\n    -3\n    >>> neg_c(0)\n    0\n    \"\"\"\n",
            "def check(candidate):\n    assert candidate(7) == -7  # HIDDEN-GAMMA\n",
            "neg_c",
        ),
    ];
    let script = Script::new()
        .on("classify", json!({"kind": "algorithm", "complexity": "simple", "reason": "scripted"}))
        .rule(Rule {
            stage: Some("plan".into()),
            contains: Some("ALPHA".into()),
            replies: vec![spec("add_a", &["x", "y"], json!({"x": 1, "y": 2}), json!(3))],
            ..Default::default()
        })
        .rule(Rule {
            stage: Some("plan".into()),
            contains: Some("BETA".into()),
            replies: vec![spec("mul_b", &["x", "y"], json!({"x": 2, "y": 3}), json!(6))],
            ..Default::default()
        })
        .rule(Rule {
            stage: Some("plan".into()),
            contains: Some("GAMMA".into()),
            replies: vec![spec("neg_c", &["x"], json!({"x": 3}), json!(-3))],
            ..Default::default()
        })
        // The review re-derives the examples' values: the code, not the spec, is wrong.
        .rule(Rule {
            stage: Some("review".into()),
            contains: Some("BETA".into()),
            replies: vec![json!({"cases": [{"name": "docstring_1", "work": "2*3", "result": 6}]})],
            ..Default::default()
        })
        .rule(Rule {
            stage: Some("review".into()),
            contains: Some("GAMMA".into()),
            replies: vec![json!({"cases": [{"name": "docstring_1", "work": "-(3)", "result": -3}]})],
            ..Default::default()
        })
        // Code, for single-shot (plain text) and the pipeline alike, in request order.
        .rule(code_rule("ALPHA", vec!["```python\ndef add_a(x: int, y: int) -> int:\n    return x + y\n```"]))
        .rule(code_rule("BETA", vec!["```python\ndef mul_b(x: int, y: int) -> int:\n    return x + y\n```"]))
        .rule(code_rule(
            "GAMMA",
            vec![
                "```python\ndef neg_c(x: int) -> int:\n    return x\n```",
                "```python\ndef neg_c(x: int) -> int:\n    return x\n```",
                "```python\ndef neg_c(x: int) -> int:\n    return -x\n```",
            ],
        ));
    let server = ScriptedServer::start(script).await.unwrap();
    let env = TestEnv::with_ollama(&server.url);
    let file = env.workspace.path().join("problems.jsonl");
    std::fs::write(&file, problems.join("\n")).unwrap();
    let out = env.workspace.path().join("results");
    let run =
        env.run(&["bench", "humaneval", "--problems", file.to_str().unwrap(), "--out", out.to_str().unwrap()]).await;
    run.assert_ok();
    assert!(run.stdout.contains("single-shot  pass@1 33.3% (1/3)"), "{}", run.all());
    assert!(run.stdout.contains("pipeline     pass@1 66.7% (2/3)"), "{}", run.all());
    assert!(run.stdout.contains("pipeline - single-shot: +33.3 points (2.00×)"), "{}", run.all());

    let results: Vec<Value> = std::fs::read_to_string(out.join("results.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let verdict = |mode: &str, id: &str| {
        results.iter().find(|r| r["mode"] == mode && r["task_id"] == id).unwrap_or_else(|| panic!("{mode} {id}"))["passed"]
            .as_bool()
            .unwrap()
    };
    assert!(
        verdict("single-shot", "Test/alpha")
            && !verdict("single-shot", "Test/beta")
            && !verdict("single-shot", "Test/gamma")
    );
    assert!(
        verdict("pipeline", "Test/alpha") && !verdict("pipeline", "Test/beta") && verdict("pipeline", "Test/gamma")
    );
    let gamma = results.iter().find(|r| r["mode"] == "pipeline" && r["task_id"] == "Test/gamma").unwrap();
    assert!(gamma["calls"].as_u64().unwrap() >= 4, "classify, plan, two codes and a review: {gamma}");
    let beta = results.iter().find(|r| r["mode"] == "single-shot" && r["task_id"] == "Test/beta").unwrap();
    assert!(beta["detail"].as_str().unwrap().contains("AssertionError"), "the hidden check failed it: {beta}");

    // The hidden checks never reached a model.
    for request in server.requests() {
        assert!(!request.body.to_string().contains("HIDDEN-"), "a hidden test leaked into {}", request.stage);
    }
    let svg = std::fs::read_to_string(out.join("pass_rates.svg")).unwrap();
    assert!(svg.contains("33.3%") && svg.contains("66.7%"), "{svg}");
}
