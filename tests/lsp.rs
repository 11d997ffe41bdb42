//! The language server over stdio, driven by a test client that answers as an editor does,
//! against the scripted model server: code actions, commands, progress, applyEdit, cancellation,
//! edits made during an evolve, optimize and write-tests, faults of the client and the job limits
//! (diagnostics are in lsp_lint.rs).

mod support;

use serde_json::{Value, json};
use std::time::Duration;
use support::{LONG, TestEnv, base_config, started, uri_in};
use testkit::lsp_client::LspClient;
use testkit::scripted_model::fixtures::{self, ADD};
use testkit::scripted_model::{Rule, Script, ScriptedServer};

/// An environment on `url` with memory off, so that every evolve generates (and can be caught
/// in the generate stage).
fn forgetful(url: &str) -> TestEnv {
    let env = TestEnv::new();
    env.write_config(&format!("{}memory:\n  store: off\n", base_config("ollama", &format!("url: \"{url}\""))));
    env
}

/// The "Evolve: …" code action at `line`, as the editor would list it.
async fn evolve_action(client: &mut LspClient, uri: &str, line: u32) -> Value {
    let at = json!({"line": line, "character": 3});
    let actions = client
        .request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": uri}, "range": {"start": at, "end": at}, "context": {"diagnostics": []}}),
        )
        .await;
    let list = actions["result"].as_array().unwrap_or_else(|| panic!("no actions: {actions}")).clone();
    list.into_iter()
        .find(|a| {
            a["title"].as_str().unwrap_or("").starts_with("Evolve: ") && a["command"]["command"] == "codeEvolver.evolve"
        })
        .unwrap_or_else(|| panic!("no evolve action in {actions}"))
}

async fn execute(client: &mut LspClient, action: &Value) -> i64 {
    let command = &action["command"];
    client
        .send("workspace/executeCommand", json!({"command": command["command"], "arguments": command["arguments"]}))
        .await
}

