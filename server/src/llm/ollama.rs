//! Ollama's native API: `/api/chat` (streamed NDJSON, `format` = JSON schema), `/api/embed`,
//! `/api/tags`, `/api/version`.

use super::stream::LineReader;
use super::{Backend, ChatRequest, Completion, Endpoint, LlmError, http_client, http_error, status_error};
use async_trait::async_trait;
use serde_json::{Value, json};

pub struct Ollama;

fn join(base: &str, path: &str) -> String {
    format!("{}{}", base.trim_end_matches('/'), path)
}

#[async_trait]
impl Backend for Ollama {
    async fn chat(&self, endpoint: &Endpoint, model: &str, request: &ChatRequest) -> Result<Completion, LlmError> {
        let mut options = serde_json::Map::new();
        if let Some(t) = request.temperature {
            options.insert("temperature".into(), json!(t));
        }
        if let Some(n) = request.max_tokens {
            options.insert("num_predict".into(), json!(n));
        }
        if let Some(seed) = request.seed {
            options.insert("seed".into(), json!(seed));
        }
        let mut body = json!({
            "model": model,
            "messages": request.messages,
            "stream": true,
            "options": options,
        });
        if let Some(schema) = &request.schema {
            body["format"] = schema.clone();
        }
        let url = join(&endpoint.url, "/api/chat");
        let response = http_client()
            .post(&url)
            .timeout(endpoint.timeout)
            .json(&body)
            .send()
            .await
            .map_err(|e| http_error(&endpoint.url, endpoint.timeout, e))?;
        if !response.status().is_success() {
            return Err(status_error(&endpoint.url, response).await);
        }
        let mut lines = LineReader::new(response, &endpoint.url, endpoint.idle.min(endpoint.timeout));
        let mut completion = Completion::default();
        while let Some(line) = lines.next_line().await? {
            let chunk: Value = serde_json::from_str(&line).map_err(|e| LlmError::Protocol {
                endpoint: endpoint.url.clone(),
                detail: format!("not an NDJSON chat chunk: {e}: {}", snippet(&line)),
            })?;
            if let Some(error) = chunk.get("error").and_then(Value::as_str) {
                return Err(LlmError::Server { endpoint: endpoint.url.clone(), status: 500, body: error.to_string() });
            }
            if let Some(piece) = chunk.pointer("/message/content").and_then(Value::as_str) {
                completion.text.push_str(piece);
            }
            if chunk.get("done").and_then(Value::as_bool) == Some(true) {
                completion.prompt_tokens = chunk.get("prompt_eval_count").and_then(Value::as_u64).unwrap_or(0);
                completion.completion_tokens = chunk.get("eval_count").and_then(Value::as_u64).unwrap_or(0);
                return Ok(completion);
            }
        }
        Err(LlmError::Cut { endpoint: endpoint.url.clone() })
    }

    async fn embed(&self, endpoint: &Endpoint, model: &str, input: &[String]) -> Result<Vec<Vec<f32>>, LlmError> {
        let url = join(&endpoint.url, "/api/embed");
        let response = http_client()
            .post(&url)
            .timeout(endpoint.timeout)
            .json(&json!({ "model": model, "input": input }))
            .send()
            .await
            .map_err(|e| http_error(&endpoint.url, endpoint.timeout, e))?;
        if !response.status().is_success() {
            return Err(status_error(&endpoint.url, response).await);
        }
        #[derive(serde::Deserialize)]
        struct EmbedResponse {
            embeddings: Vec<Vec<f32>>,
        }
        let parsed: EmbedResponse = response.json().await.map_err(|e| LlmError::Protocol {
            endpoint: endpoint.url.clone(),
            detail: format!("/api/embed answer without `embeddings`: {e}"),
        })?;
        if parsed.embeddings.len() != input.len() {
            return Err(LlmError::Protocol {
                endpoint: endpoint.url.clone(),
                detail: format!("{} embeddings for {} inputs", parsed.embeddings.len(), input.len()),
            });
        }
        Ok(parsed.embeddings)
    }

    async fn models(&self, endpoint: &Endpoint) -> Result<Vec<String>, LlmError> {
        let body = get_json(endpoint, "/api/tags").await?;
        Ok(body
            .get("models")
            .and_then(Value::as_array)
            .map(|models| {
                models
                    .iter()
                    .filter_map(|m| m.get("name").or_else(|| m.get("model")).and_then(Value::as_str))
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn version(&self, endpoint: &Endpoint) -> Result<Option<String>, LlmError> {
        let body = get_json(endpoint, "/api/version").await?;
        Ok(body.get("version").and_then(Value::as_str).map(String::from))
    }
}

async fn get_json(endpoint: &Endpoint, path: &str) -> Result<Value, LlmError> {
    let timeout = endpoint.timeout.min(std::time::Duration::from_secs(10));
    let response = http_client()
        .get(join(&endpoint.url, path))
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| http_error(&endpoint.url, timeout, e))?;
    if !response.status().is_success() {
        return Err(status_error(&endpoint.url, response).await);
    }
    response
        .json()
        .await
        .map_err(|e| LlmError::Protocol { endpoint: endpoint.url.clone(), detail: format!("{path}: {e}") })
}

pub(crate) fn snippet(text: &str) -> String {
    text.chars().take(120).collect()
}
