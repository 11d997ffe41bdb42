//! `code-evolver chat`: a REPL with history. Plain text evolves; commands: help, status, list,
//! run, show, test, optimize, evaluate, rollback, delete, due, memory, auto on|off, clear, quit (a
//! leading `/` is accepted too). With auto-evolution on, due nodes are re-evolved in the
//! background every `check_interval_minutes`.

use super::render::{Renderer, result_text, summary};
use super::{CliResult, Global};
use crate::pipeline::{EvolveError, EvolveRequest, Evolver};
use crate::usage;
use rustyline::DefaultEditor;
use rustyline::error::ReadlineError;
use tokio_util::sync::CancellationToken;

const HELP: &str = "\
Type a task to evolve it, e.g.  add 10 and 20
Commands:
  help                 this help
  status               endpoints, models, Python tools, sandbox, data dir
  list                 saved nodes
  show NODE            a node's spec, code, tests, versions and runs
  run NODE [JSON]      run a node, e.g.  run add-1a2b3c {\"a\": 1, \"b\": 2}
  test NODE            re-run a node's cases
  optimize NODE        ask for a faster version of a node
  evaluate NODE        a node's quality score and its terms
  rollback NODE [V]    make an earlier version current
  delete NODE          delete a node and what memory learned from it
  tools [TEXT]         the tools nodes can call; with TEXT, those that fit it, by fitness
  due                  the nodes due for re-evolution (and why)
  evolve-due           re-evolve them now
  memory delete ID     delete one memory artifact
  memory clear KIND    delete every artifact of a kind (spec, function, workflow, pattern, fix)
  auto on|off          re-evolve due nodes in the background (now: {auto})
  clear                clear the screen
  quit                 leave (also exit, q, Ctrl-D)
Ctrl-C cancels a running evolve.";

pub async fn run(global: &Global) -> CliResult {
    let evolver = global.evolver()?;
    let mut editor = match DefaultEditor::new() {
        Ok(e) => e,
        Err(e) => {
            return Err(usage!("cannot start the line editor: {e}"));
        }
    };
    let history = global.data_dir().join("chat_history.txt");
    let _ = std::fs::create_dir_all(global.data_dir());
    let _ = editor.load_history(&history);
    let evolver = std::sync::Arc::new(evolver);
    let optimize = evolver.config().pipeline.optimize.iterations > 0;
    let mut auto = evolver.config().auto_evolution.enabled;
    let mut background = auto.then(|| background_loop(evolver.clone()));
    super::announce_fallbacks(&evolver, &Renderer::new(false)).await;
    println!("code-evolver chat — type a task, or `help`.");
    loop {
        let (returned, line) = tokio::task::spawn_blocking(move || {
            let line = editor.readline("evolve> ");
            (editor, line)
        })
        .await
        .expect("line editor thread");
        editor = returned;
        let line = match line {
            Ok(l) => l,
            Err(ReadlineError::Interrupted) => {
                println!("(Ctrl-C) type `quit` to leave");
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                eprintln!("error: {e}");
                break;
            }
        };
        let text = line.trim();
        if text.is_empty() {
            continue;
        }
        let _ = editor.add_history_entry(text);
        let _ = editor.save_history(&history);
        let command = text.strip_prefix('/').unwrap_or(text);
        let (word, rest) = command.split_once(char::is_whitespace).map(|(w, r)| (w, r.trim())).unwrap_or((command, ""));
        match word {
            "quit" | "exit" | "q" => break,
            "help" | "?" => println!("{}", HELP.replace("{auto}", if auto { "on" } else { "off" })),
            "clear" => print!("\x1b[2J\x1b[H"),
            "status" => {
                say(super::status::run(global).await);
            }
            "list" => {
                say(super::nodes::list(global, false));
            }
            "show" if !rest.is_empty() => {
                say(super::nodes::show(global, rest, false));
            }
            "run" if !rest.is_empty() => run_node(&evolver, rest).await,
            "test" if !rest.is_empty() => {
                say(super::lifecycle::test(global, rest).await);
            }
            "optimize" if !rest.is_empty() => {
                say(super::lifecycle::optimize(global, rest).await);
            }
            "evaluate" if !rest.is_empty() => {
                say(super::lifecycle::evaluate(global, rest, None, false).await);
            }
            "rollback" if !rest.is_empty() => {
                let (node, version) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
                say(match version.trim().trim_start_matches('v') {
                    "" => super::lifecycle::rollback(global, node, None),
                    v => match v.parse::<i64>() {
                        Ok(v) => super::lifecycle::rollback(global, node, Some(v)),
                        Err(_) => {
                            println!("usage: rollback NODE [VERSION]");
                            Ok(())
                        }
                    },
                });
            }
            "delete" if !rest.is_empty() => {
                say(super::lifecycle::delete(global, rest).await);
            }
            "tools" => {
                if rest.is_empty() {
                    say(super::tools::list(global, false).await);
                } else {
                    say(super::tools::search(global, rest, 5, false).await);
                }
            }
            "due" => {
                say(super::lifecycle::evolve_due(global, true, false).await);
            }
            "evolve-due" => {
                say(super::lifecycle::evolve_due(global, false, false).await);
            }
            "memory" => match rest.split_once(char::is_whitespace).map(|(a, b)| (a, b.trim())) {
                Some(("delete", id)) => {
                    say(super::memory::delete(global, id).await);
                }
                Some(("clear", kind)) => {
                    say(super::memory::clear(global, kind.trim_start_matches("--kind").trim()).await);
                }
                _ => println!("usage: memory delete ID | memory clear KIND"),
            },
            "auto" => match rest {
                "on" => {
                    auto = true;
                    background.get_or_insert_with(|| background_loop(evolver.clone()));
                    println!(
                        "auto-evolution on: due nodes are re-evolved every {} min",
                        evolver.config().auto_evolution.check_interval_minutes
                    );
                }
                "off" => {
                    auto = false;
                    if let Some(cancel) = background.take() {
                        cancel.cancel();
                    }
                    println!("auto-evolution off");
                }
                _ => println!("auto is {}; use `auto on` or `auto off`", if auto { "on" } else { "off" }),
            },
            "show" | "run" | "test" | "optimize" | "evaluate" | "rollback" | "delete" => {
                println!("usage: {word} NODE{}", if word == "run" { " [JSON]" } else { "" })
            }
            _ => evolve(&evolver, text, optimize).await,
        }
    }
    Ok(())
}

/// Re-evolves due nodes every `check_interval_minutes` until the returned token is cancelled;
/// each change is one line.
fn background_loop(evolver: std::sync::Arc<Evolver>) -> CancellationToken {
    let stop = CancellationToken::new();
    let token = stop.clone();
    tokio::spawn(async move {
        let every = std::time::Duration::from_secs_f64(evolver.config().auto_evolution.check_interval_minutes * 60.0);
        loop {
            tokio::select! {
                _ = token.cancelled() => return,
                _ = tokio::time::sleep(every) => {}
            }
            match evolver.evolve_due(false, crate::pipeline::events::discard(), token.clone()).await {
                Ok((_, done, _)) => {
                    for r in done.into_iter().flatten() {
                        println!("\n[auto-evolution] {} v{}: {}", r.node_id, r.from_version, r.outcome);
                    }
                }
                Err(e) => println!("\n[auto-evolution] {e}"),
            }
        }
    });
    stop
}

fn cancel_on_ctrl_c() -> (CancellationToken, tokio::task::JoinHandle<()>) {
    let cancel = CancellationToken::new();
    let token = cancel.clone();
    let watcher = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            token.cancel();
        }
    });
    (cancel, watcher)
}

