//! Real linters on generated code: ruff, flake8, pylint, mypy, black --check. Each file runs one
//! tool and turns its output into the same `Finding`. Missing tools are reported, not faked.

mod black;
mod flake8;
mod mypy;
mod pylint;
mod ruff;

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const KNOWN_LINTERS: &[&str] = &["ruff", "flake8", "pylint", "mypy", "black"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

/// 1-based lines and columns, as the tools print them; end is exclusive where known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    pub start_line: u32,
    pub start_col: u32,
    pub end_line: u32,
    pub end_col: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub tool: String,
    pub code: String,
    pub severity: Severity,
    pub range: Range,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LinterReport {
    pub tool: String,
    /// None when the tool is not installed.
    pub findings: Option<Vec<Finding>>,
    pub error: Option<String>,
    pub duration_ms: u64,
}

impl Range {
    fn point(line: u32, col: u32) -> Range {
        Range { start_line: line.max(1), start_col: col.max(1), end_line: line.max(1), end_col: col.max(1) + 1 }
    }
}

/// Turns one tool's output into findings.
type Parser = fn(&ToolOutput) -> Result<Vec<Finding>, String>;

pub(crate) struct ToolOutput {
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

async fn run_tool(program: &Path, args: &[String], cwd: &Path) -> Result<ToolOutput, String> {
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env("MYPY_CACHE_DIR", cwd.join(".mypy_cache"))
        .env("RUFF_CACHE_DIR", cwd.join(".ruff_cache"))
        .kill_on_drop(true)
        .stdin(std::process::Stdio::null());
    // A linter never outlives the evolver (a language server killed by its editor included), and
    // yields the CPU to it.
    // SAFETY: prctl is async-signal-safe; this runs in the child between fork and exec.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            // Linters run at a lower priority than the editor's requests.
            libc::setpriority(libc::PRIO_PROCESS, 0, 10);
            Ok(())
        });
    }
    let output = tokio::time::timeout(Duration::from_secs(120), command.output())
        .await
        .map_err(|_| "no result within 120 s".to_string())?
        .map_err(|e| e.to_string())?;
    Ok(ToolOutput {
        status: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

/// Where the linters come from: beside the Python interpreter (its venv), else PATH.
#[derive(Debug, Clone)]
pub struct Linters {
    python: Option<PathBuf>,
}

impl Linters {
    pub fn new(python: Option<PathBuf>) -> Self {
        Linters { python }
    }

    pub fn locate(&self, tool: &str) -> Option<PathBuf> {
        crate::paths::find_tool(self.python.as_deref(), tool)
    }

    /// Runs the named linters on `file` (inside `cwd`) concurrently.
    pub async fn check(&self, names: &[String], file: &Path, cwd: &Path) -> Vec<LinterReport> {
        let jobs = names.iter().map(|name| self.check_one(name, file, cwd));
        futures_util::future::join_all(jobs).await
    }

    /// The same, each report as soon as its linter finishes (a slow pylint does not hold back
    /// ruff's findings).
    pub fn check_each<'a>(
        &'a self,
        names: &'a [String],
        file: &'a Path,
        cwd: &'a Path,
    ) -> futures_util::stream::FuturesUnordered<impl std::future::Future<Output = LinterReport> + 'a> {
        names.iter().map(|name| self.check_one(name, file, cwd)).collect()
    }

    async fn check_one(&self, name: &str, file: &Path, cwd: &Path) -> LinterReport {
        let started = std::time::Instant::now();
        let Some(program) = self.locate(name) else {
            return LinterReport { tool: name.into(), findings: None, error: None, duration_ms: 0 };
        };
        let file_arg = file.display().to_string();
        let (args, parse): (Vec<String>, Parser) = match name {
            "ruff" => (ruff::args(&file_arg), ruff::parse),
            "flake8" => (flake8::args(&file_arg), flake8::parse),
            "pylint" => (pylint::args(&file_arg), pylint::parse),
            "mypy" => (mypy::args(&file_arg), mypy::parse),
            "black" => (black::args(&file_arg), black::parse),
            other => {
                return LinterReport {
                    tool: other.into(),
                    findings: None,
                    error: Some(format!("unknown linter {other}")),
                    duration_ms: 0,
                };
            }
        };
        let result = run_tool(&program, &args, cwd).await.and_then(|out| parse(&out));
        let duration_ms = started.elapsed().as_millis() as u64;
        match result {
            Ok(findings) => LinterReport { tool: name.into(), findings: Some(findings), error: None, duration_ms },
            Err(error) => {
                LinterReport { tool: name.into(), findings: Some(Vec::new()), error: Some(error), duration_ms }
            }
        }
    }
}
