//! Helpers for the integration tests: an isolated environment (data dir, workspace, config home)
//! and the CLI binary run inside it. The scripted model server is `testkit::scripted_model`
//! (the `testkit` crate, testkit/src/scripted_model.rs).

#![allow(dead_code)]

pub mod qdrant;

use std::path::{Path, PathBuf};
use std::process::Output;
use tempfile::TempDir;

/// A Python with pytest: CODE_EVOLVER_PYTHON, else the venv `code-evolver setup` makes.
pub fn python() -> String {
    if let Ok(p) = std::env::var("CODE_EVOLVER_PYTHON") {
        return p;
    }
    let venv = dirs::data_dir().unwrap().join("code-evolver/venv/bin/python");
    assert!(
        venv.exists(),
        "no Python with pytest: run `cargo run -- setup` (or scripts/test.sh), or set CODE_EVOLVER_PYTHON"
    );
    venv.display().to_string()
}

/// The CLI under test: CE_TEST_BIN (a copy another user can run, as .ci/run does for the hostile
/// suite), else the one cargo built.
pub fn binary() -> PathBuf {
    std::env::var_os("CE_TEST_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_code-evolver")))
}

pub struct TestEnv {
    pub data: TempDir,
    pub workspace: TempDir,
    pub home: TempDir,
    pub env: Vec<(String, String)>,
}

impl TestEnv {
    pub fn new() -> TestEnv {
        TestEnv {
            data: tempfile::tempdir().unwrap(),
            workspace: tempfile::tempdir().unwrap(),
            home: tempfile::tempdir().unwrap(),
            env: Vec::new(),
        }
    }

    /// A fast test configuration on one Ollama-speaking URL: no linters, no optimization.
    pub fn with_ollama(url: &str) -> TestEnv {
        let env = TestEnv::new();
        env.write_config(&base_config("ollama", &format!("url: \"{url}\"")));
        env
    }

    pub fn write_config(&self, yaml: &str) {
        std::fs::write(self.config_path(), yaml).unwrap();
    }

    pub fn config_path(&self) -> PathBuf {
        self.workspace.path().join(".code-evolver.yaml")
    }

    /// `CODE_EVOLVER_*` settings for this environment's runs.
    pub fn set(mut self, key: &str, value: &str) -> TestEnv {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    pub fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(binary());
        cmd.args(args)
            .current_dir(self.workspace.path())
            .env_remove("CODE_EVOLVER_CONFIG")
            .env("CODE_EVOLVER_DATA_DIR", self.data.path())
            .env("CODE_EVOLVER_PYTHON", python())
            .env("XDG_CONFIG_HOME", self.home.path())
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    pub async fn run(&self, args: &[&str]) -> Run {
        let output = tokio::time::timeout(std::time::Duration::from_secs(600), self.command(args).output())
            .await
            .expect("the CLI finished within 600 s")
            .expect("the CLI started");
        Run::from(output)
    }

    pub fn data_path(&self) -> &Path {
        self.data.path()
    }
}

/// A config file for one backend, fast settings for tests.
pub fn base_config(kind: &str, endpoint_yaml: &str) -> String {
    format!(
        "backends:\n  ollama:\n    kind: {kind}\n    {endpoint_yaml}\n    timeout_s: 5\n    retries: 0\n    fallback: null\n\
         pipeline:\n  analysis:\n    linters: []\n  optimize:\n    iterations: 0\n    skip_below_ns: 0\n  consensus:\n    samples: 0\n    probe: 0\n  mutation:\n    extend: false\n"
    )
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    pub fn all(&self) -> String {
        format!("--- stdout ---\n{}\n--- stderr ---\n{}", self.stdout, self.stderr)
    }

    pub fn assert_ok(&self) -> &Run {
        assert_eq!(self.code, 0, "expected success:\n{}", self.all());
        self
    }

    /// The outcome `evolve --json` prints.
    pub fn outcome(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("--json prints the outcome ({e}):\n{}", self.all()))
    }

    /// The text after `RESULT: ` on its line.
    pub fn result(&self) -> Option<String> {
        self.stdout.lines().find_map(|l| l.strip_prefix("RESULT: ")).map(String::from)
    }

    /// The saved node's id, from the summary line `node ID vN · ...`.
    pub fn node_id(&self) -> String {
        self.stdout
            .lines()
            .find_map(|l| l.strip_prefix("node ").and_then(|r| r.split_whitespace().next()))
            .unwrap_or_else(|| panic!("no node line:\n{}", self.all()))
            .to_string()
    }
}

/// A port with nothing listening (connections are refused).
pub fn refused_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// The defaults plus `yaml`, without the user's file or environment (for library-level tests).
pub fn config_from_yaml(yaml: &str) -> code_evolver::config::Config {
    code_evolver::config::ConfigLoader::default()
        .without_user_file()
        .without_environment()
        .layer(code_evolver::config::Layer::from_yaml("test", yaml).unwrap())
        .load()
        .unwrap()
}

/// Patience for a whole evolve over LSP.
pub const LONG: std::time::Duration = std::time::Duration::from_secs(300);

/// A `file://` URI for `name` in the workspace.
pub fn uri_in(env: &TestEnv, name: &str) -> String {
    format!("file://{}", env.workspace.path().join(name).display())
}

/// The language server started in `env` and initialized with `options`.
pub async fn started(env: &TestEnv, options: serde_json::Value) -> testkit::lsp_client::LspClient {
    let mut client = testkit::lsp_client::LspClient::start(env.command(&[]));
    let init = client.initialize(env.workspace.path(), options).await;
    assert!(init["result"]["capabilities"]["codeActionProvider"].is_object(), "{init}");
    client
}

/// A ladder of repairs only (the default one has fresh rungs).
pub const REPAIR_LADDER: &str = "[{role: generator.fast, temperature: 0.0}, {role: generator.fast, temperature: 0.3}, \
                             {role: generator.powerful, temperature: 0.5}]";

/// Four right `add_days(date, days)` answers, each in other words (distinct codes): attempts
/// that agree on 2024-01-15 + 30 days = 2024-02-14 against an overseer's wrong case.
pub fn add_days_attempts() -> Vec<serde_json::Value> {
    let code = |body: &str| {
        testkit::scripted_model::fixtures::code(&format!(
            "import datetime\n\ndef add_days(date: str, days: int) -> str:\n    {body}\n"
        ))
    };
    vec![
        code("return (datetime.date.fromisoformat(date) + datetime.timedelta(days=days)).isoformat()"),
        code("d = datetime.date.fromisoformat(date)\n    return str(d + datetime.timedelta(days=days))"),
        code(
            "d = datetime.datetime.strptime(date, '%Y-%m-%d')\n    return (d + datetime.timedelta(days)).strftime('%Y-%m-%d')",
        ),
        code(
            "start = datetime.date.fromisoformat(date)\n    end = start + datetime.timedelta(days=days)\n    return end.isoformat()",
        ),
    ]
}
