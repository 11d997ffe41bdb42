//! `workspace/didChangeConfiguration`: the new settings replace the editor layer; the engine is
//! rebuilt on next use (running jobs finish on the old one). Bad settings are refused with the
//! key at fault, and the previous ones stay.

use tower_lsp_server::ls_types::DidChangeConfigurationParams;

use crate::lsp::{State, settings};

pub async fn handle(state: &State, params: DidChangeConfigurationParams) {
    let global = state.session().global.clone();
    if let Err(e) = settings::load_config(&global, &params.settings) {
        let message = format!("code-evolver: the new settings were not applied: {e}");
        // The same error again (an editor re-sending on every keystroke) is logged, not popped up.
        let repeated = state.session().last_config_error.replace(message.clone()).as_deref() == Some(&message);
        if repeated {
            state.client.log_message(tower_lsp_server::ls_types::MessageType::WARNING, message).await;
        } else {
            state.show_error(message).await;
        }
        return;
    }
    state.session().last_config_error = None;
    state.session().editor_settings = params.settings;
    state.reset_engine().await;
}
