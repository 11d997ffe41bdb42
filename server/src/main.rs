use clap::{Parser, Subcommand};
use code_evolver::cli::{self, Global};
use std::path::PathBuf;

/// code-evolver: evolve tested, measured code from a task, with local models.
#[derive(Parser)]
#[command(name = "code-evolver", version, about, long_about = None)]
struct Args {
    /// A config file in place of ~/.config/code-evolver/config.yaml.
    #[arg(long, global = true, env = "CODE_EVOLVER_CONFIG")]
    config: Option<PathBuf>,
    /// The workspace whose .code-evolver.yaml applies (default: the current directory).
    #[arg(long, global = true)]
    workspace: Option<PathBuf>,
    /// Where models, the registry and the venv live (default: ~/.local/share/code-evolver).
    #[arg(long, global = true, env = "CODE_EVOLVER_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Log details to stderr (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Evolve a task into a verified node: `code-evolver evolve "add 10 and 20"`.
    Evolve {
        task: Vec<String>,
        /// Do not run the node on the task's own input.
        #[arg(long)]
        no_run: bool,
        /// Skip the optimization stage.
        #[arg(long)]
        no_optimize: bool,
        /// Neither recall from nor remember into memory.
        #[arg(long)]
        no_memory: bool,
        /// Split a compound task into verified steps (default: the config's `workflow.enabled`).
        #[arg(long, conflicts_with = "no_compose")]
        compose: bool,
        /// Evolve one function, never a workflow of steps.
        #[arg(long)]
        no_compose: bool,
        /// Print the outcome as JSON (events still go to stderr).
        #[arg(long)]
        json: bool,
    },
    /// An interactive session: plain text evolves; `help` lists the commands.
    Chat,
    /// Run a saved node: `code-evolver run add-1a2b3c --input '{"a": 1, "b": 2}'`.
    Run {
        node: String,
        #[arg(long, default_value = "{}")]
        input: String,
    },
    /// List the saved nodes.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show a saved node: spec, code, tests, versions, runs.
    Show {
        node: String,
        #[arg(long)]
        json: bool,
    },
    /// Re-run a saved node's cases on its current version.
    Test { node: String },
    /// Ask for faster versions of a saved node; a measurably faster one becomes current.
    Optimize { node: String },
    /// A version's quality score with its terms (correctness, speed, memory, the evaluator's verdict).
    Evaluate {
        node: String,
        /// Default: the current version.
        #[arg(long)]
        version: Option<i64>,
        #[arg(long)]
        json: bool,
    },
    /// Make an earlier version current again (default: the current one's parent).
    Rollback { node: String, version: Option<i64> },
    /// Delete a saved node, its versions and runs, and what memory learned from it.
    Delete { node: String },
    /// List (--dry-run) or re-evolve the nodes whose runs say they should (see auto_evolution).
    EvolveDue {
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
    },
    /// The tools nodes can call: configured ones and verified nodes, ranked by fitness.
    Tools {
        #[command(subcommand)]
        what: ToolsCommand,
    },
    /// Check every configured endpoint, the Python tools, the sandbox and the data dir.
    Status,
    /// The memory of verified solutions: search, stats, export, import, migrate, reembed.
    Memory {
        #[command(subcommand)]
        what: MemoryCommand,
    },
    /// The language server, over stdin/stdout (editors start it; see editors/).
    Lsp {
        /// Accepted for clients that pass it; stdio is the only transport.
        #[arg(long)]
        stdio: bool,
    },
    /// Install what code-evolver needs: the Python venv (pytest, linters) and the embedded models.
    Setup {
        /// Skip the 1.5B model (powerful generator, escalation).
        #[arg(long)]
        no_powerful: bool,
        /// Also install the small models the tests use (SmolLM2-135M, a tiny GGUF).
        #[arg(long)]
        test_models: bool,
        /// Only the Python venv.
        #[arg(long)]
        no_models: bool,
    },
    /// Run the built-in smoke suite (simple tasks with known results) through the pipeline.
    Smoke {
        /// Only the first N tasks.
        #[arg(long)]
        limit: Option<usize>,
        /// Leave out the first N tasks (to measure on tasks a change was not tuned on).
        #[arg(long, default_value_t = 0)]
        skip: usize,
        /// Tasks evolved at once.
        #[arg(long, default_value_t = 1)]
        jobs: usize,
        /// fast (every role on the small model), ladder (the configuration), powerful (every
        /// role on the big model).
        #[arg(long, default_value = "ladder")]
        models: String,
        /// Route every role to this configured backend (e.g. embedded).
        #[arg(long)]
        backend: Option<String>,
        /// Keep every rung of the ladder on the fast generator (same as --models fast for the
        /// generator, the overseer unchanged).
        #[arg(long)]
        fast_only: bool,
        /// Skip the optimize stage.
        #[arg(long)]
        no_optimize: bool,
        /// Show each task's stages.
        #[arg(long)]
        show_stages: bool,
        /// Write each task's result as a JSON line to this file.
        #[arg(long)]
        json: Option<std::path::PathBuf>,
        /// The compound-task suite (tests/compound): tasks of several steps, as workflows.
        #[arg(long)]
        compound: bool,
        /// Evolve each task as one function (the compound suite's comparison).
        #[arg(long)]
        no_compose: bool,
        /// Recall from and remember into memory (the data dir's), so a second run can reuse
        /// what the first verified (default: memory off, every task from nothing).
        #[arg(long)]
        memory: bool,
        /// Only the tasks that an earlier run's --json file shows wrong on some hidden case.
        #[arg(long)]
        rerun: Option<std::path::PathBuf>,
    },
    /// Print performance figures.
    Bench {
        #[command(subcommand)]
        what: BenchCommand,
    },
}

