//! Running saved nodes and single programs in the sandbox, and recording the runs in the
//! registry (what `code-evolver run` and the evolve's final run use).

use super::events::{EventSink, Stage};
use super::evolver::{Ctx, EvolveError, Evolver, NodeRun};
use super::verify::TestReport;
use super::{node, tests};
use crate::pipeline::budget::Budget;
use crate::registry::RunMetrics;
use crate::sandbox::{NodeLimits, RunKind, RunRequest};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

impl Evolver {
    /// A token and time budget for one piece of work, the size of an evolve's.
    pub(super) fn new_budget(&self) -> Arc<Budget> {
        Arc::new(Budget::new(
            self.config().limits.evolve_tokens,
            Duration::from_secs_f64(self.config().limits.evolve_time_s),
        ))
    }

    /// The context work on saved nodes or user code runs in (no memory); with `caller`,
    /// `call_tool` is served for its runs.
    pub(super) fn work_ctx<'a>(
        &'a self,
        budget: &'a Arc<Budget>,
        cancel: &'a CancellationToken,
        events: &'a EventSink,
        caller: Option<&str>,
    ) -> Ctx<'a> {
        Ctx {
            config: self.config(),
            router: self.router(),
            sandbox: self.sandbox(),
            linters: self.linters(),
            budget,
            cancel,
            events,
            tools: caller.map(|c| self.tool_handler(budget, cancel, events, Stage::Verify, c)),
            memory: None,
        }
    }

    pub(super) fn record(&self, id: &str, version: i64, purpose: &str, run: &NodeRun) -> Result<(), EvolveError> {
        let output = match &run.output {
            Ok(v) => v.to_string(),
            Err(e) => e.clone(),
        };
        self.registry().record_run(
            id,
            version,
            &RunMetrics {
                purpose,
                input: &run.input.to_string(),
                output: &output,
                ok: run.output.is_ok(),
                wall_ms: run.metrics.wall_ms,
                user_ms: run.metrics.user_ms,
                sys_ms: run.metrics.sys_ms,
                max_rss_kb: run.metrics.max_rss_kb,
                exit_code: run.metrics.exit_code,
                error: run.output.as_ref().err().map(String::as_str),
                caller: None,
            },
        )?;
        Ok(())
    }

    /// The run of the spec's cases that verified `version`, with its figures.
    pub(super) fn record_test_run(
        &self,
        id: &str,
        version: i64,
        cases: usize,
        report: &TestReport,
    ) -> Result<(), EvolveError> {
        self.registry().record_run(
            id,
            version,
            &RunMetrics {
                purpose: "tests",
                input: &format!("{cases} spec cases"),
                output: &format!("{}/{} passed", report.passed, report.total),
                ok: report.all_passed(),
                wall_ms: report.wall_ms,
                user_ms: report.cpu_ms,
                sys_ms: 0.0,
                max_rss_kb: report.max_rss_kb,
                exit_code: Some(0),
                error: None,
                caller: None,
            },
        )?;
        Ok(())
    }

    pub(super) async fn run_program(
        &self,
        ctx: &Ctx<'_>,
        program: &str,
        input: &serde_json::Value,
        limits: &NodeLimits,
    ) -> Result<NodeRun, EvolveError> {
        let request = RunRequest {
            kind: RunKind::Script { script: tests::NODE_FILE.into(), runtime: false, args: vec![] },
            files: BTreeMap::from([(tests::NODE_FILE.to_string(), program.to_string())]),
            stdin: input.to_string(),
            env: BTreeMap::new(),
            limits: limits.clone(),
            tools: ctx.tools.clone(),
        };
        let outcome = match ctx.run_sandboxed(&request).await {
            Ok(outcome) => outcome,
            Err(EvolveError::Sandbox(crate::sandbox::SandboxError::Runner(why))) => {
                let output = Err(format!("the node broke the sandbox's runner ({why}); it was restarted"));
                return Ok(NodeRun { input: input.clone(), output, metrics: Default::default() });
            }
            Err(e) => return Err(e),
        };
        let output = node::parse_output(&outcome, limits);
        Ok(NodeRun { input: input.clone(), output, metrics: outcome })
    }

    /// `code-evolver run NODE --input JSON`: the node's current version, in the sandbox, with its
    /// tools served; the run is recorded.
    pub async fn run_node(
        &self,
        id_or_prefix: &str,
        input: serde_json::Value,
        events: EventSink,
        cancel: CancellationToken,
    ) -> Result<(String, i64, NodeRun), EvolveError> {
        if !input.is_object() {
            return Err(EvolveError::Node(
                "the input must be a JSON object of named arguments, e.g. '{\"a\": 1, \"b\": 2}'".into(),
            ));
        }
        let detail = self.registry().get(id_or_prefix)?;
        let budget = Arc::new(Budget::new(
            self.config().limits.evolve_tokens,
            Duration::from_secs_f64(self.config().limits.evolve_time_s),
        ));
        let tools = self.tool_handler(&budget, &cancel, &events, Stage::Run, &detail.id);
        let ctx = Ctx {
            config: self.config(),
            router: self.router(),
            sandbox: self.sandbox(),
            linters: self.linters(),
            budget: &budget,
            cancel: &cancel,
            events: &events,
            tools: Some(tools),
            memory: None,
        };
        let limits = self.node_limits(usize::from(detail.uses_tools), 0);
        let run = self.run_program(&ctx, &detail.program, &input, &limits).await?;
        self.record(&detail.id, detail.current_version, "run", &run)?;
        Ok((detail.id, detail.current_version, run))
    }
}
