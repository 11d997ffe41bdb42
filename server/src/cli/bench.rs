//! `code-evolver bench engine`: the pipeline's own overhead against a zero-latency scripted model,
//! and the cost of a node run through the warm runner against a fresh `python3 -c pass`.

use super::{EXIT_FAILED, EXIT_USAGE};
use crate::config::{ConfigLoader, Layer};
use crate::pipeline::score::median;
use crate::pipeline::{EvolveRequest, Evolver, events};
use crate::sandbox::Sandbox;
use crate::scripted_model::{Script, ScriptedServer, fixtures};
use std::path::Path;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

fn config_for(url: &str, python: &Path, linters: bool, optimize: bool) -> Result<crate::config::Config, String> {
    let yaml = format!(
        "backends:\n  ollama: {{ kind: ollama, url: \"{url}\" }}\nruntime:\n  python: \"{}\"\npipeline:\n  analysis:\n    linters: {}\n  optimize:\n    iterations: {}\n    skip_below_ns: 0\n",
        python.display(),
        if linters { "[ruff, flake8, pylint, mypy, black]" } else { "[]" },
        if optimize { 1 } else { 0 }
    );
    let layer = Layer::from_yaml("bench", &yaml).map_err(|e| e.to_string())?;
    ConfigLoader::default()
        .without_user_file()
        .without_environment()
        .workspace("/nonexistent")
        .layer(layer)
        .load()
        .map_err(|e| e.to_string())
}

pub async fn engine(runs: usize) -> i32 {
    let data = crate::paths::data_dir();
    let Some(python) = crate::paths::find_python("", &data) else {
        eprintln!("error: no Python found: run `code-evolver setup`");
        return EXIT_USAGE;
    };
    let server = match ScriptedServer::start(fixtures::arithmetic_script()).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot start the scripted model server: {e}");
            return EXIT_FAILED;
        }
    };
    let scratch = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_FAILED;
        }
    };
    println!(
        "bench engine: evolve \"add 10 and 20\" against a zero-latency scripted model ({runs} runs each, after one warm-up)"
    );
    for (label, linters, optimize) in [
        ("core pipeline (classify, plan, tests, generate, verify, run)", false, false),
        ("core + linters (ruff, flake8, pylint, mypy, black)", true, false),
        ("core + one optimize iteration (5+5 timed runs)", false, true),
    ] {
        let config = match config_for(&server.url, &python, linters, optimize) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_FAILED;
            }
        };
        let evolver = match Evolver::new(config, scratch.path()) {
            Ok(e) => e,
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_FAILED;
            }
        };
        // The optimizer offers different code of the same speed: tested, timed, rejected.
        server.set_script(
            Script::new()
                .on("classify", fixtures::classify("arithmetic", "simple"))
                .on("plan", fixtures::add_spec())
                .on("code", fixtures::code(fixtures::ADD))
                .on(
                    "optimize",
                    fixtures::faster("def add(a: int, b: int) -> int:\n    return b + a\n", "swap operands"),
                ),
        );
        let mut times = Vec::new();
        let mut note = String::new();
        for i in 0..=runs {
            let started = Instant::now();
            let result =
                evolver.evolve(EvolveRequest::new("add 10 and 20"), events::discard(), CancellationToken::new()).await;
            let elapsed = started.elapsed().as_secs_f64() * 1000.0;
            match result {
                Ok(outcome)
                    if outcome.result.as_ref().and_then(|r| r.output.as_ref().ok()) == Some(&serde_json::json!(30)) =>
                {
                    if i > 0 {
                        times.push(elapsed);
                    }
                    if let Some(it) = outcome.optimization.iterations.first() {
                        note = format!(" (optimize: {})", it.reason);
                    }
                }
                Ok(_) => {
                    eprintln!("error: the evolve did not produce 30");
                    return EXIT_FAILED;
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    return EXIT_FAILED;
                }
            }
        }
        let min = times.iter().cloned().fold(f64::INFINITY, f64::min);
        println!("  {label}: median {:.0} ms, best {:.0} ms{note}", median(&times), min);
    }

    // Node run overhead.
    let runtime = match crate::paths::runtime_dir(scratch.path()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_FAILED;
        }
    };
    let sandbox = Sandbox::new(python.clone(), runtime);
    let request = super::bench_sandbox::trivial_node();
    let samples = 40;
    let mut warm = Vec::new();
    let mut cold = Vec::new();
    let _ = sandbox.run(&request).await; // start the runner
    for _ in 0..samples {
        let started = Instant::now();
        match sandbox.run(&request).await {
            Ok(o) if o.success() => warm.push(started.elapsed().as_secs_f64() * 1000.0),
            Ok(o) => {
                eprintln!("error: the trivial node failed: {}", o.stderr);
                return EXIT_FAILED;
            }
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_FAILED;
            }
        }
        let started = Instant::now();
        let status = std::process::Command::new(&python).args(["-c", "pass"]).status();
        if status.map(|s| s.success()).unwrap_or(false) {
            cold.push(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
    let (w, c) = (median(&warm), median(&cold));
    println!("node run overhead ({samples} runs each, alternating):");
    println!("  trivial node through the warm runner (confined, JSON in/out): median {w:.2} ms");
    println!("  fresh `{} -c pass`: median {c:.2} ms", python.display());
    println!("  ratio: {:.2}× (goal ≤ 0.1×; `code-evolver bench sandbox` breaks it down)", w / c);
    0
}

pub async fn serve_scripted(script: &Path, addr: &str) -> i32 {
    let text = match std::fs::read_to_string(script) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", script.display());
            return EXIT_USAGE;
        }
    };
    let script: Script = match serde_json::from_str(&text) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {} is not a script: {e}", script.display());
            return EXIT_USAGE;
        }
    };
    match ScriptedServer::start_on(addr, script).await {
        Ok(server) => {
            println!("{}", server.url);
            let _ = tokio::signal::ctrl_c().await;
            0
        }
        Err(e) => {
            eprintln!("error: cannot listen on {addr}: {e}");
            EXIT_FAILED
        }
    }
}
