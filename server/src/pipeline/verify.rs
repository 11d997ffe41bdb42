//! verify: the spec's pytest file against the node, in the sandbox; per-case results, stderr and
//! timings come back.

use super::evolver::{Ctx, EvolveError};
use super::tests::{NODE_FILE, TEST_FILE};
use crate::sandbox::run::RunKind;
use crate::sandbox::{NodeLimits, RunOutcome, RunRequest};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseResult {
    pub name: String,
    pub passed: bool,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct TestReport {
    pub passed: usize,
    pub total: usize,
    pub cases: Vec<CaseResult>,
    /// Why the whole run ended abnormally (timeout, signal, collection error), if it did.
    pub abnormal: Option<String>,
    pub wall_ms: f64,
    /// User + system CPU of the test run.
    pub cpu_ms: f64,
    pub max_rss_kb: u64,
    pub stderr_tail: String,
}

impl TestReport {
    pub fn all_passed(&self) -> bool {
        self.abnormal.is_none() && self.total > 0 && self.passed == self.total
    }

    /// The failures, as fed back to the model.
    pub fn failures_text(&self) -> String {
        let mut out = String::new();
        if let Some(why) = &self.abnormal {
            out.push_str(&format!("- the test run {why}\n"));
        }
        for case in self.cases.iter().filter(|c| !c.passed) {
            out.push_str(&format!("- {}: {}\n", case.name, short_failure(&case.message)));
        }
        if out.is_empty() && !self.stderr_tail.is_empty() {
            out.push_str(&format!("- stderr: {}\n", self.stderr_tail));
        }
        out
    }
}

/// The informative lines of a pytest failure: the assertion and the error, not the traceback.
fn short_failure(message: &str) -> String {
    let lines: Vec<&str> = message
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("E ") || l.contains("Error") || l.starts_with("AssertionError"))
        .map(|l| l.trim_start_matches("E ").trim())
        .filter(|l| !l.is_empty())
        .collect();
    let text = if lines.is_empty() {
        message.lines().last().unwrap_or("").trim().to_string()
    } else {
        lines[..lines.len().min(4)].join(" | ")
    };
    text.chars().take(400).collect()
}

/// A fresh directory under the evolve's work dir with the node and its tests.
pub fn prepare_dir(root: &Path, label: &str, node: &str, tests: &str) -> Result<PathBuf, EvolveError> {
    let dir = tempfile::Builder::new().prefix(&format!("{label}-")).tempdir_in(root)?.keep();
    std::fs::write(dir.join(NODE_FILE), node)?;
    std::fs::write(dir.join(TEST_FILE), tests)?;
    Ok(dir)
}

pub async fn run_tests(ctx: &Ctx<'_>, dir: &Path, limits: &NodeLimits) -> Result<TestReport, EvolveError> {
    ctx.check_cancel()?;
    let mut env = ctx.sandbox.base_env(dir);
    env.insert("CODE_EVOLVER_REPORT".into(), dir.join(".report.json").display().to_string());
    if let Some(socket) = ctx.tool_socket {
        env.insert("CODE_EVOLVER_TOOL_SOCKET".into(), socket.display().to_string());
    }
    let request = RunRequest {
        kind: RunKind::Pytest {
            args: ["-q", "-p", "pytest_report", "-p", "no:cacheprovider", "--color=no", TEST_FILE]
                .map(String::from)
                .to_vec(),
        },
        cwd: dir.to_path_buf(),
        stdin: String::new(),
        env,
        limits: limits.clone(),
    };
    let outcome = ctx.run_sandboxed(&request).await?;
    Ok(report_from(dir, &outcome, limits))
}

#[derive(Deserialize)]
struct PytestReport {
    exit_status: i32,
    tests: Vec<PytestCase>,
}

#[derive(Deserialize)]
struct PytestCase {
    id: String,
    outcome: String,
    message: String,
}

fn report_from(dir: &Path, outcome: &RunOutcome, limits: &NodeLimits) -> TestReport {
    let stderr_tail: String = {
        let text = &outcome.stderr;
        let start = text.len().saturating_sub(1500);
        text[text.floor_char_boundary(start)..].to_string()
    };
    let parsed: Option<PytestReport> =
        std::fs::read_to_string(dir.join(".report.json")).ok().and_then(|t| serde_json::from_str(&t).ok());
    let mut report = TestReport {
        wall_ms: outcome.wall_ms,
        cpu_ms: outcome.user_ms + outcome.sys_ms,
        max_rss_kb: outcome.max_rss_kb,
        stderr_tail,
        ..Default::default()
    };
    match parsed {
        Some(p) if !outcome.timed_out && outcome.signal.is_none() => {
            for case in p.tests {
                let name = case
                    .id
                    .split_once('[')
                    .map(|(_, rest)| rest.trim_end_matches(']').to_string())
                    .unwrap_or_else(|| case.id.rsplit("::").next().unwrap_or(&case.id).to_string());
                report.cases.push(CaseResult { passed: case.outcome == "passed", name, message: case.message });
            }
            report.total = report.cases.len();
            report.passed = report.cases.iter().filter(|c| c.passed).count();
            if report.total == 0 || p.exit_status >= 2 && report.cases.iter().all(|c| c.passed) {
                let tail: String = outcome
                    .stdout
                    .lines()
                    .rev()
                    .take(15)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect::<Vec<_>>()
                    .join("\n");
                report.abnormal = Some(format!("collected no runnable tests (pytest exit {}): {tail}", p.exit_status));
            }
        }
        _ => {
            report.abnormal = Some(if outcome.timed_out || outcome.signal.is_some() {
                format!(
                    "was {}: the code probably loops forever or is far too slow",
                    outcome.describe_end(limits.timeout)
                )
            } else {
                let tail: String = outcome.stdout.chars().rev().take(800).collect::<String>().chars().rev().collect();
                format!("ended with {} and no report: {tail}{}", outcome.describe_end(limits.timeout), outcome.stderr)
            });
        }
    }
    report
}
