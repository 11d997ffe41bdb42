//! Work on code the user already has (the editor's "optimize this function" and "write tests for
//! this function"). The overseer writes a spec of the function from its name, signature, docstring
//! and body, as it would for a task.
//!
//! - optimize: the function is the reference whose behaviour must be kept, so the expected value
//!   of every spec input is what the original returns (run in the sandbox); then the same optimize
//!   loop as an evolve (alternating timed runs, median, beyond noise). A version replaces the
//!   original only when it passes every test and is measurably faster.
//! - write tests: the spec's expected values stand (they come from what the function is meant to
//!   do, not from running it); the tests are then run against the function and the report says
//!   which pass, so a failing one points at a bug or a wrong expectation for the user to judge.

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::events::{EventSink, Stage};
use super::evolver::{Ctx, EvolveError, Evolver};
use super::optimize::{OptimizationReport, optimize};
use super::spec::{Check, Classification, Complexity, Spec, TaskKind};
use super::verify::{TestReport, run_cases, run_tests};
use super::{node, plan, tests};
use std::collections::BTreeMap;

/// A function from the user's code.
#[derive(Debug, Clone)]
pub struct ExistingFunction {
    pub name: String,
    /// The function's source (top level, decorators included).
    pub code: String,
    /// What it needs from its module to run alone: imports, helpers, constants.
    pub context: String,
    /// The whole module, as the user's tests would import it.
    pub module_source: String,
    /// The module's import name (the file's stem).
    pub module_name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct FunctionOptimized {
    /// The faster code (the function, plus helpers and imports it added), when one was kept.
    pub code: Option<String>,
    pub report: OptimizationReport,
    /// Cases the optimized version had to reproduce (inputs the original handled).
    pub cases: usize,
    pub tests: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct WrittenTests {
    /// A pytest file that imports the function from its module.
    pub file_text: String,
    pub report: TestReport,
    pub cases: usize,
}

fn existing_task(f: &ExistingFunction) -> String {
    format!(
        "Describe the existing Python function `{name}` below as a spec. Keep the name `{name}` and its parameters \
         exactly as they are. Test cases use inputs that exercise it (typical values, edge cases), with the results \
         its name, docstring and code imply.\n```python\n{code}\n```",
        name = f.name,
        code = f.code.trim_end()
    )
}

impl Evolver {
    /// The overseer's spec of an existing function, its name forced to the function's own.
    async fn spec_of(&self, ctx: &Ctx<'_>, f: &ExistingFunction) -> Result<Spec, EvolveError> {
        let classification = Classification {
            kind: TaskKind::Algorithm,
            complexity: Complexity::Simple,
            reason: "an existing function".into(),
            by_keywords: false,
        };
        let mut spec = plan::plan(ctx, &existing_task(f), &classification, None, &[]).await?;
        if spec.function.name != f.name {
            ctx.warn(
                Stage::Plan,
                20,
                format!("the spec named the function `{}`; it is `{}`", spec.function.name, f.name),
            );
            spec.function.name = f.name.clone();
        }
        Ok(spec)
    }

    /// Optimizes an existing function; see the module's doc.
    pub async fn optimize_function(
        &self,
        f: &ExistingFunction,
        events: EventSink,
        cancel: CancellationToken,
    ) -> Result<FunctionOptimized, EvolveError> {
        let budget = self.new_budget();
        let ctx = self.work_ctx(&budget, &cancel, &events, None);
        self.sandbox().warm_up().await?;
        let mut spec = self.spec_of(&ctx, f).await?;
        let code = format!("{}\n\n\n{}", f.context.trim_end(), f.code.trim_end()).trim_start().to_string();
        let task = format!("optimize `{}`", f.name);
        let program = node::assemble(&task, &code, &f.name);
        let limits = self.node_limits(0, spec.test_cases.len());

        // The original is the reference: its outputs are the expected values.
        ctx.emit(Stage::Tests, 25, format!("running the original on {} spec inputs", spec.test_cases.len()));
        let mut kept = Vec::new();
        for mut case in std::mem::take(&mut spec.test_cases) {
            let run = self.run_program(&ctx, &program, &serde_json::Value::Object(case.input.clone()), &limits).await?;
            match run.output {
                Ok(value) => {
                    case.expected = value;
                    case.check = Check::Equals;
                    kept.push(case);
                }
                Err(why) => {
                    ctx.warn(Stage::Tests, 28, format!("input {} dropped: the original fails on it ({why})", case.name))
                }
            }
        }
        if kept.is_empty() {
            return Err(EvolveError::Spec(format!(
                "the original `{}` failed on every input the spec proposed; does it need names from elsewhere in its module?",
                f.name
            )));
        }
        spec.test_cases = kept;
        if let Some(bench) = &spec.benchmark_input
            && self
                .run_program(&ctx, &program, &serde_json::Value::Object(bench.clone()), &limits)
                .await?
                .output
                .is_err()
        {
            spec.benchmark_input = None;
        }
        let test_text = tests::render(&spec, &task, false);
        let baseline = run_tests(&ctx, &spec.function.name, &spec.test_cases, &program, false, &limits).await?;
        if !baseline.all_passed() {
            return Err(EvolveError::Node(format!(
                "the original does not pass the tests made from its own outputs (is it deterministic?): {}",
                baseline.failures_text().trim()
            )));
        }
        ctx.emit(
            Stage::Tests,
            30,
            format!("{} cases from the original's outputs; it passes all", spec.test_cases.len()),
        );
        let optimized = optimize(&ctx, &task, &spec, &code, &program, &limits, super::optimize::Ask::Always).await?;
        ctx.emit(Stage::Done, 100, "done");
        Ok(FunctionOptimized {
            code: (!optimized.accepted.is_empty()).then_some(optimized.code),
            report: optimized.report,
            cases: spec.test_cases.len(),
            tests: test_text,
        })
    }

    /// A pytest file for an existing function, from its spec; run against the function.
    pub async fn write_tests(
        &self,
        f: &ExistingFunction,
        events: EventSink,
        cancel: CancellationToken,
    ) -> Result<WrittenTests, EvolveError> {
        let budget = self.new_budget();
        let ctx = self.work_ctx(&budget, &cancel, &events, None);
        self.sandbox().warm_up().await?;
        let spec = self.spec_of(&ctx, f).await?;
        let task = format!("the behaviour of `{}` in {}.py", f.name, f.module_name);
        let file_text = tests::render_importing(&spec, &task, &f.module_name, false);
        ctx.emit(Stage::Tests, 60, format!("wrote {} pytest cases from the spec", spec.test_cases.len()));
        // Run them against the user's module as it is (in the sandbox: the module is code too).
        let files = BTreeMap::from([(format!("{}.py", f.module_name), f.module_source.clone())]);
        let limits = self.node_limits(0, spec.test_cases.len());
        let report = run_cases(&ctx, files, &f.module_name, &f.name, &spec.test_cases, &limits).await?;
        ctx.emit(Stage::Verify, 95, format!("{}/{} pass on the current code", report.passed, report.total));
        ctx.emit(Stage::Done, 100, "done");
        Ok(WrittenTests { file_text, report, cases: spec.test_cases.len() })
    }
}