fn python_file_passes(text: &str, check: &str) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("evolved.py"), text).unwrap();
    let out = std::process::Command::new(support::python())
        .arg("-c")
        .arg(format!("import evolved\n{check}"))
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}\n---\n{text}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evolve_from_a_task_comment_with_progress_and_an_applied_edit() {
    let server = ScriptedServer::start(fixtures::arithmetic_script()).await.unwrap();
    let env = TestEnv::with_ollama(&server.url);
    let mut client = started(&env, Value::Null).await;
    let uri = uri_in(&env, "calc.py");
    let original = "import math\n\n# evolve: add two numbers\n\nprint(math.pi)\n";
    client.open(&uri, original).await;

    let action = evolve_action(&mut client, &uri, 2).await;
    assert_eq!(action["title"], "Evolve: add two numbers");
    let id = execute(&mut client, &action).await;
    let response = client.job_result(id, LONG).await;
    assert!(response.get("error").is_none(), "{response}\n{}", client.log_text());
    assert!(response["result"]["node_id"].as_str().unwrap().starts_with("add-"), "{response}");

    // Progress: created, begun, reported with stages and percentages, ended.
    client.wait_for(|m| m["method"] == "$/progress" && m["params"]["value"]["kind"] == "end", LONG).await;
    let log = client.log();
    assert!(log.iter().any(|m| m["method"] == "window/workDoneProgress/create"), "{}", client.log_text());
    let progress: Vec<&Value> =
        log.iter().filter(|m| m["method"] == "$/progress").map(|m| &m["params"]["value"]).collect();
    assert_eq!(progress.first().unwrap()["kind"], "begin");
    assert_eq!(progress.last().unwrap()["kind"], "end");
    let reports: Vec<String> =
        progress.iter().filter(|v| v["kind"] == "report").map(|v| v["message"].as_str().unwrap().to_string()).collect();
    for stage in ["classify:", "plan:", "generate:", "verify:", "remember:"] {
        assert!(reports.iter().any(|r| r.starts_with(stage)), "no {stage} report in {reports:?}");
    }
    // Typed details beside the messages: each model call with its figures, the verdict, the save.
    let details: Vec<&Value> =
        log.iter().filter(|m| m["method"] == "codeEvolver/stage").map(|m| &m["params"]["detail"]).collect();
    let calls: Vec<&&Value> = details.iter().filter(|d| d["type"] == "model_call").collect();
    assert!(calls.len() >= 3 && calls.iter().all(|c| c["prompt_tokens"].as_u64().is_some()), "{details:?}");
    assert!(details.iter().any(|d| d["type"] == "verdict" && d["passed"] == 4 && d["total"] == 4), "{details:?}");
    let saved = details.iter().find(|d| d["type"] == "saved").unwrap_or_else(|| panic!("{details:?}"));
    assert!(saved["node_id"].as_str().unwrap().starts_with("add-") && saved["version"] == 1, "{saved}");
    let percents: Vec<u64> = progress.iter().filter_map(|v| v["percentage"].as_u64()).collect();
    assert!(percents.windows(2).all(|w| w[0] <= w[1]) && *percents.last().unwrap() >= 90, "{percents:?}");

    // The edit: a header and the function below the comment, the user's text untouched.
    let doc = client.doc(&uri);
    assert!(doc.text.starts_with("import math\n\n# evolve: add two numbers\n# evolved: add-"), "{}", doc.text);
    // Three spec cases and the node's stdin/stdout contract.
    assert!(doc.text.contains("4/4 tests pass"), "{}", doc.text);
    assert!(doc.text.contains(ADD), "{}", doc.text);
    assert!(doc.text.ends_with("\nprint(math.pi)\n"), "{}", doc.text);
    python_file_passes(&doc.text, "assert evolved.add(2, 3) == 5 and evolved.add(-5, 3) == -2");

    // Code lens and hover on the evolved function come from the registry.
    let lenses = client.request("textDocument/codeLens", json!({"textDocument": {"uri": uri}})).await;
    let lens = &lenses["result"][0];
    assert_eq!(lens["range"]["start"]["line"], 4, "{lenses}");
    let title = lens["command"]["title"].as_str().unwrap();
    assert!(title.starts_with("4/4 tests pass · "), "{title}");
    let hover = client
        .request("textDocument/hover", json!({"textDocument": {"uri": uri}, "position": {"line": 3, "character": 5}}))
        .await;
    let markdown = hover["result"]["contents"]["value"].as_str().unwrap_or_else(|| panic!("{hover}"));
    assert!(markdown.contains("add two numbers") && markdown.contains("| v1 |"), "{markdown}");
    let report =
        client.request("workspace/executeCommand", json!({"command": "codeEvolver.showReport", "arguments": []})).await;
    assert!(report["result"]["markdown"].as_str().unwrap().contains("## Attempts"), "{report}");
    // Completion offers the verified function from memory on a similar task comment.
    let other = uri_in(&env, "other.py");
    client.open(&other, "# evolve: add two numbers please\n").await;
    let completion = client
        .request(
            "textDocument/completion",
            json!({"textDocument": {"uri": other}, "position": {"line": 0, "character": 20}}),
        )
        .await;
    let item = &completion["result"]["items"][0];
    assert_eq!(item["label"], "add(a: int, b: int) -> int", "{completion}");
    let docs = item["documentation"]["value"].as_str().unwrap();
    assert!(docs.contains("def add(a: int, b: int) -> int:") && docs.contains("4/4 tests pass"), "{docs}");
    assert!(item["textEdit"]["newText"].as_str().unwrap().starts_with("\ndef add("), "{item}");
    let plain = client
        .request(
            "textDocument/completion",
            json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 3}}),
        )
        .await;
    assert_eq!(plain["result"], Value::Null, "nothing on a plain line: {plain}");
    let status =
        client.request("workspace/executeCommand", json!({"command": "codeEvolver.status", "arguments": []})).await;
    assert_eq!(status["result"]["registry"]["nodes"], 1, "{status}");
    client.shutdown().await;
}

