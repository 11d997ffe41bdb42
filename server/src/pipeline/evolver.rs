//! The engine's API: `Evolver::evolve` runs classify → (recall) → plan → tests → generate → verify →
//! escalate → analyse → optimize → (remember) and returns a verified, measured node. The CLI and
//! the language server both drive it and render its events.

use super::budget::Budget;
use super::compose::StepRef;
pub use super::ctx::{Ctx, describe_call, model_call_event};
use super::escalate::{Job, Verified, generate_until_green};
use super::events::{Detail, Event, EventSink, Level, Stage};
use super::mutation::MutationReport;
use super::optimize::optimize;
pub use super::request::{EvolveError, EvolveOutcome, EvolveRequest, NodeRun};
use super::spec::{Classification, Complexity, Spec, TaskKind};
use super::tool_calls::ToolCalls;
use super::verify::prepare_dir;
use super::{analyse, classify, extend, mutation, node, plan, recall, tests};
use crate::analysis::{LinterReport, Linters};
use crate::config::{Config, Role};
use crate::llm::Router;
use crate::memory::Memory;
use crate::registry::Registry;
use crate::sandbox::tools::ToolHandler;
use crate::sandbox::{NodeLimits, Sandbox, SandboxError};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// What the evolve knows before any code: the classification, what memory recalled, the spec
/// and the tests written from it.
struct Planned {
    classification: Classification,
    recalled: recall::Recalled,
    spec: Spec,
    tests: String,
    /// A workflow's verified steps' code, defined above the task's function.
    prelude: Option<String>,
}

/// What an evolve keeps, for the registry and memory.
pub(super) struct Kept<'a> {
    pub task: &'a str,
    /// What the first version is (a workflow names its steps), for the registry.
    pub change: String,
    /// The verified steps the code calls (a workflow's function), linked in the registry.
    pub steps: Vec<crate::registry::StepLink>,
    pub classification: &'a Classification,
    pub verified: &'a Verified,
    pub mutation: Option<&'a MutationReport>,
    pub optimized: &'a super::optimize::Optimized,
    pub analysis: &'a [LinterReport],
}

pub struct Evolver {
    config: Arc<Config>,
    router: Arc<Router>,
    sandbox: Arc<Sandbox>,
    linters: Linters,
    registry: Arc<Registry>,
    memory: Option<Arc<Memory>>,
    /// Why the configured memory could not be opened (said at each evolve; evolves go on).
    memory_error: Option<String>,
    data_dir: PathBuf,
}

/// Stable, readable node ids: the function's name and a hash of the task.
pub fn node_id(function: &str, task: &str) -> String {
    let normalised: String = task.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    let digest = Sha256::digest(normalised.as_bytes());
    let tag: String = digest.iter().take(3).map(|b| format!("{b:02x}")).collect();
    let name: String = function.chars().take(30).collect();
    format!("{name}-{tag}")
}

impl Evolver {
    /// An engine on `config`, keeping its registry and runtime files in `data_dir`.
    pub fn new(config: Config, data_dir: &Path) -> Result<Evolver, EvolveError> {
        let router = Router::new(&config, data_dir).map_err(EvolveError::Llm)?;
        let python = crate::paths::find_python(&config.runtime.python, data_dir).ok_or(SandboxError::NoPython)?;
        let runtime = crate::paths::runtime_dir(data_dir)?;
        let registry = Registry::open(&crate::paths::registry_path(data_dir))?;
        let router = Arc::new(router);
        let (memory, memory_error) = match crate::memory::open_store(&config, data_dir) {
            Ok(Some(store)) => (Some(Arc::new(Memory::new(store, router.clone()))), None),
            Ok(None) => (None, None),
            Err(e) => (None, Some(e.to_string())),
        };
        Ok(Evolver {
            linters: Linters::new(Some(python.clone())),
            sandbox: Arc::new(Sandbox::with_settings(python, runtime, config.sandbox.clone())),
            router,
            config: Arc::new(config),
            registry: Arc::new(registry),
            memory,
            memory_error,
            data_dir: data_dir.to_path_buf(),
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }
    pub fn router(&self) -> &Router {
        &self.router
    }
    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }
    pub fn registry(&self) -> &Registry {
        &self.registry
    }
    pub fn linters(&self) -> &Linters {
        &self.linters
    }
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }
    /// The memory of verified solutions, when one is configured and open.
    pub fn memory(&self) -> Option<&Memory> {
        self.memory.as_deref()
    }
    /// The role on the ladder's top rung (where escalation ends).
    pub fn ladder_top(&self) -> Role {
        self.config.pipeline.escalation.last().map(|r| r.role).unwrap_or(Role::GeneratorFast)
    }
    pub fn memory_error(&self) -> Option<&str> {
        self.memory_error.as_deref()
    }

