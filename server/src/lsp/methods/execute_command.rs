//! `workspace/executeCommand`: the codeEvolver.* commands. Long ones (evolve, optimize, write
//! tests) answer at once with their job token (`{"token", "title", "started"}`) and end with a
//! `codeEvolver/jobDone` notification; `codeEvolver.cancel` or the progress UI stops them.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde_json::{Value, json};
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::*;

use crate::lsp::protocol::{
    CancelArgs, CancelResult, JobRef, MemoryStatus, RegistryStatus, RoleRoute, ShowReportArgs, StatusResult, TargetArgs,
};
use crate::lsp::{State, commands, edits, jobs, report};

/// Long jobs (evolve, optimize, write tests) running at once: each holds model calls and a
/// sandbox; more wait for nothing but memory.
const MAX_JOBS: usize = 16;

/// A running job's place under `MAX_JOBS`, given back when the job ends.
struct JobSlot(Arc<State>);

impl JobSlot {
    fn take(state: &Arc<State>, command: &str) -> Result<JobSlot> {
        if state.active_jobs.fetch_add(1, Ordering::SeqCst) >= MAX_JOBS {
            state.active_jobs.fetch_sub(1, Ordering::SeqCst);
            return Err(bad_args(command, format!("{MAX_JOBS} jobs are running already; cancel one or wait")));
        }
        Ok(JobSlot(state.clone()))
    }
}

impl Drop for JobSlot {
    fn drop(&mut self) {
        self.0.active_jobs.fetch_sub(1, Ordering::SeqCst);
    }
}

fn bad_args(command: &str, why: impl std::fmt::Display) -> Error {
    Error::invalid_params(format!("{command}: {why}"))
}

/// The command's argument as its type: a missing argument reads as `{}`; a wrong shape is refused
/// with serde's words for what and where.
fn args<T: serde::de::DeserializeOwned + Default>(command: &str, params: &ExecuteCommandParams) -> Result<T> {
    match params.arguments.first() {
        None | Some(Value::Null) => Ok(T::default()),
        Some(value) => serde_json::from_value(value.clone()).map_err(|e| bad_args(command, e)),
    }
}

/// Where the command works, as a document URI and a range.
fn target(command: &str, params: &ExecuteCommandParams) -> Result<(Uri, Range)> {
    let target: TargetArgs = args(command, params)?;
    if target.uri.is_empty() {
        return Err(bad_args(command, "missing `uri`"));
    }
    let uri = target.uri.parse().map_err(|e| bad_args(command, format!("bad uri `{}`: {e:?}", target.uri)))?;
    Ok((uri, target.range().map_err(|why| bad_args(command, why))?))
}

pub async fn handle(state: &Arc<State>, params: ExecuteCommandParams) -> Result<Option<Value>> {
    let command = params.command.as_str();
    match command {
        commands::EVOLVE => evolve(state, &params).await,
        commands::OPTIMIZE | commands::WRITE_TESTS => function_job(state, command, &params).await,
        commands::CANCEL => {
            // No argument or `{}`: every job; `{"token": "..."}`: that one; anything else is refused.
            let wanted = args::<CancelArgs>(command, &params)?.token;
            let mut cancelled = Vec::new();
            for (token, job) in state.session().jobs.iter() {
                if wanted.as_ref().is_none_or(|w| w == token) {
                    job.cancel.cancel();
                    cancelled.push(JobRef { token: token.clone(), title: job.title.clone(), uri: None });
                }
            }
            Ok(Some(to_value(CancelResult { cancelled })))
        }
        commands::STATUS => status(state).await.map(|s| Some(to_value(s))),
        commands::SHOW_REPORT => show_report(state, &args(command, &params)?).await.map(Some),
        other => Err(Error::invalid_params(format!("unknown command `{other}` (known: {})", commands::ALL.join(", ")))),
    }
}

