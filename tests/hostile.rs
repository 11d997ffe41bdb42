//! Hostile nodes through the real binary: each payload in tests/hostile/ is the code-stage answer
//! of a scripted model server for "add 10 and 20". For each one: the wrong code is never reported
//! as passing, nothing outside the run is read or changed, the evolver ends in bounded time, the
//! registry and memory are intact, and nothing is left running. README.md there lists the
//! placeholders; `code-evolver status` says which jail layers this machine gives.

mod support;

use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use support::{TestEnv, base_config};
use testkit::scripted_model::fixtures::{self, ADD};
use testkit::scripted_model::{Script, ScriptedServer};

/// What a payload looks for (it appears in the payload's own source, and so in repair prompts).
const TOKEN: &str = "CE-HOSTILE-SECRET";
/// The rest of the secret: in the file and the environment only, never in a payload.
const SECRET_TAIL: &str = "7f3a9c0e55d1";
const MARKER: &str = "ce-hostile-marker-51d2";

/// The tests here look for runners and markers left on the whole machine: they run one at a
/// time, so that one test's live runner is never taken for another's leftover.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Everything a payload may attack, made fresh for the suite.
struct Targets {
    _dir: tempfile::TempDir,
    secret_file: PathBuf,
    victim: PathBuf,
    host_dir: PathBuf,
    unix_socket: PathBuf,
    abstract_name: String,
    _listeners: (std::os::unix::net::UnixListener, std::os::unix::net::UnixListener),
}

impl Targets {
    fn new() -> Targets {
        use std::os::linux::net::SocketAddrExt;
        let dir = tempfile::tempdir().unwrap();
        let ssh = dir.path().join("home/.ssh");
        std::fs::create_dir_all(&ssh).unwrap();
        let secret_file = ssh.join("id_ed25519");
        std::fs::write(&secret_file, format!("-----BEGIN OPENSSH PRIVATE KEY-----\n{TOKEN}-{SECRET_TAIL}\n")).unwrap();
        let victim = dir.path().join("victim.txt");
        std::fs::write(&victim, "original").unwrap();
        let host_dir = dir.path().join("host");
        std::fs::create_dir_all(&host_dir).unwrap();
        let unix_socket = dir.path().join("host.sock");
        let path_listener = std::os::unix::net::UnixListener::bind(&unix_socket).unwrap();
        let abstract_name = format!("ce-hostile-{}", std::process::id());
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(abstract_name.as_bytes()).unwrap();
        let abstract_listener = std::os::unix::net::UnixListener::bind_addr(&addr).unwrap();
        path_listener.set_nonblocking(true).unwrap();
        abstract_listener.set_nonblocking(true).unwrap();
        Targets {
            _dir: dir,
            secret_file,
            victim,
            host_dir,
            unix_socket,
            abstract_name,
            _listeners: (path_listener, abstract_listener),
        }
    }

    /// Whether anything connected to the host's sockets.
    fn sockets_reached(&self) -> bool {
        self._listeners.0.accept().is_ok() || self._listeners.1.accept().is_ok()
    }
}

fn payloads() -> Vec<(String, String)> {
    let dir = std::env::var_os("CE_HOSTILE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hostile"));
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "py"))
        .map(|p| (p.file_stem().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(&p).unwrap()))
        .collect();
    out.sort();
    // CE_HOSTILE_ONLY=name,name runs a few (to see a breach without a jail, say).
    if let Ok(only) = std::env::var("CE_HOSTILE_ONLY") {
        out.retain(|(name, _)| only.split(',').any(|o| o == name));
    }
    out
}

fn fill(payload: &str, env: &TestEnv, targets: &Targets, port: u16) -> String {
    payload
        .replace("__TOKEN__", TOKEN)
        .replace("__SECRET_FILE__", &targets.secret_file.display().to_string())
        .replace("__VICTIM__", &targets.victim.display().to_string())
        .replace("__REGISTRY__", &env.data_path().join("registry.db").display().to_string())
        .replace("__HOST_DIR__", &targets.host_dir.display().to_string())
        .replace("__PORT__", &port.to_string())
        .replace("__UNIX_SOCKET__", &targets.unix_socket.display().to_string())
        .replace("__ABSTRACT__", &targets.abstract_name)
        .replace("__MARKER__", MARKER)
}

