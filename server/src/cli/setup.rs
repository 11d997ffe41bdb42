//! `code-evolver setup`: the Python venv with pytest and the linters, pinned in
//! runtime/requirements.txt. Idempotent: a marker records what was installed.

use super::{EXIT_FAILED, Global};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::process::Command;

fn step(text: &str) {
    println!("[setup] {text}");
}

pub async fn run(global: &Global) -> i32 {
    let data = global.data_dir();
    match setup_venv(&data) {
        Ok(()) => {
            step("done");
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_FAILED
        }
    }
}

fn system_python() -> Result<String, String> {
    for candidate in ["python3", "python3.11", "python3.12", "python"] {
        if let Ok(out) = Command::new(candidate)
            .args(["-c", "import sys, venv; print(sys.executable)"])
            .output()
            && out.status.success()
        {
            return Ok(String::from_utf8_lossy(&out.stdout).trim().to_string());
        }
    }
    Err("no Python 3 with the venv module found: install it (Debian/Ubuntu: sudo apt-get install python3 python3-venv)".into())
}

pub fn setup_venv(data: &Path) -> Result<(), String> {
    let runtime = crate::paths::runtime_dir(data)
        .map_err(|e| format!("cannot write {}: {e}", data.display()))?;
    let requirements = runtime.join("requirements.txt");
    let wanted = {
        let text = std::fs::read(&requirements).map_err(|e| e.to_string())?;
        let digest = Sha256::digest(&text);
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let venv = crate::paths::venv_dir(data);
    let marker = venv.join(".code-evolver-requirements");
    let python = venv.join("bin").join("python");
    if python.exists()
        && std::fs::read_to_string(&marker)
            .map(|m| m.trim() == wanted)
            .unwrap_or(false)
    {
        step(&format!("Python venv {} is up to date", venv.display()));
        return Ok(());
    }
    if !python.exists() {
        let system = system_python()?;
        step(&format!(
            "creating the Python venv {} with {system}",
            venv.display()
        ));
        let status = Command::new(&system)
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .map_err(|e| e.to_string())?;
        if !status.success() {
            return Err(format!(
                "`{system} -m venv {}` failed: install the venv module (Debian/Ubuntu: sudo apt-get install python3-venv) and retry",
                venv.display()
            ));
        }
    }
    step(
        "installing pytest, ruff, flake8, pylint, mypy, black (pinned in runtime/requirements.txt)",
    );
    let status = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "-q",
            "-r",
        ])
        .arg(&requirements)
        .status()
        .map_err(|e| e.to_string())?;
    if !status.success() {
        return Err(format!(
            "pip could not install {}: check the network access to PyPI and run `code-evolver setup` again (it resumes)",
            requirements.display()
        ));
    }
    std::fs::write(&marker, &wanted).map_err(|e| e.to_string())?;
    step(&format!("Python tools installed in {}", venv.display()));
    Ok(())
}
