//! Nodes that keep evolving, end to end (CLI binary, scripted Ollama-wire server): a real run
//! raises on an input, `evolve-due` picks the node, the input becomes a case whose expected value
//! the overseer derives from the problem, a new version passes everything and replaces the
//! current one; versions are pruned, rolled back, deleted; bad ids are refused.

mod support;

use serde_json::{Value, json};
use support::{TestEnv, base_config};
use testkit::scripted_model::fixtures;
use testkit::scripted_model::{Script, ScriptedServer};

const FIRST_WORD: &str = "def first_word(text: str) -> str:\n    return text.split()[0]\n";
const FIXED: &str =
    "def first_word(text: str) -> str:\n    words = text.split()\n    return words[0] if words else \"\"\n";
const FIXED_AGAIN: &str =
    "def first_word(text: str) -> str:\n    for word in text.split():\n        return word\n    return \"\"\n";

fn spec() -> Value {
    json!({
        "problem": "The first word of a text (words are separated by whitespace).",
        "requirements": [], "plan": ["split on whitespace"],
        "function": { "name": "first_word", "parameters": [ { "name": "text", "type": "str" } ], "returns": "str" },
        "task_input": { "text": "hello world" },
        "test_cases": [
            { "name": "task", "input": { "text": "hello world" }, "expected": "hello", "check": "equals" },
            { "name": "two", "input": { "text": "a b" }, "expected": "a", "check": "equals" },
            { "name": "one", "input": { "text": "x" }, "expected": "x", "check": "equals" }
        ],
        "tools": []
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_raises_in_use_is_re_evolved_pruned_and_rolled_back() {
    let script = Script::new()
        .on("classify", fixtures::classify("simple_content", "simple"))
        .on("plan", spec())
        .on_seq("code", vec![fixtures::code(FIRST_WORD), fixtures::code(FIXED), fixtures::code(FIXED_AGAIN)])
        // The overseer works out the failing inputs from the problem: no word, an empty result.
        .on("review", json!({ "cases": [{ "name": "seen_in_use_1", "work": "no words", "result": "" }] }));
    let server = ScriptedServer::start(script).await.unwrap();
    let env = TestEnv::new();
    // Speed counts above the optimize floor only (these functions take ~100 ns a call, where a
    // fix may cost 15% that no one would notice): the default floor, as a user has it.
    env.write_config(&format!(
        "{}auto_evolution:\n  max_versions_per_node: 2\n  keep_best_n_versions: 1\n",
        base_config("ollama", &format!("url: \"{}\"", server.url)).replace("skip_below_ns: 0", "skip_below_ns: 1000")
    ));
    let evolved = env.run(&["evolve", "the first word of 'hello world'"]).await;
    evolved.assert_ok();
    let id = evolved.node_id();

    // Nothing is due while the node only succeeds.
    let ok = env.run(&["run", &id, "--input", r#"{"text": "good morning"}"#]).await;
    assert_eq!(ok.result().as_deref(), Some("good"), "{}", ok.all());
    let due = env.run(&["evolve-due", "--dry-run"]).await;
    due.assert_ok();
    assert!(due.stdout.contains("0 node(s) due"), "{}", due.all());

    // A real run raises on an input that is not a case: the node is due, and says why.
    let bad = env.run(&["run", &id, "--input", r#"{"text": ""}"#]).await;
    assert_eq!(bad.code, 1, "{}", bad.all());
    assert!(bad.stderr.contains("IndexError"), "{}", bad.all());
    let due = env.run(&["evolve-due", "--dry-run"]).await;
    due.assert_ok();
    assert!(due.stdout.contains("1 node(s) due"), "{}", due.all());
    assert!(due.stdout.contains(r#"raised on 1 input(s) that are not cases: {"text":""}"#), "{}", due.all());
    assert!(server.requests_for("review").is_empty(), "a dry run asks no model");

    // Processed: the input becomes a case, a new version passes all of them and is current.
    let done = env.run(&["evolve-due"]).await;
    done.assert_ok();
    assert!(done.stdout.contains(r#"new case {"text":""} -> """#), "{}", done.all());
    assert!(done.stdout.contains("v2 passes all 4 cases"), "{}", done.all());
    // The overseer derived the expected value without seeing the code or what it did.
    let review = &server.requests_for("review")[0].text;
    assert!(
        review.contains("first_word(text=\"\")") && !review.contains("split()[0]") && !review.contains("IndexError"),
        "{review}"
    );
    let fixed = env.run(&["run", &id, "--input", r#"{"text": ""}"#]).await;
    fixed.assert_ok();
    assert_eq!(fixed.result().as_deref(), Some(""), "{}", fixed.all());
    let tested = env.run(&["test", &id]).await;
    tested.assert_ok();
    assert!(tested.stdout.contains("v2: 5/5 tests pass"), "4 cases and the node contract:\n{}", tested.all());
    // Not due again: the attempt is recorded and no new failure came.
    let due = env.run(&["evolve-due", "--dry-run"]).await;
    assert!(due.stdout.contains("0 node(s) due"), "{}", due.all());

    // Run history: success rate, latency percentiles, a plot.
    let show = env.run(&["show", &id]).await;
    show.assert_ok();
    assert!(show.stdout.contains("auto-evolved"), "{}", show.all());
    assert!(show.stdout.contains("v1   3 run(s) · 67% ok · p50"), "{}", show.all());
    assert!(show.stdout.contains("latency over the last"), "{}", show.all());

    // Back to v1 (every change is reversible); a new failing input there makes it due again,
    // and the third version prunes the second (v1 stays: it is v3's parent).
    let back = env.run(&["rollback", &id]).await;
    back.assert_ok();
    assert!(back.stdout.contains("v2 -> v1"), "{}", back.all());
    let bad = env.run(&["run", &id, "--input", r#"{"text": "   "}"#]).await;
    assert_eq!(bad.code, 1, "{}", bad.all());
    let done = env.run(&["evolve-due"]).await;
    done.assert_ok();
    assert!(done.stdout.contains("v3 passes all"), "{}", done.all());
    assert!(done.stdout.contains("pruned v2"), "{}", done.all());
    let show = env.run(&["show", &id, "--json"]).await;
    let detail: Value = serde_json::from_str(&show.stdout).unwrap();
    let versions: Vec<i64> =
        detail["versions"].as_array().unwrap().iter().map(|v| v["version"].as_i64().unwrap()).collect();
    assert_eq!(versions, [1, 3]);
    assert_eq!(detail["current_version"], 3);

    // Quality: its terms, each explained.
    let quality = env.run(&["evaluate", &id, "--json"]).await;
    quality.assert_ok();
    let q: Value = serde_json::from_str(&quality.stdout).unwrap();
    let names: Vec<&str> = q["terms"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert!(names.starts_with(&["correctness", "speed", "memory"]), "{names:?}");

    // Bad ids and versions are refused clearly, and change nothing.
    let wrong = env.run(&["rollback", &id, "99"]).await;
    assert_eq!(wrong.code, 2, "{}", wrong.all());
    assert!(wrong.stderr.contains("has no version 99"), "{}", wrong.all());
    for args in [vec!["test", "nope"], vec!["delete", "nope"], vec!["optimize", "nope"], vec!["evaluate", "nope"]] {
        let r = env.run(&args).await;
        assert_eq!(r.code, 2, "{args:?}: {}", r.all());
        assert!(r.stderr.contains("no node matches `nope`"), "{}", r.all());
    }
    let r = env.run(&["memory", "delete", "not-an-id"]).await;
    assert_eq!(r.code, 2, "{}", r.all());
    let r = env.run(&["memory", "clear", "--kind", "nonsense"]).await;
    assert_eq!(r.code, 2, "{}", r.all());

    // Delete: the node and what memory learned from it go together.
    let stats_before = env.run(&["memory", "stats"]).await;
    assert!(stats_before.stdout.contains("function"), "{}", stats_before.all());
    let gone = env.run(&["delete", &id]).await;
    gone.assert_ok();
    assert!(gone.stdout.contains(&format!("deleted node {id} and")), "{}", gone.all());
    let show = env.run(&["show", &id]).await;
    assert_eq!(show.code, 2, "{}", show.all());
    let stats_after = env.run(&["memory", "stats"]).await;
    assert!(!stats_after.stdout.contains("function"), "{}", stats_after.all());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prototype_shaped_input_runs_a_node() {
    // The prototype's nodes read {"description": ...}: one unknown key fills the one parameter.
    let server = ScriptedServer::start(
        Script::new()
            .on("classify", fixtures::classify("simple_content", "simple"))
            .on("plan", spec())
            .on("code", fixtures::code(FIXED)),
    )
    .await
    .unwrap();
    let env = TestEnv::with_ollama(&server.url);
    let evolved = env.run(&["evolve", "the first word of 'hello world'"]).await;
    evolved.assert_ok();
    let id = evolved.node_id();
    let run = env.run(&["run", &id, "--input", r#"{"description": "green tea"}"#]).await;
    run.assert_ok();
    assert_eq!(run.result().as_deref(), Some("green"), "{}", run.all());
    // Named inputs with the prototype's description beside them: the description is ignored.
    let run = env.run(&["run", &id, "--input", r#"{"description": "the first word", "text": "blue sky"}"#]).await;
    assert_eq!(run.result().as_deref(), Some("blue"), "{}", run.all());
}
