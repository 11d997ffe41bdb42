//! `cargo bench --bench lsp [-- --requests N] [--data-dir DIR]`: request latency of the language server on a 5,000-line Python file,
//! measured by a client over stdio (so the figures include framing and the pipe): codeAction,
//! hover (on plain lines and on an evolved header, which reads the registry) and completion, first
//! with the server idle, then while an evolve runs in the same server.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use testkit::lsp_client::LspClient;
use testkit::scripted_model::{Rule, Script, ScriptedServer, fixtures};

const EXIT_FAILED: i32 = 1;
const EXIT_USAGE: i32 = 2;

fn main() {
    let args = testkit::bench_args::parse("lsp", "--requests", 300);
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    std::process::exit(runtime.block_on(run(args.count, &args.data_dir)));
}

/// A 5,000-line module: functions with docstrings and loops, a task comment in the middle and an
/// evolved header near the end.
fn big_file(lines: usize) -> (String, u32, u32) {
    let mut out = vec!["import math".to_string(), String::new(), String::new()];
    let mut task_line = 0;
    let mut header_line = 0;
    let mut i = 0;
    while out.len() < lines {
        if out.len() > lines / 2 && task_line == 0 {
            task_line = out.len() as u32;
            out.push("# evolve: add two numbers".into());
            out.push(String::new());
        }
        if out.len() > lines * 9 / 10 && header_line == 0 {
            header_line = out.len() as u32;
            out.push("# evolved: add-000000 v1 · 4/4 tests pass · not optimized".into());
        }
        out.push(format!("def step_{i}(values: list[int], k: int = {i}) -> int:"));
        out.push(format!("    \"\"\"Weighted sum number {i}.\"\"\""));
        out.push("    total = 0".into());
        out.push("    for index, value in enumerate(values):".into());
        out.push("        if value % 2 == 0:".into());
        out.push("            total += value * k".into());
        out.push("        else:".into());
        out.push("            total -= int(math.sqrt(abs(value)))".into());
        out.push("    return total".into());
        out.push(String::new());
        out.push(String::new());
        i += 1;
    }
    out.truncate(lines);
    (out.join("\n") + "\n", task_line, header_line)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// A small deterministic sequence of lines (no rand dependency).
struct Lines(u64, u32);

impl Lines {
    fn next(&mut self) -> u32 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) % self.1 as u64) as u32
    }
}

async fn timed(client: &mut LspClient, method: &str, params: Value) -> Result<f64, String> {
    let started = Instant::now();
    let response = client.request(method, params).await;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if let Some(error) = response.get("error") {
        return Err(format!("{method}: {error}"));
    }
    Ok(ms)
}

async fn measure(
    client: &mut LspClient,
    uri: &str,
    requests: usize,
    lines: u32,
    header: u32,
    task: u32,
    completion: bool,
) -> Result<Vec<(String, Vec<f64>)>, String> {
    let mut pick = Lines(7, lines);
    let mut series: Vec<(String, Vec<f64>)> = [
        "codeAction",
        "hover (plain line)",
        "hover (evolved header)",
        "completion (plain line)",
        "completion (task comment)",
    ]
    .iter()
    .map(|s| (s.to_string(), Vec::new()))
    .collect();
    for _ in 0..requests {
        let line = pick.next();
        let at = json!({"line": line, "character": 4});
        let range = json!({"start": at, "end": at});
        series[0].1.push(
            timed(
                client,
                "textDocument/codeAction",
                json!({"textDocument": {"uri": uri}, "range": range, "context": {"diagnostics": []}}),
            )
            .await?,
        );
        series[1]
            .1
            .push(timed(client, "textDocument/hover", json!({"textDocument": {"uri": uri}, "position": at})).await?);
        let on_header = json!({"line": header, "character": 4});
        series[2].1.push(
            timed(client, "textDocument/hover", json!({"textDocument": {"uri": uri}, "position": on_header})).await?,
        );
        if completion {
            series[3].1.push(
                timed(client, "textDocument/completion", json!({"textDocument": {"uri": uri}, "position": at})).await?,
            );
            let on_task = json!({"line": task, "character": 12});
            series[4].1.push(
                timed(client, "textDocument/completion", json!({"textDocument": {"uri": uri}, "position": on_task}))
                    .await?,
            );
        }
    }
    series.retain(|(_, v)| !v.is_empty());
    for (_, v) in &mut series {
        v.sort_by(|a, b| a.total_cmp(b));
    }
    Ok(series)
}

