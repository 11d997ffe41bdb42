//! `ruff check --output-format json`.

use super::{Finding, Range, Severity, ToolOutput};
use serde_json::Value;

pub(super) fn args(file: &str) -> Vec<String> {
    ["check", "--no-cache", "--output-format", "json", "--exit-zero", file].map(String::from).to_vec()
}

pub(super) fn parse(out: &ToolOutput) -> Result<Vec<Finding>, String> {
    let items: Vec<Value> = serde_json::from_str(out.stdout.trim())
        .map_err(|e| format!("ruff output is not JSON ({e}): {}", out.stderr.trim()))?;
    Ok(items
        .iter()
        .map(|item| {
            let num = |ptr: &str| item.pointer(ptr).and_then(Value::as_u64).unwrap_or(1) as u32;
            let code = item.get("code").and_then(Value::as_str).unwrap_or("syntax").to_string();
            Finding {
                tool: "ruff".into(),
                severity: if code == "syntax" || code.starts_with("E9") || code.starts_with("F8") {
                    Severity::Error
                } else {
                    Severity::Warning
                },
                code,
                range: Range {
                    start_line: num("/location/row"),
                    start_col: num("/location/column"),
                    end_line: num("/end_location/row"),
                    end_col: num("/end_location/column"),
                },
                message: item.get("message").and_then(Value::as_str).unwrap_or("").to_string(),
            }
        })
        .collect())
}
