//! OpenAI-compatible servers (vLLM, llama.cpp server, LM Studio, ...): `/v1/chat/completions`
//! (SSE streaming, `response_format` json_schema), `/v1/embeddings`, `/v1/models`.

use super::ollama::snippet;
use super::stream::LineReader;
use super::{Backend, ChatRequest, Completion, Endpoint, LlmError, http_client, http_error, status_error};
use async_trait::async_trait;
use serde_json::{Value, json};

pub struct OpenAi;

/// Accepts both `http://host:8000` and `http://host:8000/v1`.
fn join(base: &str, path: &str) -> String {
    let base = base.trim_end_matches('/');
    let base = base.strip_suffix("/v1").unwrap_or(base);
    format!("{base}/v1{path}")
}

fn authorized(builder: reqwest::RequestBuilder, endpoint: &Endpoint) -> reqwest::RequestBuilder {
    match &endpoint.api_key {
        Some(key) if !key.is_empty() => builder.bearer_auth(key),
        _ => builder,
    }
}

#[async_trait]
impl Backend for OpenAi {
    async fn chat(&self, endpoint: &Endpoint, model: &str, request: &ChatRequest) -> Result<Completion, LlmError> {
        let mut body = json!({
            "model": model,
            "messages": request.messages,
            "stream": true,
            "stream_options": { "include_usage": true },
        });
        if let Some(t) = request.temperature {
            body["temperature"] = json!(t);
        }
        if let Some(n) = request.max_tokens {
            body["max_tokens"] = json!(n);
        }
        if let Some(seed) = request.seed {
            body["seed"] = json!(seed);
        }
        if let Some(schema) = &request.schema {
            let name = schema.get("title").and_then(Value::as_str).unwrap_or("answer");
            body["response_format"] = json!({
                "type": "json_schema",
                "json_schema": { "name": name, "schema": schema, "strict": false }
            });
        }
        let response = authorized(http_client().post(join(&endpoint.url, "/chat/completions")), endpoint)
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
            if line.starts_with(':') {
                continue; // SSE comment / keep-alive
            }
            let Some(data) = line.strip_prefix("data:") else {
                if line.starts_with("event:") || line.starts_with("id:") || line.starts_with("retry:") {
                    continue;
                }
                return Err(LlmError::Protocol {
                    endpoint: endpoint.url.clone(),
                    detail: format!("not a server-sent event: {}", snippet(&line)),
                });
            };
            let data = data.trim();
            if data == "[DONE]" {
                return Ok(completion);
            }
            let chunk: Value = serde_json::from_str(data).map_err(|e| LlmError::Protocol {
                endpoint: endpoint.url.clone(),
                detail: format!("event data is not JSON: {e}: {}", snippet(data)),
            })?;
            if let Some(error) = chunk.get("error") {
                return Err(LlmError::Server { endpoint: endpoint.url.clone(), status: 500, body: error.to_string() });
            }
            if let Some(piece) = chunk.pointer("/choices/0/delta/content").and_then(Value::as_str) {
                completion.text.push_str(piece);
            }
            if let Some(usage) = chunk.get("usage").filter(|u| !u.is_null()) {
                completion.prompt_tokens = usage.get("prompt_tokens").and_then(Value::as_u64).unwrap_or(0);
                completion.completion_tokens = usage.get("completion_tokens").and_then(Value::as_u64).unwrap_or(0);
            }
        }
        Err(LlmError::Cut { endpoint: endpoint.url.clone() })
    }

    async fn embed(&self, endpoint: &Endpoint, model: &str, input: &[String]) -> Result<Vec<Vec<f32>>, LlmError> {
        let response = authorized(http_client().post(join(&endpoint.url, "/embeddings")), endpoint)
            .timeout(endpoint.timeout)
            .json(&json!({ "model": model, "input": input }))
            .send()
            .await
            .map_err(|e| http_error(&endpoint.url, endpoint.timeout, e))?;
        if !response.status().is_success() {
            return Err(status_error(&endpoint.url, response).await);
        }
        let body: Value = response.json().await.map_err(|e| LlmError::Protocol {
            endpoint: endpoint.url.clone(),
            detail: format!("/v1/embeddings: {e}"),
        })?;
        let mut rows: Vec<(u64, Vec<f32>)> = body
            .get("data")
            .and_then(Value::as_array)
            .map(|data| {
                data.iter()
                    .enumerate()
                    .filter_map(|(i, item)| {
                        let index = item.get("index").and_then(Value::as_u64).unwrap_or(i as u64);
                        let vector = item
                            .get("embedding")?
                            .as_array()?
                            .iter()
                            .filter_map(Value::as_f64)
                            .map(|x| x as f32)
                            .collect();
                        Some((index, vector))
                    })
                    .collect()
            })
            .unwrap_or_default();
        rows.sort_by_key(|(i, _)| *i);
        if rows.len() != input.len() {
            return Err(LlmError::Protocol {
                endpoint: endpoint.url.clone(),
                detail: format!("{} embeddings for {} inputs", rows.len(), input.len()),
            });
        }
        Ok(rows.into_iter().map(|(_, v)| v).collect())
    }

    async fn models(&self, endpoint: &Endpoint) -> Result<Vec<String>, LlmError> {
        let timeout = endpoint.timeout.min(std::time::Duration::from_secs(10));
        let response = authorized(http_client().get(join(&endpoint.url, "/models")), endpoint)
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| http_error(&endpoint.url, timeout, e))?;
        if !response.status().is_success() {
            return Err(status_error(&endpoint.url, response).await);
        }
        let body: Value = response
            .json()
            .await
            .map_err(|e| LlmError::Protocol { endpoint: endpoint.url.clone(), detail: format!("/v1/models: {e}") })?;
        Ok(body
            .get("data")
            .and_then(Value::as_array)
            .map(|d| d.iter().filter_map(|m| m.get("id").and_then(Value::as_str)).map(String::from).collect())
            .unwrap_or_default())
    }

    async fn version(&self, _endpoint: &Endpoint) -> Result<Option<String>, LlmError> {
        Ok(None)
    }
}