fn print_series(label: &str, series: &[(String, Vec<f64>)]) {
    println!("{label}:");
    for (name, v) in series {
        println!(
            "  {name:<24} p50 {:>6.2} ms · p99 {:>6.2} ms · max {:>6.2} ms ({} requests)",
            percentile(v, 50.0),
            percentile(v, 99.0),
            v.last().copied().unwrap_or(f64::NAN),
            v.len()
        );
    }
}

async fn run(requests: usize, data: &std::path::Path) -> i32 {
    let Some(python) = code_evolver::paths::find_python("", data) else {
        eprintln!("error: no Python found: run `code-evolver setup`");
        return EXIT_USAGE;
    };
    // The code stage answers after a minute, so an evolve is in flight for the second round.
    let script = Script::new()
        .on("classify", fixtures::classify("arithmetic", "simple"))
        .on("plan", fixtures::add_spec())
        .rule(Rule {
            stage: Some("code".into()),
            replies: vec![fixtures::code(fixtures::ADD)],
            delay_ms: 60_000,
            ..Default::default()
        });
    let server = match ScriptedServer::start(script).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot start the scripted model server: {e}");
            return EXIT_FAILED;
        }
    };
    let (Ok(workspace), Ok(scratch)) = (tempfile::tempdir(), tempfile::tempdir()) else {
        eprintln!("error: no temp dir");
        return EXIT_FAILED;
    };
    let config = format!(
        "backends:\n  ollama: {{ kind: ollama, url: \"{}\", fallback: null }}\npipeline:\n  analysis: {{ linters: [] }}\n  optimize: {{ iterations: 0 }}\neditor:\n  diagnostics: []\n",
        server.url
    );
    if let Err(e) = std::fs::write(workspace.path().join(".code-evolver.yaml"), config) {
        eprintln!("error: {e}");
        return EXIT_FAILED;
    }
    // A memory of 10,000 verified functions, embedded as the server's embedder will embed queries.
    if let Err(e) = seed_memory(&scratch.path().join("memory.db"), 10_000).await {
        eprintln!("error: {e}");
        return EXIT_FAILED;
    }
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_code-evolver"));
    command
        .current_dir(workspace.path())
        .env("CODE_EVOLVER_DATA_DIR", scratch.path())
        .env("CODE_EVOLVER_PYTHON", &python)
        .env_remove("CODE_EVOLVER_CONFIG")
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
    let mut client = LspClient::start(command);
    let init = client.initialize(workspace.path(), Value::Null).await;
    let completion = init["result"]["capabilities"]["completionProvider"].is_object();
    let (text, task_line, header_line) = big_file(5000);
    let uri = format!("file://{}", workspace.path().join("big.py").display());
    client.open(&uri, &text).await;
    println!(
        "bench lsp: {requests} rounds of codeAction, hover ×2 and completion ×2 on a 5,000-line file, over stdio; memory of 10,000 functions"
    );

    // Warm-up: the engine (registry, router) is built on first use.
    if let Err(e) = measure(&mut client, &uri, 20, 5000, header_line, task_line, completion).await {
        eprintln!("error: {e}");
        return EXIT_FAILED;
    }
    let idle = match measure(&mut client, &uri, requests, 5000, header_line, task_line, completion).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_FAILED;
        }
    };
    print_series("server idle", &idle);

    // The same on a 100,000-line file (work proportional to the whole file shows here), and the
    // code lens, which lists every evolved header.
    let (huge, huge_task, huge_header) = big_file(100_000);
    let huge_uri = format!("file://{}", workspace.path().join("huge.py").display());
    client.open(&huge_uri, &huge).await;
    let rounds = requests.clamp(20, 200);
    let mut large = match measure(&mut client, &huge_uri, rounds, 100_000, huge_header, huge_task, completion).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_FAILED;
        }
    };
    let mut lens = Vec::new();
    for _ in 0..rounds {
        match timed(&mut client, "textDocument/codeLens", json!({"textDocument": {"uri": huge_uri}})).await {
            Ok(ms) => lens.push(ms),
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_FAILED;
            }
        }
    }
    lens.sort_by(|a, b| a.total_cmp(b));
    large.push(("codeLens".into(), lens));
    print_series("100,000-line file, server idle", &large);

    let id = client
        .send(
            "workspace/executeCommand",
            json!({"command": "codeEvolver.evolve", "arguments": [{"uri": uri, "line": task_line}]}),
        )
        .await;
    // Wait until the evolve is at the generate stage (the model is "thinking").
    client
        .wait_for(
            |m| {
                m["method"] == "$/progress"
                    && m["params"]["value"]["message"].as_str().is_some_and(|s| s.starts_with("generate"))
            },
            Duration::from_secs(120),
        )
        .await;
    let started = Instant::now();
    let busy = match measure(&mut client, &uri, requests, 5000, header_line, task_line, completion).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_FAILED;
        }
    };
    let still_running = started.elapsed() < Duration::from_secs(55);
    print_series(
        &format!("while an evolve runs{}", if still_running { "" } else { " (it may have ended during the round)" }),
        &busy,
    );
    // Nineteen more evolves (on other task comments): twenty in flight.
    let jobs_uri = format!("file://{}", workspace.path().join("jobs.py").display());
    let jobs_text: String = (1..20).map(|i| format!("# evolve: add two numbers, variant {i}\n")).collect();
    client.open(&jobs_uri, &jobs_text).await;
    let mut job_ids = vec![id];
    for line in 0..19 {
        job_ids.push(
            client
                .send(
                    "workspace/executeCommand",
                    json!({"command": "codeEvolver.evolve", "arguments": [{"uri": jobs_uri, "line": line}]}),
                )
                .await,
        );
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let twenty = match measure(&mut client, &uri, requests, 5000, header_line, task_line, completion).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_FAILED;
        }
    };
    print_series("while 20 evolves run", &twenty);
    client.request("workspace/executeCommand", json!({"command": "codeEvolver.cancel", "arguments": []})).await;
    // Each command answered at once; every job ends with `codeEvolver/jobDone`.
    for job in job_ids {
        let _ = client.job_result(job, Duration::from_secs(30)).await;
    }

    // A lint storm: four real linters switched on, then 30 saves of the 5,000-line file at once.
    client
        .notify(
            "workspace/didChangeConfiguration",
            json!({"settings": {"editor": {"diagnostics": ["ruff", "flake8", "pylint", "mypy"], "lint_delay_ms": 0}}}),
        )
        .await;
    for _ in 0..30 {
        client.notify("textDocument/didSave", json!({"textDocument": {"uri": uri}})).await;
    }
    let storm = match measure(&mut client, &uri, requests.min(100), 5000, header_line, task_line, completion).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_FAILED;
        }
    };
    print_series("during a lint storm (30 saves, 4 linters)", &storm);
    client.shutdown().await;
    let worst = idle
        .iter()
        .chain(busy.iter())
        .chain(large.iter())
        .chain(twenty.iter())
        .chain(storm.iter())
        .map(|(_, v)| percentile(v, 99.0))
        .fold(0.0, f64::max);
    println!("worst p99: {worst:.2} ms (goal ≤ 5 ms)");
    0
}

