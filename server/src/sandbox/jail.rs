//! The jail around the warm runner: bubblewrap (Debian `bubblewrap`, Flatpak's sandbox) gives it
//! its own user (when the evolver is not root), pid, mount, network, IPC, UTS and cgroup
//! namespaces; a root filesystem of read-only binds (system, the Python that runs nodes, the
//! runtime files) and a private tmpfs /tmp; a cleared environment; death with its parent. Nothing
//! of `$HOME`, the data dir, the registry, the memory or any socket is mounted. The runner inside
//! drops a root evolver's uid to nobody and confines each forked run further (warm_runner.py).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Where the runtime files are in the jail (outside its /tmp, which the runs may write).
pub const JAIL_RUNTIME: &str = "/run/code-evolver/runtime";

/// The uid and gid runs have inside the jail (and, for a root evolver, on the host).
pub const NOBODY: u32 = 65534;

/// How to start the runner jailed on this machine.
#[derive(Debug, Clone)]
pub struct JailPlan {
    pub bwrap: PathBuf,
    pub version: String,
    /// bubblewrap's arguments up to (not including) `--` and the command.
    pub args: Vec<String>,
}

/// Where bubblewrap is: the configured path, else `bwrap` on PATH. `off` disables the jail.
pub fn find_bwrap(configured: &str) -> Result<PathBuf, String> {
    match configured {
        "off" => Err("the jail is switched off (`sandbox.bwrap: off`)".into()),
        "" => {
            let path = std::env::var_os("PATH").unwrap_or_default();
            std::env::split_paths(&path)
                .chain(["/usr/bin".into(), "/usr/local/bin".into()])
                .map(|dir| dir.join("bwrap"))
                .find(|p| p.is_file())
                .ok_or_else(|| {
                    "bubblewrap (`bwrap`) is not installed: `apt-get install bubblewrap` (or set `sandbox.bwrap`)"
                        .into()
                })
        }
        path => {
            let p = PathBuf::from(path);
            if p.is_file() { Ok(p) } else { Err(format!("`sandbox.bwrap`: {path} does not exist")) }
        }
    }
}

/// The directories the interpreter needs (its prefixes and import path), asked of it once. This
/// runs our own interpreter on our own one-liner: no generated code is involved.
pub fn python_paths(python: &Path) -> Result<Vec<PathBuf>, String> {
    let probe = "import json, os, sys\n\
        paths = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,\n\
                 os.path.dirname(os.path.abspath(sys.executable)), os.path.dirname(os.path.realpath(sys.executable))]\n\
        paths += [p for p in sys.path if p and os.path.isdir(p)]\n\
        print(json.dumps([os.path.realpath(p) for p in paths] + paths))";
    let out = std::process::Command::new(python)
        .args(["-I", "-c", probe])
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    if !out.status.success() {
        return Err(format!("{} failed: {}", python.display(), String::from_utf8_lossy(&out.stderr).trim()));
    }
    let paths: Vec<String> = serde_json::from_slice(&out.stdout).map_err(|e| format!("python paths: {e}"))?;
    Ok(paths.into_iter().map(PathBuf::from).collect())
}

/// Read-only binds: each path once, none inside another, none under /usr (bound whole).
fn minimal_binds(paths: impl IntoIterator<Item = PathBuf>) -> Vec<PathBuf> {
    let mut set: BTreeSet<PathBuf> = BTreeSet::new();
    for p in paths {
        if p.is_absolute() && p.exists() && p != Path::new("/") && !p.starts_with("/usr") && !p.starts_with("/proc") {
            set.insert(p);
        }
    }
    let all: Vec<PathBuf> = set.iter().cloned().collect();
    all.iter().filter(|p| !all.iter().any(|q| q != *p && p.starts_with(q))).cloned().collect()
}

const ETC_FILES: &[&str] = &[
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/alternatives",
    "/etc/localtime",
    "/etc/passwd",
    "/etc/group",
    "/etc/nsswitch.conf",
    "/etc/mime.types",
    "/etc/ssl/certs",
    "/etc/ca-certificates",
];

