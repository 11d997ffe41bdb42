//! The Python venv with pytest, ruff, flake8, pylint, mypy and black (runtime/requirements.txt).

use super::{Progress, SetupError, SetupEvent, io};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;

fn system_python() -> Result<String, SetupError> {
    for candidate in ["python3", "python3.12", "python3.11", "python"] {
        if let Ok(out) =
            Command::new(candidate).args(["-c", "import sys, venv, ensurepip; print(sys.executable)"]).output()
            && out.status.success()
        {
            return Ok(String::from_utf8_lossy(&out.stdout).trim().to_string());
        }
    }
    Err(SetupError::Failed(
        "no Python 3 with the venv module: install it (Debian/Ubuntu: sudo apt-get install python3 python3-venv) and run setup again".into(),
    ))
}

/// Makes (or updates) the venv; returns its interpreter.
pub fn ensure(data: &Path, progress: Progress<'_>) -> Result<PathBuf, SetupError> {
    let runtime = crate::paths::runtime_dir(data).map_err(io(format!("writing {}", data.display())))?;
    let requirements = runtime.join("requirements.txt");
    let text = std::fs::read(&requirements).map_err(io("reading requirements.txt"))?;
    let wanted: String = Sha256::digest(&text).iter().map(|b| format!("{b:02x}")).collect();
    let venv = crate::paths::venv_dir(data);
    let marker = venv.join(".code-evolver-requirements");
    let python = venv.join("bin").join("python");
    if python.exists() && std::fs::read_to_string(&marker).map(|m| m.trim() == wanted).unwrap_or(false) {
        progress(SetupEvent::Step(format!("Python venv {} is up to date", venv.display())));
        return Ok(python);
    }
    if !python.exists() {
        let system = system_python()?;
        progress(SetupEvent::Step(format!("creating the Python venv {} with {system}", venv.display())));
        let status =
            Command::new(&system).args(["-m", "venv"]).arg(&venv).status().map_err(io("running python -m venv"))?;
        if !status.success() {
            return Err(SetupError::Failed(format!(
                "`{system} -m venv {}` failed: install the venv module (Debian/Ubuntu: sudo apt-get install python3-venv) and run setup again",
                venv.display()
            )));
        }
    }
    progress(SetupEvent::Step(
        "installing pytest, ruff, flake8, pylint, mypy, black (pinned in runtime/requirements.txt)".into(),
    ));
    let status = Command::new(&python)
        .args(["-m", "pip", "install", "--disable-pip-version-check", "-q", "-r"])
        .arg(&requirements)
        .status()
        .map_err(io("running pip"))?;
    if !status.success() {
        return Err(SetupError::Failed(format!(
            "pip could not install {}: check access to PyPI and run `code-evolver setup` again (it resumes)",
            requirements.display()
        )));
    }
    std::fs::write(&marker, &wanted).map_err(io("writing the venv marker"))?;
    progress(SetupEvent::Step(format!("Python tools installed in {}", venv.display())));
    Ok(python)
}