/// A compound task from the editor: the steps' code and the function over them are inserted as
/// one self-contained block, progress names each step, and the job's result lists the steps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compound_task_comment_inserts_the_steps_and_the_function_over_them() {
    let server = ScriptedServer::start(fixtures::workflow_script()).await.unwrap();
    let env = TestEnv::new();
    env.write_config(&format!(
        "{}workflow:\n  enabled: true\n",
        base_config("ollama", &format!("url: \"{}\"", server.url))
    ));
    let mut client = started(&env, Value::Null).await;
    let uri = uri_in(&env, "logs.py");
    let original = "# evolve: parse the numbers out of a log line, then return their mean\n\nprint('end')\n";
    client.open(&uri, original).await;
    let action = evolve_action(&mut client, &uri, 0).await;
    let id = execute(&mut client, &action).await;
    let response = client.job_result(id, LONG).await;
    assert!(response.get("error").is_none(), "{response}\n{}", client.log_text());
    let steps = &response["result"]["workflow"]["steps"];
    assert_eq!(steps[0]["function"], "parse_numbers", "{response}");
    assert_eq!(steps[1]["function"], "mean_of", "{response}");
    assert!(response["result"]["node_id"].as_str().unwrap().starts_with("mean_in_line-"), "{response}");

    let details: Vec<Value> = client
        .log()
        .iter()
        .filter(|m| m["method"] == "codeEvolver/stage")
        .map(|m| m["params"]["detail"].clone())
        .collect();
    let named: Vec<&str> = details.iter().filter(|d| d["type"] == "step").filter_map(|d| d["name"].as_str()).collect();
    assert_eq!(named, ["parse_numbers", "mean_of"], "{details:?}");

    let doc = client.doc(&uri);
    for def in ["def parse_numbers(", "def mean_of(", "def mean_in_line("] {
        assert_eq!(doc.text.matches(def).count(), 1, "{def} once in:\n{}", doc.text);
    }
    assert!(doc.text.ends_with("\nprint('end')\n"), "{}", doc.text);
    python_file_passes(&doc.text, "assert evolved.mean_in_line('t=1 u=3') == 2.0");
    let report =
        client.request("workspace/executeCommand", json!({"command": "codeEvolver.showReport", "arguments": []})).await;
    let markdown = report["result"]["markdown"].as_str().unwrap_or_default();
    assert!(markdown.contains("## Workflow") && markdown.contains("`parse_numbers(text: str) -> list`"), "{report}");
    client.shutdown().await;
}

/// A script whose code stage answers after `delay_ms`, so that the test can act mid-way.
fn slow_code_script(delay_ms: u64) -> Script {
    Script::new()
        .on("classify", fixtures::classify("arithmetic", "simple"))
        .on("plan", fixtures::add_spec())
        .rule(Rule { stage: Some("code".into()), replies: vec![fixtures::code(ADD)], delay_ms, ..Default::default() })
}

/// Waits until the job just started reaches the generate stage; returns its progress token.
async fn wait_for_generate(client: &mut LspClient) -> Value {
    let create = client.wait_for(|m| m["method"] == "window/workDoneProgress/create", LONG).await;
    let token = create["params"]["token"].clone();
    client
        .wait_for(
            |m| {
                m["method"] == "$/progress"
                    && m["params"]["token"] == token
                    && m["params"]["value"]["message"].as_str().is_some_and(|s| s.starts_with("generate"))
            },
            LONG,
        )
        .await;
    token
}

