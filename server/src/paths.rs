//! Where code-evolver keeps its data, and the Python runtime files it ships inside the binary.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// `CODE_EVOLVER_DATA_DIR`, else the XDG data dir (`~/.local/share/code-evolver`).
pub fn data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CODE_EVOLVER_DATA_DIR") {
        return PathBuf::from(dir);
    }
    dirs::data_dir().unwrap_or_else(|| PathBuf::from(".local/share")).join("code-evolver")
}

pub fn venv_dir(data: &Path) -> PathBuf {
    data.join("venv")
}

pub fn registry_path(data: &Path) -> PathBuf {
    data.join("registry.db")
}

/// The runtime's Python files, compiled in so the binary works wherever it is installed.
pub const RUNTIME_FILES: &[(&str, &str)] = &[
    ("warm_runner.py", include_str!("../../runtime/warm_runner.py")),
    ("forked_run.py", include_str!("../../runtime/forked_run.py")),
    ("confine.py", include_str!("../../runtime/confine.py")),
    ("node_runtime.py", include_str!("../../runtime/node_runtime.py")),
    ("tidy.py", include_str!("../../runtime/tidy.py")),
    ("stub_spec.py", include_str!("../../runtime/stub_spec.py")),
    ("mutate.py", include_str!("../../runtime/mutate.py")),
    ("requirements.txt", include_str!("../../runtime/requirements.txt")),
];

/// Writes the runtime files into `data/runtime/<hash>/` once and returns that folder. The hash
/// keeps two versions of the binary from sharing stale files.
pub fn runtime_dir(data: &Path) -> std::io::Result<PathBuf> {
    let mut hasher = Sha256::new();
    for (name, text) in RUNTIME_FILES {
        hasher.update(name.as_bytes());
        hasher.update(text.as_bytes());
    }
    let digest = hasher.finalize();
    let tag: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    let dir = data.join("runtime").join(tag);
    if dir.join(".complete").exists() {
        return Ok(dir);
    }
    std::fs::create_dir_all(&dir)?;
    for (name, text) in RUNTIME_FILES {
        let tmp = dir.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, dir.join(name))?;
    }
    std::fs::write(dir.join(".complete"), b"")?;
    Ok(dir)
}

/// The Python that runs nodes, tests and linters: config, then `CODE_EVOLVER_PYTHON`, then the
/// set-up venv (of this data dir, then of the default one), then `python3` on PATH resolved to the real interpreter (a pyenv shim costs ~50 ms
/// a start).
pub fn find_python(configured: &str, data: &Path) -> Option<PathBuf> {
    if !configured.is_empty() {
        return Some(PathBuf::from(configured));
    }
    if let Some(p) = std::env::var_os("CODE_EVOLVER_PYTHON") {
        return Some(PathBuf::from(p));
    }
    // The venv of this data dir, else the one `setup` made in the default data dir.
    let default_data = dirs::data_dir().map(|d| d.join("code-evolver"));
    for dir in std::iter::once(data.to_path_buf()).chain(default_data) {
        let venv = venv_dir(&dir).join("bin").join("python");
        if venv.exists() {
            return Some(venv);
        }
    }
    let out = std::process::Command::new("python3").args(["-c", "import sys; print(sys.executable)"]).output().ok()?;
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (!path.is_empty()).then(|| PathBuf::from(path))
}

/// A linter or tool next to the interpreter (in its venv), else on PATH.
pub fn find_tool(python: Option<&Path>, name: &str) -> Option<PathBuf> {
    if let Some(bin) = python.and_then(Path::parent) {
        let candidate = bin.join(name);
        if candidate.exists() {
            return Some(candidate);
        }
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|p| p.is_file())
}
