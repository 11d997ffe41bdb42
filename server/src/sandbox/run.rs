//! The warm runner: one Python process, started once inside the jail (jail.rs), that forks a
//! confined child for every run (runtime/warm_runner.py). A run gets its files and stdin in the
//! request and gives back stdout, stderr and its results over pipes: the engine never reads or
//! writes a path that generated code could have touched. Timings are the runner's clock around
//! the child and the child's `wait4` rusage, never a figure the child reports.

use super::NodeLimits;
use super::jail::{JAIL_RUNTIME, JailPlan, find_bwrap};
use super::tools::{ToolCall, ToolHandler};
use crate::config::{JailLayer, SandboxConfig};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::{Mutex, OnceCell};

/// The longest line the engine reads from the runner: a run's outcome holds 2 × 1 MiB of output
/// and 16 MiB of results, and JSON escaping can make each byte six (`\u0001`).
const ANSWER_LIMIT: usize = 128 << 20;

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
    #[error(
        "generated code is not run: `sandbox.require` lists {missing}, which this machine does not provide ({why}); see `code-evolver status`"
    )]
    Refused { missing: String, why: String },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// The confinement a run gets on this machine, layer by layer (the runner's greeting).
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
pub struct Isolation {
    pub python: String,
    pub executable: String,
    /// "bubblewrap" or "none".
    pub jail: String,
    /// Why the jail is not used, when it is not.
    #[serde(default)]
    pub jail_error: Option<String>,
    #[serde(default)]
    pub jail_version: Option<String>,
    pub uid: u32,
    pub outside_uid: u32,
    pub pid_namespace: bool,
    pub mount_namespace: bool,
    pub ipc_uts_namespaces: bool,
    pub no_new_privs: bool,
    /// "none", or why capabilities remain.
    pub capabilities: String,
    /// "filter", or why there is none.
    pub seccomp: String,
    /// "namespace" (private network namespace), "landlock-tcp", or "none".
    pub network: String,
    /// "abi N" or why landlock is unavailable (used only without the jail).
    pub landlock: String,
}

impl Isolation {
    pub fn has(&self, layer: JailLayer) -> bool {
        match layer {
            JailLayer::Unprivileged => self.outside_uid != 0 && self.capabilities == "none",
            JailLayer::Pid => self.pid_namespace,
            JailLayer::Mount => self.mount_namespace,
            JailLayer::Network => self.network == "namespace",
            JailLayer::IpcUts => self.ipc_uts_namespaces,
            JailLayer::Seccomp => self.seccomp == "filter",
        }
    }

    /// Every layer, whether it holds, and what it stops (or leaves open).
    pub fn report(&self) -> Vec<(JailLayer, bool, &'static str)> {
        JailLayer::ALL.iter().map(|&layer| (layer, self.has(layer), layer.stops())).collect()
    }

    pub fn missing(&self) -> Vec<JailLayer> {
        JailLayer::ALL.iter().copied().filter(|&l| !self.has(l)).collect()
    }
}

#[derive(Debug, Clone)]
pub enum RunKind {
    /// A script run as `__main__`: a file of the request's (`files`), or of the runtime dir.
    Script { script: String, runtime: bool, args: Vec<String> },
    /// The verdict harness: `function` from `module` (a file of the request's) on every input
    /// (stdin: a JSON list of argument objects), `loops` times each; each last result comes back
    /// as plain JSON on the results channel.
    Calls { module: String, function: String, loops: u32 },
    /// A program (an executable tool) exec'd in the jail.
    Exec { command: String, args: Vec<String> },
}

#[derive(Clone)]
pub struct RunRequest {
    pub kind: RunKind,
    /// Written into the run's fresh private dir inside the jail.
    pub files: BTreeMap<String, String>,
    pub stdin: String,
    /// Added to the run's cleared environment.
    pub env: BTreeMap<String, String>,
    pub limits: NodeLimits,
    /// Serves the run's `call_tool` requests (None: the run gets an error for each).
    pub tools: Option<Arc<dyn ToolHandler>>,
}

impl RunRequest {
    /// A runtime script on `stdin`, with no files.
    pub fn runtime_script(name: &str, stdin: String, limits: NodeLimits) -> RunRequest {
        RunRequest {
            kind: RunKind::Script { script: name.into(), runtime: true, args: vec![] },
            files: BTreeMap::new(),
            stdin,
            env: BTreeMap::new(),
            limits,
            tools: None,
        }
    }
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
    /// The results channel (Calls runs): one JSON object per line.
    #[serde(default)]
    pub results: String,
    #[serde(default)]
    pub results_overflow: bool,
}

impl RunOutcome {
    pub fn success(&self) -> bool {
        self.exit_code == Some(0) && !self.timed_out
    }

