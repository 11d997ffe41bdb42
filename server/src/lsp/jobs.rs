//! Long work started from the editor runs in the background: the command answers at once with a
//! job token; a progress token (`window/workDoneProgress/create`, then begin/report/end with the
//! stage and a percentage) shows it; the progress UI's cancel and `codeEvolver.cancel` stop it;
//! `codeEvolver/jobDone` says how it ended. The result goes in with `workspace/applyEdit`,
//! re-anchored if the user edited meanwhile.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tower_lsp_server::ls_types::notification::Progress as ProgressNotification;
use tower_lsp_server::ls_types::*;

use super::document::Document;
use super::edits::{self, Target};
use super::locate::{self, FunctionSpan};
use super::{Job, State, next_token, report};
use crate::pipeline::events::{Event, EventSink};
use crate::pipeline::evolver::{EvolveError, EvolveRequest};
use crate::pipeline::existing::ExistingFunction;

/// A `$/progress` token the client agreed to show (or none: the client shows no progress).
struct Progress {
    state: Arc<State>,
    token: Option<ProgressToken>,
}

impl Progress {
    async fn begin(state: &Arc<State>, token: &str, title: &str) -> Progress {
        let mut progress = Progress { state: state.clone(), token: None };
        if !state.flags().work_done_progress {
            return progress;
        }
        let token = NumberOrString::String(token.to_string());
        if state.client.create_work_done_progress(token.clone()).await.is_err() {
            return progress;
        }
        progress.token = Some(token);
        progress
            .send(WorkDoneProgress::Begin(WorkDoneProgressBegin {
                title: title.to_string(),
                cancellable: Some(true),
                message: Some("starting".into()),
                percentage: Some(0),
            }))
            .await;
        progress
    }

    async fn send(&self, value: WorkDoneProgress) {
        if let Some(token) = &self.token {
            self.state
                .client
                .send_notification::<ProgressNotification>(ProgressParams {
                    token: token.clone(),
                    value: ProgressParamsValue::WorkDone(value),
                })
                .await;
        }
    }

    async fn end(&self, message: String) {
        self.send(WorkDoneProgress::End(WorkDoneProgressEnd { message: Some(message) })).await;
    }
}

/// `codeEvolver/stage`: each engine event, for clients that show the stage (VS Code's status bar).
enum StageNotification {}

impl tower_lsp_server::ls_types::notification::Notification for StageNotification {
    type Params = serde_json::Value;
    const METHOD: &'static str = "codeEvolver/stage";
}

/// `codeEvolver/jobDone`: a long job ended. The command that started it answered at once with the
/// job's token; this carries the outcome (`ok`, `cancelled`, `message`, and `result` or `error`).
enum JobDoneNotification {}

impl tower_lsp_server::ls_types::notification::Notification for JobDoneNotification {
    type Params = serde_json::Value;
    const METHOD: &'static str = "codeEvolver/jobDone";
}

/// What a job's work gets: where to send events, and its cancel token.
pub struct JobContext {
    pub events: EventSink,
    pub cancel: CancellationToken,
}

/// Starts `work` as a background job with progress and cancellation and answers at once with
/// its token: a request never waits on a long job, so the server's read loop never fills with
/// them. The job ends with a `codeEvolver/jobDone` notification; `on_end` runs when it has left
/// the job table (releasing the slot and the per-task lock the command took).
pub fn start<F, Fut>(
    state: &Arc<State>,
    uri: &Uri,
    title: String,
    on_end: impl FnOnce() + Send + 'static,
    work: F,
) -> serde_json::Value
where
    F: FnOnce(JobContext) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<serde_json::Value, String>> + Send + 'static,
{
    let cancel = CancellationToken::new();
    let token = next_token(state);
    state
        .jobs
        .lock()
        .unwrap()
        .insert(token.clone(), Job { title: title.clone(), uri: uri.clone(), cancel: cancel.clone() });
    let answer = serde_json::json!({"token": token, "title": title, "started": true});
    let state = state.clone();
    tokio::spawn(async move {
        lifecycle(&state, token, title, cancel, work).await;
        on_end();
    });
    answer
}

