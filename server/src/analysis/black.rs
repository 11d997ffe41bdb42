//! `black --check --diff`: one finding when the file would be reformatted.

use super::{Finding, Range, Severity, ToolOutput};

pub(super) fn args(file: &str) -> Vec<String> {
    vec!["--check".into(), "--diff".into(), "--quiet".into(), file.into()]
}

pub(super) fn parse(out: &ToolOutput) -> Result<Vec<Finding>, String> {
    match out.status {
        Some(0) => Ok(Vec::new()),
        Some(1) => {
            // The first hunk header says where the first change is.
            let line = out
                .stdout
                .lines()
                .find_map(|l| l.strip_prefix("@@ -"))
                .and_then(|rest| rest.split([',', ' ']).next())
                .and_then(|n| n.parse::<u32>().ok())
                .unwrap_or(1);
            let changed = out.stdout.lines().filter(|l| l.starts_with('+') && !l.starts_with("+++")).count();
            Ok(vec![Finding {
                tool: "black".into(),
                code: "format".into(),
                severity: Severity::Info,
                range: Range::point(line, 1),
                message: format!("black would reformat this file ({changed} changed lines)"),
            }])
        }
        _ => Err(format!("black failed: {}", out.stderr.trim())),
    }
}
