//! `textDocument/didSave`: lint the saved text now.

use std::sync::Arc;

use tower_lsp_server::ls_types::DidSaveTextDocumentParams;

use crate::lsp::{State, lint};

pub async fn handle(state: &Arc<State>, params: DidSaveTextDocumentParams) {
    lint::lint_soon(state, &params.text_document.uri);
}
