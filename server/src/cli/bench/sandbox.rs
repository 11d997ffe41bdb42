//! `code-evolver bench sandbox`: what a jailed warm run costs against a fresh interpreter, and
//! what each part of the confinement adds (the jail around the runner, the per-run layers, a
//! fresh bubblewrap per run as the alternative design).

use crate::cli::CliResult;
use crate::config::SandboxConfig;
use crate::failed;
use crate::pipeline::score::median;
use crate::sandbox::jail::{JailPlan, find_bwrap};
use crate::sandbox::{NodeLimits, RunKind, RunRequest, Sandbox};
use std::collections::BTreeMap;
use std::time::Instant;

/// A node that adds two numbers: JSON in, JSON out, the smallest real run.
pub fn trivial_node() -> RunRequest {
    RunRequest {
        kind: RunKind::Script { script: "node.py".into(), runtime: false, args: vec![] },
        files: BTreeMap::from([(
            "node.py".to_string(),
            "import json, sys\nargs = json.load(sys.stdin)\nprint(json.dumps({\"result\": args[\"a\"] + args[\"b\"]}))\n"
                .to_string(),
        )]),
        stdin: "{\"a\": 1, \"b\": 2}".into(),
        env: BTreeMap::new(),
        limits: NodeLimits::from_config(&crate::config::Config::defaults().limits),
        tools: None,
    }
}

fn percentile(samples: &[f64], p: f64) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    sorted.get(((sorted.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(f64::NAN)
}

async fn warm_runs(sandbox: &Sandbox, runs: usize) -> Result<(f64, Vec<f64>), String> {
    let started = Instant::now();
    sandbox.warm_up().await.map_err(|e| e.to_string())?;
    let start_ms = started.elapsed().as_secs_f64() * 1000.0;
    let request = trivial_node();
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        let outcome = sandbox.run(&request).await.map_err(|e| e.to_string())?;
        if !outcome.success() || !outcome.stdout.contains("\"result\": 3") {
            return Err(format!("the trivial node failed: {} {}", outcome.stdout, outcome.stderr));
        }
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    Ok((start_ms, times))
}

fn timed_command(mut command: std::process::Command, runs: usize) -> Vec<f64> {
    let mut times = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        if command.status().map(|s| s.success()).unwrap_or(false) {
            times.push(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
    times
}

fn line(label: &str, times: &[f64]) {
    println!(
        "  {label:<58} p50 {:>7.2} ms  p99 {:>7.2} ms  ({} runs)",
        median(times),
        percentile(times, 0.99),
        times.len()
    );
}

pub async fn run(runs: usize) -> CliResult {
    let runs = runs.max(10);
    let data = crate::paths::data_dir();
    let Some(python) = crate::paths::find_python("", &data) else {
        return Err(failed!("no Python: run `code-evolver setup`"));
    };
    let scratch = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => {
            return Err(failed!("{e}"));
        }
    };
    let runtime = match crate::paths::runtime_dir(scratch.path()) {
        Ok(r) => r,
        Err(e) => {
            return Err(failed!("{e}"));
        }
    };
    println!("sandbox bench: {} runs each, Python {}", runs, python.display());
    let cold = {
        let mut c = std::process::Command::new(&python);
        c.args(["-c", "pass"]);
        timed_command(c, runs.min(100))
    };
    line("fresh interpreter (`python -c pass`)", &cold);

    let jailed = Sandbox::new(python.clone(), runtime.clone());
    let unjailed = Sandbox::with_settings(
        python.clone(),
        runtime.clone(),
        SandboxConfig { bwrap: "off".into(), ..Default::default() },
    );
    let mut ratio = None;
    for (label, sandbox) in [
        ("every layer (bubblewrap jail + per-run layers)", &jailed),
        ("without the jail (per-run layers only)", &unjailed),
    ] {
        match warm_runs(sandbox, runs).await {
            Ok((start_ms, times)) => {
                let iso = sandbox.isolation().await.unwrap_or_default();
                let missing: Vec<&str> = iso.missing().iter().map(|l| l.name()).collect();
                line(&format!("warm run, {label}"), &times);
                println!(
                    "      runner start {start_ms:.0} ms; layers missing: {}",
                    if missing.is_empty() { "none".to_string() } else { missing.join(", ") }
                );
                if ratio.is_none() {
                    ratio = Some(median(&times) / median(&cold));
                }
            }
            Err(e) => println!("  warm run, {label}: {e}"),
        }
    }
    if let Some(r) = ratio {
        println!("  ratio, jailed warm run / fresh interpreter: {r:.3}× (goal ≤ 0.1×)");
    }

    // The alternative design: a fresh bubblewrap and interpreter per run.
    if let Ok(bwrap) = find_bwrap("")
        && let Ok(plan) = JailPlan::new(bwrap, &python, &runtime, 64)
    {
        let mut c = std::process::Command::new(&plan.bwrap);
        c.args(&plan.args).arg("--").arg(&python).args(["-c", "pass"]);
        let fresh = timed_command(c, runs.min(100));
        line("fresh bubblewrap + interpreter per run (not used)", &fresh);
        let mut c = std::process::Command::new(&plan.bwrap);
        c.args(&plan.args).args(["--", "/bin/true"]);
        let bare = timed_command(c, runs.min(100));
        line("bubblewrap alone around /bin/true", &bare);
    }
    Ok(())
}