async fn lifecycle<F, Fut>(state: &Arc<State>, token: String, title: String, cancel: CancellationToken, work: F)
where
    F: FnOnce(JobContext) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<serde_json::Value, String>> + Send + 'static,
{
    let progress = Arc::new(Progress::begin(state, &token, &title).await);

    // Events arrive on the engine's threads; a forwarder turns them into reports in order.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
    let forwarder = {
        let progress = progress.clone();
        let (client, token) = (state.client.clone(), token.clone());
        tokio::spawn(async move {
            while let Some(event) = rx.recv().await {
                client
                    .send_notification::<StageNotification>(serde_json::json!({
                        "token": token,
                        "stage": event.stage.as_str(),
                        "percent": event.percent,
                        "message": event.message,
                    }))
                    .await;
                progress
                    .send(WorkDoneProgress::Report(WorkDoneProgressReport {
                        cancellable: Some(true),
                        message: Some(format!("{}: {}", event.stage.as_str(), event.message)),
                        percentage: Some(event.percent.min(100) as u32),
                    }))
                    .await;
            }
        })
    };
    let events: EventSink = Arc::new(move |e: &Event| {
        let _ = tx.send(e.clone());
    });
    let handle = tokio::spawn(work(JobContext { events, cancel: cancel.clone() }));
    let result = handle.await.unwrap_or_else(|e| Err(format!("the job failed: {e}")));
    let _ = forwarder.await;
    state.jobs.lock().unwrap().remove(&token);
    let done = |ok: bool, cancelled: bool, message: &str, result: serde_json::Value, error: Option<&str>| {
        serde_json::json!({
            "token": token, "title": title, "ok": ok, "cancelled": cancelled,
            "message": message, "result": result, "error": error,
        })
    };
    let notice = match result {
        Ok(value) => {
            let message = value.get("message").and_then(|m| m.as_str()).unwrap_or("done").to_string();
            progress.end(message.clone()).await;
            done(true, false, &message, value, None)
        }
        Err(error) if cancel.is_cancelled() => {
            progress.end("cancelled".into()).await;
            let message = format!("{title}: cancelled ({error})");
            state.client.show_message(MessageType::INFO, message.clone()).await;
            done(false, true, &message, serde_json::Value::Null, Some(&error))
        }
        Err(error) => {
            progress.end(format!("failed: {error}")).await;
            let message = format!("{title} failed: {error}");
            state.show_error(message.clone()).await;
            done(false, false, &message, serde_json::Value::Null, Some(&error))
        }
    };
    state.client.send_notification::<JobDoneNotification>(notice).await;
}

/// The evolve job: the engine's evolve, then the code into the document.
pub async fn evolve(
    state: Arc<State>,
    uri: Uri,
    target: Target,
    started_version: i32,
    job: JobContext,
) -> Result<serde_json::Value, String> {
    let engine = state.engine().await?;
    let request = EvolveRequest {
        task: target.task().to_string(),
        run_task: false,
        optimize: engine.config().editor.optimize,
        use_memory: true,
    };
    let outcome = match engine.evolve(request, job.events.clone(), job.cancel.clone()).await {
        Ok(o) => o,
        Err(EvolveError::Cancelled) => return Err("stopped before any edit".into()),
        Err(e) => return Err(e.to_string()),
    };
    let report = report::outcome_report(&outcome);
    *state.last_report.lock().unwrap() = Some(report.clone());
    if job.cancel.is_cancelled() {
        return Err(format!("stopped; the verified node was kept as {} but not inserted", outcome.node_id));
    }
    let (indent, marker) = match &target {
        Target::Below(c) => (c.indent.clone(), c.marker),
        Target::Replace { text, .. } => (text.chars().take_while(|c| *c == ' ' || *c == '\t').collect(), "#"),
    };
    let block = edits::evolved_block(&indent, marker, &report::header_text(&outcome), &outcome.code);
    apply_with_retry(&state, &uri, &target, started_version, &block, &job.cancel).await.map_err(|why| {
        format!("{why}; nothing was inserted. The verified node is kept: `code-evolver show {}`", outcome.node_id)
    })?;
    Ok(serde_json::json!({
        "message": format!("{} v{}: {}/{} tests pass", outcome.node_id, outcome.version, outcome.report.passed, outcome.report.total),
        "node_id": outcome.node_id,
        "version": outcome.version,
        "report": report,
    }))
}