fn to_value(value: impl serde::Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

async fn evolve(state: &Arc<State>, params: &ExecuteCommandParams) -> Result<Option<Value>> {
    let command = commands::EVOLVE;
    let (uri, range) = target(command, params)?;
    let doc = state.document(&uri).ok_or_else(|| bad_args(command, format!("{} is not open", uri.as_str())))?;
    let Some(target) = edits::evolve_target(&doc, range, state.encoding()) else {
        let message = format!(
            "nothing to evolve at line {}: put the cursor on a `# evolve: <task>` comment or select the task text",
            range.start.line + 1
        );
        // The answer is the error; every client shows it (a popup as well would show it twice).
        return Err(bad_args(command, message));
    };
    let title = format!("Evolve: {}", target.task());
    // One evolve per task in a document at a time: a second one would insert a second block.
    let key = (uri.clone(), title.clone());
    if !state.session().running_evolves.insert(key.clone()) {
        return Err(bad_args(command, format!("{title} is already running in this document; cancel it or wait")));
    }
    let slot = match JobSlot::take(state, command) {
        Ok(slot) => slot,
        Err(e) => {
            state.session().running_evolves.remove(&key);
            return Err(e);
        }
    };
    let release = {
        let state = state.clone();
        move || {
            state.session().running_evolves.remove(&key);
            drop(slot);
        }
    };
    let (job_state, job_uri, version) = (state.clone(), uri.clone(), doc.version);
    Ok(Some(jobs::start(state, &uri, title, release, move |job| {
        jobs::evolve(job_state, job_uri, target, version, job)
    })))
}

async fn function_job(state: &Arc<State>, command: &str, params: &ExecuteCommandParams) -> Result<Option<Value>> {
    let (uri, range) = target(command, params)?;
    let doc = state.document(&uri).ok_or_else(|| bad_args(command, format!("{} is not open", uri.as_str())))?;
    let Some(function) = crate::lsp::locate::function_at(&doc, range.start.line as usize) else {
        return Err(bad_args(command, format!("no Python function at line {}", range.start.line + 1)));
    };
    let slot = JobSlot::take(state, command)?;
    let release = move || drop(slot);
    let (job_state, job_uri) = (state.clone(), uri.clone());
    let answer = if command == commands::OPTIMIZE {
        let title = format!("Evolve: optimize {}", function.name);
        jobs::start(state, &uri, title, release, move |job| jobs::optimize(job_state, job_uri, function, job))
    } else {
        let title = format!("Evolve: write tests for {}", function.name);
        jobs::start(state, &uri, title, release, move |job| jobs::write_tests(job_state, job_uri, function, job))
    };
    Ok(Some(answer))
}

async fn status(state: &Arc<State>) -> Result<StatusResult> {
    let engine = state.engine().await.map_err(|e| Error::invalid_params(format!("no engine: {e}")))?;
    let roles: Vec<RoleRoute> = crate::config::Role::ALL
        .iter()
        .map(|role| {
            let r = engine.router().route(*role);
            RoleRoute {
                role: role.as_str().into(),
                backend: r.backend,
                kind: r.kind.as_str().into(),
                model: r.model,
                endpoints: r.endpoints,
            }
        })
        .collect();
    let listing = engine.clone();
    let nodes =
        tokio::task::spawn_blocking(move || listing.registry().list().map(|l| l.len()).unwrap_or(0)).await.unwrap_or(0);
    let memory = match engine.memory() {
        Some(m) => {
            let store = m.store();
            let info = store.info().await.ok().flatten();
            MemoryStatus {
                store: store.describe(),
                artifacts: Some(store.count().await.unwrap_or(0)),
                embedding: info.map(|i| format!("{} ({}-d)", i.model, i.dimension)),
                error: None,
            }
        }
        None => MemoryStatus {
            store: "off".into(),
            artifacts: None,
            embedding: None,
            error: engine.memory_error().map(String::from),
        },
    };
    let jobs: Vec<JobRef> = state
        .session()
        .jobs
        .iter()
        .map(|(token, job)| JobRef { token: token.clone(), title: job.title.clone(), uri: Some(job.uri.to_string()) })
        .collect();
    Ok(StatusResult {
        version: env!("CARGO_PKG_VERSION").into(),
        data_dir: engine.data_dir().display().to_string(),
        roles,
        registry: RegistryStatus { nodes },
        memory,
        jobs,
    })
}

async fn show_report(state: &Arc<State>, args: &ShowReportArgs) -> Result<Value> {
    if let Some(id) = &args.node_id {
        let engine = state.engine().await.map_err(|e| Error::invalid_params(format!("no engine: {e}")))?;
        let wanted = id.to_string();
        let node = tokio::task::spawn_blocking(move || engine.registry().get(&wanted))
            .await
            .map_err(|e| Error::invalid_params(e.to_string()))?
            .map_err(|e| Error::invalid_params(e.to_string()))?;
        let markdown = report::hover_markdown(&node, node.current_version);
        return Ok(json!({"node_id": node.id, "version": node.current_version, "markdown": markdown}));
    }
    state
        .session()
        .last_report
        .clone()
        .ok_or_else(|| Error::invalid_params("no evolve has finished yet in this session"))
}
