//! `pylint --output-format=json`.

use super::{Finding, Range, Severity, ToolOutput};
use serde_json::Value;

pub(super) fn args(file: &str) -> Vec<String> {
    vec!["--output-format=json".into(), "--score=n".into(), "--disable=missing-module-docstring".into(), file.into()]
}

pub(super) fn parse(out: &ToolOutput) -> Result<Vec<Finding>, String> {
    let text = out.stdout.trim();
    if text.is_empty() {
        return if out.status.unwrap_or(0) & 32 != 0 {
            Err(format!("pylint failed: {}", out.stderr.trim()))
        } else {
            Ok(Vec::new())
        };
    }
    let items: Vec<Value> = serde_json::from_str(text).map_err(|e| format!("pylint output is not JSON ({e})"))?;
    Ok(items
        .iter()
        .map(|item| {
            let num = |key: &str, default: u64| item.get(key).and_then(Value::as_u64).unwrap_or(default) as u32;
            let line = num("line", 1);
            let col = num("column", 0) + 1;
            let kind = item.get("type").and_then(Value::as_str).unwrap_or("warning");
            Finding {
                tool: "pylint".into(),
                code: item.get("message-id").and_then(Value::as_str).unwrap_or("").to_string(),
                severity: match kind {
                    "error" | "fatal" => Severity::Error,
                    "convention" | "refactor" | "info" => Severity::Info,
                    _ => Severity::Warning,
                },
                range: Range {
                    start_line: line,
                    start_col: col,
                    end_line: item.get("endLine").and_then(Value::as_u64).map(|v| v as u32).unwrap_or(line),
                    end_col: item.get("endColumn").and_then(Value::as_u64).map(|v| v as u32 + 1).unwrap_or(col + 1),
                },
                message: format!(
                    "{} ({})",
                    item.get("message").and_then(Value::as_str).unwrap_or(""),
                    item.get("symbol").and_then(Value::as_str).unwrap_or("")
                ),
            }
        })
        .collect())
}
