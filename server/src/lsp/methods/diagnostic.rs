//! `textDocument/diagnostic` (pull): the findings for the document's current version, computed
//! now unless the last lint already covered it.

use std::sync::Arc;

use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::*;

use crate::lsp::{State, lint};

pub async fn handle(state: &Arc<State>, params: DocumentDiagnosticParams) -> Result<DocumentDiagnosticReportResult> {
    let uri = params.text_document.uri;
    if state.document(&uri).is_none() {
        return Err(Error::invalid_params(format!("{} is not open", uri.as_str())));
    }
    // One round serves every pull of a version (20 pulls start one round, not 20); a round
    // that does not end in time answers empty rather than holding the request.
    let items = lint::diagnostics_for(state, &uri, std::time::Duration::from_secs(60)).await.unwrap_or_default();
    Ok(DocumentDiagnosticReportResult::Report(DocumentDiagnosticReport::Full(RelatedFullDocumentDiagnosticReport {
        related_documents: None,
        full_document_diagnostic_report: FullDocumentDiagnosticReport { result_id: None, items },
    })))
}
