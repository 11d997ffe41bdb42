//! `window/workDoneProgress/cancel`: the user pressed cancel on a progress the server created.

use tower_lsp_server::ls_types::{NumberOrString, WorkDoneProgressCancelParams};

use crate::lsp::State;

pub async fn handle(state: &State, params: WorkDoneProgressCancelParams) {
    let token = match params.token {
        NumberOrString::String(s) => s,
        NumberOrString::Number(n) => n.to_string(),
    };
    if let Some(job) = state.session().jobs.get(&token) {
        job.cancel.cancel();
    }
}
