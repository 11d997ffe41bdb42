//! mypy with columns and error codes: `file:line:col: error: message  [code]`.

use super::{Finding, Range, Severity, ToolOutput};

pub(super) fn args(file: &str) -> Vec<String> {
    [
        "--show-column-numbers",
        "--show-error-codes",
        "--no-error-summary",
        "--no-color-output",
        "--ignore-missing-imports",
        "--no-incremental",
        file,
    ]
    .map(String::from)
    .to_vec()
}

pub(super) fn parse(out: &ToolOutput) -> Result<Vec<Finding>, String> {
    if out.status.unwrap_or(0) > 1 {
        return Err(format!("mypy failed: {}{}", out.stdout.trim(), out.stderr.trim()));
    }
    Ok(out
        .stdout
        .lines()
        .filter_map(|line| {
            let mut parts = line.splitn(5, ':');
            let _file = parts.next()?;
            let row: u32 = parts.next()?.trim().parse().ok()?;
            let col: u32 = parts.next()?.trim().parse().ok()?;
            let kind = parts.next()?.trim();
            let rest = parts.next()?.trim();
            let (message, code) = match rest.rfind("  [") {
                Some(i) if rest.ends_with(']') => (rest[..i].trim(), &rest[i + 3..rest.len() - 1]),
                _ => (rest, ""),
            };
            Some(Finding {
                tool: "mypy".into(),
                code: code.to_string(),
                severity: match kind {
                    "error" => Severity::Error,
                    "note" => Severity::Info,
                    _ => Severity::Warning,
                },
                range: Range::point(row, col),
                message: message.to_string(),
            })
        })
        .collect())
}
