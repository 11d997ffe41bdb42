//! The evolve job: the engine's evolve, then the verified code into the document below the task
//! comment (or over the selection), re-anchored if the user edited meanwhile.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tower_lsp_server::ls_types::*;

use super::{JobContext, apply_edit_bounded};
use crate::lsp::edits::{self, Target};
use crate::lsp::{State, report};
use crate::pipeline::evolver::{EvolveError, EvolveRequest};

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
    state.session().last_report = Some(report.clone());
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
