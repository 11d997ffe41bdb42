//! Serves `call_tool` from inside nodes: the configured tool registry, on the evolver's router and
//! the current evolve's budget.

use super::budget::Budget;
use super::events::{Event, EventSink, Level, Stage};
use crate::config::{Config, Role, ToolKind};
use crate::llm::{ChatRequest, LlmError, Message, Router};
use crate::sandbox::tools::{ToolCall, ToolHandler};
use async_trait::async_trait;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

pub struct ToolCalls {
    pub config: Arc<Config>,
    pub router: Arc<Router>,
    pub budget: Arc<Budget>,
    pub cancel: CancellationToken,
    pub events: EventSink,
    pub stage: Stage,
}

/// `{prompt}` and `{name}` for each keyword argument.
fn render(template: &str, call: &ToolCall) -> String {
    let mut text = template.replace("{prompt}", &call.prompt);
    for (key, value) in &call.kwargs {
        let value = value.as_str().map(String::from).unwrap_or_else(|| value.to_string());
        text = text.replace(&format!("{{{key}}}"), &value);
    }
    text
}

#[async_trait]
impl ToolHandler for ToolCalls {
    async fn call(&self, call: ToolCall) -> Result<String, String> {
        let Some(tool) = self.config.tools.get(&call.tool) else {
            let known: Vec<&str> = self.config.tools.keys().map(String::as_str).collect();
            return Err(format!("no tool named `{}` (configured: {})", call.tool, known.join(", ")));
        };
        match tool.kind {
            ToolKind::Llm => {
                let llm = tool.llm.as_ref().ok_or("the tool has no llm section")?;
                let role = llm.role.as_deref().and_then(Role::parse).unwrap_or(Role::Content);
                let mut messages = Vec::new();
                if let Some(system) = &llm.system_prompt {
                    messages.push(Message::system(system.clone()));
                }
                let prompt = render(llm.prompt_template.as_deref().unwrap_or("{prompt}"), &call);
                messages.push(Message::user(prompt));
                let request = ChatRequest {
                    messages,
                    temperature: call.kwargs.get("temperature").and_then(|v| v.as_f64()).map(|t| t as f32),
                    max_tokens: call.kwargs.get("max_tokens").and_then(|v| v.as_u64()).map(|t| t as u32),
                    ..Default::default()
                };
                let result = self.router.chat(role, llm.model.as_deref(), request, &self.budget, &self.cancel).await;
                match result {
                    Ok((completion, record)) => {
                        (self.events)(&Event {
                            stage: self.stage,
                            percent: 0,
                            level: Level::Model,
                            message: format!(
                                "call_tool({}) → {} ({} @ {}): {} tokens, {} ms",
                                call.tool,
                                record.role,
                                record.model,
                                record.endpoint,
                                record.prompt_tokens + record.completion_tokens,
                                record.duration_ms
                            ),
                        });
                        Ok(completion.text.trim().to_string())
                    }
                    Err(LlmError::Cancelled) => Err("cancelled".into()),
                    Err(e) => Err(e.to_string()),
                }
            }
            ToolKind::Executable => {
                let exe = tool.executable.as_ref().ok_or("the tool has no executable section")?;
                let args: Vec<String> = exe.args.iter().map(|a| render(a, &call)).collect();
                let mut child = tokio::process::Command::new(&exe.command)
                    .args(&args)
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .kill_on_drop(true)
                    .spawn()
                    .map_err(|e| format!("cannot start `{}`: {e}", exe.command))?;
                if let Some(mut stdin) = child.stdin.take() {
                    use tokio::io::AsyncWriteExt;
                    let _ = stdin.write_all(call.prompt.as_bytes()).await;
                }
                let limit = std::time::Duration::from_secs_f64(self.config.limits.tool_call_timeout_s.max(1.0));
                let output = tokio::time::timeout(limit, child.wait_with_output())
                    .await
                    .map_err(|_| format!("`{}` gave no result within {:.0} s", exe.command, limit.as_secs_f64()))?
                    .map_err(|e| e.to_string())?;
                if output.status.success() {
                    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
                } else {
                    Err(format!(
                        "`{}` failed ({}): {}",
                        exe.command,
                        output.status,
                        String::from_utf8_lossy(&output.stderr).trim()
                    ))
                }
            }
        }
    }
}
