//! Maps roles to backends; rotates each backend's endpoints round-robin; fails over on refused
//! connections, 5xx, timeouts, garbage and cut streams (with backoff between rounds); limits
//! concurrent calls per endpoint; draws every call on the evolve's budget and logs it.

use super::budget::Budget;
use super::embedded::{Embedded, EmbeddedSettings};
use super::ollama::Ollama;
use super::openai::OpenAi;
use super::{Backend, ChatRequest, Completion, Endpoint, LlmError};
use crate::config::{BackendKind, Config, EndpointSpec, Role};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// What one model call cost and where it went.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CallRecord {
    pub role: String,
    pub backend: String,
    pub endpoint: String,
    pub model: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub duration_ms: u64,
    /// Endpoints that failed before this one answered, with the reason.
    pub failovers: Vec<String>,
}

struct BackendHandle {
    name: String,
    kind: BackendKind,
    client: Arc<dyn Backend>,
    endpoints: Vec<Arc<Endpoint>>,
    next: AtomicUsize,
    retries: u32,
    fallback: Option<String>,
    /// Set once none of the endpoints could be reached: calls go to the fallback.
    unreachable: AtomicBool,
}

pub struct Router {
    backends: BTreeMap<String, Arc<BackendHandle>>,
    roles: BTreeMap<Role, (String, crate::config::RoleConfig)>,
}

/// Where a role is served, for status and progress displays.
#[derive(Debug, Clone)]
pub struct RoleRoute {
    pub backend: String,
    pub kind: BackendKind,
    pub model: String,
    pub endpoints: Vec<String>,
}

pub(crate) fn expand_env(value: &str) -> String {
    match value.strip_prefix("${").and_then(|v| v.strip_suffix('}')) {
        Some(var) => std::env::var(var).unwrap_or_default(),
        None => value.to_string(),
    }
}

impl Router {
    /// The router for `config`; embedded models default to `data_dir/models`.
    pub fn new(config: &Config, data_dir: &Path) -> Result<Router, LlmError> {
        let mut backends = BTreeMap::new();
        for (name, bc) in &config.backends {
            let kind = bc.kind.ok_or_else(|| LlmError::Config(format!("backend {name} has no kind")))?;
            let (client, specs, default_concurrency, default_timeout): (
                Arc<dyn Backend>,
                Vec<EndpointSpec>,
                usize,
                f64,
            ) = match kind {
                BackendKind::Ollama | BackendKind::Openai => {
                    let specs = if bc.endpoints.is_empty() {
                        bc.url.iter().map(|u| EndpointSpec::Url(u.clone())).collect()
                    } else {
                        bc.endpoints.clone()
                    };
                    let client: Arc<dyn Backend> =
                        if kind == BackendKind::Ollama { Arc::new(Ollama) } else { Arc::new(OpenAi) };
                    (client, specs, bc.max_concurrent.unwrap_or(2), bc.timeout_s.unwrap_or(300.0))
                }
                BackendKind::Embedded => {
                    let models_dir =
                        bc.models_dir.as_ref().map(std::path::PathBuf::from).unwrap_or_else(|| data_dir.join("models"));
                    let settings = EmbeddedSettings {
                        models_dir: models_dir.clone(),
                        threads: bc.threads.unwrap_or(2).max(1),
                        context: bc.context.unwrap_or(4096),
                    };
                    let url = format!("embedded:{}", models_dir.display());
                    (
                        Arc::new(Embedded::new(settings)),
                        vec![EndpointSpec::Url(url)],
                        bc.max_concurrent.unwrap_or(1),
                        bc.timeout_s.unwrap_or(1800.0),
                    )
                }
            };
            let endpoints = specs
                .into_iter()
                .map(|spec| {
                    let (url, max, timeout, key) = match spec {
                        EndpointSpec::Url(url) => (url, None, None, None),
                        EndpointSpec::Full(f) => (f.url, f.max_concurrent, f.timeout_s, f.api_key),
                    };
                    let max_concurrent = max.unwrap_or(default_concurrency).max(1);
                    Arc::new(Endpoint {
                        url: url.trim_end_matches('/').to_string(),
                        timeout: Duration::from_secs_f64(timeout.unwrap_or(default_timeout)),
                        idle: Duration::from_secs_f64(bc.idle_timeout_s.unwrap_or(120.0).max(0.1)),
                        api_key: key.or_else(|| bc.api_key.clone()).map(|k| expand_env(&k)),
                        slots: tokio::sync::Semaphore::new(max_concurrent),
                        embed_slots: tokio::sync::Semaphore::new(max_concurrent.max(2)),
                        max_concurrent,
                    })
                })
                .collect();
            backends.insert(
                name.clone(),
                Arc::new(BackendHandle {
                    name: name.clone(),
                    kind,
                    client,
                    endpoints,
                    next: AtomicUsize::new(0),
                    retries: bc.retries.unwrap_or(1),
                    fallback: bc.fallback.clone(),
                    unreachable: AtomicBool::new(false),
                }),
            );
        }
        let mut roles = BTreeMap::new();
        for role in Role::ALL {
            let rc = config.roles.get(role).clone();
            let backend = rc.backend.clone().unwrap_or_default();
            if !backends.contains_key(&backend) {
                let kind = config.backends.get(&backend).and_then(|b| b.kind);
                if kind == Some(BackendKind::Embedded) {
                    return Err(LlmError::Config(format!(
                        "role {role} uses the embedded backend `{backend}`, which this build does not include yet; \
                         point the role at an ollama or openai backend"
                    )));
                }
                return Err(LlmError::Config(format!("role {role}: no backend named `{backend}`")));
            }
            roles.insert(role, (backend, rc));
        }
        Ok(Router { backends, roles })
    }

