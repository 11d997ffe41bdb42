//! The router in process against scripted servers: round-robin, per-endpoint concurrency limits,
//! embeddings over both wire formats.

use code_evolver::config::{ConfigLoader, Layer, Role};
use code_evolver::llm::{ChatRequest, Message, Router};
use code_evolver::pipeline::budget::Budget;
use serde_json::json;
use std::time::{Duration, Instant};
use testkit::scripted_model::{Rule, Script, ScriptedServer};
use tokio_util::sync::CancellationToken;

fn router(yaml: &str) -> Router {
    let layer = Layer::from_yaml("test", yaml).unwrap();
    let config = ConfigLoader::default()
        .without_user_file()
        .without_environment()
        .workspace("/nonexistent")
        .layer(layer)
        .load()
        .unwrap();
    Router::new(&config, std::path::Path::new("/nonexistent")).unwrap()
}

fn slow_script(delay_ms: u64) -> Script {
    Script::new().rule(Rule {
        stage: Some("none".into()),
        replies: vec![json!("hello")],
        delay_ms,
        ..Default::default()
    })
}

fn ask() -> ChatRequest {
    ChatRequest { messages: vec![Message::user("hi")], ..Default::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_take_turns_and_limit_concurrent_calls() {
    let a = ScriptedServer::start(slow_script(200)).await.unwrap();
    let b = ScriptedServer::start(slow_script(200)).await.unwrap();
    let router = router(&format!(
        "backends:\n  ollama:\n    kind: ollama\n    endpoints:\n      - {{ url: \"{}\", max_concurrent: 1 }}\n      - {{ url: \"{}\", max_concurrent: 1 }}\n",
        a.url, b.url
    ));
    let budget = Budget::unlimited();
    let cancel = CancellationToken::new();
    let started = Instant::now();
    let calls = (0..4).map(|_| router.chat(Role::Content, None, ask(), &budget, &cancel));
    let results = futures_util::future::join_all(calls).await;
    let elapsed = started.elapsed();
    for r in &results {
        assert_eq!(r.as_ref().unwrap().0.text, "hello");
    }
    // Round-robin: two calls each. One at a time per endpoint: 2 × 200 ms at least.
    assert_eq!(a.requests().len(), 2);
    assert_eq!(b.requests().len(), 2);
    assert!(elapsed >= Duration::from_millis(390), "the limit of 1 concurrent call was not kept: {elapsed:?}");
    assert!(elapsed < Duration::from_millis(1500), "the endpoints served in parallel: {elapsed:?}");
    assert_eq!(budget.calls().len(), 4, "every call is recorded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_stops_a_call_in_flight() {
    let a = ScriptedServer::start(slow_script(10_000)).await.unwrap();
    let router = router(&format!("backends:\n  ollama:\n    kind: ollama\n    url: \"{}\"\n", a.url));
    let budget = Budget::unlimited();
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        trigger.cancel();
    });
    let started = Instant::now();
    let result = router.chat(Role::Content, None, ask(), &budget, &cancel).await;
    assert!(matches!(result, Err(code_evolver::llm::LlmError::Cancelled)), "{result:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embeddings_over_ollama_and_openai() {
    let server = ScriptedServer::start(Script::new()).await.unwrap();
    for kind in ["ollama", "openai"] {
        let router = router(&format!("backends:\n  ollama:\n    kind: {kind}\n    url: \"{}\"\n", server.url));
        let texts =
            vec!["parse ISO dates".to_string(), "parse ISO dates from logs".to_string(), "tell a joke".to_string()];
        let vectors = router.embed(&texts).await.unwrap();
        assert_eq!(vectors.len(), 3);
        let dot = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(a, b)| a * b).sum::<f32>();
        assert!(dot(&vectors[0], &vectors[1]) > dot(&vectors[0], &vectors[2]), "{kind}: related texts are closer");
    }
    let paths: Vec<String> = server.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths, ["/api/embed", "/v1/embeddings"]);
}
