//! `code-evolver bench embedded`: per embedded model, load time, prompt and generation tokens/s at
//! 1 and 2 threads and peak RSS (compared with llama.cpp's own `llama-bench` when it is on PATH or
//! in LLAMA_BENCH); then the smoke suite on the 0.5B alone and on the 0.5B -> 1.5B ladder.

use super::smoke::{fast_only, suite};
use crate::cli::{CliResult, Global};
use crate::config::Config;
use crate::failed;
use crate::llm::embedded::{Embedded, EmbeddedSettings, generate};
use crate::llm::{ChatRequest, Message};
use crate::pipeline::Evolver;
use crate::setup::models::{self, FAST, POWERFUL};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

/// Every role on the embedded backend with its fallback model.
pub fn force_embedded(config: &mut Config) {
    let embedded = config
        .backends
        .iter()
        .find(|(_, b)| b.kind == Some(crate::config::BackendKind::Embedded))
        .map(|(name, _)| name.clone())
        .unwrap_or_else(|| "embedded".into());
    for rc in config.roles.chat_roles_mut() {
        if let Some(model) = rc.fallback_model.clone() {
            rc.backend = Some(embedded.clone());
            rc.model = Some(model);
        }
    }
}

fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// Resets the process's peak RSS (VmHWM) so each model's peak is its own.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

struct LlamaBenchFigures {
    prompt_tps: f64,
    gen_tps: f64,
}