/// Applies the block on the document as it is now; when the client refuses (the user typed in
/// between), looks again once.
async fn apply_with_retry(
    state: &Arc<State>,
    uri: &Uri,
    target: &Target,
    started_version: i32,
    block: &str,
    cancel: &CancellationToken,
) -> Result<(), String> {
    let mut last_refusal = String::new();
    for _ in 0..2 {
        let doc = state.document(uri).ok_or("the document was closed")?;
        let edit = edits::place(&doc, target, started_version, block, state.encoding())?;
        let workspace_edit = edits::workspace_edit(uri, doc.version, vec![edit], state.flags().document_changes);
        match apply_edit_bounded(state, workspace_edit, cancel).await? {
            Ok(response) if response.applied => return Ok(()),
            Ok(response) => {
                last_refusal = response.failure_reason.unwrap_or_else(|| "the editor refused the edit".into())
            }
            Err(e) => last_refusal = e,
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    Err(last_refusal)
}

/// How long the editor may take to answer `workspace/applyEdit`.
const APPLY_EDIT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// `workspace/applyEdit` with an end: an editor that never answers, or a cancel while it is
/// asked, ends the job (Err) instead of holding it forever. The inner result is the editor's
/// answer or why there was none.
async fn apply_edit_bounded(
    state: &Arc<State>,
    edit: WorkspaceEdit,
    cancel: &CancellationToken,
) -> Result<Result<ApplyWorkspaceEditResponse, String>, String> {
    tokio::select! {
        _ = cancel.cancelled() => Err("stopped while the editor was asked to apply the edit".into()),
        answer = tokio::time::timeout(APPLY_EDIT_TIMEOUT, state.client.apply_edit(edit)) => match answer {
            Err(_) => Err(format!("the editor did not answer the edit within {} s", APPLY_EDIT_TIMEOUT.as_secs())),
            Ok(Ok(response)) => Ok(Ok(response)),
            Ok(Err(e)) => Ok(Err(format!("the editor did not answer the edit: {e}"))),
        },
    }
}

/// The user's function as the engine takes it; methods and nested functions are refused.
fn existing_function(doc: &Document, uri: &Uri, f: &FunctionSpan) -> Result<ExistingFunction, String> {
    if !f.indent.is_empty() {
        return Err(format!("`{}` is a method or a nested function; only top-level functions are supported", f.name));
    }
    let module_name = uri
        .to_file_path()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .filter(|s| crate::pipeline::spec::is_identifier(s))
        .unwrap_or_else(|| "module".into());
    Ok(ExistingFunction {
        name: f.name.clone(),
        code: locate::function_source(doc, f),
        context: locate::module_context(doc, f),
        module_source: doc.to_text(),
        module_name,
    })
}

/// The function as the engine takes it, from the document as it is now, and the engine.
async fn existing_with_engine(
    state: &State,
    uri: &Uri,
    function: &FunctionSpan,
) -> Result<(ExistingFunction, Arc<crate::pipeline::Evolver>), String> {
    let doc = state.document(uri).ok_or("the document was closed")?;
    let existing = existing_function(&doc, uri, function)?;
    Ok((existing, state.engine().await?))
}

/// The function named `name` as it is in the document now, if its text is still `source`.
fn find_unchanged(doc: &Document, name: &str, source: &str) -> Option<FunctionSpan> {
    locate::functions(doc).into_iter().find(|f| f.name == name && locate::function_source(doc, f) == source)
}

/// From the optimizer's code: the function itself, plus imports and helpers the document lacks.
fn replacement_text(doc: &Document, name: &str, code: &str) -> Result<String, String> {
    let new = Document::new(code, 0, "python");
    let function = locate::functions(&new)
        .into_iter()
        .find(|f| f.name == name && f.indent.is_empty())
        .ok_or_else(|| format!("the optimized code has no top-level `{name}`"))?;
    let existing = doc.to_text();
    let mut out = String::new();
    for line in (0..new.line_count()).map(|l| new.line(l)) {
        if (line.starts_with("import ") || line.starts_with("from ")) && !existing.lines().any(|l| l == line) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    for helper in locate::functions(&new).into_iter().filter(|f| f.indent.is_empty() && f.name != name) {
        let defined = locate::functions(doc).iter().any(|f| f.name == helper.name && f.indent.is_empty());
        if !defined {
            out.push_str(&locate::function_source(&new, &helper));
            out.push_str("\n\n");
        }
    }
    out.push_str(&locate::function_source(&new, &function));
    Ok(out)
}

/// The optimize job: the engine's optimize loop; the function is replaced only by a version that
/// passed every test and was measurably faster, and only while the user has not changed it.
pub async fn optimize(
    state: Arc<State>,
    uri: Uri,
    function: FunctionSpan,
    job: JobContext,
) -> Result<serde_json::Value, String> {
    let (existing, engine) = existing_with_engine(&state, &uri, &function).await?;
    let outcome = match engine.optimize_function(&existing, job.events.clone(), job.cancel.clone()).await {
        Ok(o) => o,
        Err(EvolveError::Cancelled) => return Err("stopped before any edit".into()),
        Err(e) => return Err(e.to_string()),
    };
    let report =
        serde_json::json!({ "function": function.name, "optimization": outcome.report, "cases": outcome.cases });
    *state.last_report.lock().unwrap() = Some(report.clone());
    let r = &outcome.report;
    let Some(code) = outcome.code else {
        let why = r.skipped.clone().unwrap_or_else(|| {
            format!("no faster version passed all {} tests and beat the original beyond noise", outcome.cases)
        });
        return Ok(
            serde_json::json!({ "message": format!("{} kept as it is: {why}", function.name), "replaced": false, "report": report }),
        );
    };
    if job.cancel.is_cancelled() {
        return Err("stopped; nothing was replaced".into());
    }
    let now = state.document(&uri).ok_or("the document was closed")?;
    let span = find_unchanged(&now, &function.name, &existing.code)
        .ok_or_else(|| format!("`{}` was edited while it was being optimized; nothing was replaced", function.name))?;
    let text = replacement_text(&now, &function.name, &code)?;
    let encoding = state.encoding();
    let range = Range::new(Position::new(span.start as u32, 0), Position::new(span.end as u32, 0));
    let range = if span.end >= now.line_count() {
        Range::new(range.start, now.line_end(now.line_count().saturating_sub(1), encoding))
    } else {
        range
    };
    let edit = TextEdit { range, new_text: text };
    let workspace_edit = edits::workspace_edit(&uri, now.version, vec![edit], state.flags().document_changes);
    match apply_edit_bounded(&state, workspace_edit, &job.cancel).await? {
        Ok(response) if response.applied => {}
        Ok(response) => return Err(response.failure_reason.unwrap_or_else(|| "the editor refused the edit".into())),
        Err(e) => return Err(e),
    }
    Ok(serde_json::json!({
        "message": format!("{}: {:.2}× faster, {} tests pass", function.name, r.score, outcome.cases),
        "replaced": true,
        "report": report,
    }))
}

/// The write-tests job: a pytest file beside the document, never over an existing file.
pub async fn write_tests(
    state: Arc<State>,
    uri: Uri,
    function: FunctionSpan,
    job: JobContext,
) -> Result<serde_json::Value, String> {
    let (existing, engine) = existing_with_engine(&state, &uri, &function).await?;
    let written = match engine.write_tests(&existing, job.events.clone(), job.cancel.clone()).await {
        Ok(w) => w,
        Err(EvolveError::Cancelled) => return Err("stopped; no file was written".into()),
        Err(e) => return Err(e.to_string()),
    };
    let report = serde_json::json!({ "function": function.name, "tests": written.report, "cases": written.cases });
    *state.last_report.lock().unwrap() = Some(report.clone());
    if job.cancel.is_cancelled() {
        return Err("stopped; no file was written".into());
    }
    let dir = uri
        .to_file_path()
        .and_then(|p| p.parent().map(|d| d.to_path_buf()))
        .ok_or("the document has no folder on disk to put the tests in")?;
    let path = (1..100)
        .map(|n| {
            if n == 1 {
                dir.join(format!("test_{}.py", function.name))
            } else {
                dir.join(format!("test_{}_{n}.py", function.name))
            }
        })
        .find(|p| !p.exists())
        .ok_or("no free test file name")?;
    {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        file.write_all(written.file_text.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    if let Some(file_uri) = Uri::from_file_path(&path) {
        let _ = state
            .client
            .show_document(ShowDocumentParams {
                uri: file_uri,
                external: Some(false),
                take_focus: Some(false),
                selection: None,
            })
            .await;
    }
    let r = &written.report;
    Ok(serde_json::json!({
        "message": format!("wrote {} ({}/{} pass on the current code)", path.display(), r.passed, r.total),
        "path": path,
        "passed": r.passed,
        "total": r.total,
        "report": report,
    }))
}
