//! generate: the model writes the function (and helpers). The engine owns the node's I/O.

use super::events::Stage;
use super::evolver::{Ctx, EvolveError};
use super::spec::Spec;
use super::{node, prompts, schema};
use crate::config::Role;
use crate::llm::{ChatRequest, Message};
use crate::sandbox::run::RunKind;
use crate::sandbox::{NodeLimits, RunRequest};

pub enum Generated {
    /// Cleaned model code that defines the spec's function, and a note when it had to be adapted.
    Code { code: String, note: Option<String> },
    /// The answer held no usable code; the reason is fed to the next attempt.
    Unusable { reason: String, raw: String },
}

pub struct Attempt<'a> {
    pub role: Role,
    pub temperature: f32,
    /// The previous attempt's code and why it failed.
    pub repair: Option<(&'a str, &'a str)>,
    pub template: Option<&'a str>,
    /// The task as the user gave it.
    pub task: &'a str,
}

pub async fn generate(
    ctx: &Ctx<'_>,
    spec: &Spec,
    attempt: &Attempt<'_>,
    percent: u8,
) -> Result<Generated, EvolveError> {
    let user = match attempt.repair {
        Some((code, failures)) => prompts::repair_user(spec, &ctx.config.tools, code, failures, attempt.task),
        None => prompts::code_user(spec, &ctx.config.tools, attempt.template, attempt.task),
    };
    let request = ChatRequest {
        messages: vec![Message::system(prompts::code_system(spec)), Message::user(user)],
        schema: Some(schema::code()),
        temperature: Some(attempt.temperature),
        ..Default::default()
    };
    let answer = ctx.ask(Stage::Generate, percent, attempt.role, None, request).await?;
    match extract(&answer.text, spec) {
        Generated::Code { code, note } => tidy(ctx, code, note, percent).await,
        unusable => Ok(unusable),
    }
}

/// Runs runtime/tidy.py on the code in the sandbox: example lines that would run at import or
/// sit after a `return` go; a syntax error is reported without running any test.
pub async fn tidy(ctx: &Ctx<'_>, code: String, note: Option<String>, percent: u8) -> Result<Generated, EvolveError> {
    let dir = tempfile::Builder::new().prefix("code-evolver-tidy-").tempdir()?;
    let request = RunRequest {
        kind: RunKind::Script { script: ctx.sandbox.runtime_dir().join("tidy.py"), args: vec![] },
        cwd: dir.path().to_path_buf(),
        stdin: code.clone(),
        env: ctx.sandbox.base_env(dir.path()),
        limits: NodeLimits::from_config(&ctx.config.limits),
    };
    let outcome = ctx.run_sandboxed(&request).await?;
    let parsed: Option<serde_json::Value> = outcome.stdout.lines().last().and_then(|l| serde_json::from_str(l).ok());
    let Some(value) = parsed else {
        // The tidier failing is no reason to lose the code: test it as it is.
        return Ok(Generated::Code { code, note });
    };
    if let Some(error) = value.get("error").and_then(|e| e.as_str()) {
        return Ok(Generated::Unusable { reason: format!("the code does not parse: {error}"), raw: code });
    }
    let removed = value.get("removed").and_then(|r| r.as_array()).map(Vec::len).unwrap_or(0);
    if removed > 0 {
        ctx.warn(
            Stage::Generate,
            percent,
            format!("removed {removed} line(s) of examples that would run at import or after a return"),
        );
    }
    let added: Vec<&str> = value
        .get("added")
        .and_then(|a| a.as_array())
        .map(|a| a.iter().filter_map(|i| i.as_str()).collect())
        .unwrap_or_default();
    if !added.is_empty() {
        ctx.warn(Stage::Generate, percent, format!("added the missing import(s): {}", added.join("; ")));
    }
    let tidied = value.get("code").and_then(|c| c.as_str()).map(String::from).unwrap_or(code);
    Ok(Generated::Code { code: tidied, note })
}

/// The code from a `{"code": ...}` answer, or from a fenced block when the JSON is broken.
pub fn extract(text: &str, spec: &Spec) -> Generated {
    let raw = text.to_string();
    let code = match schema::parse_json_answer(text) {
        Some(v) => match v.get("code").and_then(|c| c.as_str()) {
            Some(code) => code.to_string(),
            None => {
                return Generated::Unusable { reason: "the JSON answer has no `code` string".into(), raw };
            }
        },
        None if text.contains("def ") => schema::strip_fences(text).to_string(),
        None => {
            return Generated::Unusable { reason: "the answer is neither JSON nor code".into(), raw };
        }
    };
    let cleaned = node::clean_model_code(&code);
    match node::ensure_entry(&cleaned, spec) {
        Ok((code, note)) => Generated::Code { code, note },
        Err(reason) => Generated::Unusable { reason, raw: cleaned },
    }
}
