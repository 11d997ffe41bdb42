//! `textDocument/completion`: on a task comment (`# evolve: …`) or a `def` line being written,
//! verified functions from memory that match it by meaning — each with its code, tests passed
//! and figures in the documentation. Other lines answer at once with nothing.

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;

use crate::lsp::{State, locate};
use crate::memory::{ArtifactKind, Filter};
use crate::pipeline::learned;

/// The longest a completion waits for memory (embedding the query and searching).
const COMPLETION_BUDGET: std::time::Duration = std::time::Duration::from_millis(500);

pub async fn handle(state: &State, params: CompletionParams) -> Result<Option<CompletionResponse>> {
    let at = params.text_document_position;
    let Some(doc) = state.document(&at.text_document.uri) else { return Ok(None) };
    let line = at.position.line as usize;
    let text = doc.line(line);
    let trimmed = text.trim_start();
    let (query, below) = if let Some(task) = locate::task_comment(&doc, line, false) {
        (task.task, true)
    } else if let Some(rest) = trimmed.strip_prefix("def ") {
        (rest.trim().to_string(), false)
    } else {
        return Ok(None);
    };
    if query.chars().filter(|c| c.is_alphanumeric()).count() < 3 {
        return Ok(None);
    }
    let Ok(engine) = state.engine().await else { return Ok(None) };
    // The query's embedding may wait for a model server slot that long generations hold; a
    // completion list that cannot come quickly is not worth waiting for.
    let functions = Filter::kind(ArtifactKind::Function);
    let search = engine.similar(&query, 5, &functions);
    let hits = match tokio::time::timeout(COMPLETION_BUDGET, search).await {
        Ok(Ok(h)) => h,
        Ok(Err(e)) => {
            tracing::warn!("completion: {e}");
            return Ok(None);
        }
        Err(_) => {
            tracing::warn!("completion: no memory answer within {} ms", COMPLETION_BUDGET.as_millis());
            return Ok(None);
        }
    };
    let encoding = state.encoding();
    let indent: String = text.chars().take_while(|c| c.is_whitespace()).collect();
    let items = hits
        .into_iter()
        .filter_map(|hit| {
            let a = &hit.artifact;
            let stored = learned::function_of(a)?;
            let code = stored.code.trim_end().to_string();
            let signature = stored.signature;
            let m = learned::figures_of(a);
            let figures = format!(
                "{}/{} tests pass · {:.1}× · similarity {:.2}",
                m.tests_passed,
                m.tests_total,
                if m.score > 0.0 { m.score } else { 1.0 },
                hit.score
            );
            let indented: String =
                code.lines().map(|l| if l.is_empty() { "\n".to_string() } else { format!("{indent}{l}\n") }).collect();
            // Below a task comment the code goes on the next lines; on a `def` line it replaces it.
            let (range, new_text) = if below {
                let end = doc.line_end(line, encoding);
                (Range::new(end, end), format!("\n{}", indented.trim_end_matches('\n')))
            } else {
                (
                    Range::new(Position::new(line as u32, 0), doc.line_end(line, encoding)),
                    indented.trim_end().to_string(),
                )
            };
            Some(CompletionItem {
                label: if signature.is_empty() { a.payload.task.clone() } else { signature },
                kind: Some(CompletionItemKind::SNIPPET),
                detail: Some(format!("verified: {} — {figures}", a.payload.task)),
                documentation: Some(Documentation::MarkupContent(MarkupContent {
                    kind: MarkupKind::Markdown,
                    value: format!("**{}**\n\n{figures}\n\n```python\n{code}\n```", a.payload.task),
                })),
                filter_text: Some(if below { text.trim().to_string() } else { trimmed.to_string() }),
                sort_text: Some(format!("{:04}", (1000.0 - hit.score * 1000.0).max(0.0) as u32)),
                text_edit: Some(CompletionTextEdit::Edit(TextEdit { range, new_text })),
                ..Default::default()
            })
        })
        .collect();
    Ok(Some(CompletionResponse::List(CompletionList { is_incomplete: true, items })))
}
