//! The write-tests job: a pytest file from the spec beside the document, never over a file that
//! exists.

use std::sync::Arc;

use tower_lsp_server::ls_types::*;

use super::{JobContext, JobError, existing_with_engine};
use crate::lsp::State;
use crate::lsp::locate::FunctionSpan;

/// The write-tests job: a pytest file beside the document, never over an existing file.
pub async fn write_tests(
    state: Arc<State>,
    uri: Uri,
    function: FunctionSpan,
    job: JobContext,
) -> Result<serde_json::Value, JobError> {
    let (existing, engine) = existing_with_engine(&state, &uri, &function).await?;
    let written = engine
        .write_tests(&existing, job.events.clone(), job.cancel.clone())
        .await
        .map_err(|e| JobError::from_engine(e, "stopped; no file was written"))?;
    let report = serde_json::json!({ "function": function.name, "tests": written.report, "cases": written.cases });
    state.session().last_report = Some(report.clone());
    if job.cancel.is_cancelled() {
        return Err(JobError::Stopped("stopped; no file was written".into()));
    }
    let dir = uri
        .to_file_path()
        .and_then(|p| p.parent().map(|d| d.to_path_buf()))
        .ok_or_else(|| JobError::File("the document has no folder on disk to put the tests in".into()))?;
    // File work off the async workers that serve requests.
    let (name, text) = (function.name.clone(), written.file_text.clone());
    let path = tokio::task::spawn_blocking(move || write_new_test_file(&dir, &name, &text))
        .await
        .map_err(|e| JobError::File(format!("writing the test file failed: {e}")))?
        .map_err(JobError::File)?;
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

/// Writes `text` to `test_NAME.py` in `dir`, or `test_NAME_2.py` ... when that exists: never over
/// a file that is there (`create_new`, so a file made meanwhile is not overwritten either).
fn write_new_test_file(dir: &std::path::Path, name: &str, text: &str) -> Result<std::path::PathBuf, String> {
    use std::io::Write;
    for n in 1..100 {
        let path = if n == 1 { dir.join(format!("test_{name}.py")) } else { dir.join(format!("test_{name}_{n}.py")) };
        let mut file = match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        file.write_all(text.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))?;
        return Ok(path);
    }
    Err(format!("no free test file name for `{name}` in {}", dir.display()))
}
