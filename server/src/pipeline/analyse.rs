//! analyse: the configured linters on the verified node. Findings are kept for the model's lines
//! only (the engine's I/O lines are not the model's to answer for), renumbered to the function code.

use super::events::Stage;
use super::evolver::Ctx;
use super::node;
use super::tests::NODE_FILE;
use crate::analysis::{LinterReport, Severity};
use std::path::Path;

use super::node::MODEL_CODE_OFFSET;

pub async fn analyse(ctx: &Ctx<'_>, node_text: &str, dir: &Path) -> Vec<LinterReport> {
    let linters = &ctx.config.pipeline.analysis.linters;
    if linters.is_empty() {
        return Vec::new();
    }
    ctx.emit(Stage::Analyse, 72, format!("running {}", linters.join(", ")));
    let harness = node::harness_line(node_text);
    let mut reports = ctx.linters.check(linters, &dir.join(NODE_FILE), dir).await;
    for report in &mut reports {
        if let Some(findings) = &mut report.findings {
            findings.retain(|f| f.range.start_line > MODEL_CODE_OFFSET && f.range.start_line < harness);
            for f in findings.iter_mut() {
                f.range.start_line -= MODEL_CODE_OFFSET;
                f.range.end_line = f.range.end_line.saturating_sub(MODEL_CODE_OFFSET).max(f.range.start_line);
            }
        }
    }
    let summary: Vec<String> = reports
        .iter()
        .map(|r| match (&r.findings, &r.error) {
            (None, _) => format!("{} not installed", r.tool),
            (Some(_), Some(e)) => format!("{} failed ({})", r.tool, e.chars().take(80).collect::<String>()),
            (Some(f), None) => format!("{} {}", r.tool, f.len()),
        })
        .collect();
    ctx.emit(Stage::Analyse, 76, format!("findings: {}", summary.join(", ")));
    for report in &reports {
        for f in report.findings.iter().flatten().filter(|f| f.severity == Severity::Error).take(3) {
            ctx.warn(Stage::Analyse, 76, format!("{} {} line {}: {}", f.tool, f.code, f.range.start_line, f.message));
        }
    }
    reports
}

pub fn blocking_errors(reports: &[LinterReport]) -> Vec<String> {
    reports
        .iter()
        .flat_map(|r| r.findings.iter().flatten())
        .filter(|f| f.severity == Severity::Error)
        .map(|f| format!("{} {} line {}: {}", f.tool, f.code, f.range.start_line, f.message))
        .collect()
}
