//! Serves `call_tool` from inside nodes: the configured tool registry, on the evolver's router and
//! the current evolve's budget.

use super::budget::Budget;
use super::events::{Event, EventSink, Level, Stage};
use super::evolver::model_call_event;
use crate::config::{Config, Role, ToolKind};
use crate::llm::{ChatRequest, LlmError, Message, Router};
use crate::registry::{Registry, RunMetrics};
use crate::sandbox::run::MAX_TOOL_DEPTH;
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
    /// Saved nodes, callable as tools by id or function name (None: configured tools only).
    pub registry: Option<Arc<Registry>>,
    /// How deep the runs this handler serves are: 0 for an evolve's or `run`'s own node.
    pub depth: usize,
    /// Who calls, as recorded with a node's run: a node id, `evolve`, `auto-evolve`.
    pub caller: String,
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

/// The saved node a tool name means: its id, a unique id prefix, or a unique function name.
fn node_named(registry: &Registry, name: &str) -> Option<String> {
    if name.trim().is_empty() {
        return None;
    }
    if let Ok(id) = registry.resolve(name) {
        return Some(id);
    }
    let ids = registry.ids_with_function(name).ok()?;
    (ids.len() == 1).then(|| ids[0].clone())
}

/// A node's input from a tool call: the keyword arguments; else the prompt when it is a JSON
/// object; else the prompt as the node's one parameter.
fn node_input(call: &ToolCall, parameters: &[String]) -> Result<serde_json::Value, String> {
    let kwargs: serde_json::Map<String, serde_json::Value> = call
        .kwargs
        .iter()
        .filter(|(k, _)| !["temperature", "max_tokens"].contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !kwargs.is_empty() {
        return Ok(serde_json::Value::Object(kwargs));
    }
    if let Ok(value @ serde_json::Value::Object(_)) = serde_json::from_str(&call.prompt) {
        return Ok(value);
    }
    match parameters {
        [one] => Ok(serde_json::json!({ one: call.prompt })),
        _ => Err(format!(
            "node `{}` takes {}: pass them as keyword arguments or a JSON object",
            call.tool,
            parameters.join(", ")
        )),
    }
}

impl ToolCalls {
    /// A saved node called as a tool: its current version in the sandbox, one nesting level down
    /// (on a runner of its own: this one waits for the answer), recorded as a `call` run.
    async fn call_node(&self, registry: &Arc<Registry>, id: &str, call: &ToolCall) -> Result<String, String> {
        if self.depth + 1 > MAX_TOOL_DEPTH {
            return Err(format!("refused: nodes calling nodes may nest {MAX_TOOL_DEPTH} deep at most"));
        }
        let detail = registry.get(id).map_err(|e| e.to_string())?;
        let parameters: Vec<String> = serde_json::from_str::<super::spec::Spec>(&detail.spec_json)
            .map(|s| s.function.parameters.into_iter().map(|p| p.name).collect())
            .unwrap_or_default();
        let input = node_input(call, &parameters)?;
        let mut limits = NodeLimits::from_config(&self.config.limits);
        if detail.uses_tools {
            limits = limits.with_extra_time(std::time::Duration::from_secs_f64(self.config.limits.tool_call_timeout_s));
        }
        let nested = Arc::new(ToolCalls {
            config: self.config.clone(),
            router: self.router.clone(),
            sandbox: self.sandbox.clone(),
            budget: self.budget.clone(),
            cancel: self.cancel.clone(),
            events: self.events.clone(),
            stage: self.stage,
            registry: Some(registry.clone()),
            depth: self.depth + 1,
            caller: detail.id.clone(),
        });
        let request = RunRequest {
            kind: RunKind::Script { script: super::tests::NODE_FILE.into(), runtime: false, args: vec![] },
            files: std::collections::BTreeMap::from([(super::tests::NODE_FILE.to_string(), detail.program.clone())]),
            stdin: input.to_string(),
            env: Default::default(),
            limits: limits.clone(),
            tools: Some(nested),
        };
        let outcome = self.sandbox.run_at(&request, self.depth + 1).await.map_err(|e| e.to_string())?;
        let output = super::node::parse_output(&outcome, &limits);
        let error = output.as_ref().err().cloned();
        let _ = registry.record_run(
            &detail.id,
            detail.current_version,
            &RunMetrics {
                purpose: "call",
                input: &input.to_string(),
                output: &output.as_ref().map(|v| v.to_string()).unwrap_or_else(|e| e.clone()),
                ok: output.is_ok(),
                wall_ms: outcome.wall_ms,
                user_ms: outcome.user_ms,
                sys_ms: outcome.sys_ms,
                max_rss_kb: outcome.max_rss_kb,
                exit_code: outcome.exit_code,
                error: error.as_deref(),
                caller: Some(&self.caller),
            },
        );
        let message = format!(
            "call_tool({}) → node {} v{}: {} in {:.1} ms",
            call.tool,
            detail.id,
            detail.current_version,
            if output.is_ok() { "ok" } else { "failed" },
            outcome.wall_ms
        );
        // Rendered beside model calls (a call made for the stage); no model figures.
        (self.events)(&Event::new(self.stage, 0, Level::Model, message));
        match output {
            Ok(serde_json::Value::String(text)) => Ok(text),
            Ok(value) => Ok(value.to_string()),
            Err(e) => Err(format!("node {} failed: {e}", detail.id)),
        }
    }
}

#[async_trait]
impl ToolHandler for ToolCalls {
    async fn call(&self, call: ToolCall) -> Result<String, String> {
        let Some(tool) = self.config.tools.get(&call.tool) else {
            if let Some(registry) = &self.registry
                && let Some(id) = node_named(registry, &call.tool)
            {
                return self.call_node(registry, &id, &call).await;
            }
            let known: Vec<&str> = self.config.tools.keys().map(String::as_str).collect();
            return Err(format!(
                "no tool or saved node named `{}` (configured tools: {}; nodes: `code-evolver list`)",
                call.tool,
                known.join(", ")
            ));
        };
        match tool.kind {
            ToolKind::Llm => {
                let llm = tool.llm.as_ref().ok_or("the tool has no llm section")?;
                let role = llm.role.unwrap_or(Role::Content);
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
                        // The call's figures, with a line that names the tool.
                        let mut event = model_call_event(self.stage, 0, &record);
                        event.message = format!(
                            "call_tool({}) → {} ({} @ {}): {} tokens, {} ms",
                            call.tool,
                            record.role,
                            record.model,
                            record.endpoint,
                            record.prompt_tokens + record.completion_tokens,
                            record.duration_ms
                        );
                        (self.events)(&event);
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
