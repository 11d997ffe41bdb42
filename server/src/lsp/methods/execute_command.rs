//! `workspace/executeCommand`: the codeEvolver.* commands. Long ones (evolve, optimize, write
//! tests) answer at once with their job token (`{"token", "title", "started"}`) and end with a
//! `codeEvolver/jobDone` notification; `codeEvolver.cancel` or the progress UI stops them.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde_json::{Value, json};
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::*;

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

fn argument(params: &ExecuteCommandParams) -> Value {
    params.arguments.first().cloned().unwrap_or(Value::Null)
}

fn uri_of(command: &str, arg: &Value) -> Result<Uri> {
    let text = arg.get("uri").and_then(Value::as_str).ok_or_else(|| bad_args(command, "missing `uri`"))?;
    text.parse().map_err(|e| bad_args(command, format!("bad uri `{text}`: {e:?}")))
}

/// `range`, or `position`, or `line` (cursor at its start).
fn range_of(command: &str, arg: &Value) -> Result<Range> {
    if let Some(r) = arg.get("range") {
        let range: Range =
            serde_json::from_value(r.clone()).map_err(|e| bad_args(command, format!("bad range: {e}")))?;
        if (range.end.line, range.end.character) < (range.start.line, range.start.character) {
            return Err(bad_args(command, "the range ends before it starts"));
        }
        return Ok(range);
    }
    if let Some(p) = arg.get("position") {
        let p: Position =
            serde_json::from_value(p.clone()).map_err(|e| bad_args(command, format!("bad position: {e}")))?;
        return Ok(Range::new(p, p));
    }
    if let Some(line) = arg.get("line") {
        let line = line
            .as_u64()
            .and_then(|l| u32::try_from(l).ok())
            .ok_or_else(|| bad_args(command, format!("`line` must be a line number, not {line}")))?;
        let p = Position::new(line, 0);
        return Ok(Range::new(p, p));
    }
    Err(bad_args(command, "give `range`, `position` or `line`"))
}

pub async fn handle(state: &Arc<State>, params: ExecuteCommandParams) -> Result<Option<Value>> {
    let command = params.command.as_str();
    let arg = argument(&params);
    match command {
        commands::EVOLVE => evolve(state, &arg).await,
        commands::OPTIMIZE | commands::WRITE_TESTS => function_job(state, command, &arg).await,
        commands::CANCEL => {
            // No argument or `{}`: every job; `{"token": "..."}`: that one; anything else is refused.
            let wanted = match arg.get("token") {
                None => None,
                Some(Value::String(token)) => Some(token.clone()),
                Some(other) => {
                    return Err(bad_args(command, format!("`token` must be a job token string, not {other}")));
                }
            };
            if !(arg.is_null() || arg.is_object()) {
                return Err(bad_args(command, format!("the argument must be an object, not {arg}")));
            }
            let mut cancelled = Vec::new();
            for (token, job) in state.session().jobs.iter() {
                if wanted.as_ref().is_none_or(|w| w == token) {
                    job.cancel.cancel();
                    cancelled.push(json!({"token": token, "title": job.title}));
                }
            }
            Ok(Some(json!({"cancelled": cancelled})))
        }
        commands::STATUS => status(state).await.map(Some),
        commands::SHOW_REPORT => show_report(state, &arg).await.map(Some),
        other => Err(Error::invalid_params(format!("unknown command `{other}` (known: {})", commands::ALL.join(", ")))),
    }
}

async fn evolve(state: &Arc<State>, arg: &Value) -> Result<Option<Value>> {
    let command = commands::EVOLVE;
    let uri = uri_of(command, arg)?;
    let range = range_of(command, arg)?;
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

async fn function_job(state: &Arc<State>, command: &str, arg: &Value) -> Result<Option<Value>> {
    let uri = uri_of(command, arg)?;
    let range = range_of(command, arg)?;
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

async fn status(state: &Arc<State>) -> Result<Value> {
    let engine = state.engine().await.map_err(|e| Error::invalid_params(format!("no engine: {e}")))?;
    let routes: Vec<Value> = crate::config::Role::ALL
        .iter()
        .map(|role| {
            let r = engine.router().route(*role);
            json!({"role": role.as_str(), "backend": r.backend, "kind": r.kind.as_str(), "model": r.model, "endpoints": r.endpoints})
        })
        .collect();
    let listing = engine.clone();
    let nodes =
        tokio::task::spawn_blocking(move || listing.registry().list().map(|l| l.len()).unwrap_or(0)).await.unwrap_or(0);
    let memory = match engine.memory() {
        Some(m) => {
            let store = m.store();
            let info = store.info().await.ok().flatten();
            json!({"store": store.describe(), "artifacts": store.count().await.unwrap_or(0),
                   "embedding": info.map(|i| format!("{} ({}-d)", i.model, i.dimension))})
        }
        None => json!({"store": "off", "error": engine.memory_error()}),
    };
    let jobs: Vec<Value> = state
        .session()
        .jobs
        .iter()
        .map(|(token, job)| json!({"token": token, "title": job.title, "uri": job.uri}))
        .collect();
    Ok(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "data_dir": engine.data_dir(),
        "roles": routes,
        "registry": {"nodes": nodes},
        "memory": memory,
        "jobs": jobs,
    }))
}

async fn show_report(state: &Arc<State>, arg: &Value) -> Result<Value> {
    if let Some(id) = arg.get("node_id").and_then(Value::as_str) {
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
