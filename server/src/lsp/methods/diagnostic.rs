//! `textDocument/diagnostic` (pull): the findings for the document's current version, computed
//! now unless the last lint already covered it.

use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::*;

use crate::lsp::{State, lint};

pub async fn handle(state: &State, params: DocumentDiagnosticParams) -> Result<DocumentDiagnosticReportResult> {
    let uri = params.text_document.uri;
    let Some(doc) = state.document(&uri) else {
        return Err(Error::invalid_params(format!("{} is not open", uri.as_str())));
    };
    let cached = state.diagnostics.lock().unwrap().get(&uri).filter(|(v, _)| *v == doc.version).map(|(_, d)| d.clone());
    let items = match cached {
        Some(items) => items,
        None => {
            // Without an engine (bad configuration, no Python) there is nothing to lint with; the
            // reason was shown once at start, not on every pull.
            let items = match lint::compute(state, &uri, &doc).await {
                Ok(items) => items,
                Err(e) => {
                    tracing::warn!("no diagnostics: {e}");
                    return Ok(DocumentDiagnosticReportResult::Report(DocumentDiagnosticReport::Full(
                        RelatedFullDocumentDiagnosticReport::default(),
                    )));
                }
            };
            state.diagnostics.lock().unwrap().insert(uri.clone(), (doc.version, items.clone()));
            items
        }
    };
    Ok(DocumentDiagnosticReportResult::Report(DocumentDiagnosticReport::Full(RelatedFullDocumentDiagnosticReport {
        related_documents: None,
        full_document_diagnostic_report: FullDocumentDiagnosticReport { result_id: None, items },
    })))
}
