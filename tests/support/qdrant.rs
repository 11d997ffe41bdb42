//! A real Qdrant server for the Qdrant store's tests: `QDRANT_URL` when set; else a `qdrant`
//! binary from `QDRANT_BIN`, PATH, or `../shared/tools/qdrant/qdrant.xz` (the official server,
//! built from its source; unpacked once and sha256-checked), started on free ports with its own
//! storage dir and stopped when dropped. None (and the test says SKIPPED) where there is none.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub struct QdrantServer {
    /// The gRPC URL the store connects to.
    pub url: String,
    child: Option<std::process::Child>,
    binary: Option<PathBuf>,
    storage: Option<tempfile::TempDir>,
    ports: (u16, u16),
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The binary: QDRANT_BIN, `qdrant` on PATH, or the shared tool unpacked into the temp dir.
fn binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("QDRANT_BIN") {
        return Some(PathBuf::from(p));
    }
    if let Some(path) = std::env::var_os("PATH")
        && let Some(found) = std::env::split_paths(&path).map(|d| d.join("qdrant")).find(|p| p.is_file())
    {
        return Some(found);
    }
    let tool = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tools/qdrant");
    let packed = tool.join("qdrant.xz");
    if !packed.is_file() {
        return None;
    }
    let sums = std::fs::read_to_string(tool.join("SHA256SUMS")).ok()?;
    let want = sums.split_whitespace().next()?.to_string();
    let target = std::env::temp_dir().join(format!("code-evolver-qdrant-{}", &want[..12]));
    let exe = target.join("qdrant");
    if !exe.is_file() {
        std::fs::create_dir_all(&target).ok()?;
        let out = std::process::Command::new("xz").arg("-dc").arg(&packed).output().ok()?;
        if !out.status.success() {
            return None;
        }
        let got: String = Sha256::digest(&out.stdout).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(got, want, "{} does not match SHA256SUMS", packed.display());
        let tmp = target.join(format!("qdrant.{}", std::process::id()));
        std::fs::write(&tmp, &out.stdout).ok()?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).ok()?;
        std::fs::rename(&tmp, &exe).ok()?;
    }
    Some(exe)
}

impl QdrantServer {
    pub async fn start() -> Option<QdrantServer> {
        if let Ok(url) = std::env::var("QDRANT_URL") {
            return Some(QdrantServer { url, child: None, binary: None, storage: None, ports: (0, 0) });
        }
        let binary = binary()?;
        let mut server = QdrantServer {
            url: String::new(),
            child: None,
            binary: Some(binary),
            storage: Some(tempfile::tempdir().unwrap()),
            ports: (free_port(), free_port()),
        };
        server.url = format!("http://127.0.0.1:{}", server.ports.1);
        server.launch().await;
        Some(server)
    }

    /// Whether this test started the server (and so can stop and restart it).
    pub fn owned(&self) -> bool {
        self.binary.is_some()
    }

    async fn launch(&mut self) {
        let storage = self.storage.as_ref().unwrap().path();
        let child = std::process::Command::new(self.binary.as_ref().unwrap())
            .current_dir(storage)
            .env("QDRANT__STORAGE__STORAGE_PATH", storage.join("storage"))
            .env("QDRANT__STORAGE__SNAPSHOTS_PATH", storage.join("snapshots"))
            .env("QDRANT__SERVICE__HTTP_PORT", self.ports.0.to_string())
            .env("QDRANT__SERVICE__GRPC_PORT", self.ports.1.to_string())
            .env("QDRANT__SERVICE__HOST", "127.0.0.1")
            .env("QDRANT__TELEMETRY_DISABLED", "true")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("qdrant starts");
        self.child = Some(child);
        let health = format!("http://127.0.0.1:{}/healthz", self.ports.0);
        let client = reqwest::Client::new();
        // Healthy over HTTP first; the gRPC port (the store's) may open a moment later.
        let grpc = format!("127.0.0.1:{}", self.ports.1);
        for _ in 0..300 {
            if client.get(&health).send().await.is_ok_and(|r| r.status().is_success())
                && tokio::net::TcpStream::connect(&grpc).await.is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("qdrant did not become healthy (HTTP and gRPC) within 30 s");
    }

    /// SIGKILL, as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts again on the same ports and storage.
    pub async fn restart(&mut self) {
        self.kill();
        self.launch().await;
    }
}

impl Drop for QdrantServer {
    fn drop(&mut self) {
        self.kill();
    }
}
