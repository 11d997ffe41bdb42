//! escalate: the configured ladder of (role, temperature) rungs. Each rung generates, the spec's
//! tests judge, and the next rung sees the failing cases and errors. Stops when the tests pass,
//! the ladder ends, or the budget is spent.

use super::consensus::{LoneFailure, OracleReport};

mod outvote;
use super::events::{Detail, Event, Level, Stage};
use super::evolver::{Ctx, EvolveError};
use super::generate::{Attempt, Generated, StubForm, generate};
use super::node;
use super::spec::Spec;
use super::verify::{TestReport, run_spec_tests};
use crate::config::Role;
use crate::sandbox::NodeLimits;
use serde::Serialize;

/// Who made an attempt: a model in its role, or memory (a recalled solution, re-tested).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptBy {
    Model(Role),
    Memory,
}

/// Written as the role's name, or `memory`.
impl Serialize for AttemptBy {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(match self {
            AttemptBy::Model(role) => role.as_str(),
            AttemptBy::Memory => "memory",
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct AttemptRecord {
    pub rung: usize,
    #[serde(rename = "role")]
    pub by: AttemptBy,
    pub model: String,
    pub temperature: f32,
    pub passed: usize,
    pub total: usize,
    pub outcome: String,
}

pub struct Verified {
    /// The spec and tests, with any case the review corrected.
    pub spec: Spec,
    pub tests: String,
    /// The model's code (function and helpers).
    pub code: String,
    /// The node program (code + the engine's I/O).
    pub node: String,
    pub report: TestReport,
    pub attempts: Vec<AttemptRecord>,
    /// When a later rung fixed a failing one: the failure and the code that failed.
    pub repaired: Option<(String, String)>,
    /// What the consensus of independent implementations did, when it was asked.
    pub oracle: Option<OracleReport>,
}

pub struct Failed {
    pub attempts: Vec<AttemptRecord>,
    pub last_report: Option<TestReport>,
}

/// What the ladder works on.
pub struct Job<'a> {
    pub task: &'a str,
    pub spec: &'a Spec,
    /// The pytest file written from the spec.
    pub tests: &'a str,
    /// Where the ladder starts (complex algorithms start higher).
    pub start_rung: usize,
    pub limits: &'a NodeLimits,
    /// Related verified code to adapt (from memory, or the node's current version).
    pub template: Option<&'a str>,
    /// Helpers that verified nodes of similar tasks share (pattern memory).
    pub patterns: Option<&'a str>,
    /// A workflow's verified steps, defined above the code (compose.rs).
    pub prelude: Option<&'a str>,
    /// The first rung's temperature, when not the ladder's (auto-evolution's mutation temperature).
    pub first_temperature: Option<f32>,
}

/// Whether a rung sees the overseer's requirements and plan. Not when the same model wrote them:
/// its own plan adds nothing it does not know, and small models copy its pseudo-code verbatim,
/// mistakes and all (HumanEval, first 40, 0.5B writing both: 35% -> 80% with this and the plain
/// code block together).
/// Not when the task carried a stub either: the author's docstring says what to do, and even a
/// stronger overseer's paraphrase led the 0.5B astray (0.5B generator with a 1.5B overseer: 67.5%
/// with the plan shown).
fn show_plan(ctx: &Ctx<'_>, spec: &Spec, rung: &crate::llm::router::RoleRoute) -> bool {
    let overseer = ctx.router.route(Role::Overseer);
    spec.stub.is_none()
        && (overseer.backend.as_str(), overseer.model.as_str()) != (rung.backend.as_str(), rung.model.as_str())
}

/// What the ladder has learned so far: the spec and tests as judged, the failed code and why,
/// the attempts, and which models made an independent attempt.
struct Ladder {
    spec: Spec,
    tests: String,
    /// How often failing cases were judged: once, and once more (with the failed attempts in the
    /// pool) when the first found no consensus.
    judged: u8,
    /// The code of each failed attempt, for that second consensus.
    failed_codes: Vec<String>,
    oracle: Option<OracleReport>,
    /// The spec without the task's case that stood against a consensus, and that consensus's
    /// code: the last resort when no attempt passes the case.
    overruled: Option<(Spec, String)>,
    attempts: Vec<AttemptRecord>,
    last_code: Option<String>,
    last_failures: Option<String>,
    last_report: Option<TestReport>,
    /// Code that failed, normalised, so a repeat is caught.
    tried: Vec<String>,
    /// The models that have made an independent (not repair) attempt.
    asked: Vec<(String, String)>,
    /// Attempts sent back untested for ignoring a parameter: three at most (the default ladder's
    /// first repair is its third rung), then such code is tested (the spec's parameter may be one
    /// the task does not need).
    ignored_sent_back: u8,
    /// Attempts that failed one case and no other (consensus::outvoting).
    lone_failures: Vec<LoneFailure>,
    /// Cases that attempts of another shape of answer did not outvote: their code failed the
    /// overseer's cases with new inputs (outvote.rs). Asked once per case.
    outvote_refused: Vec<String>,
}

/// The code of one attempt, its node program and its test report.
struct Tested {
    code: String,
    program: String,
    report: TestReport,
}

pub async fn generate_until_green(ctx: &Ctx<'_>, job: &Job<'_>) -> Result<Result<Verified, Failed>, EvolveError> {
    let Job { task, start_rung, limits, template, patterns, prelude, first_temperature, .. } = *job;
    let mut ladder = Ladder {
        spec: job.spec.clone(),
        tests: job.tests.to_string(),
        judged: 0,
        failed_codes: Vec::new(),
        oracle: None,
        overruled: None,
        attempts: Vec::new(),
        last_code: None,
        last_failures: None,
        last_report: None,
        tried: Vec::new(),
        asked: Vec::new(),
        ignored_sent_back: 0,
        lone_failures: Vec::new(),
        outvote_refused: Vec::new(),
    };
    let rungs_config = &ctx.config.pipeline.escalation;
    let rungs: Vec<usize> = (start_rung.min(rungs_config.len() - 1)..rungs_config.len()).collect();
    let span = 40.0 / rungs.len().max(1) as f32;
    for (i, &rung_index) in rungs.iter().enumerate() {
        let rung = &rungs_config[rung_index];
        let base = 30 + (i as f32 * span) as u8;
        let stage = if i == 0 { Stage::Generate } else { Stage::Escalate };
        let route = ctx.router.route(rung.role);
        announce(ctx, stage, base, (i + 1, rungs.len()), rung, &route);
        let failures = ladder.failures_for(ctx, rung).await;
        let repair = match (&ladder.last_code, &failures) {
            (Some(c), Some(f)) => Some((c.as_str(), f.as_str())),
            (None, Some(f)) => Some(("# (no usable code)", f.as_str())),
            _ => None,
        };
        // A model's first independent attempt at a stub is the plain completion request; its
        // next one, and every repair, is asked in the task's own words under the code rules,
        // unless the rung says which.
        let model = (route.backend.clone(), route.model.clone());
        let form = rung.form.unwrap_or(if repair.is_none() && !ladder.asked.contains(&model) {
            StubForm::Completion
        } else {
            StubForm::Instruction
        });
        if repair.is_none() {
            ladder.asked.push(model);
        }
        let attempt = Attempt {
            role: rung.role,
            temperature: if i == 0 { first_temperature.unwrap_or(rung.temperature) } else { rung.temperature },
            repair,
            form,
            template,
            patterns,
            prelude,
            task,
            show_plan: show_plan(ctx, &ladder.spec, &route),
            // Two fresh rungs at the same temperature would otherwise draw the same answer.
            seed: Some(1000 + rung_index as u64),
        };
        let mut record = AttemptRecord {
            rung: rung_index + 1,
            by: AttemptBy::Model(rung.role),
            model: route.model.clone(),
            temperature: rung.temperature,
            passed: 0,
            total: ladder.spec.test_cases.len(),
            outcome: String::new(),
        };
        let generated = ladder.generate_fresh(ctx, &attempt, stage, base, rung.temperature).await?;
        match generated {
            Generated::Unusable { reason, raw } => {
                ctx.warn(stage, base + 3, format!("unusable answer: {reason}"));
                record.outcome = format!("unusable: {reason}");
                ladder.last_failures = Some(format!("- {reason}\n"));
                if raw.contains("def ") {
                    ladder.last_code = Some(raw);
                }
            }
            Generated::Code { code, note } => {
                if let Some(note) = note {
                    ctx.warn(stage, base + 3, note);
                }
                let copied = hard_coded(&ladder.spec, &code);
                let ignored =
                    if ladder.ignored_sent_back < 3 { ignored_parameters(&ladder.spec, &code) } else { Vec::new() };
                if !copied.is_empty() || !ignored.is_empty() {
                    let why = if copied.is_empty() {
                        ladder.ignored_sent_back += 1;
                        record.outcome = format!("ignored its parameters {}", ignored.join(", "));
                        super::code_values::ignored_problem(&ignored)
                    } else {
                        record.outcome = format!("hard-coded the task's values {}", copied.join(", "));
                        super::code_values::problem(&ladder.spec, &copied)
                    };
                    ctx.warn(stage, base + 3, format!("not tested: {why}"));
                    ladder.last_failures = Some(format!("- {why}\n"));
                    ladder.tried.push(normalised(&code));
                    ladder.last_code = Some(code);
                    ladder.attempts.push(record);
                    continue;
                }
                let code = super::compose::with_prelude(&code, prelude);
                let program = node::assemble(task, &code, &ladder.spec.function.name);
                ctx.emit(Stage::Verify, base + 5, "running the spec's tests in the sandbox");
                let report = run_spec_tests(ctx, &ladder.spec, &program, limits).await?;
                let mut tested = Tested { code, program, report };
                if !tested.report.all_passed() && tested.report.abnormal.is_none() && ladder.may_judge() {
                    ladder.judged += 1;
                    ladder.judge_failing_cases(ctx, task, limits, base, &mut tested, &mut record).await?;
                }
                if let Some(verified) = ladder.verdict(ctx, base, tested, record) {
                    return Ok(Ok(verified));
                }
                // Another model than the consensus's fails the task's case too: it breaks the tie.
                if ladder.another_model_fails_the_kept_case(ctx, &route.model)
                    && let Some(verified) = ladder
                        .overrule_the_task_case(ctx, task, limits, &format!("{}'s code fails", route.model))
                        .await?
                {
                    return Ok(Ok(verified));
                }
                ladder.note_lone_failure(rung.role, &route.model);
                if let Some(verified) = ladder.outvote_a_case(ctx, task, limits, false).await? {
                    return Ok(Ok(verified));
                }
                continue;
            }
        }
        ladder.attempts.push(record);
    }
    if let Some(verified) = ladder.overrule_the_task_case(ctx, task, limits, "every attempt failed").await? {
        return Ok(Ok(verified));
    }
    if let Some(verified) = ladder.outvote_a_case(ctx, task, limits, true).await? {
        return Ok(Ok(verified));
    }
    Ok(Err(Failed { attempts: ladder.attempts, last_report: ladder.last_report }))
}

/// The attempt's event: rung, role, model, backend, temperature.
fn announce(
    ctx: &Ctx<'_>,
    stage: Stage,
    base: u8,
    (number, of): (usize, usize),
    rung: &crate::config::Rung,
    route: &crate::llm::router::RoleRoute,
) {
    let message = format!(
        "attempt {number}/{of}: {} ({} via {}) at temperature {:.1}",
        rung.role, route.model, route.backend, rung.temperature
    );
    ctx.tell(Event::new(stage, base, Level::Info, message).with(Detail::Attempt {
        number,
        of,
        role: rung.role,
        model: route.model.clone(),
        backend: route.backend.clone(),
        temperature: rung.temperature,
    }));
}

impl Ladder {
    /// The last failures for a repairing rung, with a stored fix for a similar error when memory
    /// has one (a fresh rung sees none).
    async fn failures_for(&self, ctx: &Ctx<'_>, rung: &crate::config::Rung) -> Option<String> {
        match &self.last_failures {
            Some(f) if !rung.fresh => Some(match super::recall::fixes_for(ctx, f).await {
                Some(hint) => format!("{f}{hint}"),
                None => f.clone(),
            }),
            _ => None,
        }
    }

    /// The model's answer. Small models often answer a repair with the very code that failed;
    /// testing it again would waste the rung, so the model is asked once more, hotter.
    async fn generate_fresh(
        &self,
        ctx: &Ctx<'_>,
        attempt: &Attempt<'_>,
        stage: Stage,
        base: u8,
        temperature: f32,
    ) -> Result<Generated, EvolveError> {
        let generated = generate(ctx, &self.spec, attempt, base + 2).await?;
        if let Generated::Code { code, .. } = &generated
            && self.tried.contains(&normalised(code))
        {
            let hotter = (temperature + 0.4).min(1.0);
            ctx.warn(
                stage,
                base + 2,
                format!("the answer repeats code that already failed; asking again at temperature {hotter:.1}"),
            );
            return generate(
                ctx,
                &self.spec,
                &Attempt { temperature: hotter, seed: attempt.seed.map(|s| s + 500), ..*attempt },
                base + 2,
            )
            .await;
        }
        Ok(generated)
    }

    /// Failing cases are judged at the first failure; once more when that found no consensus and
    /// two more attempts have failed since: a small model's samples often disagree at first, and
    /// attempts that saw the overseer's expected value and still return another are evidence too.
    fn may_judge(&self) -> bool {
        self.judged == 0 || (self.judged == 1 && self.oracle.is_none() && self.failed_codes.len() >= 2)
    }

    /// Failing cases are judged: by a consensus of fresh implementations (and, the second time,
    /// the failed attempts) when one forms, else, the first time, by the overseer re-deriving
    /// them from the problem alone. Corrected cases are tested again on the same code; a
    /// consensus member that passes every case is kept.
    async fn judge_failing_cases(
        &mut self,
        ctx: &Ctx<'_>,
        task: &str,
        limits: &NodeLimits,
        base: u8,
        tested: &mut Tested,
        record: &mut AttemptRecord,
    ) -> Result<(), EvolveError> {
        let earlier = if self.judged > 1 { self.failed_codes.as_slice() } else { &[] };
        let Some(adjudication) =
            super::consensus::adjudicate(ctx, task, &self.spec, &tested.code, earlier, limits, base + 6).await?
        else {
            if self.judged > 1 {
                return Ok(());
            }
            return self.review_failing_cases(ctx, task, limits, base, tested).await;
        };
        self.overruled = adjudication.overruled.map(|s| (s, adjudication.code.clone()));
        if adjudication.report.changed() {
            self.spec = adjudication.spec;
            self.tests = super::tests::render(&self.spec, task, self.spec.tools.is_empty());
            tested.report = run_spec_tests(ctx, &self.spec, &tested.program, limits).await?;
        }
        // The agreeing group's code, when this code is not one of them.
        if !tested.report.all_passed() && adjudication.code != tested.code {
            let member = node::assemble(task, &adjudication.code, &self.spec.function.name);
            let member_report = run_spec_tests(ctx, &self.spec, &member, limits).await?;
            if member_report.all_passed() {
                ctx.emit(Stage::Verify, base + 7, "a consensus implementation passes every case: it is the one kept");
                self.tried.push(normalised(&tested.code));
                *tested = Tested { code: adjudication.code, program: member, report: member_report };
                record.model = format!("{} (consensus)", ctx.router.route(ctx.config.pipeline.consensus.role).model);
            }
        }
        self.oracle = Some(adjudication.report);
        Ok(())
    }

    /// Whether the task's case kept against a consensus was just failed by code of another model
    /// than the consensus's samples: a second, independent model's code agrees with the samples,
    /// not with the overseer's case.
    fn another_model_fails_the_kept_case(&self, ctx: &Ctx<'_>, model: &str) -> bool {
        let consensus = ctx.router.route(ctx.config.pipeline.consensus.role);
        let (Some(_), Some(oracle), Some(report)) = (&self.overruled, &self.oracle, &self.last_report) else {
            return false;
        };
        model != consensus.model
            && report.abnormal.is_none()
            && report.cases.iter().any(|c| !c.passed && oracle.kept.contains(&c.name))
    }

    /// The task's own case stood against a consensus, and an attempt of another model failed it
    /// too, or every attempt on the ladder did: two derivations by one overseer are now the
    /// weaker evidence. The case goes, as the consensus said, and the consensus's code is tested
    /// on the rest.
    async fn overrule_the_task_case(
        &mut self,
        ctx: &Ctx<'_>,
        task: &str,
        limits: &NodeLimits,
        why: &str,
    ) -> Result<Option<Verified>, EvolveError> {
        let Some((mut spec, code)) = self.overruled.take() else { return Ok(None) };
        // Without the task's case nothing would be left to verify by: the consensus's code must
        // first pass new cases the overseer writes like it, which then stand in its place.
        if spec.test_cases.is_empty() {
            let kept = self.oracle.as_ref().map(|report| report.kept.as_slice()).unwrap_or_default();
            let Some(kept_case) = self.spec.test_cases.iter().find(|c| kept.contains(&c.name)).cloned() else {
                return Ok(None);
            };
            match self.new_inputs_passed(ctx, task, &kept_case, &code, limits).await? {
                Ok(cases) => spec.test_cases = cases,
                Err(why) => {
                    ctx.warn(
                        Stage::Tests,
                        70,
                        format!("{why}: the task's own case {} stands, and it is the only case", kept_case.name),
                    );
                    return Ok(None);
                }
            }
        }
        let Some(report) = self.oracle.as_mut() else { return Ok(None) };
        let kept = std::mem::take(&mut report.kept);
        ctx.warn(
            Stage::Tests,
            70,
            format!(
                "{why} the task's own case {}, which {} of {} independent implementations contradict: it is dropped",
                kept.join(", "),
                report.agreeing,
                report.implementations
            ),
        );
        report.dropped.extend(kept);
        self.spec = spec;
        self.tests = super::tests::render(&self.spec, task, self.spec.tools.is_empty());
        let program = node::assemble(task, &code, &self.spec.function.name);
        let report = run_spec_tests(ctx, &self.spec, &program, limits).await?;
        let record = AttemptRecord {
            rung: self.attempts.len() + 1,
            by: AttemptBy::Model(ctx.config.pipeline.consensus.role),
            model: format!("{} (consensus)", ctx.router.route(ctx.config.pipeline.consensus.role).model),
            temperature: ctx.config.pipeline.consensus.temperature,
            passed: 0,
            total: self.spec.test_cases.len(),
            outcome: String::new(),
        };
        Ok(self.verdict(ctx, 70, Tested { code, program, report }, record))
    }

    /// No consensus: the overseer re-derives the failing cases; a case two derivations disagree
    /// on is not reliable enough to judge code by and is dropped (the task's own case never is).
    async fn review_failing_cases(
        &mut self,
        ctx: &Ctx<'_>,
        task: &str,
        limits: &NodeLimits,
        base: u8,
        tested: &mut Tested,
    ) -> Result<(), EvolveError> {
        let failing: Vec<String> = tested.report.cases.iter().filter(|c| !c.passed).map(|c| c.name.clone()).collect();
        let disputed = super::review::review(ctx, task, &self.spec, &failing, base + 6).await?;
        if disputed.is_empty() {
            return Ok(());
        }
        let first = self.spec.test_cases.first().map(|c| c.name.clone());
        for d in disputed.iter().filter(|d| Some(&d.case) != first.as_ref()) {
            ctx.warn(
                Stage::Tests,
                base + 6,
                format!("spec case {} dropped: the overseer derived {} now, {} before", d.case, d.now, d.was),
            );
            self.spec.test_cases.retain(|t| t.name != d.case);
        }
        self.tests = super::tests::render(&self.spec, task, self.spec.tools.is_empty());
        tested.report = run_spec_tests(ctx, &self.spec, &tested.program, limits).await?;
        Ok(())
    }

    /// The attempt's verdict: the verified node when every case passes; else the failures are
    /// kept for the next rung and None.
    fn verdict(&mut self, ctx: &Ctx<'_>, base: u8, tested: Tested, mut record: AttemptRecord) -> Option<Verified> {
        let Tested { code, program, report } = tested;
        record.passed = report.passed;
        record.total = report.total.max(self.spec.test_cases.len());
        let detail = Detail::Verdict {
            passed: report.passed,
            total: report.total,
            wall_ms: report.wall_ms,
            abnormal: report.abnormal.clone(),
        };
        if report.all_passed() {
            let message = format!("{}/{} tests pass ({:.0} ms)", report.passed, report.total, report.wall_ms);
            ctx.tell(Event::new(Stage::Verify, base + 8, Level::Info, message).with(detail));
            record.outcome = "passed".into();
            self.attempts.push(record);
            let repaired = self.last_failures.clone().zip(self.last_code.clone());
            return Some(Verified {
                spec: self.spec.clone(),
                tests: self.tests.clone(),
                code,
                node: program,
                report,
                attempts: std::mem::take(&mut self.attempts),
                repaired,
                oracle: self.oracle.take(),
            });
        }
        let summary = match &report.abnormal {
            Some(why) => format!("the test run {}", why.lines().next().unwrap_or("")),
            None => format!("{}/{} tests pass", report.passed, report.total),
        };
        ctx.tell(Event::new(Stage::Verify, base + 8, Level::Warning, summary.clone()).with(detail));
        record.outcome = summary;
        self.attempts.push(record);
        self.last_failures = Some(report.failures_text());
        self.tried.push(normalised(&code));
        self.failed_codes.push(code.clone());
        self.last_code = Some(code);
        self.last_report = Some(report);
        None
    }
}

/// The task's values the code computes with in place of its parameters (code_values.rs); never
/// for an author's stub, whose first example is the task input.
pub(super) fn hard_coded(spec: &Spec, code: &str) -> Vec<String> {
    if spec.stub.is_some() { Vec::new() } else { super::code_values::hard_coded(spec, code) }
}

/// The spec's parameters the code's function never reads (code_values.rs); never for an
/// author's stub, whose signature is the author's.
pub(super) fn ignored_parameters(spec: &Spec, code: &str) -> Vec<String> {
    if spec.stub.is_some() { Vec::new() } else { super::code_values::ignored_parameters(spec, code) }
}

/// Code without blank lines or trailing spaces: two answers that differ only there are the same.
pub(super) fn normalised(code: &str) -> String {
    code.lines().map(str::trim_end).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("\n")
}
