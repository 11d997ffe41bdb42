//! escalate: the configured ladder of (role, temperature) rungs. Each rung generates, the spec's
//! tests judge, and the next rung sees the failing cases and errors. Stops when the tests pass,
//! the ladder ends, or the budget is spent.

use super::consensus::OracleReport;
use super::events::{Detail, Event, Level, Stage};
use super::evolver::{Ctx, EvolveError};
use super::generate::{Attempt, Generated, StubForm, generate};
use super::node;
use super::spec::Spec;
use super::verify::{TestReport, run_spec_tests};
use crate::config::Role;
use crate::sandbox::NodeLimits;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct AttemptRecord {
    pub rung: usize,
    pub role: String,
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

pub async fn generate_until_green(ctx: &Ctx<'_>, job: &Job<'_>) -> Result<Result<Verified, Failed>, EvolveError> {
    let Job { task, start_rung, limits, template, first_temperature, .. } = *job;
    let mut spec = job.spec.clone();
    let mut tests = job.tests.to_string();
    let mut reviewed = false;
    let mut oracle: Option<OracleReport> = None;
    let ladder = &ctx.config.pipeline.escalation;
    let mut attempts = Vec::new();
    let mut last_code: Option<String> = None;
    let mut last_failures: Option<String> = None;
    let mut last_report = None;
    // Code that failed, normalised, so a repeat is caught.
    let mut tried: Vec<String> = Vec::new();
    // The models that have made an independent (not repair) attempt.
    let mut asked: Vec<(String, String)> = Vec::new();
    let rungs: Vec<usize> = (start_rung.min(ladder.len() - 1)..ladder.len()).collect();
    let span = 40.0 / rungs.len().max(1) as f32;
    for (i, &rung_index) in rungs.iter().enumerate() {
        let rung = &ladder[rung_index];
        let role = rung.role;
        let base = 30 + (i as f32 * span) as u8;
        let stage = if i == 0 { Stage::Generate } else { Stage::Escalate };
        let route = ctx.router.route(role);
        let message = format!(
            "attempt {}/{}: {} ({} via {}) at temperature {:.1}",
            i + 1,
            rungs.len(),
            role,
            route.model,
            route.backend,
            rung.temperature
        );
        ctx.tell(Event::new(stage, base, Level::Info, message).with(Detail::Attempt {
            number: i + 1,
            of: rungs.len(),
            role,
            model: route.model.clone(),
            backend: route.backend.clone(),
            temperature: rung.temperature,
        }));
        // A stored fix for a similar error goes to the next rung with the failures.
        let failures = match &last_failures {
            Some(f) if !rung.fresh => Some(match super::recall::fixes_for(ctx, f).await {
                Some(hint) => format!("{f}{hint}"),
                None => f.clone(),
            }),
            _ => None,
        };
        let repair = match (&last_code, &failures) {
            (Some(c), Some(f)) => Some((c.as_str(), f.as_str())),
            (None, Some(f)) => Some(("# (no usable code)", f.as_str())),
            _ => None,
        };
        // A model's first independent attempt at a stub is the plain completion request; its
        // next one, and every repair, is asked in the task's own words under the code rules,
        // unless the rung says which.
        let model = (route.backend.clone(), route.model.clone());
        let form = rung.form.unwrap_or(if repair.is_none() && !asked.contains(&model) {
            StubForm::Completion
        } else {
            StubForm::Instruction
        });
        if repair.is_none() {
            asked.push(model);
        }
        let attempt = Attempt {
            role,
            temperature: if i == 0 { first_temperature.unwrap_or(rung.temperature) } else { rung.temperature },
            repair,
            form,
            template,
            task,
            show_plan: show_plan(ctx, &spec, &route),
        };
        let mut record = AttemptRecord {
            rung: rung_index + 1,
            role: role.as_str().into(),
            model: route.model.clone(),
            temperature: rung.temperature,
            passed: 0,
            total: spec.test_cases.len(),
            outcome: String::new(),
        };
        let mut generated = generate(ctx, &spec, &attempt, base + 2).await?;
        // Small models often answer a repair with the very code that failed; testing it again
        // would waste the rung, so the model is asked once more, hotter.
        if let Generated::Code { code, .. } = &generated
            && tried.contains(&normalised(code))
        {
            let hotter = (rung.temperature + 0.4).min(1.0);
            ctx.warn(
                stage,
                base + 2,
                format!("the answer repeats code that already failed; asking again at temperature {hotter:.1}"),
            );
            generated = generate(ctx, &spec, &Attempt { temperature: hotter, ..attempt }, base + 2).await?;
        }
        match generated {
            Generated::Unusable { reason, raw } => {
                ctx.warn(stage, base + 3, format!("unusable answer: {reason}"));
                record.outcome = format!("unusable: {reason}");
                last_failures = Some(format!("- {reason}\n"));
                if raw.contains("def ") {
                    last_code = Some(raw);
                }
            }
            Generated::Code { mut code, note } => {
                if let Some(note) = note {
                    ctx.warn(stage, base + 3, note);
                }
                let mut program = node::assemble(task, &code, &spec.function.name);
                ctx.emit(Stage::Verify, base + 5, "running the spec's tests in the sandbox");
                let mut report = run_spec_tests(ctx, &spec, &program, limits).await?;
                // Once per evolve, failing cases are judged: by a consensus of fresh
                // implementations when one forms, else by the overseer re-deriving them from the
                // problem alone. Corrected cases are tested again on the same code.
                if !report.all_passed() && report.abnormal.is_none() && !reviewed {
                    reviewed = true;
                    match super::consensus::adjudicate(ctx, task, &spec, &code, limits, base + 6).await? {
                        Some(adjudication) => {
                            if adjudication.report.changed() {
                                spec = adjudication.spec;
                                tests = super::tests::render(&spec, task, spec.tools.is_empty());
                                report = run_spec_tests(ctx, &spec, &program, limits).await?;
                            }
                            // The agreeing group's code, when this code is not one of them.
                            if !report.all_passed() && adjudication.code != code {
                                let member = node::assemble(task, &adjudication.code, &spec.function.name);
                                let member_report = run_spec_tests(ctx, &spec, &member, limits).await?;
                                if member_report.all_passed() {
                                    ctx.emit(
                                        Stage::Verify,
                                        base + 7,
                                        "a consensus implementation passes every case: it is the one kept",
                                    );
                                    tried.push(normalised(&code));
                                    code = adjudication.code;
                                    program = member;
                                    report = member_report;
                                    record.model = format!(
                                        "{} (consensus)",
                                        ctx.router.route(ctx.config.pipeline.consensus.role).model
                                    );
                                }
                            }
                            oracle = Some(adjudication.report);
                        }
                        None => {
                            let failing: Vec<String> =
                                report.cases.iter().filter(|c| !c.passed).map(|c| c.name.clone()).collect();
                            let disputed = super::review::review(ctx, task, &spec, &failing, base + 6).await?;
                            if !disputed.is_empty() {
                                // Two derivations by the overseer disagree: the case is not reliable
                                // enough to judge code by. It is dropped (the task's own case never is).
                                let first = spec.test_cases.first().map(|c| c.name.clone());
                                for d in &disputed {
                                    if Some(&d.case) == first.as_ref() {
                                        continue;
                                    }
                                    ctx.warn(
                                        Stage::Tests,
                                        base + 6,
                                        format!(
                                            "spec case {} dropped: the overseer derived {} now, {} before",
                                            d.case, d.now, d.was
                                        ),
                                    );
                                    spec.test_cases.retain(|t| t.name != d.case);
                                }
                                tests = super::tests::render(&spec, task, spec.tools.is_empty());
                                report = run_spec_tests(ctx, &spec, &program, limits).await?;
                            }
                        }
                    }
                }
                record.passed = report.passed;
                record.total = report.total.max(spec.test_cases.len());
                let verdict = Detail::Verdict {
                    passed: report.passed,
                    total: report.total,
                    wall_ms: report.wall_ms,
                    abnormal: report.abnormal.clone(),
                };
                if report.all_passed() {
                    let message = format!("{}/{} tests pass ({:.0} ms)", report.passed, report.total, report.wall_ms);
                    ctx.tell(Event::new(Stage::Verify, base + 8, Level::Info, message).with(verdict));
                    record.outcome = "passed".into();
                    attempts.push(record);
                    let repaired = last_failures.clone().zip(last_code.clone());
                    return Ok(Ok(Verified { spec, tests, code, node: program, report, attempts, repaired, oracle }));
                }
                let summary = match &report.abnormal {
                    Some(why) => format!("the test run {}", why.lines().next().unwrap_or("")),
                    None => format!("{}/{} tests pass", report.passed, report.total),
                };
                ctx.tell(Event::new(Stage::Verify, base + 8, Level::Warning, summary.clone()).with(verdict));
                record.outcome = summary;
                last_failures = Some(report.failures_text());
                tried.push(normalised(&code));
                last_code = Some(code);
                last_report = Some(report);
            }
        }
        attempts.push(record);
    }
    Ok(Err(Failed { attempts, last_report }))
}

/// Code without blank lines or trailing spaces: two answers that differ only there are the same.
fn normalised(code: &str) -> String {
    code.lines().map(str::trim_end).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("\n")
}
