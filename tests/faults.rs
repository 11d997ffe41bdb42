//! What goes wrong: endpoints that refuse, fail, hang, talk garbage or cut their stream; budgets;
//! cancellation; bad configuration; nodes that never stop.

mod support;

use support::{TestEnv, base_config, refused_url};
use testkit::scripted_model::fixtures::{self, ADD};
use testkit::scripted_model::{Fault, Rule, Script, ScriptedServer};

fn two_endpoint_config(first: &str, second: &str, timeout_s: f64) -> String {
    format!(
        "backends:\n  ollama:\n    kind: ollama\n    endpoints:\n      - {{ url: \"{first}\", timeout_s: {timeout_s} }}\n      - \"{second}\"\n    retries: 0\n    fallback: null\n\
         pipeline:\n  analysis:\n    linters: []\n  optimize:\n    iterations: 0\n    skip_below_ns: 0\n  consensus:\n    samples: 0\n    probe: 0\n  mutation:\n    extend: false\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fails_over_from_a_refusing_endpoint() {
    let good = ScriptedServer::start(fixtures::arithmetic_script()).await.unwrap();
    let env = TestEnv::new();
    env.write_config(&two_endpoint_config(&refused_url(), &good.url, 5.0));
    let run = env.run(&["evolve", "add 10 and 20"]).await;
    run.assert_ok();
    assert_eq!(run.result().as_deref(), Some("30"));
    assert!(run.stdout.contains("failed over"), "{}", run.all());
    assert!(run.stdout.contains("connection refused"), "{}", run.all());
    // Round-robin: each of the three calls started on the next endpoint, so the good one got all.
    assert_eq!(good.requests().iter().filter(|r| r.path == "/api/chat").count(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fails_over_from_500_hang_garbage_and_cut_streams() {
    for (fault, marker) in [
        (Fault::ServerError, "server error 500"),
        (Fault::Hang, "no answer within 1.0 s"),
        (Fault::Garbage, "unreadable answer"),
        (Fault::Cut, "the stream ended before the answer was complete"),
    ] {
        let bad = ScriptedServer::start(Script::new().with_fault(fault)).await.unwrap();
        let good = ScriptedServer::start(fixtures::arithmetic_script()).await.unwrap();
        let env = TestEnv::new();
        env.write_config(&two_endpoint_config(&bad.url, &good.url, 1.0));
        let run = env.run(&["evolve", "add 10 and 20"]).await;
        run.assert_ok();
        assert_eq!(run.result().as_deref(), Some("30"), "{fault:?}: {}", run.all());
        assert!(run.stdout.contains(marker), "{fault:?} is reported as `{marker}`:\n{}", run.all());
        assert!(!bad.requests().is_empty(), "{fault:?}: the faulty endpoint was tried");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_down_is_a_clear_error() {
    let env = TestEnv::with_ollama(&refused_url());
    let run = env.run(&["evolve", "add 10 and 20"]).await;
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("model call for role classifier failed on every endpoint"), "{}", run.all());
    assert!(run.stderr.contains("connection refused"), "{}", run.all());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_budget_stops_an_evolve() {
    let script = Script::new()
        .on("classify", fixtures::classify("arithmetic", "simple"))
        .rule(Rule {
            stage: Some("plan".into()),
            replies: vec![fixtures::add_spec()],
            completion_tokens: Some(5000),
            ..Default::default()
        })
        .on("code", fixtures::code(ADD));
    let server = ScriptedServer::start(script).await.unwrap();
    let env = TestEnv::with_ollama(&server.url).set("CODE_EVOLVER_LIMITS__EVOLVE_TOKENS", "2000");
    let run = env.run(&["evolve", "add 10 and 20"]).await;
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("budget exhausted"), "{}", run.all());
    assert!(run.stderr.contains("limits.evolve_tokens"), "says which limit:\n{}", run.all());
    // The plan was paid for; nothing after it was asked.
    assert!(server.requests_for("code").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_cancels_an_evolve_and_saves_nothing() {
    let script = Script::new()
        .on("classify", fixtures::classify("arithmetic", "simple"))
        .on("plan", fixtures::add_spec())
        .rule(Rule {
            stage: Some("code".into()),
            replies: vec![fixtures::code(ADD)],
            delay_ms: 30_000,
            ..Default::default()
        });
    let server = ScriptedServer::start(script).await.unwrap();
    let env = TestEnv::with_ollama(&server.url);
    let child = env
        .command(&["evolve", "add 10 and 20"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id().unwrap() as i32;
    // Wait until the generator is being asked, then interrupt.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while server.requests_for("code").is_empty() {
        assert!(std::time::Instant::now() < deadline, "the evolve never reached the generator");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let started = std::time::Instant::now();
    unsafe { libc::kill(pid, libc::SIGINT) };
    let out = tokio::time::timeout(std::time::Duration::from_secs(10), child.wait_with_output())
        .await
        .expect("exits soon after Ctrl-C")
        .unwrap();
    let run = support::Run::from(out);
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "cancelled promptly");
    assert_eq!(run.code, 130, "{}", run.all());
    assert!(run.stderr.contains("cancelled: nothing was saved"), "{}", run.all());
    let list = env.run(&["list"]).await;
    assert!(list.stdout.contains("no nodes yet"), "{}", list.all());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_loops_forever_is_killed_at_its_timeout() {
    let endless = "def add(a: int, b: int) -> int:\n    total = a + b\n    while total or True:\n        pass\n";
    let script = Script::new()
        .on("classify", fixtures::classify("arithmetic", "simple"))
        .on("plan", fixtures::add_spec())
        .on("code", fixtures::code(endless));
    let server = ScriptedServer::start(script).await.unwrap();
    let env = TestEnv::with_ollama(&server.url)
        .set("CODE_EVOLVER_LIMITS__NODE_TIMEOUT_S", "1.5")
        .set("CODE_EVOLVER_PIPELINE__ESCALATION", "[{role: generator.fast, temperature: 0.1}]");
    let started = std::time::Instant::now();
    let run = env.run(&["evolve", "add 10 and 20"]).await;
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stdout.contains("killed at its timeout of 1.5 s (every process of the run killed)"), "{}", run.all());
    assert!(run.stderr.contains("loops forever"), "the failure says why:\n{}", run.all());
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_code_cannot_reach_the_network_or_write_outside_its_dir() {
    let target = tempfile::tempdir().unwrap();
    let forbidden = target.path().join("escaped.txt");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let nosy = format!(
        "import socket\n\n\ndef add(a: int, b: int) -> int:\n    try:\n        socket.create_connection((\"127.0.0.1\", {port}), timeout=1)\n        return -1\n    except OSError:\n        pass\n    try:\n        with open(\"{}\", \"w\") as f:\n            f.write(\"x\")\n        return -2\n    except OSError:\n        return a + b\n",
        forbidden.display()
    );
    let script = Script::new()
        .on("classify", fixtures::classify("arithmetic", "simple"))
        .on("plan", fixtures::add_spec())
        .on("code", fixtures::code(&nosy));
    let server = ScriptedServer::start(script).await.unwrap();
    let env = TestEnv::with_ollama(&server.url);
    let run = env.run(&["evolve", "add 10 and 20"]).await;
    run.assert_ok();
    assert_eq!(run.result().as_deref(), Some("30"), "the connection and the write were both refused:\n{}", run.all());
    assert!(!forbidden.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_config_names_file_line_and_key() {
    let env = TestEnv::new();
    env.write_config(
        "backends:\n  ollama:\n    kind: ollama\n    url: \"http://127.0.0.1:1\"\nlimits:\n  node_timeout_s: soon\n",
    );
    let run = env.run(&["evolve", "add 10 and 20"]).await;
    assert_eq!(run.code, 2, "{}", run.all());
    let path = env.config_path().display().to_string();
    assert!(run.stderr.contains(&format!("{path} line 6")), "{}", run.all());
    assert!(run.stderr.contains("limits.node_timeout_s"), "{}", run.all());

    env.write_config("backends:\n  ollama:\n    kind: ollama\n    url: \"http://127.0.0.1:1\"\n    enpoints: []\n");
    let run = env.run(&["status"]).await;
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains(&format!("{path} line 5")), "{}", run.all());
    assert!(run.stderr.contains("unknown field `enpoints`"), "{}", run.all());

    env.write_config("roles:\n  overseer:\n    backend: gpu-box\n");
    let run = env.run(&["evolve", "add 10 and 20"]).await;
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains(&format!("{path} line 3")), "{}", run.all());
    assert!(run.stderr.contains("no backend named `gpu-box`"), "{}", run.all());

    env.write_config("backends:\n  ollama:\n    endpoints: [\"gpu-1:11434\"]\n");
    let run = env.run(&["evolve", "add 10 and 20"]).await;
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("must be an http:// or https:// URL"), "{}", run.all());

    let bad_env = TestEnv::new().set("CODE_EVOLVER_LIMITS__NODE_MEMORY_MB", "lots");
    let run = bad_env.run(&["evolve", "add 10 and 20"]).await;
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("environment (CODE_EVOLVER_*)"), "{}", run.all());
    assert!(run.stderr.contains("limits.node_memory_mb"), "{}", run.all());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_prototypes_config_shape_is_accepted() {
    let server = ScriptedServer::start(fixtures::arithmetic_script()).await.unwrap();
    let env = TestEnv::new();
    env.write_config(&format!(
        "ollama:\n  base_url: \"{}\"\n  models:\n    generator:\n      model: \"codellama\"\n    triage:\n      model: \"gemma3:1b\"\n\
         testing:\n  initial_optimization_iterations: 0\nauto_evolution:\n  enabled: true\npipeline:\n  analysis:\n    linters: []\n",
        server.url
    ));
    let run = env.run(&["evolve", "add 10 and 20"]).await;
    run.assert_ok();
    assert_eq!(run.result().as_deref(), Some("30"));
    // The prototype's auto_evolution section is honoured now: no warning.
    assert!(!run.stderr.contains("`auto_evolution` section"), "{}", run.all());
    assert_eq!(server.requests_for("code")[0].model, "codellama");
    assert_eq!(server.requests_for("classify")[0].model, "gemma3:1b");
    // A role the prototype did not name keeps its default model, on the prototype's base URL.
    assert_eq!(server.requests_for("plan")[0].model, "qwen2.5-coder:1.5b");
}

/// A server that drips one token every 3 s: the idle limit (1 s here) ends the call, not the
/// whole-call timeout (60 s), and the evolve says what happened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_drips_tokens_is_cut_off_by_the_idle_limit() {
    let mut script = fixtures::arithmetic_script();
    script.chunk_delay_ms = 3000;
    let server = ScriptedServer::start(script).await.unwrap();
    let env = TestEnv::new();
    env.write_config(
        &base_config("ollama", &format!("url: \"{}\"", server.url))
            .replace("timeout_s: 5", "timeout_s: 60\n    idle_timeout_s: 1"),
    );
    let started = std::time::Instant::now();
    let run = env.run(&["evolve", "add 10 and 20"]).await;
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("classifier"), "{}", run.all());
    assert!(run.stderr.contains("no answer within 1.0 s"), "says it stalled:\n{}", run.all());
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "took {:?}", started.elapsed());
}

/// A server whose grammar engine refuses the stage's JSON schema: the stage is asked again
/// without it (and the answer parsed as usual) instead of failing, over both wire formats.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_json_schema_is_retried_without_it() {
    for (kind, path) in [("ollama", ""), ("openai", "/v1")] {
        let mut script = fixtures::arithmetic_script();
        script.reject_schema = true;
        let server = ScriptedServer::start(script).await.unwrap();
        let env = TestEnv::new();
        env.write_config(&base_config(kind, &format!("url: \"{}{path}\"", server.url)));
        let run = env.run(&["evolve", "--no-memory", "add 10 and 20"]).await;
        run.assert_ok();
        assert_eq!(run.result().as_deref(), Some("30"), "{kind}: {}", run.all());
        assert!(run.all().contains("asked again without the JSON schema"), "{kind}: {}", run.all());
    }
}
