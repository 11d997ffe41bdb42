//! `textDocument/hover`: on an evolved node's header, its task, figures and lineage from the
//! registry. Anything else: no hover (and no engine work, so it stays fast).

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;

use crate::lsp::{State, locate, report};

pub async fn handle(state: &State, params: HoverParams) -> Result<Option<Hover>> {
    let at = params.text_document_position_params;
    let Some(doc) = state.document(&at.text_document.uri) else { return Ok(None) };
    let Some(header) = locate::header_at(&doc, at.position.line as usize) else { return Ok(None) };
    let Ok(engine) = state.engine().await else { return Ok(None) };
    // The registry read (SQLite) runs off the async workers that serve the other requests.
    let id = header.node_id.clone();
    let found = tokio::task::spawn_blocking(move || engine.registry().get(&id).map_err(|e| e.to_string()))
        .await
        .unwrap_or_else(|e| Err(e.to_string()));
    let markdown = match found {
        Ok(node) => report::hover_markdown(&node, header.version),
        Err(e) => format!("`{}`: not in this machine's registry ({e})", header.node_id),
    };
    Ok(Some(Hover {
        contents: HoverContents::Markup(MarkupContent { kind: MarkupKind::Markdown, value: markdown }),
        range: Some(Range::new(Position::new(header.line as u32, 0), doc.line_end(header.line, state.encoding()))),
    }))
}