async fn seed_memory(path: &std::path::Path, n: usize) -> Result<(), String> {
    use code_evolver::memory::{Artifact, ArtifactKind, EmbeddingInfo, Payload, VectorStore, sqlite::SqliteStore};
    let store = SqliteStore::open(path).map_err(|e| e.to_string())?;
    // The default embedding role's model: what the server's memory expects to find.
    let model = code_evolver::config::Config::defaults()
        .roles
        .get(code_evolver::config::Role::Embedding)
        .model
        .clone()
        .unwrap_or_default();
    let items: Vec<(Artifact, Vec<f32>)> = (0..n)
        .map(|i| {
            let task = format!("compute value number {i} from a list of integers");
            let payload = Payload {
                task: task.clone(),
                language: "python".into(),
                quality: 1.0,
                metrics: json!({"tests_passed": 4, "tests_total": 4, "score": 1.0}),
                content: json!({
                    "code": format!("def value_{i}(xs: list[int]) -> int:\n    return sum(xs) + {i}\n"),
                    "signature": format!("value_{i}(xs: list[int]) -> int"),
                    "function": format!("value_{i}"),
                }),
                ..Default::default()
            };
            let vector = testkit::scripted_model::embed_text(&task);
            (Artifact::new(ArtifactKind::Function, task, payload), vector)
        })
        .collect();
    store.set_info(&EmbeddingInfo { model, dimension: items[0].1.len() }).await.map_err(|e| e.to_string())?;
    store.upsert(&items).await.map_err(|e| e.to_string())?;
    Ok(())
}
