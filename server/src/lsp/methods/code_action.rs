//! `textDocument/codeAction`: "Evolve: ‹task›" on a task comment or a selection; inside a Python
//! function, "Evolve: optimize ‹name›" and "Evolve: write tests for ‹name›". Each runs a command,
//! so the long work happens in `workspace/executeCommand` with progress.

use serde_json::json;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;

use crate::lsp::{State, commands, edits, locate};

fn short(task: &str) -> String {
    let mut s: String = task.chars().take(60).collect();
    if task.chars().count() > 60 {
        s.push('…');
    }
    s
}

fn action(title: String, command: &str, args: serde_json::Value) -> CodeActionOrCommand {
    CodeActionOrCommand::CodeAction(CodeAction {
        title: title.clone(),
        kind: Some(CodeActionKind::REFACTOR_REWRITE),
        command: Some(Command { title, command: command.to_string(), arguments: Some(vec![args]) }),
        ..Default::default()
    })
}

pub async fn handle(state: &State, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
    let uri = params.text_document.uri;
    let Some(doc) = state.document(&uri) else { return Ok(None) };
    if let Some(only) = &params.context.only
        && !only.iter().any(|k| CodeActionKind::REFACTOR_REWRITE.as_str().starts_with(k.as_str()))
    {
        return Ok(None);
    }
    let mut actions = Vec::new();
    if let Some(target) = edits::evolve_target(&doc, params.range, state.encoding()) {
        actions.push(action(
            format!("Evolve: {}", short(target.task())),
            commands::EVOLVE,
            json!({"uri": uri, "range": params.range}),
        ));
    }
    if let Some(function) = locate::function_at(&doc, params.range.start.line as usize) {
        let args = json!({"uri": uri, "line": function.def_line});
        actions.push(action(format!("Evolve: optimize {}", function.name), commands::OPTIMIZE, args.clone()));
        actions.push(action(format!("Evolve: write tests for {}", function.name), commands::WRITE_TESTS, args));
    }
    Ok((!actions.is_empty()).then_some(actions))
}
