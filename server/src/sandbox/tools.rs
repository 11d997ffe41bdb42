//! The evolver's side of `call_tool`: a Unix socket that nodes connect to (one JSON line in, one
//! out), so LLM tools inside nodes use the running evolver's router, budget and settings.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixListener;

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ToolCall {
    pub tool: String,
    pub prompt: String,
    #[serde(default)]
    pub kwargs: serde_json::Map<String, serde_json::Value>,
}

#[async_trait]
pub trait ToolHandler: Send + Sync {
    async fn call(&self, call: ToolCall) -> Result<String, String>;
}

/// Listens until dropped.
pub struct ToolServer {
    path: PathBuf,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl ToolServer {
    pub fn start(handler: Arc<dyn ToolHandler>) -> std::io::Result<ToolServer> {
        // Unix socket paths are limited to 108 bytes: keep it short, under /tmp.
        let dir = tempfile::Builder::new().prefix("ce-tools-").tempdir_in("/tmp")?;
        let path = dir.path().join("tools.sock");
        let listener = UnixListener::bind(&path)?;
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    break;
                };
                let handler = handler.clone();
                tokio::spawn(async move {
                    let (read, mut write) = stream.into_split();
                    let mut lines = BufReader::new(read);
                    let mut line = String::new();
                    if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let answer = match serde_json::from_str::<ToolCall>(&line) {
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
                    };
                    let mut text = answer.to_string();
                    text.push('\n');
                    let _ = write.write_all(text.as_bytes()).await;
                });
            }
        });
        Ok(ToolServer { path, task, _dir: dir })
    }

    pub fn socket_path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ToolServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
