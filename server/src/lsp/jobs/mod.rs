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
use super::locate::{self, FunctionSpan};
use super::protocol::{JobDone, JobStarted, StageNotice};
use super::{Job, State, next_token};
use crate::pipeline::events::{Event, EventSink};
use crate::pipeline::evolver::EvolveError;
use crate::pipeline::existing::ExistingFunction;

mod error;
mod evolve;
mod optimize;
mod write_tests;

pub use error::JobError;
pub use evolve::evolve;
pub use optimize::optimize;
pub use write_tests::write_tests;

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
    Fut: std::future::Future<Output = Result<serde_json::Value, JobError>> + Send + 'static,
{
    let cancel = CancellationToken::new();
    let token = next_token(state);
    state.session().jobs.insert(token.clone(), Job { title: title.clone(), uri: uri.clone(), cancel: cancel.clone() });
    let answer = serde_json::to_value(JobStarted { token: token.clone(), title: title.clone(), started: true })
        .unwrap_or(serde_json::Value::Null);
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
    Fut: std::future::Future<Output = Result<serde_json::Value, JobError>> + Send + 'static,
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
                    .send_notification::<StageNotification>(
                        serde_json::to_value(StageNotice {
                            token: &token,
                            stage: event.stage.as_str(),
                            percent: event.percent,
                            level: event.level,
                            message: &event.message,
                            detail: event.detail.as_ref(),
                        })
                        .unwrap_or(serde_json::Value::Null),
                    )
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
    let result =
        handle.await.unwrap_or_else(|e| Err(JobError::Engine(EvolveError::Node(format!("the job failed: {e}")))));
    let _ = forwarder.await;
    state.session().jobs.remove(&token);
    let done =
        |ok: bool, cancelled: bool, message: &str, result: serde_json::Value, error: Option<&JobError>| JobDone {
            token: token.clone(),
            title: title.clone(),
            ok,
            cancelled,
            message: message.to_string(),
            result,
            error: error.map(|e| e.to_string()),
            error_kind: error.map(JobError::kind),
        };
    let notice = match result {
        Ok(value) => {
            let message = value.get("message").and_then(|m| m.as_str()).unwrap_or("done").to_string();
            progress.end(message.clone()).await;
            done(true, false, &message, value, None)
        }
        Err(error) if cancel.is_cancelled() || matches!(error, JobError::Stopped(_)) => {
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
    state
        .client
        .send_notification::<JobDoneNotification>(serde_json::to_value(notice).unwrap_or(serde_json::Value::Null))
        .await;
}

/// How long the editor may take to answer `workspace/applyEdit`.
const APPLY_EDIT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// `workspace/applyEdit` with an end: an editor that never answers, or a cancel while it is
/// asked, ends the job (Err) instead of holding it forever. The inner result is the editor's
/// answer or why there was none.
pub(super) async fn apply_edit_bounded(
    state: &Arc<State>,
    edit: WorkspaceEdit,
    cancel: &CancellationToken,
) -> Result<Result<ApplyWorkspaceEditResponse, String>, JobError> {
    tokio::select! {
        _ = cancel.cancelled() => Err(JobError::Stopped("stopped while the editor was asked to apply the edit".into())),
        answer = tokio::time::timeout(APPLY_EDIT_TIMEOUT, state.client.apply_edit(edit)) => match answer {
            Err(_) => Err(JobError::Edit(format!("the editor did not answer the edit within {} s", APPLY_EDIT_TIMEOUT.as_secs()))),
            Ok(Ok(response)) => Ok(Ok(response)),
            Ok(Err(e)) => Ok(Err(format!("the editor did not answer the edit: {e}"))),
        },
    }
}

/// The user's function as the engine takes it; methods and nested functions are refused.
fn existing_function(doc: &Document, uri: &Uri, f: &FunctionSpan) -> Result<ExistingFunction, JobError> {
    if !f.indent.is_empty() {
        return Err(JobError::Unsupported(format!(
            "`{}` is a method or a nested function; only top-level functions are supported",
            f.name
        )));
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
pub(super) async fn existing_with_engine(
    state: &State,
    uri: &Uri,
    function: &FunctionSpan,
) -> Result<(ExistingFunction, Arc<crate::pipeline::Evolver>), JobError> {
    let doc = state.document(uri).ok_or(JobError::DocumentClosed)?;
    let existing = existing_function(&doc, uri, function)?;
    Ok((existing, state.engine().await.map_err(JobError::NoEngine)?))
}
