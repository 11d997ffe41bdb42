//! generate: the model writes the function (and helpers). The engine owns the node's I/O.

use super::events::Stage;
use super::evolver::{Ctx, EvolveError};
use super::spec::Spec;
use super::{node, prompts, schema};
use crate::config::Role;
use crate::llm::{ChatRequest, Message};
use crate::sandbox::{NodeLimits, RunRequest};

pub use crate::config::StubForm;

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
    /// Helpers that verified solutions of similar tasks share (pattern memory).
    pub patterns: Option<&'a str>,
    /// A workflow's verified steps, defined above the code.
    pub prelude: Option<&'a str>,
    /// The task as the user gave it.
    pub task: &'a str,
    /// Whether the spec's requirements and plan are shown (see escalate::show_plan).
    pub show_plan: bool,
    /// How a stub is put to the model (ignored without a stub).
    pub form: StubForm,
    /// The sampler's seed. Samples drawn hot from the same prompt need different seeds to be
    /// independent: a fixed seed gives the same answer every time (the embedded backend's does).
    pub seed: Option<u64>,
}

pub async fn generate(
    ctx: &Ctx<'_>,
    spec: &Spec,
    attempt: &Attempt<'_>,
    percent: u8,
) -> Result<Generated, EvolveError> {
    let user = prompts::code_user(spec, &ctx.config.tools, attempt);
    let request = ChatRequest {
        messages: vec![Message::system(prompts::code_system(spec, attempt)), Message::user(user)],
        // No schema: a plain code block, which small models write far better than escaped JSON.
        schema: None,
        temperature: Some(attempt.temperature),
        seed: attempt.seed,
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
    let request = RunRequest::runtime_script("tidy.py", code.clone(), NodeLimits::from_config(&ctx.config.limits));
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

/// The code from a fenced block (what the code stage asks for), a `{"code": ...}` answer (what
/// a server that forces JSON returns), or bare code.
pub fn extract(text: &str, spec: &Spec) -> Generated {
    let raw = text.to_string();
    // A server that forces JSON answers `{"code": ...}`, bare or in a ```json fence.
    let json_fenced = schema::fenced_blocks(text).first().is_some_and(|(info, _)| *info == "json");
    let json = (text.trim_start().starts_with('{') || json_fenced).then(|| schema::parse_json_answer(text)).flatten();
    let code = match json {
        Some(v) => match v.get("code").and_then(|c| c.as_str()) {
            // Fenced inside the JSON string too, sometimes; a fence within the code stays.
            Some(code) if code.trim_start().starts_with("```") => code_in_answer(code).unwrap_or(code).to_string(),
            Some(code) => code.to_string(),
            None => return Generated::Unusable { reason: "the JSON answer has no `code` string".into(), raw },
        },
        None => match code_in_answer(text) {
            Some(code) => code.to_string(),
            None => return Generated::Unusable { reason: "the answer holds no Python code block".into(), raw },
        },
    };
    let cleaned = node::clean_model_code(&code);
    match node::ensure_entry(&cleaned, spec) {
        Ok((code, note)) => Generated::Code { code, note },
        Err(reason) => Generated::Unusable { reason, raw: cleaned },
    }
}

/// The first fenced block that defines a function (else the first fenced block), or the whole
/// answer when it has no fence but defines one. Explanations around the block are dropped.
pub fn code_in_answer(text: &str) -> Option<&str> {
    let blocks = schema::fenced_blocks(text);
    // From the parser: a `def` in a string or a comment does not define anything.
    let defines =
        |b: &str| crate::python::source_definitions(b).iter().any(|d| d.kind == crate::python::DefKind::Function);
    if let Some((_, block)) = blocks.iter().find(|(_, b)| defines(b)).or(blocks.first()) {
        return Some(block);
    }
    text.contains("def ").then_some(text)
}

#[cfg(test)]
mod tests {
    use super::{Generated, code_in_answer, extract};
    use crate::pipeline::spec::Spec;

    #[test]
    fn finds_the_code_block_among_explanations() {
        let answer = "Here is an example:\n```\nf(2)  # 4\n```\nThe code:\n```python\ndef f(x):\n    return {\"a\": x}\n```\nDone.";
        assert_eq!(code_in_answer(answer), Some("def f(x):\n    return {\"a\": x}\n"));
        assert_eq!(code_in_answer("```py\ndef g():\n    pass"), Some("def g():\n    pass"));
        assert_eq!(code_in_answer("def h():\n    return 1\n"), Some("def h():\n    return 1\n"));
        assert_eq!(code_in_answer("I cannot help with that."), None);
    }

    #[test]
    fn a_json_answer_bare_or_fenced_gives_its_code() {
        let spec: Spec = serde_json::from_value(serde_json::json!({
            "problem": "Add.", "function": {"name": "add", "parameters": [], "returns": "int"},
            "task_input": {}, "test_cases": []
        }))
        .unwrap();
        let code = "def add(a, b):\n    return a + b\n";
        let json = serde_json::json!({"code": code}).to_string();
        for answer in [json.clone(), format!("```json\n{json}\n```"), format!("```python\n{code}```")] {
            match extract(&answer, &spec) {
                Generated::Code { code: got, .. } => assert_eq!(got, code, "{answer}"),
                Generated::Unusable { reason, .. } => panic!("{answer}: {reason}"),
            }
        }
        // Code that itself writes a fence (a markdown generator) keeps it.
        let markdown = "def add(a, b):\n    return f\"```\\n{a + b}\\n```\"\n";
        match extract(&serde_json::json!({"code": markdown}).to_string(), &spec) {
            Generated::Code { code: got, .. } => assert!(got.contains("return f\"```"), "{got}"),
            Generated::Unusable { reason, .. } => panic!("{reason}"),
        }
    }
}
