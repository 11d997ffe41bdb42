//! Serves `call_tool` from inside nodes: the configured tool registry, on the evolver's router and
//! the current evolve's budget.

use super::budget::Budget;
use super::events::{Event, EventSink, Level, Stage};
use crate::config::{Config, Role, ToolKind};
use crate::llm::{ChatRequest, LlmError, Message, Router};
use crate::sandbox::tools::{ToolCall, ToolHandler};
use crate::sandbox::{NodeLimits, RunKind, RunRequest, Sandbox};
use async_trait::async_trait;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

pub struct ToolCalls {
    pub config: Arc<Config>,
    pub router: Arc<Router>,
    /// Executable tools run in its jail.
    pub sandbox: Arc<Sandbox>,
    pub budget: Arc<Budget>,
    pub cancel: CancellationToken,
    pub events: EventSink,
    pub stage: Stage,
}

/// An executable tool's arguments: each configured argument with `{prompt}` and the keyword
/// arguments filled in. A filled-in value may not become an option: before a literal `--` in the
/// configured arguments, an argument that starts with `-` only because of what the node sent is
/// refused (`date {prompt}` with the prompt `-f /etc/shadow` would read a file).
fn executable_args(configured: &[String], call: &ToolCall) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut after_separator = false;
    for arg in configured {
        if arg == "--" {
            after_separator = true;
            out.push(arg.clone());
            continue;
        }
        let rendered = render(arg, call);
        if !after_separator && rendered.starts_with('-') && !arg.starts_with('-') {
            return Err(format!(
                "refused: the argument `{}` would be read as an option (put `--` before it in the tool's args)",
                rendered.chars().take(80).collect::<String>()
            ));
        }
        out.push(rendered);
    }
    Ok(out)
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
                let args = executable_args(&exe.args, &call)?;
                let limit = std::time::Duration::from_secs_f64(self.config.limits.tool_call_timeout_s.max(1.0));
                let mut limits = NodeLimits::from_config(&self.config.limits);
                limits.timeout = limit;
                // The tool runs in the jail like a node: the prompt is the node's words.
                let request = RunRequest {
                    kind: RunKind::Exec { command: exe.command.clone(), args },
                    files: Default::default(),
                    stdin: call.prompt.clone(),
                    env: Default::default(),
                    limits,
                    tools: None,
                };
                let outcome = self.sandbox.run(&request).await.map_err(|e| e.to_string())?;
                if outcome.timed_out {
                    Err(format!("`{}` gave no result within {:.0} s", exe.command, limit.as_secs_f64()))
                } else if outcome.success() {
                    Ok(outcome.stdout.trim().to_string())
                } else {
                    Err(format!(
                        "`{}` failed ({}): {}",
                        exe.command,
                        outcome.describe_end(limit),
                        outcome.stderr.trim().chars().take(2000).collect::<String>()
                    ))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(prompt: &str) -> ToolCall {
        ToolCall { tool: "t".into(), prompt: prompt.into(), kwargs: Default::default() }
    }

    #[test]
    fn a_prompt_never_becomes_an_option() {
        let args = vec!["{prompt}".to_string()];
        assert!(executable_args(&args, &call("-f /etc/shadow")).unwrap_err().contains("read as an option"));
        assert_eq!(executable_args(&args, &call("2024-01-01")).unwrap(), ["2024-01-01"]);
        let separated = vec!["--".to_string(), "{prompt}".to_string()];
        assert_eq!(executable_args(&separated, &call("-f x")).unwrap(), ["--", "-f x"]);
        let option = vec!["--date={prompt}".to_string()];
        assert_eq!(executable_args(&option, &call("-1 day")).unwrap(), ["--date=-1 day"]);
    }
}