    /// Where `role` is served now: its backend, or the fallback once that is known unreachable.
    pub fn route(&self, role: Role) -> RoleRoute {
        let (handle, model) = self.effective(role);
        RoleRoute {
            backend: handle.name.clone(),
            kind: handle.kind,
            model,
            endpoints: handle.endpoints.iter().map(|e| e.url.clone()).collect(),
        }
    }

    fn effective(&self, role: Role) -> (Arc<BackendHandle>, String) {
        let (backend, rc) = &self.roles[&role];
        let primary = &self.backends[backend];
        if primary.unreachable.load(Ordering::Relaxed)
            && let Some(fallback) = primary.fallback.as_ref().and_then(|f| self.backends.get(f))
        {
            return (fallback.clone(), rc.fallback_model.clone().unwrap_or_default());
        }
        (primary.clone(), rc.model.clone().unwrap_or_default())
    }

    /// Checks, once, whether backends that have a fallback can be reached at all (a quick
    /// request to each endpoint); unreachable ones are routed to their fallback from now on.
    /// Returns the names of the backends found unreachable.
    pub async fn check_reachability(&self) -> Vec<String> {
        let mut down = Vec::new();
        for handle in self.backends.values().filter(|b| b.fallback.is_some()) {
            let probes = handle.endpoints.iter().map(|e| {
                let client = handle.client.clone();
                let quick = Endpoint {
                    url: e.url.clone(),
                    timeout: e.timeout.min(Duration::from_secs(2)),
                    idle: e.idle.min(Duration::from_secs(2)),
                    api_key: e.api_key.clone(),
                    slots: tokio::sync::Semaphore::new(1),
                    embed_slots: tokio::sync::Semaphore::new(1),
                    max_concurrent: 1,
                };
                async move { client.models(&quick).await }
            });
            let results = futures_util::future::join_all(probes).await;
            let unreachable =
                results.iter().all(|r| matches!(r, Err(LlmError::Connect { .. }) | Err(LlmError::Timeout { .. })));
            if unreachable {
                handle.unreachable.store(true, Ordering::Relaxed);
                down.push(handle.name.clone());
            }
        }
        down
    }

    pub fn backend_names(&self) -> Vec<String> {
        self.backends.keys().cloned().collect()
    }

    /// A chat call for `role`; the role's temperature, token limit and seed fill what the request
    /// leaves unset. `model` overrides the role's model (tools may name one). When none of the
    /// role's backend's endpoints can be reached and it has a fallback, the fallback serves.
    pub async fn chat(
        &self,
        role: Role,
        model: Option<&str>,
        mut request: ChatRequest,
        budget: &Budget,
        cancel: &CancellationToken,
    ) -> Result<(Completion, CallRecord), LlmError> {
        let (_, rc) = &self.roles[&role];
        request.temperature = request.temperature.or(rc.temperature);
        request.max_tokens = request.max_tokens.or(rc.max_tokens);
        request.seed = request.seed.or(rc.seed);
        let request = &request;
        self.with_failover(role, model, |backend, model, notes| async move {
            try_backend(&backend, role, &model, request, budget, cancel, notes).await
        })
        .await
    }