fn edits_applied(client: &LspClient) -> usize {
    client.log().iter().filter(|m| m["method"] == "workspace/applyEdit").count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_mid_way_leaves_the_document_alone() {
    let server = ScriptedServer::start(slow_code_script(4000)).await.unwrap();
    let env = forgetful(&server.url);
    let mut client = started(&env, Value::Null).await;
    let uri = uri_in(&env, "calc.py");
    let text = "# evolve: add two numbers\n";
    client.open(&uri, text).await;
    let action = evolve_action(&mut client, &uri, 0).await;

    // 1. The command answers at once with the job's token (the request never waits on the job);
    //    `codeEvolver.cancel` with that token stops that job.
    let id = execute(&mut client, &action).await;
    let answer = client.response(id, Duration::from_secs(5)).await;
    let job_token = answer["result"]["token"].as_str().unwrap_or_else(|| panic!("{answer}")).to_string();
    assert_eq!(answer["result"]["started"], true, "{answer}");
    assert!(!client.log_text().contains("\"generate: "), "answered before the job got anywhere");
    wait_for_generate(&mut client).await;
    let cancelled = client
        .request(
            "workspace/executeCommand",
            json!({"command": "codeEvolver.cancel", "arguments": [{"token": job_token}]}),
        )
        .await;
    assert_eq!(cancelled["result"]["cancelled"][0]["token"], job_token.as_str(), "{cancelled}");
    let done = client
        .wait_for(|m| m["method"] == "codeEvolver/jobDone" && m["params"]["token"] == job_token.as_str(), LONG)
        .await;
    assert_eq!((done["params"]["ok"].as_bool(), done["params"]["cancelled"].as_bool()), (Some(false), Some(true)));

    // 2. The cancel button of the progress UI.
    let id = execute(&mut client, &action).await;
    let token = wait_for_generate(&mut client).await;
    client.notify("window/workDoneProgress/cancel", json!({"token": token})).await;
    let response = client.job_result(id, LONG).await;
    assert_eq!(response["result"], Value::Null, "{response}");

    // 3. The codeEvolver.cancel command.
    let id = execute(&mut client, &action).await;
    wait_for_generate(&mut client).await;
    let cancelled =
        client.request("workspace/executeCommand", json!({"command": "codeEvolver.cancel", "arguments": []})).await;
    assert_eq!(cancelled["result"]["cancelled"].as_array().unwrap().len(), 1, "{cancelled}");
    let response = client.job_result(id, LONG).await;
    assert_eq!(response["result"], Value::Null, "{response}");

    // Notifications may trail the responses: wait for the third job's end.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let ends: Vec<Value> = client
        .log()
        .into_iter()
        .filter(|m| m["method"] == "$/progress" && m["params"]["value"]["kind"] == "end")
        .collect();
    assert_eq!(ends.len(), 3, "every job's progress ended: {ends:?}");
    assert!(ends.iter().all(|e| e["params"]["value"]["message"] == "cancelled"), "{ends:?}");
    assert_eq!(edits_applied(&client), 0, "no edit after a cancel:\n{}", client.log_text());
    assert_eq!(client.doc(&uri).text, text);
    client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_typed_during_an_evolve_is_never_overwritten() {
    let server = ScriptedServer::start(slow_code_script(2500)).await.unwrap();
    let env = forgetful(&server.url);
    let mut client = started(&env, Value::Null).await;
    let uri = uri_in(&env, "calc.py");
    client.open(&uri, "x = 1\n# evolve: add two numbers\ny = 2\n").await;
    let action = evolve_action(&mut client, &uri, 1).await;

    // Lines added above the comment and at the end while the model works: the code still goes
    // right below the comment and the new lines stay.
    let id = execute(&mut client, &action).await;
    wait_for_generate(&mut client).await;
    client.edit(&uri, "import os\n\nx = 1\n# evolve: add two numbers\ny = 2\nz = 3\n").await;
    let response = client.job_result(id, LONG).await;
    assert!(response.get("error").is_none(), "{response}");
    let text = client.doc(&uri).text;
    assert!(text.starts_with("import os\n\nx = 1\n# evolve: add two numbers\n# evolved: add-"), "{text}");
    assert!(text.ends_with(&format!("{ADD}y = 2\nz = 3\n")), "{text}");

    // The comment deleted meanwhile: nothing is inserted and the user is told why.
    client.open(&uri, "# evolve: add two numbers\n").await;
    let action = evolve_action(&mut client, &uri, 0).await;
    let before = edits_applied(&client);
    let id = execute(&mut client, &action).await;
    wait_for_generate(&mut client).await;
    client.edit(&uri, "# something else entirely\n").await;
    let response = client.job_result(id, LONG).await;
    assert_eq!(response["result"], Value::Null, "{response}");
    let message = client
        .wait_for(|m| m["method"] == "window/showMessage" && m["params"]["type"] == 1, Duration::from_secs(10))
        .await;
    let text = message["params"]["message"].as_str().unwrap();
    assert!(text.contains("no longer in the document") && text.contains("code-evolver show add-"), "{text}");
    assert_eq!(edits_applied(&client), before);
    assert_eq!(client.doc(&uri).text, "# something else entirely\n");
    client.shutdown().await;
}

const SLOW_TOTAL: &str = "def total(n):\n    \"\"\"Sum of 0..n.\"\"\"\n    s = 0\n    for i in range(n + 1):\n        s += i\n    return s\n";
const FAST_TOTAL: &str = "def total(n):\n    \"\"\"Sum of 0..n.\"\"\"\n    return n * (n + 1) // 2\n";

fn total_spec(expected_for_5: i64) -> Value {
    json!({
        "problem": "Sum the integers from 0 to n.",
        "requirements": ["return 0 + 1 + ... + n"],
        "limits": "O(n)",
        "plan": ["add them up"],
        "function": { "name": "total", "parameters": [ { "name": "n", "type": "int" } ], "returns": "int" },
        "task_input": { "n": 5 },
        "example_output": expected_for_5,
        "test_cases": [
            { "name": "five", "input": { "n": 5 }, "expected": expected_for_5, "check": "equals" },
            { "name": "zero", "input": { "n": 0 }, "expected": 0, "check": "equals" },
            { "name": "hundred", "input": { "n": 100 }, "expected": 5050, "check": "equals" }
        ],
        "benchmark_input": { "n": 20000 },
        "tools": []
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn optimize_replaces_a_function_only_with_a_faster_one_and_write_tests_makes_a_file() {
    // The spec's expected value for n=5 is wrong on purpose: optimize must take the original's
    // outputs as the reference, and write-tests must report the disagreement.
    let script = Script::new()
        .on("plan", total_spec(16))
        .on("optimize", fixtures::faster(FAST_TOTAL, "closed form instead of a loop"));
    let server = ScriptedServer::start(script).await.unwrap();
    let env = TestEnv::with_ollama(&server.url);
    env.write_config(
        &base_config("ollama", &format!("url: \"{}\"", server.url)).replace("iterations: 0", "iterations: 1"),
    );
    let mut client = started(&env, Value::Null).await;
    let uri = uri_in(&env, "sums.py");
    let text = format!("import math\n\n\n{SLOW_TOTAL}\n\nprint(total(3))\n");
    std::fs::write(env.workspace.path().join("sums.py"), &text).unwrap();
    client.open(&uri, &text).await;

    let at = json!({"line": 5, "character": 4});
    let actions = client
        .request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": uri}, "range": {"start": at, "end": at}, "context": {"diagnostics": []}}),
        )
        .await;
    let titles: Vec<&str> =
        actions["result"].as_array().unwrap().iter().map(|a| a["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Evolve: optimize total", "Evolve: write tests for total"]);

    let optimize = &actions["result"][0];
    let id = execute(&mut client, optimize).await;
    let response = client.job_result(id, LONG).await;
    assert_eq!(response["result"]["replaced"], true, "{response}\n{}", client.log_text());
    let doc = client.doc(&uri);
    assert_eq!(doc.text, format!("import math\n\n\n{FAST_TOTAL}\n\nprint(total(3))\n"));
    let score = response["result"]["report"]["optimization"]["score"].as_f64().unwrap();
    assert!(score > 2.0, "{response}");

    // Tests for the (now fast) function, from the spec: the wrong case fails, and says so.
    std::fs::write(env.workspace.path().join("sums.py"), &doc.text).unwrap();
    let write_tests = &actions["result"][1];
    let id = execute(&mut client, write_tests).await;
    let response = client.job_result(id, LONG).await;
    let result = &response["result"];
    assert_eq!((result["passed"].as_u64(), result["total"].as_u64()), (Some(2), Some(3)), "{response}");
    let path = std::path::PathBuf::from(result["path"].as_str().unwrap());
    assert_eq!(path, env.workspace.path().join("test_total.py"));
    let tests = std::fs::read_to_string(&path).unwrap();
    assert!(tests.contains("from sums import total"), "{tests}");
    let pytest = std::process::Command::new(support::python())
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "test_total.py"])
        .current_dir(env.workspace.path())
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&pytest.stdout);
    assert!(out.contains("1 failed, 2 passed"), "{out}");
    // A second run never overwrites the first file.
    let id = execute(&mut client, write_tests).await;
    let response = client.job_result(id, LONG).await;
    assert!(response["result"]["path"].as_str().unwrap().ends_with("test_total_2.py"), "{response}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), tests);
    client.shutdown().await;
}

/// A server with an evolve at its generate stage (the model answers in 3 s).
async fn evolve_in_flight() -> (ScriptedServer, TestEnv, LspClient) {
    let server = ScriptedServer::start(slow_code_script(3000)).await.unwrap();
    let env = forgetful(&server.url);
    let mut client = started(&env, Value::Null).await;
    let uri = uri_in(&env, "calc.py");
    client.open(&uri, "# evolve: add two numbers\n").await;
    let action = evolve_action(&mut client, &uri, 0).await;
    execute(&mut client, &action).await;
    wait_for_generate(&mut client).await;
    (server, env, client)
}

/// The server ended within 2 s of `since` and the model server hears nothing more from it.
async fn ended_promptly(server: &ScriptedServer, since: std::time::Instant) {
    assert!(since.elapsed() < Duration::from_secs(2), "exit took {:?}", since.elapsed());
    let calls = server.requests().len();
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(server.requests().len(), calls, "model calls after the server exited");
}

/// The editor goes away mid-evolve: the server exits within 2 s and makes no more model calls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_closes_stdin_mid_evolve_ends_the_work() {
    let (server, _env, client) = evolve_in_flight().await;
    let since = std::time::Instant::now();
    let code = client.close_and_wait(Duration::from_secs(10)).await;
    assert!(code.is_some(), "the server did not exit");
    ended_promptly(&server, since).await;
}

/// SIGTERM mid-evolve: the server exits within 2 s and makes no more model calls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_evolve_ends_the_server() {
    let (server, _env, client) = evolve_in_flight().await;
    let since = std::time::Instant::now();
    // SAFETY: kill has no preconditions; the pid is our own child's.
    unsafe { libc::kill(client.pid() as i32, libc::SIGTERM) };
    let code = client.wait_exit(Duration::from_secs(10)).await;
    assert_eq!(code, Some(0), "SIGTERM is an orderly end");
    ended_promptly(&server, since).await;
}

