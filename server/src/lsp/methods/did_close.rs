//! `textDocument/didClose`: forget the text and its diagnostics.

use tower_lsp_server::ls_types::DidCloseTextDocumentParams;

use crate::lsp::State;

pub async fn handle(state: &State, params: DidCloseTextDocumentParams) {
    let uri = params.text_document.uri;
    state.session().documents.remove(&uri);
    state.lints.close(&uri);
    state.session().diagnostics.remove(&uri);
    if !state.flags().pull_diagnostics {
        state.client.publish_diagnostics(uri, Vec::new(), None).await;
    }
}
