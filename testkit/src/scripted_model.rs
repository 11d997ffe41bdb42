//! A scripted model server: a real HTTP server on 127.0.0.1 that speaks Ollama's API (`/api/chat`,
//! `/api/generate`, `/api/embed`, `/api/tags`, `/api/version`) and OpenAI's (`/v1/chat/completions`,
//! `/v1/embeddings`, `/v1/models`), streaming or not, answering from a script, with fault modes
//! (500, hang, garbage, cut stream). Every request is logged for assertions.
//!
//! Rules match on the stage (the JSON schema's `title` that code-evolver sends as Ollama's `format`
//! or OpenAI's `response_format.json_schema.name`; `code` for the code stage, which sends none;
//! `none` for other requests without a schema) and/or on text in the
//! messages. A rule's replies are used in order; the last repeats.

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Fault {
    /// HTTP 500 with an error body.
    #[serde(rename = "500")]
    ServerError,
    /// Accept the request and never answer.
    Hang,
    /// HTTP 200 with a body that is not the API's format.
    Garbage,
    /// Start streaming, then end the body before the answer is complete.
    Cut,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Rule {
    /// Schema title to match (`classify`, `plan`, `code`, `optimize`, ...; `none` for no schema).
    pub stage: Option<String>,
    /// Case-insensitive text that must occur in the messages.
    pub contains: Option<String>,
    /// Replies in order (strings are sent as they are, other JSON values serialised).
    pub replies: Vec<Value>,
    pub fault: Option<Fault>,
    pub delay_ms: u64,
    /// Completion tokens to report (default: characters / 4).
    pub completion_tokens: Option<u64>,
    /// Replies used so far.
    #[serde(skip)]
    pub used: usize,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Script {
    pub rules: Vec<Rule>,
    /// A fault for every request (after `fault_after` good ones).
    pub fault: Option<Fault>,
    pub fault_after: usize,
    /// Characters per streamed chunk.
    pub chunk_chars: usize,
    /// A pause before each streamed chunk (a server that drips tokens).
    pub chunk_delay_ms: u64,
    /// Refuse every request that carries a JSON schema (`format` / `response_format`) with 400, as
    /// grammar engines that cannot compile a large schema do.
    pub reject_schema: bool,
    /// Model names listed by /api/tags and /v1/models.
    pub models: Vec<String>,
}

impl Script {
    pub fn new() -> Self {
        Script { chunk_chars: 16, models: vec!["scripted".into()], ..Default::default() }
    }

    /// Always answer `stage` with `reply`.
    pub fn on(mut self, stage: &str, reply: Value) -> Self {
        self.rules.push(Rule { stage: Some(stage.into()), replies: vec![reply], ..Default::default() });
        self
    }

    /// Answer `stage` with each reply in turn (the last repeats).
    pub fn on_seq(mut self, stage: &str, replies: Vec<Value>) -> Self {
        self.rules.push(Rule { stage: Some(stage.into()), replies, ..Default::default() });
        self
    }

    /// Answer requests whose messages contain `text`.
    pub fn on_text(mut self, text: &str, reply: Value) -> Self {
        self.rules.push(Rule { contains: Some(text.into()), replies: vec![reply], ..Default::default() });
        self
    }

    pub fn rule(mut self, rule: Rule) -> Self {
        self.rules.push(rule);
        self
    }

    pub fn with_fault(mut self, fault: Fault) -> Self {
        self.fault = Some(fault);
        self
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoggedRequest {
    pub path: String,
    pub stage: String,
    pub model: String,
    /// The messages' text, joined.
    pub text: String,
    pub body: Value,
}

struct Shared {
    script: Mutex<Script>,
    log: Mutex<Vec<LoggedRequest>>,
    /// With `reject_schema`: the stage of each refused request, by its text, so that the same
    /// request asked again without a schema is answered as that stage.
    refused: Mutex<std::collections::HashMap<String, String>>,
}

pub struct ScriptedServer {
    pub url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl ScriptedServer {
    /// Starts on 127.0.0.1 at a free port.
    pub async fn start(script: Script) -> std::io::Result<ScriptedServer> {
        Self::start_on("127.0.0.1:0", script).await
    }

    pub async fn start_on(addr: &str, script: Script) -> std::io::Result<ScriptedServer> {
        let shared =
            Arc::new(Shared { script: Mutex::new(script), log: Mutex::new(Vec::new()), refused: Mutex::default() });
        let app = Router::new()
            .route("/api/chat", post(ollama_chat))
            .route("/api/generate", post(ollama_generate))
            .route("/api/embed", post(ollama_embed))
            .route("/api/tags", get(list_models_ollama))
            .route("/api/version", get(|| async { axum::Json(json!({ "version": "0.0.0-scripted" })) }))
            .route("/v1/chat/completions", post(openai_chat))
            .route("/v1/embeddings", post(openai_embed))
            .route("/v1/models", get(list_models_openai))
            .route("/_log", get(read_log))
            .route("/_script", post(replace_script))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(ScriptedServer { url, shared, task })
    }

    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.shared.log.lock().unwrap().clone()
    }

    /// Requests for one stage.
    pub fn requests_for(&self, stage: &str) -> Vec<LoggedRequest> {
        self.requests().into_iter().filter(|r| r.stage == stage).collect()
    }

    pub fn set_script(&self, script: Script) {
        *self.shared.script.lock().unwrap() = script;
    }
}

impl Drop for ScriptedServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Deterministic embeddings: hashed words and character trigrams into 64 dimensions, L2-normed,
/// so similar texts get similar vectors.
pub fn embed_text(text: &str) -> Vec<f32> {
    const DIM: usize = 64;
    let mut v = vec![0f32; DIM];
    let lower = text.to_lowercase();
    let mut add = |token: &str, weight: f32| {
        let mut h: u64 = 1469598103934665603;
        for b in token.bytes() {
            h ^= b as u64;
            h = h.wrapping_mul(1099511628211);
        }
        v[(h % DIM as u64) as usize] += weight;
    };
    for word in lower.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        add(word, 1.0);
        let chars: Vec<char> = word.chars().collect();
        for w in chars.windows(3) {
            add(&w.iter().collect::<String>(), 0.3);
        }
    }
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

fn stage_of(body: &Value) -> String {
    if let Some(t) = body.pointer("/format/title").and_then(Value::as_str) {
        return t.to_string();
    }
    if let Some(t) = body.pointer("/response_format/json_schema/name").and_then(Value::as_str) {
        return t.to_string();
    }
    if body.get("format").and_then(Value::as_str) == Some("json") {
        return "json".into();
    }
    // The code stage asks for a plain code block, without a schema; its system prompt names it.
    let system = body.pointer("/messages/0/content").and_then(Value::as_str).unwrap_or("");
    if system.starts_with(code_evolver::pipeline::prompts::CODE_SYSTEM_LEAD)
        || system.starts_with(code_evolver::pipeline::prompts::STUB_SYSTEM)
    {
        return "code".into();
    }
    "none".into()
}

fn text_of(body: &Value) -> String {
    if let Some(messages) = body.get("messages").and_then(Value::as_array) {
        return messages.iter().filter_map(|m| m.get("content").and_then(Value::as_str)).collect::<Vec<_>>().join("\n");
    }
    body.get("prompt").and_then(Value::as_str).unwrap_or("").to_string()
}

enum Plan {
    Reply {
        text: String,
        completion_tokens: u64,
        delay: Duration,
    },
    Fault(Fault, Duration),
    Unscripted(String),
    /// 400 with this message.
    Refused(String),
}

fn plan_reply(shared: &Shared, path: &str, body: &Value) -> Plan {
    let mut stage = stage_of(body);
    let text = text_of(body);
    let has_schema = body.get("format").is_some_and(Value::is_object) || body.get("response_format").is_some();
    if shared.script.lock().unwrap().reject_schema {
        if has_schema {
            shared.refused.lock().unwrap().insert(text.clone(), stage);
            return Plan::Refused(
                "failed to compile grammar: number of rules exceeds sane defaults (json schema too large)".into(),
            );
        }
        if let Some(refused_stage) = shared.refused.lock().unwrap().get(&text) {
            stage = refused_stage.clone();
        }
    }
    let model = body.get("model").and_then(Value::as_str).unwrap_or("").to_string();
    let count = {
        let mut log = shared.log.lock().unwrap();
        log.push(LoggedRequest {
            path: path.into(),
            stage: stage.clone(),
            model,
            text: text.clone(),
            body: body.clone(),
        });
        log.len()
    };
    let mut script = shared.script.lock().unwrap();
    if let Some(fault) = script.fault
        && count > script.fault_after
    {
        return Plan::Fault(fault, Duration::ZERO);
    }
    let lower = text.to_lowercase();
    let rule = script.rules.iter_mut().find(|r| {
        r.stage.as_deref().is_none_or(|s| s == stage)
            && r.contains.as_deref().is_none_or(|c| lower.contains(&c.to_lowercase()))
    });
    let Some(rule) = rule else {
        return Plan::Unscripted(format!("no scripted reply for stage `{stage}`"));
    };
    let delay = Duration::from_millis(rule.delay_ms);
    if let Some(fault) = rule.fault {
        return Plan::Fault(fault, delay);
    }
    if rule.replies.is_empty() {
        return Plan::Unscripted(format!("the rule for stage `{stage}` has no replies"));
    }
    let reply = rule.replies[rule.used.min(rule.replies.len() - 1)].clone();
    rule.used += 1;
    let text = match reply {
        Value::String(s) => s,
        other => other.to_string(),
    };
    let completion_tokens = rule.completion_tokens.unwrap_or((text.len() as u64 / 4).max(1));
    Plan::Reply { text, completion_tokens, delay }
}

fn chunks(text: &str, size: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return vec![String::new()];
    }
    chars.chunks(if size == 0 { 16 } else { size }).map(|c| c.iter().collect()).collect()
}

fn prompt_tokens(body: &Value) -> u64 {
    (text_of(body).len() as u64 / 4).max(1)
}

async fn fault_response(fault: Fault, delay: Duration, streaming_format: &'static str) -> Response {
    tokio::time::sleep(delay).await;
    match fault {
        Fault::ServerError => {
            (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(json!({ "error": "scripted failure" }))).into_response()
        }
        Fault::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        Fault::Garbage => {
            (StatusCode::OK, "<html>this is not the API you are looking for</html>\n%%%\n").into_response()
        }
        Fault::Cut => {
            let first = if streaming_format == "sse" {
                "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"{\\\"co\"}}]}\n\n".to_string()
            } else {
                "{\"message\":{\"role\":\"assistant\",\"content\":\"{\\\"co\"},\"done\":false}\n".to_string()
            };
            let stream = futures_util::stream::iter(vec![Ok::<_, std::io::Error>(first)]);
            Response::builder().status(200).body(Body::from_stream(stream)).unwrap()
        }
    }
}

fn unscripted(message: String) -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(json!({ "error": message }))).into_response()
}

async fn ollama_chat(State(shared): State<Arc<Shared>>, axum::Json(body): axum::Json<Value>) -> Response {
    ollama_answer(shared, "/api/chat", body, true).await
}

async fn ollama_generate(State(shared): State<Arc<Shared>>, axum::Json(body): axum::Json<Value>) -> Response {
    ollama_answer(shared, "/api/generate", body, false).await
}

async fn ollama_answer(shared: Arc<Shared>, path: &str, body: Value, chat: bool) -> Response {
    let plan = plan_reply(&shared, path, &body);
    let model = body.get("model").and_then(Value::as_str).unwrap_or("scripted").to_string();
    let (text, completion_tokens, delay) = match plan {
        Plan::Reply { text, completion_tokens, delay } => (text, completion_tokens, delay),
        Plan::Fault(f, d) => return fault_response(f, d, "ndjson").await,
        Plan::Unscripted(m) => return unscripted(m),
        Plan::Refused(m) => return (StatusCode::BAD_REQUEST, axum::Json(json!({ "error": m }))).into_response(),
    };
    tokio::time::sleep(delay).await;
    let piece = |content: &str, done: bool| {
        let mut v = if chat {
            json!({ "model": model, "created_at": "2026-01-01T00:00:00Z", "message": { "role": "assistant", "content": content }, "done": done })
        } else {
            json!({ "model": model, "created_at": "2026-01-01T00:00:00Z", "response": content, "done": done })
        };
        if done {
            v["done_reason"] = json!("stop");
            v["prompt_eval_count"] = json!(prompt_tokens(&body));
            v["eval_count"] = json!(completion_tokens);
            v["total_duration"] = json!(1_000_000);
        }
        v
    };
    let stream = body.get("stream").and_then(Value::as_bool).unwrap_or(true);
    if !stream {
        let mut v = piece(&text, true);
        if chat {
            v["message"]["content"] = json!(text);
        }
        return axum::Json(v).into_response();
    }
    let (size, drip) = {
        let script = shared.script.lock().unwrap();
        (script.chunk_chars, Duration::from_millis(script.chunk_delay_ms))
    };
    let mut lines: Vec<String> = chunks(&text, size).iter().map(|c| format!("{}\n", piece(c, false))).collect();
    lines.push(format!("{}\n", piece("", true)));
    let stream = futures_util::StreamExt::then(futures_util::stream::iter(lines), move |line| async move {
        if !drip.is_zero() {
            tokio::time::sleep(drip).await;
        }
        Ok::<_, std::io::Error>(line)
    });
    Response::builder()
        .status(200)
        .header("content-type", "application/x-ndjson")
        .body(Body::from_stream(stream))
        .unwrap()
}

async fn openai_chat(State(shared): State<Arc<Shared>>, axum::Json(body): axum::Json<Value>) -> Response {
    let plan = plan_reply(&shared, "/v1/chat/completions", &body);
    let model = body.get("model").and_then(Value::as_str).unwrap_or("scripted").to_string();
    let (text, completion_tokens, delay) = match plan {
        Plan::Reply { text, completion_tokens, delay } => (text, completion_tokens, delay),
        Plan::Fault(f, d) => return fault_response(f, d, "sse").await,
        Plan::Unscripted(m) => return unscripted(m),
        Plan::Refused(m) => {
            return (StatusCode::BAD_REQUEST, axum::Json(json!({ "error": { "message": m } }))).into_response();
        }
    };
    tokio::time::sleep(delay).await;
    let usage = json!({
        "prompt_tokens": prompt_tokens(&body),
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens(&body) + completion_tokens
    });
    if !body.get("stream").and_then(Value::as_bool).unwrap_or(false) {
        return axum::Json(json!({
            "id": "chatcmpl-scripted", "object": "chat.completion", "created": 0, "model": model,
            "choices": [{ "index": 0, "message": { "role": "assistant", "content": text }, "finish_reason": "stop" }],
            "usage": usage
        }))
        .into_response();
    }
    let size = shared.script.lock().unwrap().chunk_chars;
    let mut events: Vec<String> = chunks(&text, size)
        .iter()
        .map(|c| {
            format!(
                "data: {}\n\n",
                json!({ "id": "chatcmpl-scripted", "object": "chat.completion.chunk", "created": 0, "model": model,
                        "choices": [{ "index": 0, "delta": { "content": c }, "finish_reason": null }] })
            )
        })
        .collect();
    events.push(format!(
        "data: {}\n\n",
        json!({ "id": "chatcmpl-scripted", "object": "chat.completion.chunk", "created": 0, "model": model,
                "choices": [{ "index": 0, "delta": {}, "finish_reason": "stop" }] })
    ));
    let include_usage = body.pointer("/stream_options/include_usage").and_then(Value::as_bool).unwrap_or(false);
    if include_usage {
        events.push(format!(
            "data: {}\n\n",
            json!({ "id": "chatcmpl-scripted", "object": "chat.completion.chunk", "created": 0, "model": model, "choices": [], "usage": usage })
        ));
    }
    events.push("data: [DONE]\n\n".into());
    let stream = futures_util::stream::iter(events.into_iter().map(Ok::<_, std::io::Error>));
    Response::builder().status(200).header("content-type", "text/event-stream").body(Body::from_stream(stream)).unwrap()
}

fn inputs_of(body: &Value) -> Vec<String> {
    match body.get("input") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items.iter().map(|i| i.as_str().unwrap_or("").to_string()).collect(),
        _ => vec![],
    }
}

async fn ollama_embed(State(shared): State<Arc<Shared>>, axum::Json(body): axum::Json<Value>) -> Response {
    log_only(&shared, "/api/embed", &body);
    if let Some(f) = embed_fault(&shared) {
        return fault_response(f, Duration::ZERO, "json").await;
    }
    let inputs = inputs_of(&body);
    if inputs.is_empty() {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({ "error": "input is required" }))).into_response();
    }
    let embeddings: Vec<Vec<f32>> = inputs.iter().map(|t| embed_text(t)).collect();
    axum::Json(json!({ "model": body.get("model"), "embeddings": embeddings })).into_response()
}

