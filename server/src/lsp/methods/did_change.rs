//! `textDocument/didChange`: the edits are applied before the first `.await`, so no request that
//! arrives after them ever sees the old text; linting runs after a quiet delay.

use std::sync::Arc;

use tower_lsp_server::ls_types::DidChangeTextDocumentParams;

use crate::lsp::{State, lint};

pub async fn handle(state: &Arc<State>, params: DidChangeTextDocumentParams) {
    let uri = params.text_document.uri;
    let pending = {
        let encoding = state.encoding();
        let mut session = state.session();
        let Some(doc) = session.documents.get_mut(&uri) else {
            tracing::warn!(uri = uri.as_str(), "didChange for a document that is not open");
            return;
        };
        if params.text_document.version <= doc.version {
            // LSP versions only increase; the change is applied (the client's text is the truth)
            // and the anomaly logged: edits the server sends against versions may be refused.
            tracing::warn!(
                uri = uri.as_str(),
                "didChange version {} does not follow {}",
                params.text_document.version,
                doc.version
            );
        }
        doc.apply(params.text_document.version, &params.content_changes, encoding);
        // A small file's tree is reparsed here (incremental: microseconds), so the next request
        // sees the structure of this version; a large one's off the request path.
        if doc.text.len_bytes() <= crate::lsp::INLINE_PARSE_BYTES
            && let Some(tree) = doc.reparsed()
        {
            let version = doc.version;
            doc.set_tree(version, tree);
        }
        doc.needs_parse()
    };
    if pending {
        crate::lsp::refresh_tree(state, &uri);
    }
    lint::lint_later(state, &uri);
}