#[derive(Subcommand)]
enum MemoryCommand {
    /// The stored artifacts most similar to a text: `memory search "parse a date"`.
    Search {
        query: Vec<String>,
        #[arg(short, long, default_value_t = 5)]
        k: usize,
        /// Only this kind: spec, function, workflow, pattern, fix.
        #[arg(long)]
        kind: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Where the memory is, its embedding model, and how many artifacts of each kind.
    Stats,
    /// Every artifact with its vector, as JSONL (a header line names the embedding model).
    Export { file: PathBuf },
    /// Artifacts from an export; all or nothing.
    Import { file: PathBuf },
    /// Copies the memory to another store: `--to qdrant http://host:6334` or `--to sqlite FILE`.
    Migrate {
        #[arg(long, value_parser = ["qdrant", "sqlite"])]
        to: String,
        /// The Qdrant URL (gRPC) or the SQLite file.
        target: String,
        #[arg(long)]
        collection: Option<String>,
        #[arg(long, env = "QDRANT_API_KEY")]
        api_key: Option<String>,
    },
    /// Re-embeds every artifact with the configured embedding model (after changing it).
    Reembed,
    /// Deletes one artifact by id (see `memory search --json`).
    Delete { id: String },
    /// Deletes every artifact of a kind: spec, function, workflow, pattern, fix.
    Clear {
        #[arg(long)]
        kind: String,
    },
}

#[derive(Subcommand)]
enum ToolsCommand {
    /// Every tool: configured ones, then verified nodes, with what was measured.
    List {
        #[arg(long)]
        json: bool,
    },
    /// The tools that fit a text, ranked by fitness with its terms.
    Search {
        text: Vec<String>,
        #[arg(short, long, default_value_t = 5)]
        k: usize,
        #[arg(long)]
        json: bool,
    },
    /// One tool: what it does, how to call it, its tiers and measured figures.
    Show { name: String },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// The embedded models: load time, tokens/s at 1 and 2 threads, RSS, and the smoke suite on
    /// the 0.5B alone and on the 0.5B -> 1.5B ladder.
    Embedded {
        /// Only the first N smoke tasks (all by default).
        #[arg(long)]
        limit: Option<usize>,
        /// Skip the smoke suite (model figures only).
        #[arg(long)]
        no_smoke: bool,
    },
    /// HumanEval: pass@1 single-shot vs the pipeline on the same backend, scored by the hidden checks.
    Humaneval {
        /// Route every role to this backend (e.g. embedded); default: the configuration.
        #[arg(long)]
        backend: Option<String>,
        /// fast: every role on the small model; ladder: as configured (small generator, escalation
        /// to the big one); powerful: every role on the big model.
        #[arg(long, default_value = "ladder")]
        models: String,
        /// Only the first N problems (after --skip).
        #[arg(long)]
        limit: Option<usize>,
        /// Leave out the first N problems (to finish a run that was cut short, into another --out).
        #[arg(long, default_value_t = 0)]
        skip: usize,
        /// Problems solved at once (for servers with several slots).
        #[arg(long, default_value_t = 1)]
        jobs: usize,
        /// single, pipeline or both.
        #[arg(long, default_value = "both")]
        mode: String,
        /// A HumanEval-format .jsonl(.gz) instead of the PyPI package's.
        #[arg(long)]
        problems: Option<PathBuf>,
        /// Where results.jsonl and pass_rates.svg go.
        #[arg(long, default_value = "humaneval-results")]
        out: PathBuf,
    },
    /// Memory: insert rate, open time, search p50/p99 and recall@10 at 10k and 100k artifacts.
    Memory {
        /// Store sizes to measure.
        #[arg(long, value_delimiter = ',', default_values_t = vec![10_000, 100_000])]
        sizes: Vec<usize>,
        #[arg(long, default_value_t = 500)]
        queries: usize,
    },
    /// The sandbox: a jailed warm run against a fresh interpreter, and what each layer costs.
    Sandbox {
        #[arg(long, default_value_t = 200)]
        runs: usize,
    },
    /// The auto-evolution due check on a registry of many nodes with run histories.
    Due {
        #[arg(long, default_value_t = 10_000)]
        nodes: usize,
        #[arg(long, default_value_t = 20)]
        runs: usize,
    },
}

#[cfg(test)]
#[test]
fn the_command_line_is_consistent() {
    use clap::CommandFactory;
    Args::command().debug_assert();
}

fn main() {
    let args = Args::parse();
    cli::exit_quietly_when_stdout_closes();
    cli::init_logging(args.verbose);
    let global = Global { config: args.config, workspace: args.workspace, data_dir: args.data_dir };
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio runtime");
    let result = runtime.block_on(async move {
        match args.command {
            Command::Evolve { task, no_run, no_optimize, no_memory, compose, no_compose, json } => {
                let compose = if compose {
                    Some(true)
                } else if no_compose {
                    Some(false)
                } else {
                    None
                };
                let options = cli::evolve::Options {
                    run_task: !no_run,
                    optimize: !no_optimize,
                    use_memory: !no_memory,
                    compose,
                    json,
                };
                cli::evolve::run(&global, &task.join(" "), options).await
            }
            Command::Chat => cli::chat::run(&global).await,
            Command::Run { node, input } => cli::nodes::run(&global, &node, &input).await,
            Command::List { json } => cli::nodes::list(&global, json),
            Command::Show { node, json } => cli::nodes::show(&global, &node, json),
            Command::Status => cli::status::run(&global).await,
            Command::Tools { what } => match what {
                ToolsCommand::List { json } => cli::tools::list(&global, json).await,
                ToolsCommand::Search { text, k, json } => cli::tools::search(&global, &text.join(" "), k, json).await,
                ToolsCommand::Show { name } => cli::tools::show(&global, &name).await,
            },
            Command::Test { node } => cli::lifecycle::test(&global, &node).await,
            Command::Optimize { node } => cli::lifecycle::optimize(&global, &node).await,
            Command::Evaluate { node, version, json } => cli::lifecycle::evaluate(&global, &node, version, json).await,
            Command::Rollback { node, version } => cli::lifecycle::rollback(&global, &node, version),
            Command::Delete { node } => cli::lifecycle::delete(&global, &node).await,
            Command::EvolveDue { dry_run, json } => cli::lifecycle::evolve_due(&global, dry_run, json).await,
            Command::Memory { what } => match what {
                MemoryCommand::Search { query, k, kind, json } => {
                    cli::memory::search(&global, &query.join(" "), k, kind, json).await
                }
                MemoryCommand::Stats => cli::memory::stats(&global).await,
                MemoryCommand::Delete { id } => cli::memory::delete(&global, &id).await,
                MemoryCommand::Clear { kind } => cli::memory::clear(&global, &kind).await,
                MemoryCommand::Export { file } => cli::memory::export(&global, &file).await,
                MemoryCommand::Import { file } => cli::memory::import(&global, &file).await,
                MemoryCommand::Migrate { to, target, collection, api_key } => {
                    cli::memory::migrate(&global, &to, &target, collection, api_key).await
                }
                MemoryCommand::Reembed => cli::memory::reembed(&global).await,
            },
            Command::Lsp { .. } => match code_evolver::lsp::serve_stdio(global).await {
                // LSP's own exit codes: 1 after `exit` without `shutdown`.
                0 => Ok(()),
                _ => Err(cli::CliError::Reported),
            },
            Command::Setup { no_powerful, test_models, no_models } => {
                cli::setup::run(&global, cli::setup::SetupOptions { no_powerful, test_models, no_models }).await
            }
            Command::Bench {
                what: BenchCommand::Humaneval { backend, models, limit, skip, jobs, mode, problems, out },
            } => {
                let options =
                    cli::bench::humaneval::Options { backend, models, limit, skip, jobs, mode, problems, out };
                cli::bench::humaneval::run(&global, options).await
            }
            Command::Bench { what: BenchCommand::Memory { sizes, queries } } => {
                cli::bench::memory::run(&sizes, queries).await
            }
            Command::Bench { what: BenchCommand::Sandbox { runs } } => cli::bench::sandbox::run(runs).await,
            Command::Bench { what: BenchCommand::Due { nodes, runs } } => {
                cli::bench::due::run(&global, nodes, runs).await
            }
            Command::Bench { what: BenchCommand::Embedded { limit, no_smoke } } => {
                cli::bench::embedded::run(&global, limit, no_smoke).await
            }
            Command::Smoke {
                limit,
                skip,
                jobs,
                models,
                backend,
                fast_only,
                no_optimize,
                show_stages,
                json,
                compound,
                no_compose,
                memory,
                rerun,
            } => {
                let models = if fast_only && models == "ladder" { "fast-generator".to_string() } else { models };
                cli::bench::smoke::run(
                    &global,
                    cli::bench::smoke::Options {
                        limit,
                        skip,
                        jobs,
                        models,
                        backend,
                        optimize: !no_optimize,
                        verbose: show_stages,
                        json,
                        compound,
                        compose: no_compose.then_some(false),
                        memory,
                        rerun,
                    },
                )
                .await
            }
        }
    });
    if let Err(e) = &result {
        e.print();
    }
    code_evolver::scratch::remove_own();
    std::process::exit(result.as_ref().map_or_else(cli::CliError::exit_code, |()| 0));
}