    pub(super) fn node_limits(&self, spec_tools: usize, cases: usize) -> NodeLimits {
        let base = NodeLimits::from_config(&self.config.limits);
        if spec_tools == 0 {
            return base;
        }
        // Each call_tool waits on a model; the node's timeout makes room for them.
        let per_call = Duration::from_secs_f64(self.config.limits.tool_call_timeout_s.max(1.0));
        base.with_extra_time(per_call * (cases as u32 + 2))
    }

    /// Once per evolve: the jail layers this machine does not give, and what that leaves open.
    pub(super) async fn say_missing_layers(&self, ctx: &Ctx<'_>) {
        let Ok(iso) = self.sandbox.isolation().await else { return };
        let missing = iso.missing();
        if !missing.is_empty() {
            let names: Vec<&str> = missing.iter().map(|l| l.name()).collect();
            ctx.warn(
                Stage::Classify,
                2,
                format!(
                    "sandbox: generated code runs without {} ({}): see `code-evolver status`; `sandbox.require` refuses such runs",
                    names.join(", "),
                    iso.jail_error.as_deref().unwrap_or("the kernel refuses them")
                ),
            );
        }
    }

    pub(super) fn tool_handler(
        &self,
        budget: &Arc<Budget>,
        cancel: &CancellationToken,
        events: &EventSink,
        stage: Stage,
        caller: &str,
    ) -> Arc<dyn ToolHandler> {
        Arc::new(ToolCalls {
            config: self.config.clone(),
            router: self.router.clone(),
            sandbox: self.sandbox.clone(),
            budget: budget.clone(),
            cancel: cancel.clone(),
            events: events.clone(),
            stage,
            registry: Some(self.registry.clone()),
            depth: 0,
            caller: caller.to_string(),
        })
    }

