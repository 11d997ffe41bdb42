//! The warm runner: one Python process per sandbox, started once, that forks a confined child for
//! every run (runtime/warm_runner.py). Metrics come from the child's `wait4` rusage and a monotonic
//! clock in the runner.

use super::NodeLimits;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::{Mutex, OnceCell};

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error(
        "no Python interpreter found: run `code-evolver setup`, or set CODE_EVOLVER_PYTHON or `runtime.python` in the config"
    )]
    NoPython,
    #[error("cannot start the warm runner with {python}: {detail}")]
    Start { python: String, detail: String },
    #[error("the warm runner failed: {0}")]
    Runner(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// What the runner found it can confine with on this machine.
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
pub struct Isolation {
    pub python: String,
    pub executable: String,
    pub pytest: bool,
    /// "namespace" (private network namespace), "landlock-tcp", or "none".
    pub network: String,
    /// "abi N" or why landlock is unavailable.
    pub landlock: String,
}

#[derive(Debug, Clone)]
pub enum RunKind {
    /// `python script args...` (in the child, via runpy).
    Script { script: PathBuf, args: Vec<String> },
    /// `pytest args...` with pytest imported warm.
    Pytest { args: Vec<String> },
}

#[derive(Debug, Clone)]
pub struct RunRequest {
    pub kind: RunKind,
    pub cwd: PathBuf,
    pub stdin: String,
    pub env: BTreeMap<String, String>,
    pub limits: NodeLimits,
}

#[derive(Debug, Clone, Deserialize, Serialize, Default)]
pub struct RunOutcome {
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub timed_out: bool,
    pub wall_ms: f64,
    pub user_ms: f64,
    pub sys_ms: f64,
    pub max_rss_kb: u64,
    pub stdout: String,
    pub stderr: String,
}

impl RunOutcome {
    pub fn success(&self) -> bool {
        self.exit_code == Some(0) && !self.timed_out
    }

    /// One line for the user: how the run ended.
    pub fn describe_end(&self, timeout: Duration) -> String {
        if self.timed_out {
            format!("killed at its timeout of {:.1} s (process group killed)", timeout.as_secs_f64())
        } else if let Some(sig) = self.signal {
            let name = match sig {
                9 => " (SIGKILL: memory or CPU limit)",
                24 => " (SIGXCPU: CPU-time limit)",
                11 => " (SIGSEGV)",
                25 => " (SIGXFSZ: file-size limit)",
                _ => "",
            };
            format!("killed by signal {sig}{name}")
        } else {
            format!("exit code {}", self.exit_code.unwrap_or(-1))
        }
    }
}

struct RunnerProcess {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    busy: bool,
    next_id: u64,
}

/// Two warm runners: a bare one for node and timing runs (a small process forks in ~0.4 ms) and
/// one with pytest imported for test runs.
pub struct Sandbox {
    python: PathBuf,
    runtime: PathBuf,
    script_runner: Mutex<Option<RunnerProcess>>,
    pytest_runner: Mutex<Option<RunnerProcess>>,
    isolation: OnceCell<Isolation>,
}

#[derive(Serialize)]
struct WireRequest<'a> {
    id: u64,
    kind: &'a str,
    cwd: &'a Path,
    script: Option<&'a Path>,
    args: &'a [String],
    stdin: &'a str,
    env: &'a BTreeMap<String, String>,
    timeout_s: f64,
    limits: &'a NodeLimits,
}

impl Sandbox {
    pub fn new(python: PathBuf, runtime: PathBuf) -> Self {
        Sandbox {
            python,
            runtime,
            script_runner: Mutex::new(None),
            pytest_runner: Mutex::new(None),
            isolation: OnceCell::new(),
        }
    }

    pub fn python(&self) -> &Path {
        &self.python
    }

    pub fn runtime_dir(&self) -> &Path {
        &self.runtime
    }

