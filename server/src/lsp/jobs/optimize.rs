//! The optimize job: the engine's optimize loop on the user's function; the function is replaced
//! only by a faster version that passed every test, and only while the user has not changed it.

use std::sync::Arc;

use tower_lsp_server::ls_types::*;

use super::{JobContext, JobError, apply_edit_bounded, existing_with_engine};
use crate::lsp::State;
use crate::lsp::document::Document;
use crate::lsp::edits;
use crate::lsp::locate::{self, FunctionSpan};

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
    // The new code's top-level imports (whole statements, however many lines) the document lacks.
    for import in locate::imports(&new) {
        if !existing.contains(import.trim_end()) {
            out.push_str(&import);
        }
    }
    let present = locate::functions(doc);
    for helper in locate::functions(&new).into_iter().filter(|f| f.indent.is_empty() && f.name != name) {
        let defined = present.iter().any(|f| f.name == helper.name && f.indent.is_empty());
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
) -> Result<serde_json::Value, JobError> {
    let (existing, engine) = existing_with_engine(&state, &uri, &function).await?;
    let outcome = engine
        .optimize_function(&existing, job.events.clone(), job.cancel.clone())
        .await
        .map_err(|e| JobError::from_engine(e, "stopped before any edit"))?;
    let report =
        serde_json::json!({ "function": function.name, "optimization": outcome.report, "cases": outcome.cases });
    state.session().last_report = Some(report.clone());
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
        return Err(JobError::Stopped("stopped; nothing was replaced".into()));
    }
    let now = state.document(&uri).ok_or(JobError::DocumentClosed)?;
    let span = find_unchanged(&now, &function.name, &existing.code).ok_or_else(|| {
        JobError::Edit(format!("`{}` was edited while it was being optimized; nothing was replaced", function.name))
    })?;
    let text = replacement_text(&now, &function.name, &code).map_err(JobError::Edit)?;
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
        Ok(response) => {
            return Err(JobError::Edit(
                response.failure_reason.unwrap_or_else(|| "the editor refused the edit".into()),
            ));
        }
        Err(e) => return Err(JobError::Edit(e)),
    }
    Ok(serde_json::json!({
        "message": format!("{}: {:.2}× faster, {} tests pass", function.name, r.score, outcome.cases),
        "replaced": true,
        "report": report,
    }))
}
