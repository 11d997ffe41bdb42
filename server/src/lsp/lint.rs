//! Diagnostics from the real linters (the engine's `analysis`): the document's current text is
//! written to a private temp dir under its own file name and checked there, so unsaved edits are
//! linted and nothing is written beside the user's file.

use tower_lsp_server::ls_types::{Diagnostic, DiagnosticSeverity, NumberOrString, Position, Range, Uri};

use super::State;
use super::document::{Document, Encoding};
use crate::analysis::{Finding, Severity};

fn is_python(uri: &Uri, doc: &Document) -> bool {
    doc.language == "python" || uri.as_str().ends_with(".py") || uri.as_str().ends_with(".pyi")
}

/// Lints the document now; publishes (push) or keeps (pull) the result.
pub async fn lint_now(state: &State, uri: &Uri) {
    let Some(doc) = state.document(uri) else { return };
    if !is_python(uri, &doc) {
        return;
    }
    let diagnostics = match compute(state, uri, &doc).await {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!("no diagnostics: {e}");
            return;
        }
    };
    // A newer version may have been linted meanwhile; never replace newer findings with older.
    {
        let mut stored = state.diagnostics.lock().unwrap();
        if stored.get(uri).is_some_and(|(v, _)| *v > doc.version) {
            return;
        }
        stored.insert(uri.clone(), (doc.version, diagnostics.clone()));
    }
    if !state.flags().pull_diagnostics {
        state.client.publish_diagnostics(uri.clone(), diagnostics, Some(doc.version)).await;
    }
}

/// Lints after `editor.lint_delay_ms` without further changes (0: only on open and save).
pub async fn lint_later(state: &State, uri: &Uri) {
    let generation = {
        let mut generations = state.lint_generation.lock().unwrap();
        let g = generations.entry(uri.clone()).or_insert(0);
        *g += 1;
        *g
    };
    let delay = match state.engine().await {
        Ok(engine) => engine.config().editor.lint_delay_ms,
        Err(_) => return,
    };
    if delay == 0 {
        return;
    }
    tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
    if state.lint_generation.lock().unwrap().get(uri) != Some(&generation) {
        return; // a later change restarted the wait
    }
    lint_now(state, uri).await;
}

/// The linters' findings on `doc` as diagnostics.
pub async fn compute(state: &State, uri: &Uri, doc: &Document) -> Result<Vec<Diagnostic>, String> {
    let engine = state.engine().await?;
    let linters = engine.config().editor.diagnostics.clone();
    if linters.is_empty() {
        return Ok(Vec::new());
    }
    let name = uri
        .to_file_path()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .filter(|n| n.ends_with(".py") || n.ends_with(".pyi"))
        .unwrap_or_else(|| "buffer.py".into());
    let dir = tempfile::Builder::new().prefix("code-evolver-lint-").tempdir().map_err(|e| e.to_string())?;
    let file = dir.path().join(&name);
    std::fs::write(&file, doc.to_text()).map_err(|e| format!("{}: {e}", file.display()))?;
    let reports = engine.linters().check(&linters, &file, dir.path()).await;
    let encoding = state.encoding();
    let mut out = Vec::new();
    for report in reports {
        if let Some(error) = &report.error {
            tracing::warn!(tool = report.tool, "{error}");
        }
        for finding in report.findings.unwrap_or_default() {
            out.push(to_diagnostic(doc, &finding, encoding));
        }
    }
    Ok(out)
}

fn to_diagnostic(doc: &Document, f: &Finding, encoding: Encoding) -> Diagnostic {
    // The tools count 1-based lines and character columns.
    let at = |line: u32, col: u32| -> Position {
        let line = (line.max(1) - 1) as usize;
        if line >= doc.line_count() {
            return doc.line_end(doc.line_count().saturating_sub(1), encoding);
        }
        let chars = doc.line(line).chars().count();
        let offset = doc.text.line_to_char(line) + ((col.max(1) - 1) as usize).min(chars);
        doc.position(offset, encoding)
    };
    let start = at(f.range.start_line, f.range.start_col);
    let mut end = at(f.range.end_line, f.range.end_col);
    if end <= start {
        end = doc.line_end(start.line as usize, encoding);
    }
    Diagnostic {
        range: Range::new(start, end),
        severity: Some(match f.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
            Severity::Info => DiagnosticSeverity::INFORMATION,
        }),
        code: (!f.code.is_empty()).then(|| NumberOrString::String(f.code.clone())),
        source: Some(f.tool.clone()),
        message: f.message.clone(),
        ..Default::default()
    }
}