impl JailPlan {
    pub fn new(bwrap: PathBuf, python: &Path, runtime: &Path, tmp_mb: u64) -> Result<JailPlan, String> {
        let version = std::process::Command::new(&bwrap)
            .arg("--version")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .map_err(|e| format!("cannot run {}: {e}", bwrap.display()))?;
        let binds = minimal_binds(python_paths(python)?);
        let root = nix_is_root();
        let mut args: Vec<String> = [
            "--die-with-parent",
            "--new-session",
            "--as-pid-1",
            "--unshare-pid",
            "--unshare-net",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--hostname",
            "code-evolver-node",
            "--clearenv",
            "--setenv",
            "PATH",
            "/usr/local/bin:/usr/bin:/bin",
            "--setenv",
            "LANG",
            "C.UTF-8",
            "--setenv",
            "HOME",
            "/tmp",
            "--setenv",
            "PYTHONDONTWRITEBYTECODE",
            "1",
        ]
        .map(String::from)
        .to_vec();
        if !root {
            // Not root: a user namespace maps the runner to nobody inside (the caller's own uid
            // outside). As root, the runner drops to the host's nobody itself once the jail is up:
            // a user namespace would map it to host root.
            let nobody = NOBODY.to_string();
            args.extend(["--unshare-user", "--uid", &nobody, "--gid", &nobody].map(String::from));
        }
        let mut push = |items: &[&str]| args.extend(items.iter().map(|s| s.to_string()));
        // The private /tmp first: an interpreter that lives under the host's /tmp is bound into it.
        if version_at_least(&version, 0, 8) {
            push(&["--size", &(tmp_mb.max(16) * 1024 * 1024).to_string()]);
        }
        push(&["--tmpfs", "/tmp", "--proc", "/proc", "--dev", "/dev"]);
        push(&["--ro-bind", "/usr", "/usr"]);
        for top in ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"] {
            let p = Path::new(top);
            match std::fs::read_link(p) {
                Ok(target) => push(&["--symlink", &target.to_string_lossy(), top]),
                Err(_) if p.is_dir() => push(&["--ro-bind", top, top]),
                Err(_) => {}
            }
        }
        for etc in ETC_FILES {
            push(&["--ro-bind-try", etc, etc]);
        }
        push(&["--ro-bind-try", "/sys/devices/system/cpu", "/sys/devices/system/cpu"]);
        // Parents that bubblewrap creates copy their source's mode (/root is 0700): make them
        // traversable for the unprivileged runner.
        let mut parents: BTreeSet<PathBuf> = BTreeSet::new();
        for bind in binds.iter().chain([PathBuf::from(JAIL_RUNTIME)].iter()) {
            for ancestor in bind.ancestors().skip(1) {
                if ancestor != Path::new("/") && !ancestor.starts_with("/usr") {
                    parents.insert(ancestor.to_path_buf());
                }
            }
        }
        for parent in &parents {
            push(&["--perms", "0755", "--dir", &parent.to_string_lossy()]);
        }
        for bind in &binds {
            let b = bind.to_string_lossy();
            push(&["--ro-bind", &b, &b]);
        }
        push(&["--ro-bind", &runtime.to_string_lossy(), JAIL_RUNTIME, "--chdir", "/tmp"]);
        Ok(JailPlan { bwrap, version, args })
    }
}

fn version_at_least(version: &str, major: u32, minor: u32) -> bool {
    let numbers: Vec<u32> =
        version.split_whitespace().last().unwrap_or("").split('.').filter_map(|n| n.parse().ok()).collect();
    match numbers.as_slice() {
        [a, b, ..] => (*a, *b) >= (major, minor),
        _ => false,
    }
}

pub fn host_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

pub fn nix_is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_are_minimal() {
        let tmp = tempfile::tempdir().unwrap();
        let a = tmp.path().join("a");
        let b = a.join("b");
        std::fs::create_dir_all(&b).unwrap();
        let binds = minimal_binds([b.clone(), a.clone(), "/usr/lib".into(), "/".into(), tmp.path().join("missing")]);
        assert_eq!(binds, vec![a]);
    }

    #[test]
    fn versions_compare() {
        assert!(version_at_least("bubblewrap 0.8.0", 0, 8));
        assert!(version_at_least("bubblewrap 0.11.0", 0, 8));
        assert!(!version_at_least("bubblewrap 0.6.1", 0, 8));
        assert!(!version_at_least("", 0, 8));
    }
}