/// llama.cpp's own figures on the same file and thread count, when its `llama-bench` is around.
fn llama_bench(path: &std::path::Path, threads: i32) -> Option<LlamaBenchFigures> {
    let program = std::env::var("LLAMA_BENCH").unwrap_or_else(|_| "llama-bench".into());
    let out = std::process::Command::new(program)
        .args(["-m"])
        .arg(path)
        .args(["-t", &threads.to_string(), "-p", "256", "-n", "128", "-r", "2", "-o", "json"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).ok()?;
    let tps = |prompt: bool| {
        rows.iter()
            .find(|r| (r.get("n_prompt").and_then(|v| v.as_u64()).unwrap_or(0) > 0) == prompt)
            .and_then(|r| r.get("avg_ts").and_then(|v| v.as_f64()))
    };
    Some(LlamaBenchFigures { prompt_tps: tps(true)?, gen_tps: tps(false)? })
}

pub async fn run(global: &Global, limit: Option<usize>, no_smoke: bool) -> CliResult {
    let data = global.data_dir();
    let dir = models::models_dir(&data);
    println!("bench embedded: models in {}", dir.display());
    let prompt =
        "Write a Python function `is_prime(n: int) -> bool` that checks whether n is prime. Explain it briefly.";
    for (label, name) in [("Qwen2.5-Coder-0.5B Q4_K_M", FAST), ("Qwen2.5-Coder-1.5B Q4_K_M", POWERFUL)] {
        let path = dir.join(format!("{name}.gguf"));
        if !path.exists() {
            println!("  {label}: not installed (code-evolver setup)");
            continue;
        }
        for threads in [1, 2] {
            reset_peak();
            let before = status_kb("VmRSS:");
            let settings = EmbeddedSettings { models_dir: dir.clone(), threads, context: 2048 };
            let embedded = Embedded::new(settings.clone());
            let started = Instant::now();
            let model = match embedded.load(name) {
                Ok(m) => m,
                Err(e) => {
                    return Err(failed!("{e}"));
                }
            };
            let load_ms = started.elapsed().as_millis();
            let request = ChatRequest {
                messages: vec![Message::user(prompt)],
                max_tokens: Some(128),
                temperature: Some(0.0),
                ..Default::default()
            };
            // A warm-up, then the measured run.
            let _ = generate(&model, &settings, &request, &AtomicBool::new(false));
            // Cold: the kept context's prefix would make the prompt look free.
            crate::llm::embedded::forget_prefixes();
            let measured =
                tokio::task::block_in_place(|| generate(&model, &settings, &request, &AtomicBool::new(false)));
            let (_, stats) = match measured {
                Ok(x) => x,
                Err(e) => {
                    return Err(failed!("{e}"));
                }
            };
            let prompt_tps = stats.prompt_tokens as f64 / (stats.prompt_ms / 1000.0);
            let gen_tps = stats.completion_tokens as f64 / (stats.generation_ms / 1000.0);
            let peak_mb = status_kb("VmHWM:").saturating_sub(before) as f64 / 1024.0;
            // The same request again: its prompt is a prefix the kept context already holds.
            let again = tokio::task::block_in_place(|| generate(&model, &settings, &request, &AtomicBool::new(false)));
            if let Ok((_, warm)) = &again {
                println!(
                    "  {label}, {threads} thread(s): the same prompt again: {:.0} ms instead of {:.0} ms ({} of {} tokens reused)",
                    warm.prompt_ms, stats.prompt_ms, warm.reused_tokens, warm.prompt_tokens
                );
            }
            crate::llm::embedded::forget_prefixes();
            print!(
                "  {label}, {threads} thread(s): load {load_ms} ms · prompt {prompt_tps:.0} tok/s ({} tokens) · generation {gen_tps:.1} tok/s ({} tokens) · peak RSS +{peak_mb:.0} MB",
                stats.prompt_tokens, stats.completion_tokens
            );
            match llama_bench(&path, threads) {
                Some(reference) => println!(
                    " · llama-bench: prompt {:.0} tok/s, generation {:.1} tok/s → {:.2}× of llama.cpp's generation speed",
                    reference.prompt_tps,
                    reference.gen_tps,
                    gen_tps / reference.gen_tps
                ),
                None => println!(" · (llama-bench not found: set LLAMA_BENCH to compare)"),
            }
            crate::llm::embedded::forget_prefixes();
            drop(model);
            drop(embedded);
        }
    }
    bench_sentence_model(&dir);
    if no_smoke {
        return Ok(());
    }
    for (label, ladder) in [("0.5B alone", false), ("0.5B -> 1.5B ladder", true)] {
        let evolver: Evolver = match global.evolver_with(|c| {
            force_embedded(c);
            if !ladder {
                fast_only(c);
            }
        }) {
            Ok(e) => e,
            Err(e) => return Err(e),
        };
        let top = evolver.ladder_top();
        println!("smoke suite, {label} (ladder tops out at {}):", evolver.router().route(top).model);
        let started = Instant::now();
        let how = super::smoke_suite::Run {
            suite: super::smoke_suite::Suite::Everyday,
            compose: Some(false),
            optimize: false,
            memory: false,
            skip: 0,
            only: None,
        };
        let report = suite(&evolver, limit, 1, how, false).await;
        println!("  {label}: {}, {:.0} s in all", report.summary(), started.elapsed().as_secs_f64());
    }
    Ok(())
}

/// Load time, latency of one sentence, throughput of a batch and peak RSS of the sentence model.
fn bench_sentence_model(dir: &std::path::Path) {
    use crate::llm::sentence::{SentenceModel, cosine};
    let label = "all-MiniLM-L6-v2 (candle)";
    let path = dir.join(models::SENTENCE);
    reset_peak();
    let before = status_kb("VmRSS:");
    let started = Instant::now();
    let model = match SentenceModel::load(&path) {
        Ok(m) => m,
        Err(e) => {
            println!("  {label}: {e}");
            return;
        }
    };
    let load_ms = started.elapsed().as_millis();
    let one = vec!["parse an ISO date from a log line and return it as YYYY-MM-DD".to_string()];
    let _ = model.embed(&one);
    let runs = 20;
    let started = Instant::now();
    for _ in 0..runs {
        let _ = model.embed(&one);
    }
    let single_ms = started.elapsed().as_secs_f64() * 1000.0 / runs as f64;
    let batch: Vec<String> =
        (0..64).map(|i| format!("task {i}: return the {i}th element of a list of integers, sorted")).collect();
    let started = Instant::now();
    let vectors = model.embed(&batch).unwrap_or_default();
    let batch_ms = started.elapsed().as_secs_f64() * 1000.0;
    let peak_mb = status_kb("VmHWM:").saturating_sub(before) as f64 / 1024.0;
    let pair = model
        .embed(&["add two numbers".into(), "return the sum of a and b".into(), "the weather is rainy".into()])
        .unwrap_or_default();
    let (related, unrelated) =
        if pair.len() == 3 { (cosine(&pair[0], &pair[1]), cosine(&pair[0], &pair[2])) } else { (0.0, 0.0) };
    println!(
        "  {label}: load {load_ms} ms · one sentence {single_ms:.1} ms · batch of 64 {:.1} ms/sentence · {}-d · peak RSS +{peak_mb:.0} MB · cosine related {related:.2} / unrelated {unrelated:.2}",
        batch_ms / vectors.len().max(1) as f64,
        model.dimension()
    );
}
