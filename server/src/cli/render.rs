//! Renders engine events in a terminal: one line per event (stage, message), and a progress bar on
//! stderr when it is a terminal.

use crate::pipeline::events::{Event, EventSink, Level};
use crate::pipeline::evolver::EvolveOutcome;
use crate::pipeline::score::human_ns;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::sync::Arc;

pub struct Renderer {
    bar: Option<ProgressBar>,
    to_stderr: bool,
    color: bool,
}

impl Renderer {
    /// `to_stderr` keeps stdout for machine-readable output (`--json`).
    pub fn new(to_stderr: bool) -> Arc<Renderer> {
        let tty = std::io::stderr().is_terminal();
        let bar = tty.then(|| {
            let bar = ProgressBar::new(100);
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{bar:30}] {pos:>3}% {msg}").unwrap().progress_chars("=> "),
            );
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        });
        let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        Arc::new(Renderer { bar, to_stderr, color })
    }

    pub fn sink(self: &Arc<Self>) -> EventSink {
        let me = self.clone();
        Arc::new(move |event: &Event| me.show(event))
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_string() }
    }

    pub fn line(&self, text: &str) {
        let print = || {
            if self.to_stderr {
                eprintln!("{text}");
            } else {
                println!("{text}");
                let _ = std::io::stdout().flush();
            }
        };
        match &self.bar {
            Some(bar) => bar.suspend(print),
            None => print(),
        }
    }

    fn show(&self, event: &Event) {
        let stage = format!("[{}]", event.stage.as_str());
        let text = match event.level {
            Level::Info => format!("{} {}", self.paint("1;36", &format!("{stage:<11}")), event.message),
            Level::Model => format!(
                "{} {}",
                self.paint("2", &format!("{stage:<11}")),
                self.paint("2", &format!("↳ {}", event.message))
            ),
            Level::Warning => format!(
                "{} {}",
                self.paint("1;33", &format!("{stage:<11}")),
                self.paint("33", &format!("! {}", event.message))
            ),
        };
        self.line(&text);
        if let Some(bar) = &self.bar {
            if event.percent > 0 {
                bar.set_position(event.percent as u64);
            }
            if event.level == Level::Info {
                bar.set_message(format!(
                    "{}: {}",
                    event.stage.as_str(),
                    event.message.chars().take(60).collect::<String>()
                ));
            }
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// The summary after an evolve: node, figures, code, and the result line.
/// A workflow's steps as a tree, a split step's own steps below it.
fn step_tree(steps: &[crate::pipeline::compose::StepRef], indent: &str, lines: &mut Vec<String>) {
    for (i, step) in steps.iter().enumerate() {
        let last = i + 1 == steps.len();
        lines.push(format!(
            "{indent}{} {} ({} v{}{}) — {}",
            if last { "└─" } else { "├─" },
            step.signature,
            step.node_id,
            step.version,
            if step.reused { ", reused from memory" } else { "" },
            step.task
        ));
        step_tree(&step.steps, &format!("{indent}{}", if last { "   " } else { "│  " }), lines);
    }
}

pub fn summary(outcome: &EvolveOutcome) -> Vec<String> {
    let mut lines = Vec::new();
    let opt = &outcome.optimization;
    let mut figures = vec![format!("{}/{} tests pass", outcome.report.passed, outcome.report.total)];
    if opt.final_ns > 0.0 {
        figures.push(format!("score {:.2}×", opt.score));
        figures.push(format!("{} per call", human_ns(opt.final_ns)));
        figures.push(format!("peak RSS {:.1} MB", opt.peak_rss_kb as f64 / 1024.0));
    }
    lines.push(format!("node {} v{} · {}", outcome.node_id, outcome.version, figures.join(" · ")));
    if let Some(w) = &outcome.workflow {
        lines.push(format!("workflow: {} verified steps, called by {}", w.steps.len(), outcome.spec.function.name));
        step_tree(&w.steps, "  ", &mut lines);
    }
    if let Some(m) = &outcome.mutation {
        lines.push(format!("tests: {}", m.summary()));
    }
    if let Some(o) = &outcome.oracle {
        lines.push(format!("oracle: {}", o.summary()));
    }
    if let Some(p) = outcome.probe.as_ref().filter(|p| p.disagreements > 0) {
        lines.push(format!("probe: {}", p.summary()));
    }
    let findings: usize = outcome.analysis.iter().filter_map(|r| r.findings.as_ref()).map(Vec::len).sum();
    let linters: Vec<&str> =
        outcome.analysis.iter().filter(|r| r.findings.is_some()).map(|r| r.tool.as_str()).collect();
    if !linters.is_empty() {
        lines.push(format!("lint: {findings} findings from {}", linters.join(", ")));
        for f in outcome.analysis.iter().flat_map(|r| r.findings.iter().flatten()).take(8) {
            lines.push(format!("    line {}: {} {} {}", f.range.start_line, f.tool, f.code, f.message));
        }
    }
    lines.push(format!(
        "model calls: {} · tokens: {} · time: {:.1} s",
        outcome.calls.len(),
        outcome.tokens,
        outcome.duration_ms as f64 / 1000.0
    ));
    lines.push("code:".into());
    for l in outcome.code.lines() {
        lines.push(format!("    {l}"));
    }
    if let Some(run) = &outcome.result {
        match &run.output {
            Ok(value) => lines.push(format!("RESULT: {}", result_text(value))),
            Err(e) => lines.push(format!("RESULT ERROR: {e}")),
        }
    }
    lines
}

/// Strings as they are; everything else as JSON.
pub fn result_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