    /// Evolves a task into a verified, measured node: each stage below is one call, and each
    /// says what it did through `events`.
    pub async fn evolve(
        &self,
        request: EvolveRequest,
        events: EventSink,
        cancel: CancellationToken,
    ) -> Result<EvolveOutcome, EvolveError> {
        let started = Instant::now();
        let task = request.task.trim().to_string();
        if task.is_empty() {
            return Err(EvolveError::Spec("the task is empty: say what the code should do".into()));
        }
        let budget = request.budget.clone().unwrap_or_else(|| {
            Arc::new(Budget::new(
                self.config.limits.evolve_tokens,
                Duration::from_secs_f64(self.config.limits.evolve_time_s),
            ))
        });
        let tools = self.tool_handler(&budget, &cancel, &events, Stage::Verify, "evolve");
        let work = crate::scratch::temp_dir("evolve-")?;
        let ctx = Ctx {
            config: &self.config,
            router: &self.router,
            sandbox: &self.sandbox,
            linters: &self.linters,
            budget: &budget,
            cancel: &cancel,
            events: &events,
            tools: Some(tools.clone()),
            memory: if request.use_memory { self.memory.as_deref() } else { None },
        };

        if let Some(outcome) = self.evolve_again(&ctx, &request, &task, started).await? {
            return Ok(outcome);
        }
        let compose = request.compose.unwrap_or(self.config.workflow.enabled)
            && request.steps.is_empty()
            && request.depth < self.config.workflow.max_depth;
        if compose && let Some(steps) = super::compose::split(&ctx, &task).await? {
            drop(ctx);
            return Box::pin(self.evolve_workflow(request, steps, events, cancel, started, budget)).await;
        }
        let planned = self.understand(&ctx, &task, request.use_memory, &request.steps).await?;
        let limits = self.node_limits(planned.spec.tools.len(), planned.spec.test_cases.len());
        let verified = self.first_green(&ctx, &task, &planned, &limits).await?;
        // Where fresh implementations that pass the same tests disagree (probe.rs). Not asked of
        // arithmetic on numbers alone, to keep "add 10 and 20" fast; the kind alone is not
        // enough: the keyword fallback calls "truncate ... and add '...'" arithmetic too.
        let numeric = |t: &str| matches!(t.trim(), "int" | "float");
        let numbers_only = planned.classification.kind == TaskKind::Arithmetic
            && numeric(&verified.spec.function.returns)
            && verified.spec.function.parameters.iter().all(|p| numeric(&p.type_));
        let (verified, probe) = if numbers_only {
            (verified, None)
        } else {
            super::probe::probe(&ctx, &task, verified, &limits, 71).await?
        };
        // How strong are the tests? Mutants of the verified code must fail them; when too few
        // do, the overseer writes more cases (once) before the node counts as verified.
        let (verified, mutation) = self.strengthen(&ctx, &task, verified, &limits).await?;
        // The review may have corrected cases: from here on the corrected spec and tests count.
        let spec = verified.spec.clone();
        let test_text = verified.tests.clone();
        let final_dir = prepare_dir(work.path(), "verified", &verified.node, &test_text)?;
        let analysis = analyse::analyse(&ctx, &verified.node, &final_dir).await;
        if self.config.pipeline.analysis.blocking {
            let errors = analyse::blocking_errors(&analysis);
            if !errors.is_empty() {
                return Err(EvolveError::Blocked(errors.join("; ")));
            }
        }
        let ask = if request.optimize {
            super::optimize::Ask::AboveNs(self.config.pipeline.optimize.skip_below_ns)
        } else {
            super::optimize::Ask::Never
        };
        let optimized = optimize(&ctx, &task, &spec, &verified.code, &verified.node, &limits, ask).await?;
        // Findings must describe the code that is kept.
        let analysis = if optimized.accepted.is_empty() {
            analysis
        } else {
            let dir = prepare_dir(work.path(), "optimized", &optimized.node, &test_text)?;
            analyse::analyse(&ctx, &optimized.node, &dir).await
        };

        let kept = Kept {
            task: &task,
            change: super::compose::change_text(&request.steps),
            steps: super::compose::step_links(&request.steps),
            classification: &planned.classification,
            verified: &verified,
            mutation: mutation.as_ref(),
            optimized: &optimized,
            analysis: &analysis,
        };
        let (id, version) = self.persist(&kept)?;
        ctx.tell(
            Event::new(Stage::Remember, 96, Level::Info, format!("saved node {id} version {version} in the registry"))
                .with(Detail::Saved { node_id: id.clone(), version }),
        );
        if let Some(memory) = ctx.memory {
            self.learn(&ctx, memory, &kept, &id, version).await;
        }
        let result = if request.run_task {
            Some(self.run_on_task_input(&ctx, &id, version, &spec, &optimized.node, &limits).await?)
        } else {
            None
        };

        let oracle = verified.oracle.clone();
        let mut report = verified.report;
        report.stderr_tail.clear();
        ctx.emit(Stage::Done, 100, "done");
        Ok(EvolveOutcome {
            node_id: id,
            version,
            task,
            classification: planned.classification,
            spec,
            code: optimized.code,
            program: optimized.node,
            tests: test_text,
            report,
            attempts: verified.attempts,
            analysis,
            optimization: optimized.report,
            mutation,
            oracle,
            probe,
            result,
            workflow: None,
            calls: budget.calls(),
            tokens: budget.tokens_used(),
            duration_ms: started.elapsed().as_millis() as u64,
        })
    }