/// An editor that never answers `workspace/applyEdit`: the job ends within the bound, says where
/// the verified node is kept, and leaves the job list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_editor_that_never_answers_the_edit_does_not_hold_the_job() {
    let server = ScriptedServer::start(slow_code_script(0)).await.unwrap();
    let env = forgetful(&server.url);
    let mut client = started(&env, Value::Null).await;
    let uri = uri_in(&env, "calc.py");
    client.open(&uri, "# evolve: add two numbers\n").await;
    client.ignore_edits();
    let action = evolve_action(&mut client, &uri, 0).await;
    let started = std::time::Instant::now();
    let id = execute(&mut client, &action).await;
    client.job_result(id, Duration::from_secs(90)).await;
    let shown = client.wait_for(|m| m["method"] == "window/showMessage", Duration::from_secs(5)).await.to_string();
    assert!(shown.contains("did not answer the edit within 30 s"), "{shown}");
    assert!(shown.contains("code-evolver show add-"), "where the node is kept: {shown}");
    assert!(started.elapsed() < Duration::from_secs(60), "took {:?}", started.elapsed());
    let status =
        client.request("workspace/executeCommand", json!({"command": "codeEvolver.status", "arguments": []})).await;
    assert!(!status.to_string().contains("calc.py"), "the job is gone: {status}");
    client.shutdown().await;
}

