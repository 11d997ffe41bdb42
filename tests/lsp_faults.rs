//! The language server under malformed input and an ending client: it answers what JSON-RPC says
//! for each bad frame and keeps reading; its exit code follows the protocol; it exits promptly
//! when its client goes away.

mod support;

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::{TestEnv, base_config};
use testkit::lsp_client::LspClient;

async fn started() -> (TestEnv, LspClient) {
    let env = TestEnv::new();
    env.write_config(&format!("{}memory:\n  store: off\n", base_config("ollama", "url: \"http://127.0.0.1:9\"")));
    let mut client = LspClient::start(env.command(&[]));
    let init = client.initialize(env.workspace.path(), Value::Null).await;
    assert!(init["result"]["capabilities"].is_object(), "{init}");
    (env, client)
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(body);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_messages_get_error_replies_and_the_server_keeps_serving() {
    let (_env, mut client) = started().await;
    let status = json!({"command": "codeEvolver.status", "arguments": []});
    let garbage: Vec<(&str, Vec<u8>)> = vec![
        ("bad JSON, right length", frame(b"{\"jsonrpc\": \"2.0\", \"method\": ")),
        ("no Content-Length", b"Content-Type: application/json\r\n\r\n{}".to_vec()),
        ("not a number", b"Content-Length: twelve\r\n\r\n".to_vec()),
        ("not UTF-8", frame(b"{\"jsonrpc\":\"2.0\",\"method\":\"\xff\xfe\"}")),
        ("a batch", frame(br#"[{"jsonrpc":"2.0","method":"initialized","params":{}}]"#)),
        ("an empty object", frame(b"{}")),
        ("a wrong method type", frame(br#"{"jsonrpc":"2.0","id":77,"method":5}"#)),
        ("a header line of 20 kB", [vec![b'X'; 20_000], b"\r\n\r\n".to_vec()].concat()),
        ("Content-Length: 9999999999", b"Content-Length: 9999999999\r\n\r\n".to_vec()),
    ];
    for (what, bytes) in &garbage {
        client.send_raw(bytes).await;
        // Still serving: a real request right after each one is answered.
        let answer =
            tokio::time::timeout(Duration::from_secs(20), client.request("workspace/executeCommand", status.clone()))
                .await
                .unwrap_or_else(|_| panic!("no answer after {what}"));
        assert!(answer.get("result").is_some(), "after {what}: {answer}");
    }
    // Error replies are written by the transport, beside the framework's answers: the last one
    // may trail the last status answer by a moment on a loaded machine.
    let error_replies = |client: &LspClient| -> Vec<Value> {
        client.log().into_iter().filter(|m| m.get("error").is_some() && m.get("method").is_none()).collect()
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while error_replies(&client).len() < garbage.len() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let errors = error_replies(&client);
    assert!(errors.len() >= garbage.len(), "one error reply per bad frame: {errors:#?}");
    assert!(errors.iter().any(|e| e["error"]["code"] == -32700), "{errors:?}");
    assert!(errors.iter().any(|e| e["error"]["code"] == -32600 && e["id"] == 77), "{errors:?}");
    assert!(errors.iter().any(|e| e["error"]["message"].as_str().unwrap_or("").contains("64 MiB")), "{errors:?}");
    let _ = client.request("shutdown", Value::Null).await;
    client.notify("exit", Value::Null).await;
    assert_eq!(client.wait_exit(Duration::from_secs(5)).await, Some(0), "exit after shutdown is 0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_without_shutdown_is_exit_code_1() {
    let (_env, client) = started().await;
    client.notify("exit", Value::Null).await;
    assert_eq!(client.wait_exit(Duration::from_secs(5)).await, Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_stdin_ends_the_server_within_2_s() {
    let (_env, client) = started().await;
    let started = Instant::now();
    let code = client.close_and_wait(Duration::from_secs(10)).await;
    assert!(code.is_some(), "the server did not exit");
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_command_arguments_are_refused_not_misread() {
    let (env, mut client) = started().await;
    let uri = format!("file://{}", env.workspace.path().join("calc.py").display());
    client.open(&uri, "# evolve: add two numbers\n").await;
    let refused = |answer: &Value| answer["error"]["code"] == -32602;
    // A line past u32 is not line 1.
    let far = client
        .request(
            "workspace/executeCommand",
            json!({"command": "codeEvolver.evolve", "arguments": [{"uri": uri, "line": 4_294_967_297u64}]}),
        )
        .await;
    assert!(refused(&far), "{far}");
    // A range that ends before it starts.
    let inverted = client
        .request(
            "workspace/executeCommand",
            json!({"command": "codeEvolver.evolve", "arguments": [{"uri": uri, "range": {
                "start": {"line": 0, "character": 9}, "end": {"line": 0, "character": 2}}}]}),
        )
        .await;
    assert!(refused(&inverted), "{inverted}");
    // A cancel with a token that is not a token cancels nothing.
    for token in [json!(5), Value::Null] {
        let cancel = client
            .request(
                "workspace/executeCommand",
                json!({"command": "codeEvolver.cancel", "arguments": [{"token": token}]}),
            )
            .await;
        assert!(refused(&cancel), "{cancel}");
    }
    let all =
        client.request("workspace/executeCommand", json!({"command": "codeEvolver.cancel", "arguments": []})).await;
    assert_eq!(all["result"]["cancelled"], json!([]), "{all}");
    client.shutdown().await;
}

/// A large file's syntax tree is parsed off the request path: requests answer at once, and the
/// function under the cursor is found once the parse is in, and again after an edit shifts it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_file_is_parsed_off_the_request_path_and_kept_up_to_date() {
    let (env, mut client) = started().await;
    let uri = format!("file://{}", env.workspace.path().join("big.py").display());
    let mut text = String::from("import math\n\n\n");
    for i in 0..8000 {
        text.push_str(&format!(
            "def step_{i}(values):\n    \"\"\"Sum number {i}.\n\nnot code: def fake_{i}():\n\"\"\"\n    return sum(values) + {i}\n\n\n"
        ));
    }
    assert!(text.len() > 256 * 1024, "large enough to be parsed in the background");
    client.open(&uri, &text).await;
    let actions_at = |line: u32| {
        let at = json!({"line": line, "character": 4});
        json!({"textDocument": {"uri": uri}, "range": {"start": at, "end": at}, "context": {"diagnostics": []}})
    };
    // Line 3 + 8*10 + 5: the `return` of step_10 (its docstring has a line at column 0).
    let line = 3 + 8 * 10 + 5;
    let titles = |answer: &Value| -> Vec<String> {
        answer["result"]
            .as_array()
            .map(|a| a.iter().map(|x| x["title"].as_str().unwrap_or("").to_string()).collect())
            .unwrap_or_default()
    };
    let mut found = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let asked = Instant::now();
        let answer = client.request("textDocument/codeAction", actions_at(line)).await;
        assert!(asked.elapsed() < Duration::from_millis(500), "codeAction took {:?}", asked.elapsed());
        found = titles(&answer);
        if !found.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(found.contains(&"Evolve: optimize step_10".to_string()), "{found:?}");
    // Two lines inserted at the top: the same function is two lines further down.
    client
        .notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{
                "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
                "text": "import os\nimport re\n"}]}),
        )
        .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let answer = client.request("textDocument/codeAction", actions_at(line + 2)).await;
        found = titles(&answer);
        if found.contains(&"Evolve: optimize step_10".to_string()) || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(found.contains(&"Evolve: optimize step_10".to_string()), "{found:?}");
    client.shutdown().await;
}
