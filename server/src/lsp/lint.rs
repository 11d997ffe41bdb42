//! Diagnostics from the real linters (the engine's `analysis`): the document's current text is
//! written to a private temp dir under its own file name and checked there, so unsaved edits are
//! linted and nothing is written beside the user's file.

use tower_lsp_server::ls_types::{Diagnostic, DiagnosticSeverity, NumberOrString, Position, Range, Uri};

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

use super::State;
use super::document::{Document, Encoding};
use crate::analysis::{Finding, Severity};

fn is_python(uri: &Uri, doc: &Document) -> bool {
    doc.language == "python" || uri.as_str().ends_with(".py") || uri.as_str().ends_with(".pyi")
}

/// How many documents are linted at once (each round starts up to five linter processes).
const MAX_CONCURRENT_ROUNDS: usize = 2;

/// Lint rounds, never run inside a request handler: at most one per document at a time (a newer
/// request cancels the running round, killing its linters, and runs again on the newest text),
/// at most `MAX_CONCURRENT_ROUNDS` documents at once, changes debounced per document.
pub struct LintQueue {
    slots: Mutex<HashMap<Uri, Slot>>,
    permits: tokio::sync::Semaphore,
    /// Woken after every round (pull requests wait on it).
    linted: tokio::sync::Notify,
}

#[derive(Default)]
struct Slot {
    /// Bumped on every change: a debounced round that is no longer the latest does not start.
    generation: u64,
    /// The running round and the document version it lints.
    running: Option<(CancellationToken, i32)>,
    rerun: bool,
}

impl Default for LintQueue {
    fn default() -> Self {
        LintQueue {
            slots: Mutex::default(),
            permits: tokio::sync::Semaphore::new(MAX_CONCURRENT_ROUNDS),
            linted: tokio::sync::Notify::new(),
        }
    }
}

impl LintQueue {
    /// Forgets a closed document (its running round is cancelled).
    pub fn close(&self, uri: &Uri) {
        if let Some(slot) = self.slots.lock().unwrap().remove(uri)
            && let Some((token, _)) = slot.running
        {
            token.cancel();
        }
    }
}

/// Lints the document as soon as a slot is free (now, unless a round for it runs: that one is
/// cancelled and the document linted again, unless it already lints this very version).
pub fn lint_soon(state: &Arc<State>, uri: &Uri) {
    let Some(version) = state.document(uri).map(|d| d.version) else { return };
    let token = {
        let mut slots = state.lints.slots.lock().unwrap();
        let slot = slots.entry(uri.clone()).or_default();
        if let Some((running, running_version)) = &slot.running {
            if *running_version != version {
                running.cancel();
                slot.rerun = true;
            }
            return;
        }
        let token = CancellationToken::new();
        slot.running = Some((token.clone(), version));
        token
    };
    let (state, uri) = (state.clone(), uri.clone());
    tokio::spawn(rounds(state, uri, token));
}

async fn rounds(state: Arc<State>, uri: Uri, mut token: CancellationToken) {
    loop {
        if let Ok(_permit) = state.lints.permits.acquire().await {
            tokio::select! {
                _ = token.cancelled() => {}
                _ = lint_now(&state, &uri) => {}
            }
        }
        state.lints.linted.notify_waiters();
        let mut slots = state.lints.slots.lock().unwrap();
        let Some(slot) = slots.get_mut(&uri) else { return };
        if !slot.rerun {
            slot.running = None;
            return;
        }
        slot.rerun = false;
        let version = state.document(&uri).map(|d| d.version).unwrap_or_default();
        token = CancellationToken::new();
        slot.running = Some((token.clone(), version));
    }
}

/// Lints after `editor.lint_delay_ms` without further changes (0: only on open and save). Returns
/// at once: the wait runs in the background, not in the didChange handler.
pub fn lint_later(state: &Arc<State>, uri: &Uri) {
    let generation = {
        let mut slots = state.lints.slots.lock().unwrap();
        let slot = slots.entry(uri.clone()).or_default();
        slot.generation += 1;
        slot.generation
    };
    let (state, uri) = (state.clone(), uri.clone());
    tokio::spawn(async move {
        let delay = match state.engine().await {
            Ok(engine) => engine.config().editor.lint_delay_ms,
            Err(_) => return,
        };
        if delay == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
        let latest = state.lints.slots.lock().unwrap().get(&uri).map(|s| s.generation) == Some(generation);
        if latest {
            lint_soon(&state, &uri);
        }
    });
}