async fn evolve(evolver: &Evolver, task: &str, optimize: bool) {
    let renderer = Renderer::new(false);
    let (cancel, watcher) = cancel_on_ctrl_c();
    let request = EvolveRequest { optimize, ..EvolveRequest::new(task) };
    let result = evolver.evolve(request, renderer.sink(), cancel).await;
    watcher.abort();
    renderer.finish();
    match result {
        Ok(outcome) => summary(&outcome).iter().for_each(|l| println!("{l}")),
        Err(EvolveError::Cancelled) => println!("cancelled: nothing was saved"),
        Err(e) => println!("error: {e}"),
    }
}

async fn run_node(evolver: &Evolver, rest: &str) {
    let (node, json) = rest.split_once(char::is_whitespace).map(|(n, j)| (n, j.trim())).unwrap_or((rest, "{}"));
    let input: serde_json::Value = match serde_json::from_str(json) {
        Ok(v) => v,
        Err(e) => {
            println!("error: the input is not JSON ({e})");
            return;
        }
    };
    let renderer = Renderer::new(false);
    let (cancel, watcher) = cancel_on_ctrl_c();
    let result = evolver.run_node(node, input, renderer.sink(), cancel).await;
    watcher.abort();
    match result {
        Ok((id, version, run)) => {
            println!(
                "node {id} v{version}: {:.1} ms wall, {} kB peak RSS",
                run.metrics.wall_ms, run.metrics.max_rss_kb
            );
            match run.output {
                Ok(v) => println!("RESULT: {}", result_text(&v)),
                Err(e) => println!("error: {e}"),
            }
        }
        Err(e) => println!("error: {e}"),
    }
}

/// A command's error in the REPL: said, and the session goes on.
fn say(result: super::CliResult) {
    if let Err(e) = result {
        e.print();
    }
}
