//! flake8 with a fixed, parseable format.

use super::{Finding, Range, Severity, ToolOutput};

pub(super) fn args(file: &str) -> Vec<String> {
    vec!["--max-line-length=120".into(), "--format=%(row)d:%(col)d:%(code)s:%(text)s".into(), file.into()]
}

pub(super) fn parse(out: &ToolOutput) -> Result<Vec<Finding>, String> {
    if out.status.unwrap_or(0) > 1 && out.stdout.trim().is_empty() {
        return Err(format!("flake8 failed: {}", out.stderr.trim()));
    }
    Ok(out
        .stdout
        .lines()
        .filter_map(|line| {
            let mut parts = line.splitn(4, ':');
            let row: u32 = parts.next()?.trim().parse().ok()?;
            let col: u32 = parts.next()?.trim().parse().ok()?;
            let code = parts.next()?.trim().to_string();
            let message = parts.next()?.trim().to_string();
            Some(Finding {
                tool: "flake8".into(),
                severity: if code.starts_with("E9") || code.starts_with("F8") || code.starts_with("F6") {
                    Severity::Error
                } else {
                    Severity::Warning
                },
                code,
                range: Range::point(row, col),
                message,
            })
        })
        .collect())
}
