//! scratch: the temp dirs this process makes (an evolve's work dir, a lint round's copy of a
//! buffer) all live under one dir of its own, `$TMPDIR/code-evolver.<pid>`. A temp dir removes
//! itself when dropped, but not when the process ends first: a language server killed by its
//! editor, an evolve quit with a second Ctrl-C, a lint round cut short while mypy still writes
//! its cache. So the process removes its own dir when it ends, and the first temp dir a process
//! makes sweeps away the dirs of processes that are gone (and the loose dirs older versions left).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

const PREFIX: &str = "code-evolver.";

static ROOT: OnceLock<PathBuf> = OnceLock::new();

/// A fresh temp dir under this process's scratch dir, removed when dropped.
pub fn temp_dir(prefix: &str) -> std::io::Result<tempfile::TempDir> {
    let root = ROOT.get_or_init(|| {
        let tmp = std::env::temp_dir();
        sweep(&tmp);
        tmp.join(format!("{PREFIX}{}", std::process::id()))
    });
    std::fs::create_dir_all(root)?;
    tempfile::Builder::new().prefix(prefix).tempdir_in(root)
}

/// Removes this process's scratch dir (at exit: nothing in it is needed any more).
pub fn remove_own() {
    if let Some(root) = ROOT.get() {
        let _ = std::fs::remove_dir_all(root);
    }
}

/// Removes the scratch dirs of processes that no longer run, and the loose temp dirs that
/// versions before this one left (`code-evolver-lint-` or `code-evolver-` and six random
/// characters) once they are a day old: no run keeps one that long.
fn sweep(tmp: &Path) {
    let Ok(entries) = std::fs::read_dir(tmp) else { return };
    let day = Duration::from_secs(24 * 3600);
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let stale = if let Some(pid) = name.strip_prefix(PREFIX) {
            pid.parse::<u32>().is_ok_and(|pid| !alive(pid))
        } else if is_loose(&name) {
            entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| SystemTime::now().duration_since(t).is_ok_and(|age| age > day))
        } else {
            false
        };
        // Only directories the same user owns (root's /tmp holds everyone's).
        if stale && entry.file_type().is_ok_and(|t| t.is_dir()) && owned(&entry.path()) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// `code-evolver-` or `code-evolver-lint-`, then tempfile's six random characters.
fn is_loose(name: &str) -> bool {
    let rest = name.strip_prefix("code-evolver-lint-").or_else(|| name.strip_prefix("code-evolver-"));
    rest.is_some_and(|r| r.len() == 6 && r.chars().all(|c| c.is_ascii_alphanumeric()))
}

fn alive(pid: u32) -> bool {
    pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists()
}

fn owned(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions.
    std::fs::symlink_metadata(path).is_ok_and(|m| m.uid() == unsafe { libc::geteuid() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dirs_of_gone_processes_and_old_loose_dirs_are_swept_and_nothing_else() {
        let tmp = tempfile::tempdir().unwrap();
        let mine = tmp.path().join(format!("{PREFIX}{}", std::process::id()));
        // Above the kernel's largest pid: no process has it.
        let gone = tmp.path().join(format!("{PREFIX}4194305"));
        let loose = tmp.path().join("code-evolver-lint-Ab12Cd");
        let other = tmp.path().join("code-evolver-qdrant-store");
        for dir in [&mine, &gone, &loose, &other] {
            std::fs::create_dir_all(dir.join(".mypy_cache")).unwrap();
        }
        sweep(tmp.path());
        assert!(mine.exists() && !gone.exists() && loose.exists() && other.exists());
        // A loose dir a day old goes.
        let old = SystemTime::now() - Duration::from_secs(2 * 24 * 3600);
        std::fs::File::open(&loose).unwrap().set_modified(old).unwrap();
        sweep(tmp.path());
        assert!(!loose.exists() && other.exists() && mine.exists());
        assert!(is_loose("code-evolver-x1Y2z3") && !is_loose("code-evolver-vscode-e2e-x1Y2z3"));
    }
}