    /// Embeddings from the embedding role's backend, with the same failover as chat.
    pub async fn embed(&self, input: &[String]) -> Result<Vec<Vec<f32>>, LlmError> {
        self.with_failover(
            Role::Embedding,
            None,
            |backend, model, _| async move { embed_on(&backend, &model, input).await },
        )
        .await
    }

    /// The one failover routine: `call` on the role's backend (the fallback once that is known
    /// unreachable); when every attempt failed to connect and there is a fallback, the backend is
    /// marked unreachable and `call` runs on the fallback with the role's `fallback_model`, told
    /// what failed. `call` gets the backend, the model and those notes; its error carries whether
    /// every attempt failed to connect.
    async fn with_failover<T, F, Fut>(&self, role: Role, model: Option<&str>, call: F) -> Result<T, LlmError>
    where
        F: Fn(Arc<BackendHandle>, String, Vec<String>) -> Fut,
        Fut: std::future::Future<Output = Result<T, (LlmError, bool)>>,
    {
        let (backend_name, rc) = &self.roles[&role];
        let primary = self.backends[backend_name].clone();
        let fallback =
            primary.fallback.as_ref().and_then(|f| self.backends.get(f)).filter(|f| !Arc::ptr_eq(f, &primary)).cloned();
        let fallback_model = rc.fallback_model.clone().unwrap_or_default();
        if primary.unreachable.load(Ordering::Relaxed)
            && let Some(fallback) = fallback
        {
            return call(fallback, fallback_model, Vec::new()).await.map_err(|(e, _)| e);
        }
        let model = model.map(String::from).or_else(|| rc.model.clone()).unwrap_or_default();
        match (call(primary.clone(), model, Vec::new()).await, fallback) {
            (Ok(done), _) => Ok(done),
            (Err((error, true)), Some(fallback)) => {
                primary.unreachable.store(true, Ordering::Relaxed);
                let mut notes = match error {
                    LlmError::AllFailed { attempts, .. } => attempts,
                    other => vec![other.to_string()],
                };
                notes.push(format!("{} is unreachable: using {} from now on", primary.name, fallback.name));
                call(fallback, fallback_model, notes).await.map_err(|(e, _)| e)
            }
            (Err((error, _)), _) => Err(error),
        }
    }

    /// Each endpoint of each backend: (backend, kind, url, version, models or error).
    pub async fn probe(&self) -> Vec<EndpointStatus> {
        let mut out = Vec::new();
        for backend in self.backends.values() {
            for endpoint in &backend.endpoints {
                let version = backend.client.version(endpoint).await;
                let models = backend.client.models(endpoint).await;
                out.push(EndpointStatus {
                    backend: backend.name.clone(),
                    kind: backend.kind,
                    url: endpoint.url.clone(),
                    max_concurrent: endpoint.max_concurrent,
                    version: version.ok().flatten(),
                    models: models.map_err(|e| e.to_string()),
                });
            }
        }
        out
    }
}

#[derive(Debug, Clone)]
pub struct EndpointStatus {
    pub backend: String,
    pub kind: BackendKind,
    pub url: String,
    pub max_concurrent: usize,
    pub version: Option<String>,
    pub models: Result<Vec<String>, String>,
}

/// Embeddings from one backend, each endpoint tried once, round-robin. On failure the flag says
/// whether every endpoint refused the connection.
async fn embed_on(backend: &BackendHandle, model: &str, input: &[String]) -> Result<Vec<Vec<f32>>, (LlmError, bool)> {
    let mut failures = Vec::new();
    let mut all_connect = true;
    let count = backend.endpoints.len();
    let start = backend.next.fetch_add(1, Ordering::Relaxed);
    for offset in 0..count {
        let endpoint = backend.endpoints[(start + offset) % count].clone();
        let _slot = endpoint.embed_slots.acquire().await.map_err(|_| (LlmError::Cancelled, false))?;
        match backend.client.embed(&endpoint, model, input).await {
            Ok(v) => return Ok(v),
            Err(e) if e.is_retryable() => {
                all_connect &= matches!(e, LlmError::Connect { .. });
                failures.push(e.to_string());
            }
            Err(e) => return Err((e, false)),
        }
    }
    Err((LlmError::AllFailed { role: "embedding".into(), attempts: failures }, all_connect && count > 0))
}

