//! The evolver's side of `call_tool`. Each run gets its own channel (a socket pair the runner
//! makes for that run alone, relayed over the runner's pipes): no listening socket exists that
//! another run, or another process on the host, could reach.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

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
