//! Diagnostics from the real linters over LSP stdio: push and pull, settings, lint rounds under a
//! storm of saves and pulls, findings published per linter.

mod support;

use serde_json::{Value, json};
use std::time::Duration;
use support::{LONG, TestEnv, base_config, started, uri_in};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_linter_reports_diagnostics_push_and_pull_and_settings_apply() {
    let env = TestEnv::new();
    env.write_config(&base_config("ollama", &format!("url: \"{}\"", support::refused_url())));
    // The editor's settings choose the linters (initializationOptions).
    let mut client =
        started(&env, json!({"codeEvolver": {"editor": {"diagnostics": ["ruff"], "lint_delay_ms": 100}}})).await;
    let uri = uri_in(&env, "lint_me.py");
    client.open(&uri, "import os\n\n\ndef f(x):\n    return x\n").await;
    let published = client
        .wait_for(|m| m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == json!(uri), LONG)
        .await;
    let diagnostics = published["params"]["diagnostics"].as_array().unwrap();
    let unused = diagnostics.iter().find(|d| d["code"] == "F401").unwrap_or_else(|| panic!("{published}"));
    assert_eq!(unused["source"], "ruff");
    assert_eq!(unused["range"]["start"]["line"], 0);
    assert_eq!(published["params"]["version"], 1);

    // A change is linted again after the quiet delay.
    client.edit(&uri, "def f(x):\n    return x\n").await;
    let published = client
        .wait_for(
            |m| m["method"] == "textDocument/publishDiagnostics" && m["params"]["version"] == 2,
            Duration::from_secs(60),
        )
        .await;
    assert_eq!(published["params"]["diagnostics"], json!([]), "{published}");

    // Pull diagnostics on the current text.
    client.edit(&uri, "import sys\n").await;
    let pulled = client.request("textDocument/diagnostic", json!({"textDocument": {"uri": uri}})).await;
    let items = pulled["result"]["items"].as_array().unwrap_or_else(|| panic!("{pulled}"));
    assert!(items.iter().any(|d| d["code"] == "F401" && d["source"] == "ruff"), "{pulled}");

    // Bad settings are refused with the key at fault; the old ones stay in force.
    client
        .notify(
            "workspace/didChangeConfiguration",
            json!({"settings": {"codeEvolver": {"editor": {"diagnostics": ["lintzilla"]}}}}),
        )
        .await;
    let message = client.wait_for(|m| m["method"] == "window/showMessage", Duration::from_secs(30)).await;
    let text = message["params"]["message"].as_str().unwrap();
    assert!(text.contains("editor.diagnostics") && text.contains("lintzilla"), "{text}");
    client.edit(&uri, "import json\n").await;
    let pulled = client.request("textDocument/diagnostic", json!({"textDocument": {"uri": uri}})).await;
    assert!(pulled["result"]["items"].as_array().unwrap().iter().any(|d| d["code"] == "F401"), "{pulled}");
    // Good settings apply: no linters, no diagnostics.
    client.notify("workspace/didChangeConfiguration", json!({"settings": {"editor": {"diagnostics": []}}})).await;
    client.edit(&uri, "import re\n").await;
    let pulled = client.request("textDocument/diagnostic", json!({"textDocument": {"uri": uri}})).await;
    assert_eq!(pulled["result"]["items"], json!([]), "{pulled}");
    client.shutdown().await;
}

/// Processes of `parent` whose command line mentions the lint scratch dir.
fn linter_processes(parent: u32) -> usize {
    let mut count = 0;
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        let ppid: Option<u32> =
            stat.rsplit(')').next().and_then(|rest| rest.split_whitespace().nth(1)).and_then(|p| p.parse().ok());
        if ppid != Some(parent) {
            continue;
        }
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains("code-evolver-lint-") {
            count += 1;
        }
    }
    count
}

/// A storm of saves and pulls: one lint round per document at a time, rounds capped, requests
/// answered meanwhile, and the last version's diagnostics arrive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lint_storm_runs_one_round_per_document_and_never_blocks_requests() {
    let env = TestEnv::new();
    env.write_config(&base_config("ollama", &format!("url: \"{}\"", support::refused_url())));
    let mut client = started(
        &env,
        json!({"codeEvolver": {"editor": {"diagnostics": ["ruff", "flake8", "pylint", "mypy"], "lint_delay_ms": 100}}}),
    )
    .await;
    let uri = uri_in(&env, "storm.py");
    client.open(&uri, "import os\n\n\ndef f(x):\n    return x\n").await;
    let pid = client.pid();
    for _ in 0..30 {
        client.notify("textDocument/didSave", json!({"textDocument": {"uri": uri}})).await;
    }
    let pulls: Vec<i64> = {
        let mut ids = Vec::new();
        for _ in 0..20 {
            ids.push(client.send("textDocument/diagnostic", json!({"textDocument": {"uri": uri}})).await);
        }
        ids
    };
    let mut most = 0;
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_secs(4) {
        most = most.max(linter_processes(pid));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(most >= 1, "the linters were seen running");
    assert!(most <= 4, "{most} linter processes at once for one document (one round is 4 linters)");
    // Requests are answered while linters run.
    let asked = std::time::Instant::now();
    let at = json!({"line": 3, "character": 4});
    client
        .request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": uri}, "range": {"start": at, "end": at}, "context": {"diagnostics": []}}),
        )
        .await;
    assert!(asked.elapsed() < Duration::from_secs(2), "codeAction took {:?}", asked.elapsed());
    for id in pulls {
        let pulled = client.response(id, Duration::from_secs(120)).await;
        let items = pulled["result"]["items"].as_array().unwrap_or_else(|| panic!("{pulled}"));
        assert!(items.iter().any(|d| d["code"] == "F401"), "{pulled}");
    }
    // Rounds cut short (mypy still writing its cache) leave nothing behind once the server ends:
    // its scratch dir, where every round's copy lived, goes with it.
    let scratch = std::env::temp_dir().join(format!("code-evolver.{pid}"));
    assert!(scratch.exists(), "the rounds ran under {}", scratch.display());
    client.shutdown().await;
    assert!(!scratch.exists(), "{} is left after the server ended", scratch.display());
}

/// Each linter's findings are published as it finishes: ruff's do not wait for pylint's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diagnostics_arrive_per_linter() {
    let env = TestEnv::new();
    env.write_config(&base_config("ollama", &format!("url: \"{}\"", support::refused_url())));
    let mut client =
        started(&env, json!({"codeEvolver": {"editor": {"diagnostics": ["ruff", "pylint"], "lint_delay_ms": 0}}}))
            .await;
    let uri = uri_in(&env, "per_linter.py");
    client.open(&uri, "import os\n\n\ndef f(x):\n    return x\n").await;
    let sources = |m: &Value| -> Vec<String> {
        m["params"]["diagnostics"]
            .as_array()
            .map(|d| d.iter().map(|x| x["source"].to_string()).collect())
            .unwrap_or_default()
    };
    let first = client.wait_for(|m| m["method"] == "textDocument/publishDiagnostics", LONG).await;
    assert!(sources(&first).iter().all(|s| s.contains("ruff")), "ruff alone first: {first}");
    let both = client
        .wait_for(
            |m| m["method"] == "textDocument/publishDiagnostics" && sources(m).iter().any(|s| s.contains("pylint")),
            LONG,
        )
        .await;
    assert!(sources(&both).iter().any(|s| s.contains("ruff")), "the later set keeps ruff's: {both}");
    client.shutdown().await;
}