async fn openai_embed(State(shared): State<Arc<Shared>>, axum::Json(body): axum::Json<Value>) -> Response {
    log_only(&shared, "/v1/embeddings", &body);
    if let Some(f) = embed_fault(&shared) {
        return fault_response(f, Duration::ZERO, "json").await;
    }
    let data: Vec<Value> = inputs_of(&body)
        .iter()
        .enumerate()
        .map(|(i, t)| json!({ "object": "embedding", "index": i, "embedding": embed_text(t) }))
        .collect();
    axum::Json(json!({ "object": "list", "data": data, "model": body.get("model"), "usage": { "prompt_tokens": 1, "total_tokens": 1 } }))
        .into_response()
}

fn embed_fault(shared: &Shared) -> Option<Fault> {
    let script = shared.script.lock().unwrap();
    let count = shared.log.lock().unwrap().len();
    script.fault.filter(|_| count > script.fault_after)
}

fn log_only(shared: &Shared, path: &str, body: &Value) {
    shared.log.lock().unwrap().push(LoggedRequest {
        path: path.into(),
        stage: "embed".into(),
        model: body.get("model").and_then(Value::as_str).unwrap_or("").to_string(),
        text: inputs_of(body).join("\n"),
        body: body.clone(),
    });
}

async fn list_models_ollama(State(shared): State<Arc<Shared>>) -> Response {
    if let Some(f) = embed_fault(&shared) {
        return fault_response(f, Duration::ZERO, "json").await;
    }
    let models = shared.script.lock().unwrap().models.clone();
    let list: Vec<Value> = models.iter().map(|m| json!({ "name": m, "model": m, "size": 1 })).collect();
    axum::Json(json!({ "models": list })).into_response()
}

async fn list_models_openai(State(shared): State<Arc<Shared>>) -> Response {
    let models = shared.script.lock().unwrap().models.clone();
    let list: Vec<Value> =
        models.iter().map(|m| json!({ "id": m, "object": "model", "owned_by": "scripted" })).collect();
    axum::Json(json!({ "object": "list", "data": list })).into_response()
}

async fn read_log(State(shared): State<Arc<Shared>>) -> Response {
    let log = shared.log.lock().unwrap().clone();
    axum::Json(log).into_response()
}

async fn replace_script(State(shared): State<Arc<Shared>>, axum::Json(script): axum::Json<Script>) -> Response {
    *shared.script.lock().unwrap() = script;
    StatusCode::NO_CONTENT.into_response()
}

pub mod fixtures;
