//! `textDocument/didOpen`: keep the text, then lint it.

use std::sync::Arc;

use tower_lsp_server::ls_types::DidOpenTextDocumentParams;

use crate::lsp::document::Document;
use crate::lsp::{State, lint};

pub async fn handle(state: &Arc<State>, params: DidOpenTextDocumentParams) {
    let doc = params.text_document;
    // A small file's syntax tree is parsed here (a few ms at most), before the next request; a
    // large one's off the request path (340 ms for 100,000 lines), the text available at once.
    let small = doc.text.len() <= crate::lsp::INLINE_PARSE_BYTES;
    let opened = if small {
        Document::new(&doc.text, doc.version, &doc.language_id)
    } else {
        Document::opened(&doc.text, doc.version, &doc.language_id)
    };
    state.session().documents.insert(doc.uri.clone(), opened);
    if !small {
        crate::lsp::refresh_tree(state, &doc.uri);
    }
    lint::lint_soon(state, &doc.uri);
}
