//! Model backends (Ollama, OpenAI-compatible) behind one trait, and the router that maps roles to
//! them with round-robin endpoints, failover, concurrency limits and the evolve's budget.

pub mod budget;
pub mod embedded;
pub(crate) mod ollama;
pub(crate) mod openai;
pub(crate) mod router;
pub mod sentence;
mod stream;

pub use router::{CallRecord, Router};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tokio::sync::Semaphore;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Message {
    pub role: String,
    pub content: String,
}

impl Message {
    pub fn system(content: impl Into<String>) -> Self {
        Message { role: "system".into(), content: content.into() }
    }
    pub fn user(content: impl Into<String>) -> Self {
        Message { role: "user".into(), content: content.into() }
    }
}

/// One chat call. `schema` (a JSON schema whose `title` names the stage) asks the backend for
/// structured output; the answer is still parsed defensively.
#[derive(Debug, Clone, Default)]
pub struct ChatRequest {
    pub messages: Vec<Message>,
    pub schema: Option<serde_json::Value>,
    pub temperature: Option<f32>,
    pub max_tokens: Option<u32>,
    pub seed: Option<u64>,
}

#[derive(Debug, Clone, Default)]
pub struct Completion {
    pub text: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// One endpoint of a backend, with its own concurrency limit.
#[derive(Debug)]
pub struct Endpoint {
    pub url: String,
    pub timeout: Duration,
    /// The longest silence while an answer streams.
    pub idle: Duration,
    pub api_key: Option<String>,
    pub slots: Semaphore,
    /// Embedding calls have slots of their own: a short embedding (a completion's query) must not
    /// queue behind minutes-long generations.
    pub embed_slots: Semaphore,
    pub max_concurrent: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("{endpoint}: connection refused or unreachable ({detail})")]
    Connect { endpoint: String, detail: String },
    #[error("{endpoint}: no answer within {seconds:.1} s")]
    Timeout { endpoint: String, seconds: f64 },
    #[error("{endpoint}: server error {status}: {body}")]
    Server { endpoint: String, status: u16, body: String },
    #[error("{endpoint}: request refused with {status}: {body}")]
    Client { endpoint: String, status: u16, body: String },
    #[error("{endpoint}: unreadable answer ({detail})")]
    Protocol { endpoint: String, detail: String },
    #[error("{endpoint}: the stream ended before the answer was complete")]
    Cut { endpoint: String },
    #[error("model call for role {role} failed on every endpoint: {}", attempts.join("; "))]
    AllFailed { role: String, attempts: Vec<String> },
    #[error("budget exhausted: {0}")]
    Budget(String),
    #[error("cancelled")]
    Cancelled,
    #[error("{0}")]
    Config(String),
}

impl LlmError {
    /// A server that refused the request's structured-output constraint (some grammar engines
    /// refuse large JSON schemas: "number of rules ... exceeds sane defaults"); the same request
    /// without it may go through, and every answer is parsed defensively anyway.
    pub fn is_schema_refusal(&self) -> bool {
        let body = match self {
            LlmError::Client { status, body, .. } if *status != 429 && *status != 404 => body,
            LlmError::Server { body, .. } => body,
            _ => return false,
        };
        let body = body.to_lowercase();
        ["grammar", "schema", "response_format", "json_schema", "format"].iter().any(|w| body.contains(w))
    }

    /// Worth trying on another endpoint (or again after a pause).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            LlmError::Connect { .. }
                | LlmError::Timeout { .. }
                | LlmError::Server { .. }
                | LlmError::Protocol { .. }
                | LlmError::Cut { .. }
        ) || matches!(self, LlmError::Client { status: 429, .. })
    }
}

#[async_trait]
pub trait Backend: Send + Sync {
    async fn chat(&self, endpoint: &Endpoint, model: &str, request: &ChatRequest) -> Result<Completion, LlmError>;
    async fn embed(&self, endpoint: &Endpoint, model: &str, input: &[String]) -> Result<Vec<Vec<f32>>, LlmError>;
    async fn models(&self, endpoint: &Endpoint) -> Result<Vec<String>, LlmError>;
    /// The server's version, where the API has one.
    async fn version(&self, endpoint: &Endpoint) -> Result<Option<String>, LlmError>;
}

pub(crate) fn http_error(endpoint: &str, timeout: Duration, error: reqwest::Error) -> LlmError {
    if error.is_timeout() {
        LlmError::Timeout { endpoint: endpoint.to_string(), seconds: timeout.as_secs_f64() }
    } else if error.is_connect() {
        LlmError::Connect {
            endpoint: endpoint.to_string(),
            detail: std::error::Error::source(&error).map(|s| s.to_string()).unwrap_or_else(|| error.to_string()),
        }
    } else if error.is_body() || error.is_decode() {
        LlmError::Cut { endpoint: endpoint.to_string() }
    } else {
        LlmError::Connect { endpoint: endpoint.to_string(), detail: error.to_string() }
    }
}

pub(crate) async fn status_error(endpoint: &str, response: reqwest::Response) -> LlmError {
    let status = response.status().as_u16();
    let body: String = response.text().await.unwrap_or_default().chars().take(300).collect();
    if status >= 500 {
        LlmError::Server { endpoint: endpoint.to_string(), status, body }
    } else {
        LlmError::Client { endpoint: endpoint.to_string(), status, body }
    }
}

/// A shared HTTP client: connection pools are per host, timeouts per request.
pub(crate) fn http_client() -> reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(5))
                .pool_idle_timeout(Duration::from_secs(30))
                .build()
                .expect("HTTP client")
        })
        .clone()
}
