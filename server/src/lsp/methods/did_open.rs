//! `textDocument/didOpen`: keep the text, then lint it.

use std::sync::Arc;

use tower_lsp_server::ls_types::DidOpenTextDocumentParams;

use crate::lsp::document::Document;
use crate::lsp::{State, lint};

pub async fn handle(state: &Arc<State>, params: DidOpenTextDocumentParams) {
    let doc = params.text_document;
    state.session().documents.insert(doc.uri.clone(), Document::new(&doc.text, doc.version, &doc.language_id));
    lint::lint_soon(state, &doc.uri);
}