    /// The environment every run starts from (the rest of the parent's is cleared).
    pub fn base_env(&self, cwd: &Path) -> BTreeMap<String, String> {
        let mut env = BTreeMap::new();
        env.insert("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into());
        env.insert("HOME".into(), cwd.display().to_string());
        env.insert("LANG".into(), "C.UTF-8".into());
        env.insert("PYTHONDONTWRITEBYTECODE".into(), "1".into());
        env.insert("PYTHONHASHSEED".into(), "0".into());
        env.insert("PYTHONPATH".into(), format!("{}:{}", cwd.display(), self.runtime.display()));
        env
    }

    async fn start(&self, pytest: bool) -> Result<(RunnerProcess, Isolation), SandboxError> {
        let script = self.runtime.join("warm_runner.py");
        let mut child = Command::new(&self.python)
            .arg("-u")
            .arg(&script)
            .args(pytest.then_some("--preload-pytest"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| SandboxError::Start { python: self.python.display().to_string(), detail: e.to_string() })?;
        let stdin = child.stdin.take().expect("piped stdin");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut hello = String::new();
        let read = tokio::time::timeout(Duration::from_secs(30), stdout.read_line(&mut hello)).await;
        let isolation: Isolation = match read {
            Ok(Ok(n)) if n > 0 => serde_json::from_str(&hello).map_err(|e| SandboxError::Start {
                python: self.python.display().to_string(),
                detail: format!("unexpected greeting {hello:?}: {e}"),
            })?,
            _ => {
                return Err(SandboxError::Start {
                    python: self.python.display().to_string(),
                    detail: "the runner exited or said nothing within 30 s".into(),
                });
            }
        };
        Ok((RunnerProcess { child, stdin, stdout, busy: false, next_id: 1 }, isolation))
    }

    /// Starts the runner if needed and says how runs are confined.
    pub async fn isolation(&self) -> Result<Isolation, SandboxError> {
        if let Some(iso) = self.isolation.get() {
            return Ok(iso.clone());
        }
        let mut guard = self.script_runner.lock().await;
        self.ensure_started(&mut guard, false).await?;
        Ok(self.isolation.get().cloned().unwrap_or_default())
    }

    async fn ensure_started(&self, slot: &mut Option<RunnerProcess>, pytest: bool) -> Result<(), SandboxError> {
        let healthy = match slot.as_mut() {
            Some(r) => !r.busy && matches!(r.child.try_wait(), Ok(None)),
            None => false,
        };
        if !healthy {
            *slot = None; // kill_on_drop ends a stale runner (and, by PDEATHSIG, its child)
            let (runner, isolation) = self.start(pytest).await?;
            if pytest && !isolation.pytest {
                return Err(SandboxError::Start {
                    python: self.python.display().to_string(),
                    detail: "pytest is not installed for this Python: run `code-evolver setup` (or set CODE_EVOLVER_PYTHON to a Python that has it)".into(),
                });
            }
            let _ = self.isolation.set(isolation);
            *slot = Some(runner);
        }
        Ok(())
    }

    /// Starts the test runner now (pytest's import is the slow part), failing early when pytest is
    /// missing rather than after the model has been paid for.
    pub async fn warm_up_tests(&self) -> Result<(), SandboxError> {
        let mut guard = self.pytest_runner.lock().await;
        self.ensure_started(&mut guard, true).await
    }

    /// Kills a runner left mid-run by a cancelled caller (and its child, by PDEATHSIG).
    pub async fn stop_abandoned_run(&self) {
        for slot in [&self.script_runner, &self.pytest_runner] {
            let mut guard = slot.lock().await;
            if guard.as_ref().is_some_and(|r| r.busy) {
                *guard = None;
            }
        }
    }

    /// Runs one request in a fresh confined child. Dropping the future (cancellation) kills the
    /// runner and with it the child.
    pub async fn run(&self, request: &RunRequest) -> Result<RunOutcome, SandboxError> {
        let pytest = matches!(request.kind, RunKind::Pytest { .. });
        let mut guard = if pytest { self.pytest_runner.lock().await } else { self.script_runner.lock().await };
        self.ensure_started(&mut guard, pytest).await?;
        let runner = guard.as_mut().expect("runner started");
        let id = runner.next_id;
        runner.next_id += 1;
        let (kind, script, args) = match &request.kind {
            RunKind::Script { script, args } => ("script", Some(script.as_path()), args.as_slice()),
            RunKind::Pytest { args } => ("pytest", None, args.as_slice()),
        };
        let wire = WireRequest {
            id,
            kind,
            cwd: &request.cwd,
            script,
            args,
            stdin: &request.stdin,
            env: &request.env,
            timeout_s: request.limits.timeout.as_secs_f64(),
            limits: &request.limits,
        };
        let mut line = serde_json::to_string(&wire).map_err(|e| SandboxError::Runner(e.to_string()))?;
        line.push('\n');
        runner.busy = true;
        runner.stdin.write_all(line.as_bytes()).await?;
        runner.stdin.flush().await?;
        // The runner enforces the timeout; this bound only catches a runner that itself hangs.
        let patience = request.limits.timeout + Duration::from_secs(15);
        let mut answer = String::new();
        loop {
            answer.clear();
            match tokio::time::timeout(patience, runner.stdout.read_line(&mut answer)).await {
                Ok(Ok(0)) | Ok(Err(_)) => {
                    *guard = None;
                    return Err(SandboxError::Runner("the runner exited during a run; it will be restarted".into()));
                }
                Err(_) => {
                    *guard = None;
                    return Err(SandboxError::Runner(format!(
                        "no answer from the runner within {:.0} s; it was restarted",
                        patience.as_secs_f64()
                    )));
                }
                Ok(Ok(_)) => {}
            }
            let value: serde_json::Value = serde_json::from_str(&answer)
                .map_err(|e| SandboxError::Runner(format!("bad answer {answer:?}: {e}")))?;
            if let Some(error) = value.get("runner_error").and_then(|e| e.as_str()) {
                runner.busy = false;
                return Err(SandboxError::Runner(error.to_string()));
            }
            if value.get("id").and_then(|v| v.as_u64()) == Some(id) {
                runner.busy = false;
                return serde_json::from_value(value).map_err(|e| SandboxError::Runner(e.to_string()));
            }
        }
    }
}

impl Drop for RunnerProcess {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}
