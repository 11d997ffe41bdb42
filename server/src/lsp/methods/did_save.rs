//! `textDocument/didSave`: lint the saved text now.

use tower_lsp_server::ls_types::DidSaveTextDocumentParams;

use crate::lsp::{State, lint};

pub async fn handle(state: &State, params: DidSaveTextDocumentParams) {
    lint::lint_now(state, &params.text_document.uri).await;
}
