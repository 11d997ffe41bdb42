//! The evolve job: the engine's evolve, then the verified code into the document below the task
//! comment (or over the selection), re-anchored if the user edited meanwhile.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tower_lsp_server::ls_types::*;

use super::{JobContext, JobError, apply_edit_bounded};
use crate::lsp::edits::{self, Target};
use crate::lsp::{State, report};
use crate::pipeline::evolver::EvolveRequest;

pub async fn evolve(
    state: Arc<State>,
    uri: Uri,
    target: Target,
    started_version: i32,
    job: JobContext,
) -> Result<serde_json::Value, JobError> {
    let engine = state.engine().await.map_err(JobError::NoEngine)?;
    let request = EvolveRequest {
        run_task: false,
        optimize: engine.config().editor.optimize,
        ..EvolveRequest::new(target.task())
    };
    let outcome = engine
        .evolve(request, job.events.clone(), job.cancel.clone())
        .await
        .map_err(|e| JobError::from_engine(e, "stopped before any edit"))?;
    let report = report::outcome_report(&outcome);
    state.session().last_report = Some(report.clone());
    if job.cancel.is_cancelled() {
        return Err(JobError::Stopped(format!(
            "stopped; the verified node was kept as {} but not inserted",
            outcome.node_id
        )));
    }
    let (indent, marker) = match &target {
        Target::Below(c) => (c.indent.clone(), c.marker),
        Target::Replace { text, .. } => (text.chars().take_while(|c| *c == ' ' || *c == '\t').collect(), "#"),
    };
    let block = edits::evolved_block(&indent, marker, &report::header_text(&outcome), &outcome.code);
    apply_with_retry(&state, &uri, &target, started_version, &block, &job.cancel).await.map_err(|e| {
        e.noting(&format!("nothing was inserted. The verified node is kept: `code-evolver show {}`", outcome.node_id))
    })?;
    Ok(serde_json::json!({
        "message": format!("{} v{}: {}/{} tests pass", outcome.node_id, outcome.version, outcome.report.passed, outcome.report.total),
        "node_id": outcome.node_id,
        "version": outcome.version,
        "report": report,
        // A workflow's verified steps (their code is in the inserted block, above the function).
        "workflow": outcome.workflow,
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
) -> Result<(), JobError> {
    let mut last_refusal = String::new();
    for _ in 0..2 {
        let doc = state.document(uri).ok_or(JobError::DocumentClosed)?;
        let edit = edits::place(&doc, target, started_version, block, state.encoding()).map_err(JobError::Edit)?;
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
    Err(JobError::Edit(last_refusal))
}