    /// Classify (while the runner starts), recall, plan the spec, write the tests from it. A
    /// workflow's own function is planned knowing the verified steps it calls.
    async fn understand(
        &self,
        ctx: &Ctx<'_>,
        task: &str,
        use_memory: bool,
        steps: &[(StepRef, String)],
    ) -> Result<Planned, EvolveError> {
        let (classification, warmed) = tokio::join!(classify::classify(ctx, task), self.sandbox.warm_up());
        warmed?;
        self.say_missing_layers(ctx).await;
        let classification = classification?;
        let message = format!(
            "{} / {}{} — {}",
            classification.kind.as_str(),
            classification.complexity.as_str(),
            if classification.by_keywords { " (keyword fallback)" } else { "" },
            classification.reason
        );
        ctx.tell(Event::new(Stage::Classify, 6, Level::Info, message).with(Detail::Classified {
            kind: classification.kind.as_str().into(),
            complexity: classification.complexity.as_str().into(),
            by_keywords: classification.by_keywords,
        }));
        if use_memory && let Some(e) = &self.memory_error {
            ctx.warn(Stage::Recall, 7, format!("memory unavailable: {e}"));
        }
        let recalled = match ctx.memory {
            Some(memory) => recall::recall(ctx, memory, task).await?,
            None => recall::Recalled::default(),
        };
        let offered = self.offered_tools(ctx, task).await;
        let reference = match (super::compose::steps_note(steps), &recalled.spec_hint) {
            (Some(note), Some(hint)) => Some(format!("{note}\n{hint}")),
            (note, hint) => note.or(hint.clone()),
        };
        let spec = plan::plan(ctx, task, &classification, reference.as_deref(), &offered).await?;
        let message = format!(
            "spec: {} — {} test cases{}",
            spec.signature(),
            spec.test_cases.len(),
            if spec.tools.is_empty() { String::new() } else { format!(", tools: {}", spec.tools.join(", ")) }
        );
        ctx.tell(
            Event::new(Stage::Plan, 20, Level::Info, message)
                .with(Detail::Spec { signature: spec.signature(), cases: spec.test_cases.len() }),
        );
        let tests = tests::render(&spec, task, spec.tools.is_empty());
        ctx.emit(
            Stage::Tests,
            25,
            format!("wrote {} pytest cases from the spec, before any code", spec.test_cases.len()),
        );
        Ok(Planned { classification, recalled, spec, tests, prelude: super::compose::prelude(steps) })
    }

    /// The first code that passes the spec's tests: a recalled solution that still passes them,
    /// else the generation ladder (fresh samples, repairs, stronger models).
    async fn first_green(
        &self,
        ctx: &Ctx<'_>,
        task: &str,
        planned: &Planned,
        limits: &NodeLimits,
    ) -> Result<Verified, EvolveError> {
        let start_rung = self.start_rung(&planned.classification);
        if start_rung > 0 {
            ctx.emit(
                Stage::Generate,
                28,
                format!("complex algorithm: starting at rung {} of the ladder", start_rung + 1),
            );
        }
        let recalled = &planned.recalled;
        let reused = match &recalled.reuse {
            Some(candidate) => recall::try_reuse(ctx, candidate, task, &planned.spec, limits).await?,
            None => None,
        };
        if let Some(verified) = reused {
            return Ok(verified);
        }
        let template = recalled.template.clone().or_else(|| recalled.reuse.as_ref().map(|c| c.code.clone()));
        let job = Job {
            task,
            spec: &planned.spec,
            tests: &planned.tests,
            start_rung,
            limits,
            template: template.as_deref(),
            patterns: recalled.patterns.as_deref(),
            prelude: planned.prelude.as_deref(),
            first_temperature: None,
        };
        generate_until_green(ctx, &job).await?.map_err(|failed| {
            let detail = failed
                .last_report
                .as_ref()
                .map(|r| r.failures_text().trim().replace('\n', "; "))
                .or_else(|| failed.attempts.last().map(|a| a.outcome.clone()))
                .unwrap_or_default();
            EvolveError::TestsFailed { attempts: failed.attempts.len(), detail }
        })
    }

