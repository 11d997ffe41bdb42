//! Assembles the node program: the model writes only the function (and helpers); the engine owns
//! the I/O contract, appended below it.

use super::spec::Spec;

/// The line that starts the engine-owned part of a node; findings below it are not the model's.
pub const HARNESS_MARKER: &str = "# --- node I/O (written by code-evolver) ---";

/// Cleans the code taken from a model's answer (`generate::code_in_answer`): any `__main__` block
/// goes (the engine owns I/O). runtime/tidy.py then removes examples left at import time or after
/// a `return`.
pub fn clean_model_code(code: &str) -> String {
    let code = code.trim();
    let kept: Vec<&str> = match crate::python::main_guard_line(code) {
        Some(guard) => code.lines().take(guard).collect(),
        None => code.lines().collect(),
    };
    let mut text = kept.join("\n").trim_end().to_string();
    text.push('\n');
    text
}

/// Names of top-level functions defined in `code` (from the parser: a `def` inside a string is
/// not one).
pub fn top_level_functions(code: &str) -> Vec<String> {
    crate::python::top_level_functions(code)
}

/// The model's code with the function the spec names. When the model named its only function
/// differently, an alias keeps the contract (and says so); otherwise an error explains.
pub fn ensure_entry(code: &str, spec: &Spec) -> Result<(String, Option<String>), String> {
    let wanted = &spec.function.name;
    let functions = top_level_functions(code);
    if functions.iter().any(|f| f == wanted) {
        return Ok((code.to_string(), None));
    }
    match functions.as_slice() {
        [only] => Ok((
            format!("{code}\n\n{wanted} = {only}\n"),
            Some(format!("the model named the function `{only}`; `{wanted}` is bound to it")),
        )),
        [] => Err(format!("the code defines no function; `def {}` is required", spec.signature())),
        many => Err(format!(
            "the code defines {} but not `{wanted}`; `def {}` is required",
            many.join(", "),
            spec.signature()
        )),
    }
}

/// Lines of the node program above the model's code (the docstring and two blank lines).
pub const MODEL_CODE_OFFSET: u32 = 3;

/// The node program: a docstring, the model's code, then the engine's I/O (laid out so that
/// flake8's blank-line rules hold).
pub fn assemble(task: &str, code: &str, function: &str) -> String {
    // Nothing the user typed may end the docstring early or escape its closing quotes.
    let mut task_line = task.replace(['\n', '\r'], " ").replace('\\', "\\\\").replace("\"\"\"", "'''");
    if task_line.ends_with('"') {
        task_line.push(' ');
    }
    format!(
        "\"\"\"code-evolver node. Task: {task_line}\"\"\"\n\n\n{}\n\n\n{HARNESS_MARKER}\nif __name__ == \"__main__\":\n    from node_runtime import serve  # pylint: disable=import-outside-toplevel\n\n    serve({function})\n",
        code.trim_end()
    )
}

/// The model's part of an assembled node (for display and for the editor).
pub fn model_part(node: &str) -> String {
    let body = node.split(HARNESS_MARKER).next().unwrap_or(node);
    let body = match body.strip_prefix("\"\"\"") {
        Some(rest) => rest.split_once("\"\"\"").map(|(_, after)| after).unwrap_or(rest),
        None => body,
    };
    format!("{}\n", body.trim())
}

/// First line of the engine's part, 1-based; findings from there on are dropped.
pub fn harness_line(node: &str) -> u32 {
    node.lines().position(|l| l == HARNESS_MARKER).map(|i| i as u32 + 1).unwrap_or(u32::MAX)
}

/// The node contract's answer: the last stdout line as `{"result": ...}` or `{"error": ...}`.
pub fn parse_output(
    outcome: &crate::sandbox::RunOutcome,
    limits: &crate::sandbox::NodeLimits,
) -> Result<serde_json::Value, String> {
    let last = outcome.stdout.lines().rev().find(|l| !l.trim().is_empty());
    let parsed: Option<serde_json::Value> = last.and_then(|l| serde_json::from_str(l).ok());
    if let Some(value) = &parsed {
        if let Some(result) = value.get("result")
            && outcome.success()
        {
            return Ok(result.clone());
        }
        if let Some(error) = value.get("error") {
            return Err(error.as_str().map(String::from).unwrap_or_else(|| error.to_string()));
        }
    }
    let stderr_last = outcome.stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("");
    Err(format!(
        "the node {}{}",
        outcome.describe_end(limits.timeout),
        if stderr_last.is_empty() { String::new() } else { format!(": {stderr_last}") }
    ))
}
