//! `textDocument/codeLens`: above each evolved function, "N/N tests pass · 1.8× faster · 2.1 MB"
//! from the registry's record of the version its header names; clicking shows the report.

use serde_json::json;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;

use crate::lsp::{State, commands, locate, report};

pub async fn handle(state: &State, params: CodeLensParams) -> Result<Option<Vec<CodeLens>>> {
    let Some(doc) = state.document(&params.text_document.uri) else { return Ok(None) };
    let headers = locate::headers(&doc);
    if headers.is_empty() {
        return Ok(None);
    }
    let Ok(engine) = state.engine().await else { return Ok(None) };
    // The registry reads (SQLite) run off the async workers that serve the other requests.
    let ids: Vec<String> = headers.iter().map(|h| h.node_id.clone()).collect();
    let Ok(nodes) =
        tokio::task::spawn_blocking(move || ids.iter().map(|id| engine.registry().get(id).ok()).collect::<Vec<_>>())
            .await
    else {
        return Ok(None);
    };
    let mut lenses = Vec::new();
    for (header, node) in headers.into_iter().zip(nodes) {
        let Some(node) = node else { continue };
        let Some(version) = node.versions.iter().find(|v| v.version == header.version) else { continue };
        // On the function's `def` line when it follows the header, else on the header.
        let line =
            if doc.line(header.line + 1).trim_start().starts_with("def ") { header.line + 1 } else { header.line };
        let at = Position::new(line as u32, 0);
        lenses.push(CodeLens {
            range: Range::new(at, at),
            command: Some(Command {
                title: report::lens_title(version, node.stats.iter().find(|s| s.version == version.version)),
                command: commands::SHOW_REPORT.into(),
                arguments: Some(vec![json!({"node_id": node.id})]),
            }),
            data: None,
        });
    }
    Ok(Some(lenses))
}
