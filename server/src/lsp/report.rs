//! The figures an evolved node shows in the editor: its header line, code lens, hover and the
//! report of the last job — all from the engine's outcome or the registry, never made up.

use crate::pipeline::evolver::EvolveOutcome;
use crate::registry::{NodeDetail, VersionRow, VersionStats};

fn speed(score: Option<f64>) -> String {
    match score {
        Some(s) if s >= 1.05 => format!("{s:.1}× faster"),
        Some(_) => "no faster version found".into(),
        None => "not optimized".into(),
    }
}

fn megabytes(kb: Option<f64>) -> Option<String> {
    kb.filter(|k| *k > 0.0).map(|k| format!("{:.1} MB", k / 1024.0))
}

/// The header line's text after `evolved:`: node id, version, then the figures.
pub fn header_text(outcome: &EvolveOutcome) -> String {
    let o = &outcome.optimization;
    let optimized = o.skipped.is_none() && !o.iterations.is_empty();
    let mut parts = vec![
        format!("{} v{}", outcome.node_id, outcome.version),
        format!("{}/{} tests pass", outcome.report.passed, outcome.report.total),
    ];
    parts.extend(outcome.mutation.as_ref().map(|m| format!("kill {:.0}% of mutants", m.score * 100.0)));
    parts.push(speed(optimized.then_some(o.score)));
    let peak = if o.peak_rss_kb > 0 { o.peak_rss_kb } else { outcome.report.max_rss_kb };
    parts.extend(megabytes(Some(peak as f64)));
    parts.join(" · ")
}

/// "3/3 tests pass · 1.8× faster · 2.1 MB · 12 runs, 100% ok, p50 4.1 ms" for one stored version.
pub fn lens_title(v: &VersionRow, use_stats: Option<&VersionStats>) -> String {
    let mut parts = vec![format!("{}/{} tests pass", v.tests_passed, v.tests_total)];
    parts.extend(v.mutation_score.map(|s| format!("kill {:.0}% of mutants", s * 100.0)));
    parts.push(speed(v.score));
    parts.extend(megabytes(v.peak_rss_kb.map(|k| k as f64)));
    if let Some(st) = use_stats {
        parts.push(format!(
            "{} runs, {:.0}% ok, p50 {:.1} ms",
            st.runs,
            st.success_rate.unwrap_or(0.0) * 100.0,
            st.p50_ms.unwrap_or(0.0)
        ));
    }
    parts.join(" · ")
}

/// Markdown for a hover on a node's header: task, figures, and the lineage of its versions.
pub fn hover_markdown(node: &NodeDetail, shown_version: i64) -> String {
    let mut md = format!("**{}** · {} · {}\n\n{}\n\n", node.id, node.kind, node.complexity, node.task);
    if shown_version != node.current_version {
        md.push_str(&format!(
            "_This header shows v{shown_version}; the registry's current version is v{}._\n\n",
            node.current_version
        ));
    }
    md.push_str("| version | from | origin | model | tests | per call | peak RSS | real runs | change |\n");
    md.push_str("|---|---|---|---|---|---|---|---|---|\n");
    for v in &node.versions {
        md.push_str(&format!(
            "| v{} | {} | {} | {} | {}/{} | {} | {} | {} | {} |\n",
            v.version,
            v.parent_version.map(|p| format!("v{p}")).unwrap_or_else(|| "—".into()),
            v.origin,
            v.model,
            v.tests_passed,
            v.tests_total,
            v.per_call_ns.map(format_ns).unwrap_or_else(|| "—".into()),
            megabytes(v.peak_rss_kb.map(|k| k as f64)).unwrap_or_else(|| "—".into()),
            node.stats
                .iter()
                .find(|s| s.version == v.version)
                .map(|s| format!(
                    "{}, {:.0}% ok, p50 {:.1} ms, p95 {:.1} ms",
                    s.runs,
                    s.success_rate.unwrap_or(0.0) * 100.0,
                    s.p50_ms.unwrap_or(0.0),
                    s.p95_ms.unwrap_or(0.0)
                ))
                .unwrap_or_else(|| "—".into()),
            v.change.replace('|', "\\|").replace('\n', " "),
        ));
    }
    md
}

/// A workflow's steps as a nested markdown list.
fn step_list(steps: &[crate::pipeline::compose::StepRef], depth: usize, md: &mut String) {
    for s in steps {
        md.push_str(&format!(
            "{}- `{}` ({} v{}{}) — {}\n",
            "  ".repeat(depth),
            s.signature,
            s.node_id,
            s.version,
            if s.reused { ", reused from memory" } else { "" },
            s.task
        ));
        step_list(&s.steps, depth + 1, md);
    }
}

fn format_ns(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.1} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

/// The report `codeEvolver.showReport` returns: the outcome's figures plus a markdown rendering.
pub fn outcome_report(outcome: &EvolveOutcome) -> serde_json::Value {
    let mut md = format!("# {}\n\n{}\n\n", outcome.node_id, outcome.task);
    md.push_str(&format!(
        "- classified: {:?}, {:?}\n- tests: {}/{} pass ({:.0} ms)\n- model calls: {}, {} tokens, {:.1} s in all\n",
        outcome.classification.kind,
        outcome.classification.complexity,
        outcome.report.passed,
        outcome.report.total,
        outcome.report.wall_ms,
        outcome.calls.len(),
        outcome.tokens,
        outcome.duration_ms as f64 / 1000.0
    ));
    if let Some(w) = &outcome.workflow {
        md.push_str(&format!("\n## Workflow\n\n{} — the function calls these verified steps:\n\n", w.reason));
        step_list(&w.steps, 0, &mut md);
    }
    md.push_str("\n## Attempts\n\n| rung | model | temperature | tests | outcome |\n|---|---|---|---|---|\n");
    for a in &outcome.attempts {
        md.push_str(&format!(
            "| {} | {} | {:.1} | {}/{} | {} |\n",
            a.rung, a.model, a.temperature, a.passed, a.total, a.outcome
        ));
    }
    let o = &outcome.optimization;
    md.push_str("\n## Optimization\n\n");
    match &o.skipped {
        Some(why) => md.push_str(&format!("skipped: {why}\n")),
        None => {
            md.push_str(&format!(
                "{} → {} per call, score {:.2}\n\n| iteration | accepted | reason |\n|---|---|---|\n",
                format_ns(o.original_ns),
                format_ns(o.final_ns),
                o.score
            ));
            for i in &o.iterations {
                md.push_str(&format!("| {} | {} | {} |\n", i.index, i.accepted, i.reason.replace('|', "\\|")));
            }
        }
    }
    md.push_str("\n## Linters\n\n");
    for l in &outcome.analysis {
        let n = l.findings.as_ref().map(|f| f.len().to_string()).unwrap_or_else(|| "not installed".into());
        md.push_str(&format!("- {}: {n}\n", l.tool));
    }
    serde_json::json!({
        "node_id": outcome.node_id,
        "version": outcome.version,
        "task": outcome.task,
        "tests": {"passed": outcome.report.passed, "total": outcome.report.total},
        "attempts": outcome.attempts,
        "optimization": outcome.optimization,
        "calls": outcome.calls.len(),
        "tokens": outcome.tokens,
        "duration_ms": outcome.duration_ms,
        "markdown": md,
    })
}