    /// The kept node run on the task's own input, recorded as its first real run.
    async fn run_on_task_input(
        &self,
        ctx: &Ctx<'_>,
        id: &str,
        version: i64,
        spec: &Spec,
        program: &str,
        limits: &NodeLimits,
    ) -> Result<NodeRun, EvolveError> {
        let input = serde_json::Value::Object(spec.task_input.clone());
        ctx.emit(Stage::Run, 97, format!("running the node on the task's input {input}"));
        let run = self.run_program(ctx, program, &input, limits).await?;
        self.record(id, version, "evolve", &run)?;
        Ok(run)
    }

    /// Verified nodes close enough in meaning to the task to be offered to the overseer as tools
    /// (configured tools are always listed). Never fails the evolve: no offer instead.
    async fn offered_tools(&self, ctx: &Ctx<'_>, task: &str) -> Vec<super::toolbox::RankedTool> {
        let settings = &self.config.tool_fitness;
        if settings.offered == 0 || ctx.memory.is_none() {
            return Vec::new();
        }
        let mut ranked = match self.search_tools(task, settings.offered * 4).await {
            Ok(r) => r,
            Err(e) => {
                ctx.warn(Stage::Plan, 7, format!("no tools offered: {e}"));
                return Vec::new();
            }
        };
        ranked.retain(|r| r.tool.kind == "node" && r.similarity >= settings.min_similarity);
        ranked.truncate(settings.offered);
        if !ranked.is_empty() {
            ctx.emit(
                Stage::Plan,
                7,
                format!(
                    "verified nodes offered as tools: {}",
                    ranked.iter().map(|r| format!("{} ({:.0})", r.tool.name, r.fitness)).collect::<Vec<_>>().join(", ")
                ),
            );
        }
        ranked
    }

    /// The mutation score of the verified node's tests, and more cases when it is too low.
    async fn strengthen(
        &self,
        ctx: &Ctx<'_>,
        task: &str,
        verified: Verified,
        limits: &NodeLimits,
    ) -> Result<(Verified, Option<MutationReport>), EvolveError> {
        let settings = &self.config.pipeline.mutation;
        let measured =
            mutation::measure(ctx, task, &verified.spec, &verified.code, limits, verified.report.wall_ms).await?;
        let Some(first) = measured else {
            return Ok((verified, None));
        };
        ctx.emit(Stage::Tests, 72, first.summary());
        // Fewer than three cases (a consensus dropped wrong ones) are weak whatever the score.
        let weak = first.score < settings.min_score || verified.spec.test_cases.len() < 3;
        if !weak || !settings.extend {
            if weak {
                ctx.warn(Stage::Tests, 72, format!("weak tests: survivors {}", first.survivors.join("; ")));
            }
            return Ok((verified, Some(first)));
        }
        let Some((extended, added)) = extend::extend(ctx, task, &verified, limits, 73).await? else {
            return Ok((verified, Some(first)));
        };
        let again =
            mutation::measure(ctx, task, &extended.spec, &extended.code, limits, extended.report.wall_ms).await?;
        let report = again.map(|mut m| {
            m.score_before = Some(first.score);
            m.cases_added = added;
            m
        });
        if let Some(m) = &report {
            ctx.emit(Stage::Tests, 74, m.summary());
        }
        Ok((extended, report.or(Some(first))))
    }

    /// Complex algorithms start on the first powerful rung of the ladder; everything else at the
    /// bottom.
    fn start_rung(&self, c: &Classification) -> usize {
        if c.kind == TaskKind::Algorithm && c.complexity == Complexity::Complex {
            self.config
                .pipeline
                .escalation
                .iter()
                .position(|r| matches!(r.role, Role::GeneratorPowerful | Role::Escalation))
                .unwrap_or(0)
        } else {
            0
        }
    }
}

/// The model's part of a node program (what an editor receives).
pub fn function_code(program: &str) -> String {
    node::model_part(program)
}