fn script(code: &str) -> Script {
    Script::new()
        .on("classify", fixtures::classify("arithmetic", "simple"))
        .on("plan", fixtures::add_spec())
        .on("code", fixtures::code(code))
        .on(
            "review",
            json!({ "cases": [
                { "name": "task", "work": "10 + 20", "result": 30 },
                { "name": "negative", "work": "-5 + 3", "result": -2 },
                { "name": "zeros", "work": "0 + 0", "result": 0 }
            ] }),
        )
        .on("optimize", fixtures::faster(ADD, "nothing to improve"))
}

fn config(url: &str) -> String {
    format!(
        "{}limits:\n  node_timeout_s: 3\n  node_cpu_s: 3\n  node_memory_mb: 512\n  node_processes: 64\n\
         tools:\n  date:\n    kind: executable\n    executable:\n      command: date\n      args: [\"{{prompt}}\"]\n",
        base_config("ollama", &format!("url: \"{url}\""))
    )
}

/// Command lines of every process on this machine that carries `needle`.
fn processes_with(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if text.contains(needle) {
                found.push(format!("{}: {text}", name.to_string_lossy()));
            }
        }
    }
    found
}

async fn snapshot(env: &TestEnv) -> (String, String) {
    let list = env.run(&["list"]).await;
    list.assert_ok();
    let stats = env.run(&["memory", "stats"]).await;
    stats.assert_ok();
    (list.stdout, stats.stdout)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_nodes_are_contained() {
    let _serial = SERIAL.lock().await;
    let payloads = payloads();
    if std::env::var_os("CE_HOSTILE_ONLY").is_none() {
        assert!(payloads.len() >= 30, "the suite has {} payloads", payloads.len());
    }
    let targets = Targets::new();
    // One verified node first, so there is a registry and a memory to protect.
    let server = ScriptedServer::start(fixtures::arithmetic_script()).await.unwrap();
    let port: u16 = server.url.rsplit(':').next().unwrap().trim_end_matches('/').parse().unwrap();
    let env = TestEnv::new()
        .set("CE_HOSTILE_SECRET", &format!("{TOKEN}-{SECRET_TAIL}"))
        .set("CODE_EVOLVER_PIPELINE__ESCALATION", "[{role: generator.fast, temperature: 0.0}]");
    env.write_config(&config(&server.url));
    let seed = env.run(&["evolve", "add 10 and 20"]).await;
    seed.assert_ok();
    let status = env.run(&["status"]).await;
    eprintln!("{}", status.stdout);
    let before = snapshot(&env).await;
    let sleeper =
        std::process::Command::new("python3").args(["-c", "import time; time.sleep(600)", MARKER]).spawn().unwrap();
    let sleeper_pid = sleeper.id();
    let mut failures = Vec::new();
    for (name, payload) in &payloads {
        let code = fill(payload, &env, &targets, port);
        server.set_script(script(&code));
        let started = Instant::now();
        let run = env
            .run(&["evolve", "--no-memory", "--no-optimize", &format!("add 10 and 20 (hostile {})", &name[..2])])
            .await;
        let took = started.elapsed();
        let all = run.all();
        let mut problems = Vec::new();
        if run.code == 0 || all.contains("RESULT") {
            problems.push("the wrong code was reported as passing".to_string());
        }
        if !all.contains("no version passed") {
            problems.push("the evolve did not end with the tests failing".into());
        }
        if all.contains("not tested:") {
            problems.push("the payload was sent back untested: it never ran in the jail".into());
        }
        if took > Duration::from_secs(60) {
            problems.push(format!("took {:.0} s", took.as_secs_f64()));
        }
        let logged: String = server.requests().iter().map(|r| r.body.to_string()).collect();
        if all.contains(SECRET_TAIL) || logged.contains(SECRET_TAIL) {
            problems.push("the secret reached the output or the model".into());
        }
        if std::fs::read_to_string(&targets.victim).unwrap() != "original" {
            problems.push("the victim file changed".into());
            std::fs::write(&targets.victim, "original").unwrap();
        }
        if std::fs::read_dir(&targets.host_dir).unwrap().next().is_some() {
            problems.push("a file appeared in the host dir".into());
        }
        if targets.sockets_reached() {
            problems.push("a host Unix socket was reached".into());
        }
        std::thread::sleep(Duration::from_millis(200));
        let left: Vec<String> =
            processes_with(MARKER).into_iter().filter(|p| !p.starts_with(&format!("{sleeper_pid}:"))).collect();
        if !left.is_empty() {
            problems.push(format!("left running: {left:?}"));
        }
        let runners = processes_with("warm_runner.py");
        if !runners.is_empty() {
            problems.push(format!("runner left running: {runners:?}"));
        }
        if !Path::new(&format!("/proc/{sleeper_pid}")).exists() {
            problems.push("a host process was killed".into());
        }
        if snapshot(&env).await != before {
            problems.push("the registry or the memory changed".into());
        }
        eprintln!("{name}: {:.1} s, {}", took.as_secs_f64(), if problems.is_empty() { "contained" } else { "BREACH" });
        if !problems.is_empty() {
            let tail: String = all.chars().rev().take(3000).collect::<String>().chars().rev().collect();
            failures.push(format!("{name}: {}\n{tail}", problems.join("; ")));
        }
    }
    let mut sleeper = sleeper;
    let _ = sleeper.kill();
    assert!(failures.is_empty(), "{} payload(s) not contained:\n{}", failures.len(), failures.join("\n\n"));
    // The evolver still works after all of that.
    server.set_script(fixtures::arithmetic_script());
    let after = env.run(&["evolve", "--no-memory", "add 10 and 20"]).await;
    after.assert_ok();
    assert_eq!(after.result().as_deref(), Some("30"), "{}", after.all());
}

/// "add 10 and 20" evolved from `original`, with one optimize iteration offered `candidate`: the
/// run and the optimization score.
async fn optimized_once(original: &str, candidate: &str) -> (support::Run, f64) {
    let script = Script::new()
        .on("classify", fixtures::classify("arithmetic", "simple"))
        .on("plan", fixtures::add_spec())
        .on("code", fixtures::code(original))
        .on("optimize", fixtures::faster(candidate, "a much faster add"));
    let server = ScriptedServer::start(script).await.unwrap();
    let env = TestEnv::new();
    env.write_config(
        &base_config("ollama", &format!("url: \"{}\"", server.url))
            .replace("iterations: 0", "iterations: 1\n    runs: 5\n    run_ms: 30"),
    );
    let run = env.run(&["evolve", "--no-memory", "add 10 and 20", "--json"]).await;
    run.assert_ok();
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("--json prints the outcome");
    let score = report.pointer("/optimization/score").and_then(|s| s.as_f64()).unwrap_or(1.0);
    (run, score)
}

/// A candidate that is no faster but slows down the runs that call nothing (to inflate what is
/// subtracted as the fixed cost) gains nothing: the fixed cost is a trivial module's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inflated_empty_run_is_not_a_speed_up() {
    let _serial = SERIAL.lock().await;
    let cheat = "import sys\nimport time\n\n_called = [False]\n\n\nclass _Slow:\n    _real = sys.stdout\n\n    class _W:\n        def __getattr__(self, name):\n            return getattr(_Slow._real, name)\n\n        def flush(self):\n            if not _called[0]:\n                time.sleep(0.05)\n            return _Slow._real.flush()\n\n    sys.stdout = _W()\n\n\n\
def add(a: int, b: int) -> int:\n    _called[0] = True\n    total = 0\n    for _ in range(2000):\n        total += 1\n    return a + b\n";
    let slow = "def add(a: int, b: int) -> int:\n    total = 0\n    for _ in range(2000):\n        total += 1\n    return a + b\n";
    let (run, score) = optimized_once(slow, cheat).await;
    assert!(score < 1.5, "the cheat was scored {score}×:\n{}", run.all());
}

/// A candidate that is slower but games the clock (patched timers, a fake fast path when timed)
/// is never kept: the runner's clock times it, and its timed results must match the baseline's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_timings_are_not_kept() {
    let _serial = SERIAL.lock().await;
    let cheat = "import time\n\n_real = time.perf_counter_ns\n_calls = [0]\n\n\nclass _Clock:\n    time.perf_counter_ns = lambda: 0\n    time.perf_counter = lambda: 0.0\n    time.monotonic = lambda: 0.0\n\n\n\
def add(a: int, b: int) -> int:\n    _calls[0] += 1\n    if _calls[0] > 3:\n        return 0\n    total = 0\n    for _ in range(20000):\n        total += 1\n    return a + b\n";
    let (run, score) = optimized_once(ADD, cheat).await;
    let all = run.all();
    assert!(!all.contains("iteration 1: accepted"), "{all}");
    assert!(score <= 1.0 + 1e-9, "the cheat was scored {score}×:\n{all}");
}