/// Tries each endpoint of one backend, round-robin, with `retries` extra rounds. On failure the
/// flag says whether every attempt failed to connect (the backend is unreachable).
async fn try_backend(
    backend: &Arc<BackendHandle>,
    role: Role,
    model: &str,
    request: &ChatRequest,
    budget: &Budget,
    cancel: &CancellationToken,
    mut failovers: Vec<String>,
) -> Result<(Completion, CallRecord), (LlmError, bool)> {
    let count = backend.endpoints.len();
    let start = backend.next.fetch_add(1, Ordering::Relaxed);
    let mut only_connect = true;
    for round in 0..=backend.retries {
        if round > 0 {
            let pause = Duration::from_millis(250 * (1 << (round - 1).min(4)));
            tokio::select! {
                _ = cancel.cancelled() => return Err((LlmError::Cancelled, false)),
                _ = tokio::time::sleep(pause) => {}
            }
        }
        for offset in 0..count {
            budget.check().map_err(|e| (LlmError::Budget(e), false))?;
            let endpoint = backend.endpoints[(start + offset) % count].clone();
            let began = Instant::now();
            let mut result = tokio::select! {
                _ = cancel.cancelled() => return Err((LlmError::Cancelled, false)),
                r = call_with_slot(&*backend.client, &endpoint, model, request, budget) => r,
            };
            if let Err(error) = &result
                && request.schema.is_some()
                && error.is_schema_refusal()
            {
                failovers.push(format!("{error}; asked again without the JSON schema"));
                let plain = ChatRequest { schema: None, ..request.clone() };
                result = tokio::select! {
                    _ = cancel.cancelled() => return Err((LlmError::Cancelled, false)),
                    r = call_with_slot(&*backend.client, &endpoint, model, &plain, budget) => r,
                };
            }
            match result {
                Ok(completion) => {
                    let record = CallRecord {
                        role: role.as_str().to_string(),
                        backend: backend.name.clone(),
                        endpoint: endpoint.url.clone(),
                        model: model.to_string(),
                        prompt_tokens: completion.prompt_tokens,
                        completion_tokens: completion.completion_tokens,
                        duration_ms: began.elapsed().as_millis() as u64,
                        failovers: std::mem::take(&mut failovers),
                    };
                    budget.spend(&record);
                    tracing::debug!(target: "model_io", request = ?request.messages, answer = %completion.text, "model exchange");
                    tracing::info!(
                        role = %record.role,
                        endpoint = %record.endpoint,
                        model = %record.model,
                        prompt_tokens = record.prompt_tokens,
                        completion_tokens = record.completion_tokens,
                        duration_ms = record.duration_ms,
                        "model call"
                    );
                    return Ok((completion, record));
                }
                Err(error) if error.is_retryable() => {
                    tracing::warn!(role = %role, endpoint = %endpoint.url, %error, "model call failed; failing over");
                    only_connect &= matches!(error, LlmError::Connect { .. });
                    failovers.push(error.to_string());
                }
                Err(LlmError::Client { endpoint, status: 404, body }) => {
                    return Err((
                        LlmError::Client {
                            endpoint,
                            status: 404,
                            body: format!(
                                "{body} (is model `{model}` installed there? for Ollama: `ollama pull {model}`)"
                            ),
                        },
                        false,
                    ));
                }
                Err(error) => return Err((error, false)),
            }
        }
    }
    Err((LlmError::AllFailed { role: role.as_str().to_string(), attempts: failovers }, only_connect))
}

async fn call_with_slot(
    client: &dyn Backend,
    endpoint: &Endpoint,
    model: &str,
    request: &ChatRequest,
    budget: &Budget,
) -> Result<Completion, LlmError> {
    let _slot = endpoint.slots.acquire().await.map_err(|_| LlmError::Cancelled)?;
    // A call may not outlive the evolve's time budget.
    let limit = budget.time_left();
    match tokio::time::timeout(limit, client.chat(endpoint, model, request)).await {
        Ok(result) => result,
        Err(_) => Err(LlmError::Budget(format!("the evolve's time budget ran out during a call to {}", endpoint.url))),
    }
}
