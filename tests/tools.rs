//! Tools end to end (CLI binary, scripted Ollama-wire server): the prototype's tool block loads
//! as written; a verified node is a tool other nodes call (recorded with its caller); the tool
//! registry ranks a reliable node above a broken one with the same meaning.

mod support;

use serde_json::{Value, json};
use support::{TestEnv, base_config};
use testkit::scripted_model::fixtures::{self, ADD};
use testkit::scripted_model::{Rule, Script, ScriptedServer};

/// The block from the prototype's README (../shared/seed/code-evolver-README.md), verbatim.
const PROTOTYPE_TOOLS: &str = r#"tools:
  content_generator:
    name: "Content Generator"
    type: "llm"
    description: "Generates creative content (jokes, stories, articles)"
    llm:
      model: "llama3"
      endpoint: null
    cost_tier: "medium"
    speed_tier: "fast"
    quality_tier: "excellent"
    tags: ["content", "creative", "writing"]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_prototypes_tool_block_loads_as_written() {
    let server = ScriptedServer::start(Script::new()).await.unwrap();
    let env = TestEnv::new();
    env.write_config(&format!("{}{PROTOTYPE_TOOLS}", base_config("ollama", &format!("url: \"{}\"", server.url))));
    let list = env.run(&["tools", "list"]).await;
    list.assert_ok();
    assert!(list.stdout.contains("content_generator"), "{}", list.all());
    assert!(list.stdout.contains("cost medium, speed fast, quality excellent"), "{}", list.all());
    let show = env.run(&["tools", "show", "content_generator"]).await;
    show.assert_ok();
    assert!(show.stdout.contains("content_generator (llm)"), "{}", show.all());
    assert!(show.stdout.contains("tags: content, creative, writing"), "{}", show.all());

    // A tool type with no counterpart is refused with its line, not ignored.
    env.write_config(&format!(
        "{}tools:\n  translator:\n    type: \"openapi\"\n    description: \"x\"\n",
        base_config("ollama", &format!("url: \"{}\"", server.url))
    ));
    let bad = env.run(&["tools", "list"]).await;
    assert_eq!(bad.code, 2, "{}", bad.all());
    assert!(bad.stderr.contains("`tools.translator.type`: `openapi` tools are not supported here"), "{}", bad.all());
    assert!(bad.stderr.contains("line "), "{}", bad.all());
}

fn squares_spec() -> Value {
    json!({
        "problem": "The sum of the squares of two numbers.",
        "requirements": [], "plan": ["square each, add them with the add tool"],
        "function": { "name": "sum_of_squares", "parameters": [ { "name": "x", "type": "int" }, { "name": "y", "type": "int" } ], "returns": "int" },
        "task_input": { "x": 3, "y": 4 },
        "test_cases": [
            { "name": "task", "input": { "x": 3, "y": 4 }, "expected": 25, "check": "equals" },
            { "name": "zero", "input": { "x": 0, "y": 5 }, "expected": 25, "check": "equals" },
            { "name": "negative", "input": { "x": -1, "y": 2 }, "expected": 5, "check": "equals" }
        ],
        "tools": []
    })
}

const SQUARES: &str = "import json\nfrom node_runtime import call_tool\n\n\ndef sum_of_squares(x: int, y: int) -> int:\n    return json.loads(call_tool(\"add\", \"\", a=x * x, b=y * y))\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verified_node_is_a_tool_that_other_nodes_call() {
    // Rules match in order: the node that calls `add` has its own plan and code.
    let script = Script::new()
        .on("classify", fixtures::classify("arithmetic", "simple"))
        .rule(Rule {
            stage: Some("plan".into()),
            contains: Some("sum of the squares".into()),
            replies: vec![squares_spec()],
            ..Default::default()
        })
        .on("plan", fixtures::add_spec())
        .rule(Rule {
            stage: Some("code".into()),
            contains: Some("sum_of_squares".into()),
            replies: vec![fixtures::code(SQUARES)],
            ..Default::default()
        })
        .on("code", fixtures::code(ADD));
    let server = ScriptedServer::start(script).await.unwrap();
    let env = TestEnv::with_ollama(&server.url);
    let add = env.run(&["evolve", "add 10 and 20"]).await;
    add.assert_ok();
    let add_id = add.node_id();

    let squares = env.run(&["evolve", "the sum of the squares of 3 and 4"]).await;
    squares.assert_ok();
    assert_eq!(squares.result().as_deref(), Some("25"), "{}", squares.all());
    assert!(squares.stdout.contains(&format!("call_tool(add) → node {add_id} v1: ok")), "{}", squares.all());
    let squares_id = squares.node_id();
    let run = env.run(&["run", &squares_id, "--input", r#"{"x": 5, "y": 12}"#]).await;
    run.assert_ok();
    assert_eq!(run.result().as_deref(), Some("169"), "{}", run.all());

    // Each call is a run of the callee, with its caller.
    let show = env.run(&["show", &add_id, "--json"]).await;
    let detail: Value = serde_json::from_str(&show.stdout).unwrap();
    let calls: Vec<&Value> = detail["runs"].as_array().unwrap().iter().filter(|r| r["purpose"] == "call").collect();
    assert!(calls.iter().any(|r| r["caller"] == "evolve"), "{calls:?}");
    assert!(
        calls.iter().any(|r| r["caller"] == squares_id.as_str() && r["input"] == r#"{"a":25,"b":144}"#),
        "{calls:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reliable_node_outranks_a_broken_one_with_the_same_meaning() {
    let broken =
        "def add(a: int, b: int) -> int:\n    if a > 100:\n        raise ValueError(\"too big\")\n    return a + b\n";
    let script = Script::new()
        .on("classify", fixtures::classify("arithmetic", "simple"))
        .on("plan", fixtures::add_spec())
        .on_seq("code", vec![fixtures::code(ADD), fixtures::code(broken)]);
    let server = ScriptedServer::start(script).await.unwrap();
    let env = TestEnv::with_ollama(&server.url);
    let good = env.run(&["evolve", "add 10 and 20"]).await;
    good.assert_ok();
    let bad = env.run(&["evolve", "add 10 and 20 together"]).await;
    bad.assert_ok();
    let (good_id, bad_id) = (good.node_id(), bad.node_id());
    for _ in 0..4 {
        env.run(&["run", &good_id, "--input", r#"{"a": 500, "b": 1}"#]).await.assert_ok();
        let r = env.run(&["run", &bad_id, "--input", r#"{"a": 500, "b": 1}"#]).await;
        assert_eq!(r.code, 1, "{}", r.all());
    }
    let search = env.run(&["tools", "search", "--json", "add", "two", "numbers"]).await;
    search.assert_ok();
    let ranked: Vec<Value> = serde_json::from_str(&search.stdout).unwrap();
    let position = |id: &str| ranked.iter().position(|r| r["tool"]["name"] == id).unwrap_or(usize::MAX);
    assert!(position(&good_id) < position(&bad_id), "{}", search.stdout);
    let bad_entry = &ranked[position(&bad_id)];
    let success = bad_entry["terms"].as_array().unwrap().iter().find(|t| t[0] == "success").unwrap();
    assert!(success[1].as_f64().unwrap() < 0.0, "the broken node's success term is negative: {bad_entry}");
    let text = env.run(&["tools", "search", "add two numbers"]).await;
    assert!(text.stdout.contains("similarity") && text.stdout.contains("success"), "{}", text.all());
}
