//! `code-evolver bench due`: how long the auto-evolution due check takes on a registry of N
//! nodes, each with a history of real runs (a few of them degraded or raising), through the
//! engine's own `due_nodes`.

use crate::failed;
use std::time::Instant;

use crate::cli::{CliResult, Global};
use crate::registry::{NewVersion, NodeRecord, Registry, RunMetrics};

pub async fn run(global: &Global, nodes: usize, runs_per_node: usize) -> CliResult {
    let data = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => {
            return Err(failed!("{e}"));
        }
    };
    let spec = serde_json::json!({
        "problem": "Add two numbers.", "function": {"name": "add", "parameters": [{"name": "a", "type": "int"}, {"name": "b", "type": "int"}], "returns": "int"},
        "task_input": {"a": 1, "b": 2},
        "test_cases": [{"name": "task", "input": {"a": 1, "b": 2}, "expected": 3, "check": "equals"}]
    })
    .to_string();
    let started = Instant::now();
    {
        let registry = match Registry::open(&crate::paths::registry_path(data.path())) {
            Ok(r) => r,
            Err(e) => {
                return Err(failed!("{e}"));
            }
        };
        for i in 0..nodes {
            let id = format!("add-{i:06}");
            let version = NewVersion {
                origin: "generated".into(),
                code: "def add(a, b):\n    return a + b\n".into(),
                program: String::new(),
                model: "bench".into(),
                change: String::new(),
                tests_passed: 1,
                tests_total: 1,
                per_call_ns: Some(100.0),
                peak_rss_kb: Some(12_000),
                score: Some(1.0),
                findings_json: "[]".into(),
                mutation_score: None,
                mutation_json: None,
                steps: Vec::new(),
            };
            let node = NodeRecord {
                id: &id,
                task: "add two numbers",
                kind: "arithmetic",
                complexity: "simple",
                function_name: "add",
                spec_json: &spec,
                tests: "",
                uses_tools: false,
            };
            if let Err(e) = registry.save(&node, &[version]) {
                return Err(failed!("{e}"));
            }
            for r in 0..runs_per_node {
                // One node in 100 raised on a new input; one in 100 got slower.
                let raised = i % 100 == 7 && r == runs_per_node - 1;
                let slow = i % 100 == 42 && r >= runs_per_node - 3;
                let input = format!("{{\"a\": {r}, \"b\": {i}}}");
                let m = RunMetrics {
                    purpose: "run",
                    input: &input,
                    output: if raised { "TypeError: boom" } else { "3" },
                    ok: !raised,
                    wall_ms: if slow { 40.0 } else { 10.0 + (r % 3) as f64 },
                    user_ms: 5.0,
                    sys_ms: 1.0,
                    max_rss_kb: 12_000,
                    exit_code: Some(i32::from(raised)),
                    error: raised.then_some("TypeError: boom"),
                    caller: None,
                };
                if let Err(e) = registry.record_run(&id, 1, &m) {
                    return Err(failed!("{e}"));
                }
            }
        }
    }
    println!(
        "registry of {nodes} nodes, {} runs, written in {:.1} s",
        nodes * runs_per_node,
        started.elapsed().as_secs_f64()
    );
    let engine = match global.evolver_with(|_| {}) {
        Ok(e) => e,
        Err(e) => return Err(e),
    };
    // The same engine settings on the bench's registry.
    let engine = match crate::pipeline::Evolver::new(engine.config().clone(), data.path()) {
        Ok(e) => e,
        Err(e) => {
            return Err(failed!("{e}"));
        }
    };
    let mut times = Vec::new();
    let mut found = 0;
    for _ in 0..5 {
        let t = Instant::now();
        match engine.due_nodes() {
            Ok(due) => found = due.len(),
            Err(e) => {
                return Err(failed!("{e}"));
            }
        }
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "due check: {found} node(s) due of {nodes}; median {:.0} ms, min {:.0} ms, max {:.0} ms over 5 checks",
        times[2], times[0], times[4]
    );
    Ok(())
}
