//! The probe end to end (CLI binary, scripted Ollama-wire server): once a version passes the
//! overseer's cases, fresh implementations that pass them too run beside it on edge inputs; where
//! they disagree, the overseer's derivation from the problem decides which value becomes a case.

mod support;

use serde_json::{Value, json};
use support::{TestEnv, base_config};
use testkit::scripted_model::fixtures;
use testkit::scripted_model::{Script, ScriptedServer};

const TASK: &str = "shorten a text to a number of characters, with three dots added when it is cut";
/// Right on every case the overseer wrote (all longer than the limit), wrong on a short text.
const ALWAYS_DOTS: &str = "def truncate(text: str, limit: int) -> str:\n    return text[:limit] + \"...\"\n";
const RIGHT: &str = "def truncate(text: str, limit: int) -> str:\n    if len(text) <= limit:\n        return text\n    return text[:limit] + \"...\"\n";

fn truncate_spec() -> Value {
    json!({
        "problem": "Shorten text to at most limit characters; when it was cut, add '...'.",
        "requirements": ["a text not longer than limit is returned as it is"], "plan": ["cut", "add dots"],
        "function": { "name": "truncate",
            "parameters": [ { "name": "text", "type": "str" }, { "name": "limit", "type": "int" } ], "returns": "str" },
        "task_input": { "text": "hello world", "limit": 5 },
        "test_cases": [
            { "name": "task", "input": { "text": "hello world", "limit": 5 }, "expected": "hello...", "check": "equals" },
            { "name": "three", "input": { "text": "abcdefgh", "limit": 3 }, "expected": "abc...", "check": "equals" },
            { "name": "six", "input": { "text": "python programming", "limit": 6 }, "expected": "python...", "check": "equals" }
        ],
        "tools": []
    })
}

/// The overseer's derivation of the probe's inputs, as `work` and `result` alone.
fn derived(results: &[(&str, &str)]) -> Value {
    let cases: Vec<Value> = results
        .iter()
        .map(|(name, result)| json!({ "name": name, "work": "from the problem", "result": result }))
        .collect();
    json!({ "cases": cases })
}

async fn evolve(review: Value) -> (ScriptedServer, Value) {
    // The first code is the wrong one; both fresh implementations of the probe are right.
    let script = Script::new()
        .on("classify", fixtures::classify("simple_content", "simple"))
        .on("plan", truncate_spec())
        .on_seq("code", vec![fixtures::code(ALWAYS_DOTS), fixtures::code(RIGHT)])
        .on("review", review);
    let server = ScriptedServer::start(script).await.unwrap();
    let env = TestEnv::new();
    let config = base_config("ollama", &format!("url: \"{}\"", server.url)).replace("probe: 0", "probe: 2");
    env.write_config(&config);
    let run = env.run(&["evolve", "--json", TASK]).await;
    run.assert_ok();
    (server, run.outcome())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edge_input_the_overseer_values_replaces_code_that_is_wrong_there() {
    // Edge inputs in order: text "hello" (probe_1), "" (probe_2), then limit 12 (probe_3) are
    // where `text[:limit] + "..."` and the right code differ.
    let (server, o) = evolve(derived(&[("probe_1", "hello"), ("probe_2", ""), ("probe_3", "hello world")])).await;
    let probe = &o["probe"];
    assert_eq!(probe["implementations"], 2, "the repeated sample is one implementation: {probe}");
    assert_eq!(probe["disagreements"], 3, "{probe}");
    assert_eq!(probe["added"].as_array().unwrap().len(), 3, "{probe}");
    assert_eq!(probe["replaced"], true, "{probe}");
    assert!(o["code"].as_str().unwrap().contains("len(text) <= limit"), "the right code is kept: {}", o["code"]);
    let inputs: Vec<&Value> = o["spec"]["test_cases"].as_array().unwrap().iter().map(|c| &c["input"]).collect();
    assert!(inputs.contains(&&json!({ "text": "", "limit": 5 })), "{inputs:?}");
    // The overseer worked the inputs out from the problem: it never saw either code or result.
    let asked = &server.requests_for("review")[0].text;
    assert!(asked.contains(r#"truncate(text="hello", limit=5)"#), "{asked}");
    assert!(!asked.contains("text[:limit]") && !asked.contains("hello..."), "{asked}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_no_implementation_returned_is_no_case() {
    // The overseer names "hell" and "." (no implementation returns them) and, for a limit of 12,
    // the wrong code's "hello world...": only that one becomes a case, and the code stays.
    let (_server, o) = evolve(derived(&[("probe_1", "hell"), ("probe_2", "."), ("probe_3", "hello world...")])).await;
    let probe = &o["probe"];
    assert_eq!(probe["disagreements"], 3, "{probe}");
    assert_eq!(probe["added"], json!([r#"(text="hello world", limit=12) -> "hello world...""#]), "{probe}");
    assert_eq!(probe["replaced"], false, "{probe}");
    assert_eq!(o["code"].as_str().unwrap().trim(), ALWAYS_DOTS.trim(), "{}", o["code"]);
}