/// The diagnostics of the document's current version: the last round's if it covered this
/// version, else those of a round started (or joined) now, waiting at most `within`.
pub async fn diagnostics_for(state: &Arc<State>, uri: &Uri, within: std::time::Duration) -> Option<Vec<Diagnostic>> {
    let deadline = tokio::time::Instant::now() + within;
    let mut asked = false;
    loop {
        let version = state.document(uri)?.version;
        let linted = state.lints.linted.notified();
        if let Some((v, items)) = state.session().diagnostics.get(uri)
            && *v >= version
        {
            return Some(items.clone());
        }
        if !asked {
            lint_soon(state, uri);
            asked = true;
        }
        if tokio::time::timeout_at(deadline, linted).await.is_err() {
            return None;
        }
        let idle = state.lints.slots.lock().unwrap().get(uri).is_none_or(|s| s.running.is_none());
        if idle {
            asked = false; // the round ended without covering this version (an error): ask once more
            if tokio::time::Instant::now() + std::time::Duration::from_millis(10) >= deadline {
                return None;
            }
        }
    }
}

/// Lints the document now; publishes (push) each linter's findings as it finishes, and keeps
/// the whole set for pulls.
async fn lint_now(state: &State, uri: &Uri) {
    let Some(doc) = state.document(uri) else { return };
    let keep = |items: Vec<Diagnostic>| {
        let mut session = state.session();
        let stored = &mut session.diagnostics;
        // A newer version may have been linted meanwhile; never replace newer findings with older.
        if stored.get(uri).is_some_and(|(v, _)| *v > doc.version) {
            return false;
        }
        stored.insert(uri.clone(), (doc.version, items));
        true
    };
    if !is_python(uri, &doc) {
        keep(Vec::new()); // nothing to lint: pulls need not wait
        return;
    }
    let engine = match state.engine().await {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!("no diagnostics: {e}");
            keep(Vec::new());
            return;
        }
    };
    let linters = engine.config().editor.diagnostics.clone();
    let scratch = match scratch_copy(uri, &doc) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!("no diagnostics: {e}");
            keep(Vec::new());
            return;
        }
    };
    let (dir, file) = scratch;
    let push = !state.flags().pull_diagnostics;
    let encoding = state.encoding();
    let mut all = Vec::new();
    let mut left = linters.len();
    let mut reports = engine.linters().check_each(&linters, &file, dir.path());
    while let Some(report) = futures_util::StreamExt::next(&mut reports).await {
        left -= 1;
        if let Some(error) = &report.error {
            tracing::warn!(tool = report.tool, "{error}");
        }
        let found = report.findings.unwrap_or_default();
        all.extend(found.iter().map(|f| to_diagnostic(&doc, f, encoding)));
        if push && left > 0 && !found.is_empty() {
            state.client.publish_diagnostics(uri.clone(), all.clone(), Some(doc.version)).await;
        }
    }
    if keep(all.clone()) && push {
        state.client.publish_diagnostics(uri.clone(), all, Some(doc.version)).await;
    }
}

/// The document's current text in a private temp dir under its own file name (so unsaved edits
/// are linted and nothing is written beside the user's file).
fn scratch_copy(uri: &Uri, doc: &Document) -> Result<(tempfile::TempDir, std::path::PathBuf), String> {
    let name = uri
        .to_file_path()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .filter(|n| n.ends_with(".py") || n.ends_with(".pyi"))
        // A name the file system cannot hold (over 255 bytes) is linted under a short one.
        .filter(|n| n.len() <= 200)
        .unwrap_or_else(|| "buffer.py".into());
    let dir = crate::scratch::temp_dir("code-evolver-lint-").map_err(|e| e.to_string())?;
    let file = dir.path().join(&name);
    std::fs::write(&file, doc.to_text()).map_err(|e| format!("{}: {e}", file.display()))?;
    Ok((dir, file))
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
