//! `workspace/didChangeConfiguration`: the new settings replace the editor layer; the engine is
//! rebuilt on next use (running jobs finish on the old one). Bad settings are refused with the
//! key at fault, and the previous ones stay.

use tower_lsp_server::ls_types::DidChangeConfigurationParams;

use crate::lsp::{State, settings};

pub async fn handle(state: &State, params: DidChangeConfigurationParams) {
    let global = state.global.lock().unwrap().clone();
    if let Err(e) = settings::load_config(&global, &params.settings) {
        state.show_error(format!("code-evolver: the new settings were not applied: {e}")).await;
        return;
    }
    *state.editor_settings.lock().unwrap() = params.settings;
    state.reset_engine().await;
}