/// Twenty evolves of one task comment at once: one runs, the others are refused, one block lands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_evolves_of_one_comment_insert_one_block() {
    let server = ScriptedServer::start(slow_code_script(1000)).await.unwrap();
    let env = forgetful(&server.url);
    let mut client = started(&env, Value::Null).await;
    let uri = uri_in(&env, "calc.py");
    client.open(&uri, "# evolve: add two numbers\n").await;
    let action = evolve_action(&mut client, &uri, 0).await;
    let mut ids = Vec::new();
    for _ in 0..20 {
        ids.push(execute(&mut client, &action).await);
    }
    let mut refused = 0;
    let mut started = Vec::new();
    for id in ids {
        let response = client.response(id, Duration::from_secs(5)).await;
        if response["error"]["message"].as_str().is_some_and(|m| m.contains("already running")) {
            refused += 1;
        } else {
            started.push(response["result"]["token"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(refused, 19);
    client
        .wait_for(|m| m["method"] == "codeEvolver/jobDone" && m["params"]["token"] == started[0].as_str(), LONG)
        .await;
    let text = client.doc(&uri).text;
    assert_eq!(text.matches("# evolved:").count(), 1, "{text}");
    client.shutdown().await;
}

/// Many long jobs at once: beyond the cap they are refused, and the server keeps answering
/// other requests (and cancels) while they run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_jobs_never_starve_other_requests() {
    let server = ScriptedServer::start(slow_code_script(4000)).await.unwrap();
    let env = forgetful(&server.url);
    let mut client = started(&env, Value::Null).await;
    let uri = uri_in(&env, "many.py");
    let text: String = (0..24).map(|i| format!("# evolve: add two numbers, variant {i}\n\n")).collect();
    client.open(&uri, &text).await;
    let mut ids = Vec::new();
    for i in 0..24u32 {
        ids.push(
            client
                .send(
                    "workspace/executeCommand",
                    json!({"command": "codeEvolver.evolve", "arguments": [{"uri": uri, "line": i * 2}]}),
                )
                .await,
        );
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let asked = std::time::Instant::now();
    let hover = client
        .request("textDocument/hover", json!({"textDocument": {"uri": uri}, "position": {"line": 1, "character": 0}}))
        .await;
    assert!(hover.get("error").is_none(), "{hover}");
    assert!(asked.elapsed() < Duration::from_secs(2), "hover took {:?}", asked.elapsed());
    let cancel =
        client.request("workspace/executeCommand", json!({"command": "codeEvolver.cancel", "arguments": []})).await;
    assert!(cancel["result"]["cancelled"].as_array().is_some_and(|c| !c.is_empty()), "{cancel}");
    let mut refused = 0;
    for id in ids {
        // Every command answers at once: refused beyond the cap, or started.
        let response = client.response(id, Duration::from_secs(5)).await;
        if response["error"]["message"].as_str().is_some_and(|m| m.contains("jobs are running already")) {
            refused += 1;
        }
    }
    assert!(refused >= 8, "{refused} refused of 24 (the cap is 16)");
    client.shutdown().await;
}
