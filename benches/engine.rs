//! `cargo bench --bench engine [-- --runs N] [--data-dir DIR]`: the pipeline's own overhead
//! against a zero-latency scripted model (the node run's own cost: `code-evolver bench sandbox`).

use code_evolver::config::{ConfigLoader, Layer};
use code_evolver::pipeline::score::median;
use code_evolver::pipeline::{EvolveRequest, Evolver, events};
use std::path::Path;
use std::time::Instant;
use testkit::scripted_model::{Script, ScriptedServer, fixtures};
use tokio_util::sync::CancellationToken;

const EXIT_FAILED: i32 = 1;
const EXIT_USAGE: i32 = 2;

fn main() {
    let args = testkit::bench_args::parse("engine", "--runs", 5);
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    std::process::exit(runtime.block_on(engine(args.count, &args.data_dir)));
}

/// Memory off: every run goes through the whole pipeline (a recalled task would skip it).
fn config_for(url: &str, python: &Path, linters: bool, optimize: bool) -> Result<code_evolver::config::Config, String> {
    let yaml = format!(
        "backends:\n  ollama: {{ kind: ollama, url: \"{url}\" }}\nmemory:\n  store: off\nruntime:\n  python: \"{}\"\npipeline:\n  analysis:\n    linters: {}\n  optimize:\n    iterations: {}\n    skip_below_ns: 0\n",
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

async fn engine(runs: usize, data: &Path) -> i32 {
    let Some(python) = code_evolver::paths::find_python("", data) else {
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
    0
}