    /// One line for the user: how the run ended.
    pub fn describe_end(&self, timeout: Duration) -> String {
        if self.timed_out {
            format!("killed at its timeout of {:.1} s (every process of the run killed)", timeout.as_secs_f64())
        } else if let Some(sig) = self.signal {
            let name = match sig {
                9 => " (SIGKILL: memory or CPU limit)",
                24 => " (SIGXCPU: CPU-time limit)",
                11 => " (SIGSEGV)",
                25 => " (SIGXFSZ: file-size limit)",
                31 => " (SIGSYS: a system call the sandbox forbids)",
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

/// Two warm runners: one for node, test and timing runs, and one for executable tools (a node
/// waiting on a tool holds the first).
/// How deep nodes may call nodes as tools (the prototype's workflow recursion bound).
pub const MAX_TOOL_DEPTH: usize = 3;

pub struct Sandbox {
    python: PathBuf,
    runtime: PathBuf,
    settings: SandboxConfig,
    node_runner: Mutex<Option<RunnerProcess>>,
    tool_runner: Mutex<Option<RunnerProcess>>,
    /// Runners for nodes called as tools by a running node (one per nesting level): the
    /// caller's runner is busy waiting for the answer.
    nested_runners: [Mutex<Option<RunnerProcess>>; MAX_TOOL_DEPTH],
    isolation: OnceCell<Isolation>,
    jail: OnceCell<Result<JailPlan, String>>,
}

#[derive(Serialize)]
struct WireRequest<'a> {
    id: u64,
    kind: &'a str,
    files: &'a BTreeMap<String, String>,
    script: Option<&'a str>,
    runtime_script: bool,
    module: Option<&'a str>,
    function: Option<&'a str>,
    loops: u32,
    command: Option<&'a str>,
    args: &'a [String],
    stdin: &'a str,
    env: &'a BTreeMap<String, String>,
    timeout_s: f64,
    limits: &'a NodeLimits,
}

/// One line of at most `limit` bytes; None at end of input. A longer line is an error: the
/// runner never writes one, so it would mean the runner is not the runner any more.
async fn read_line_bounded<R: AsyncBufRead + Unpin>(reader: &mut R, limit: usize) -> std::io::Result<Option<String>> {
    let mut line = Vec::new();
    loop {
        let buf = reader.fill_buf().await?;
        if buf.is_empty() {
            return Ok(if line.is_empty() { None } else { Some(String::from_utf8_lossy(&line).into_owned()) });
        }
        let (take, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(at) => (at + 1, true),
            None => (buf.len(), false),
        };
        line.extend_from_slice(&buf[..take]);
        reader.consume(take);
        if line.len() > limit {
            return Err(std::io::Error::other(format!("a line over {} MiB from the runner", limit >> 20)));
        }
        if done {
            return Ok(Some(String::from_utf8_lossy(&line).into_owned()));
        }
    }
}

impl Sandbox {
    pub fn new(python: PathBuf, runtime: PathBuf) -> Self {
        Self::with_settings(python, runtime, SandboxConfig::default())
    }

    pub fn with_settings(python: PathBuf, runtime: PathBuf, settings: SandboxConfig) -> Self {
        Sandbox {
            python,
            runtime,
            settings,
            node_runner: Mutex::new(None),
            tool_runner: Mutex::new(None),
            nested_runners: std::array::from_fn(|_| Mutex::new(None)),
            isolation: OnceCell::new(),
            jail: OnceCell::new(),
        }
    }

    pub fn python(&self) -> &Path {
        &self.python
    }

    pub fn runtime_dir(&self) -> &Path {
        &self.runtime
    }

    async fn jail_plan(&self) -> Result<JailPlan, String> {
        self.jail
            .get_or_init(|| async {
                let bwrap = find_bwrap(&self.settings.bwrap)?;
                let (python, runtime, tmp_mb) = (self.python.clone(), self.runtime.clone(), self.settings.tmp_mb);
                tokio::task::spawn_blocking(move || JailPlan::new(bwrap, &python, &runtime, tmp_mb))
                    .await
                    .map_err(|e| e.to_string())?
            })
            .await
            .clone()
    }

    fn runner_command(&self, jail: Option<&JailPlan>) -> Command {
        let script = self.runtime.join("warm_runner.py");
        let mut command = match jail {
            Some(plan) => {
                let mut c = Command::new(&plan.bwrap);
                c.args(&plan.args)
                    .arg("--")
                    .arg(&self.python)
                    .arg("-u")
                    .arg(Path::new(JAIL_RUNTIME).join("warm_runner.py"))
                    .arg("--jailed");
                c
            }
            None => {
                let mut c = Command::new(&self.python);
                c.arg("-u").arg(&script);
                c
            }
        };
        // Nothing of the evolver's environment (API keys) reaches the runner or its runs.
        command
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("LANG", "C.UTF-8")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .current_dir("/")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command
    }

    async fn spawn(&self, jail: Option<&JailPlan>) -> Result<(RunnerProcess, Isolation), String> {
        let mut child = self.runner_command(jail).spawn().map_err(|e| e.to_string())?;
        let stdin = child.stdin.take().expect("piped stdin");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut stderr = child.stderr.take().expect("piped stderr");
        let hello = tokio::time::timeout(Duration::from_secs(30), read_line_bounded(&mut stdout, 1 << 20)).await;
        match hello {
            Ok(Ok(Some(line))) => {
                // The runner's own stderr is not needed once it runs (runs have pipes of their own).
                tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut stderr, &mut tokio::io::sink()).await;
                });
                let mut isolation: Isolation =
                    serde_json::from_str(&line).map_err(|e| format!("unexpected greeting {line:?}: {e}"))?;
                isolation.jail_version = jail.map(|p| p.version.clone());
                if jail.is_some() && !super::jail::nix_is_root() {
                    // bubblewrap nests two user namespaces for a non-root caller: from inside, the
                    // runner cannot see past the inner one. On the host it is the caller's uid.
                    isolation.outside_uid = super::jail::host_uid();
                }
                Ok((RunnerProcess { child, stdin, stdout, busy: false, next_id: 1 }, isolation))
            }
            _ => {
                let _ = child.start_kill();
                let mut text = String::new();
                let _ = tokio::time::timeout(Duration::from_secs(2), async {
                    use tokio::io::AsyncReadExt;
                    let mut limited = (&mut stderr).take(4000);
                    let _ = limited.read_to_string(&mut text).await;
                })
                .await;
                let tail: Vec<&str> = text.lines().rev().take(3).collect();
                Err(format!(
                    "the runner said nothing within 30 s{}",
                    if tail.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", tail.into_iter().rev().collect::<Vec<_>>().join(" | "))
                    }
                ))
            }
        }
    }

    async fn start(&self) -> Result<(RunnerProcess, Isolation), SandboxError> {
        let start_error = |detail: String| SandboxError::Start { python: self.python.display().to_string(), detail };
        let (runner, mut isolation) = match self.jail_plan().await {
            Ok(plan) => match self.spawn(Some(&plan)).await {
                Ok(started) => started,
                Err(jailed_error) => {
                    let why = format!("bubblewrap failed to start the runner: {jailed_error}");
                    let (runner, mut iso) = self.spawn(None).await.map_err(start_error)?;
                    iso.jail_error = Some(why);
                    (runner, iso)
                }
            },
            Err(why) => {
                let (runner, mut iso) = self.spawn(None).await.map_err(start_error)?;
                iso.jail_error = Some(why);
                (runner, iso)
            }
        };
        if isolation.jail == "none" && isolation.jail_error.is_none() {
            isolation.jail_error = Some("not jailed".into());
        }
        let missing: Vec<JailLayer> =
            self.settings.require.iter().copied().filter(|&layer| !isolation.has(layer)).collect();
        if !missing.is_empty() {
            return Err(SandboxError::Refused {
                missing: missing.iter().map(|l| l.name()).collect::<Vec<_>>().join(", "),
                why: isolation.jail_error.clone().unwrap_or_else(|| "the kernel refuses it".into()),
            });
        }
        Ok((runner, isolation))
    }

    /// Starts the runner if needed and says how runs are confined.
    pub async fn isolation(&self) -> Result<Isolation, SandboxError> {
        if let Some(iso) = self.isolation.get() {
            return Ok(iso.clone());
        }
        let mut guard = self.node_runner.lock().await;
        self.ensure_started(&mut guard).await?;
        Ok(self.isolation.get().cloned().unwrap_or_default())
    }

    async fn ensure_started(&self, slot: &mut Option<RunnerProcess>) -> Result<(), SandboxError> {
        let healthy = match slot.as_mut() {
            Some(r) => !r.busy && matches!(r.child.try_wait(), Ok(None)),
            None => false,
        };
        if !healthy {
            *slot = None; // kill_on_drop ends a stale runner, and with it the jail and its runs
            let (runner, isolation) = self.start().await?;
            let _ = self.isolation.set(isolation);
            *slot = Some(runner);
        }
        Ok(())
    }

    /// Starts the runner now, failing early (no Python, a required layer missing) rather than
    /// after the model has been paid for.
    pub async fn warm_up(&self) -> Result<(), SandboxError> {
        let mut guard = self.node_runner.lock().await;
        self.ensure_started(&mut guard).await
    }

    /// Kills a runner left mid-run by a cancelled caller (and its jail, with every run in it).
    pub async fn stop_abandoned_run(&self) {
        let slots = [&self.node_runner, &self.tool_runner].into_iter().chain(self.nested_runners.iter());
        for slot in slots {
            let mut guard = slot.lock().await;
            if guard.as_ref().is_some_and(|r| r.busy) {
                *guard = None;
            }
        }
    }

    /// Runs one request in a fresh confined child. Dropping the future (cancellation) leaves the
    /// runner busy; `stop_abandoned_run` or the next run replaces it.
    pub async fn run(&self, request: &RunRequest) -> Result<RunOutcome, SandboxError> {
        self.run_at(request, 0).await
    }

    /// `run` for a node called as a tool `depth` levels below the node that runs (1 and up): on
    /// a runner of its own, since the caller's is waiting for the answer.
    pub async fn run_at(&self, request: &RunRequest, depth: usize) -> Result<RunOutcome, SandboxError> {
        let slot = match (&request.kind, depth) {
            (RunKind::Exec { .. }, _) => &self.tool_runner,
            (_, 0) => &self.node_runner,
            (_, d) => &self.nested_runners[(d - 1).min(MAX_TOOL_DEPTH - 1)],
        };
        let mut guard = slot.lock().await;
        self.ensure_started(&mut guard).await?;
        let runner = guard.as_mut().expect("runner started");
        let id = runner.next_id;
        runner.next_id += 1;
        let (kind, script, runtime_script, module, function, loops, command, args) = match &request.kind {
            RunKind::Script { script, runtime, args } => {
                ("script", Some(script.as_str()), *runtime, None, None, 1, None, args.as_slice())
            }
            RunKind::Calls { module, function, loops } => {
                ("calls", None, false, Some(module.as_str()), Some(function.as_str()), *loops, None, &[][..])
            }
            RunKind::Exec { command, args } => {
                ("exec", None, false, None, None, 1, Some(command.as_str()), args.as_slice())
            }
        };
        let wire = WireRequest {
            id,
            kind,
            files: &request.files,
            script,
            runtime_script,
            module,
            function,
            loops,
            command,
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
        loop {
            let read = {
                let runner = guard.as_mut().expect("runner started");
                tokio::time::timeout(patience, read_line_bounded(&mut runner.stdout, ANSWER_LIMIT)).await
            };
            let answer = match read {
                Ok(Ok(Some(line))) => line,
                Ok(Ok(None)) => {
                    *guard = None;
                    return Err(SandboxError::Runner("the runner exited during a run; it will be restarted".into()));
                }
                Ok(Err(e)) => {
                    *guard = None;
                    return Err(SandboxError::Runner(format!("{e}; the runner was restarted")));
                }
                Err(_) => {
                    *guard = None;
                    return Err(SandboxError::Runner(format!(
                        "no answer from the runner within {:.0} s; it was restarted",
                        patience.as_secs_f64()
                    )));
                }
            };
            let value: serde_json::Value = serde_json::from_str(&answer)
                .map_err(|e| SandboxError::Runner(format!("bad answer from the runner: {e}")))?;
            if let Some(call) = value.get("tool_call") {
                let reply = self.serve_tool_call(call, request.tools.as_ref()).await;
                let mut text = serde_json::json!({ "tool_answer": reply }).to_string();
                text.push('\n');
                let runner = guard.as_mut().expect("runner started");
                runner.stdin.write_all(text.as_bytes()).await?;
                runner.stdin.flush().await?;
                continue;
            }
            let runner = guard.as_mut().expect("runner started");
            if let Some(error) = value.get("runner_error").and_then(|e| e.as_str()) {
                let error = error.to_string();
                *guard = None; // the runner exits after an error; the next run starts a fresh one
                return Err(SandboxError::Runner(error));
            }
            if value.get("id").and_then(|v| v.as_u64()) == Some(id) {
                runner.busy = false;
                return serde_json::from_value(value).map_err(|e| SandboxError::Runner(e.to_string()));
            }
        }
    }

    async fn serve_tool_call(
        &self,
        call: &serde_json::Value,
        tools: Option<&Arc<dyn ToolHandler>>,
    ) -> serde_json::Value {
        let Some(handler) = tools else {
            return serde_json::json!({ "error": "no tools are served to this run" });
        };
        match serde_json::from_value::<ToolCall>(call.clone()) {
            Ok(call) => {
                let name = call.tool.clone();
                match handler.call(call).await {
                    Ok(text) => serde_json::json!({ "result": text }),
                    Err(error) => {
                        tracing::warn!(tool = %name, %error, "tool call failed");
                        serde_json::json!({ "error": error })
                    }
                }
            }
            Err(e) => serde_json::json!({ "error": format!("bad tool request: {e}") }),
        }
    }
}

impl Drop for RunnerProcess {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}
