//! extend: when the final tests kill too few mutants, the overseer writes more cases from the
//! problem alone (boundaries, empty, zero, negative, one element, duplicates), never seeing the
//! code. A new case the verified code passes is added. A new case it fails is judged like any
//! disputed case: by a consensus of fresh implementations, which either confirms the case (and
//! an agreeing implementation that passes everything replaces the code) or contradicts it (the
//! case is corrected or dropped). Without a consensus a failing new case is not added, and the
//! user is told which case the code and the overseer disagree on. The plan asks the same way
//! (new_cases) when a corrected spec still has fewer than three distinct cases.

use super::consensus::{OracleReport, adjudicate};
use super::escalate::Verified;
use super::events::Stage;
use super::evolver::{Ctx, EvolveError};
use super::spec::{Spec, TestCase, normalise_case_names};
use super::tests::{NODE_FILE, NODE_MODULE};
use super::verify::{run_cases, run_spec_tests};
use super::{node, prompts, schema};
use crate::config::Role;
use crate::llm::{ChatRequest, Message};
use crate::sandbox::NodeLimits;
use serde_json::Value;
use std::collections::BTreeMap;

/// The overseer's new cases for `spec`, written from the problem alone: valid parameter names,
/// inputs not yet tested; boundaries, or inputs of the kind of case `like`. Also the plan's way
/// to fill a spec left with fewer than three cases.
pub async fn new_cases(
    ctx: &Ctx<'_>,
    task: &str,
    spec: &Spec,
    like: Option<&TestCase>,
    stage: Stage,
    percent: u8,
) -> Result<Vec<TestCase>, EvolveError> {
    let (system, user) = match like {
        Some(case) => (prompts::EXTEND_LIKE_SYSTEM, prompts::extend_like_user(task, spec, case)),
        None => (prompts::EXTEND_SYSTEM, prompts::extend_user(task, spec)),
    };
    let request = ChatRequest {
        messages: vec![Message::system(system), Message::user(user)],
        schema: Some(schema::extend()),
        temperature: Some(0.2),
        ..Default::default()
    };
    let answer = match ctx.ask(stage, percent, Role::Overseer, None, request).await {
        Ok(answer) => answer,
        Err(e @ (EvolveError::Cancelled | EvolveError::Budget(_))) => return Err(e),
        Err(e) => {
            ctx.warn(stage, percent, format!("no cases added: the overseer failed ({e})"));
            return Ok(Vec::new());
        }
    };
    let Some(value) = schema::parse_json_answer(&answer.text) else {
        ctx.warn(stage, percent, "no cases added: the overseer's answer is not JSON");
        return Ok(Vec::new());
    };
    let names: Vec<&str> = spec.function.parameters.iter().map(|p| p.name.as_str()).collect();
    let mut seen: Vec<Value> = spec.test_cases.iter().map(|c| Value::Object(c.input.clone())).collect();
    let mut out = Vec::new();
    for item in value.get("test_cases").and_then(Value::as_array).into_iter().flatten().take(5) {
        let Ok(mut case) = serde_json::from_value::<TestCase>(item.clone()) else { continue };
        // A parameter that defaults to the task's value may be left out, as a caller may.
        for p in &spec.function.parameters {
            if let (Some(default), false) = (&p.default, case.input.contains_key(&p.name)) {
                case.input.insert(p.name.clone(), default.clone());
            }
        }
        let input = Value::Object(case.input.clone());
        let fits = case.input.len() == names.len() && names.iter().all(|n| case.input.contains_key(*n));
        if !fits || seen.contains(&input) || item.get("expected").is_none() {
            continue;
        }
        seen.push(input);
        case.author = false;
        case.name = format!("extra_{}", case.name);
        out.push(case);
    }
    Ok(out)
}

/// Extends `verified`'s cases; returns the verified node with the larger spec (and possibly other
/// code, when a consensus showed the verified code wrong on a new case), or None when nothing was
/// added.
pub async fn extend(
    ctx: &Ctx<'_>,
    task: &str,
    verified: &Verified,
    limits: &NodeLimits,
    percent: u8,
) -> Result<Option<(Verified, usize)>, EvolveError> {
    ctx.emit(Stage::Tests, percent, "the tests kill too few mutants: the overseer writes more cases from the problem");
    let cases = new_cases(ctx, task, &verified.spec, None, Stage::Tests, percent).await?;
    if cases.is_empty() {
        return Ok(None);
    }
    let files = BTreeMap::from([(NODE_FILE.to_string(), verified.node.clone())]);
    let run = run_cases(ctx, files, NODE_MODULE, &verified.spec.function.name, &cases, limits).await?;
    let (passing, failing): (Vec<_>, Vec<_>) = cases.into_iter().zip(&run.cases).partition(|(_, result)| result.passed);
    let mut spec = verified.spec.clone();
    spec.test_cases.extend(passing.into_iter().map(|(c, _)| c));
    let mut code = verified.code.clone();
    let mut program = verified.node.clone();
    let mut oracle: Option<OracleReport> = verified.oracle.clone();
    if !failing.is_empty() {
        let mut disputed = spec.clone();
        disputed.test_cases.extend(failing.iter().map(|(c, _)| c.clone()));
        match adjudicate(ctx, task, &disputed, &code, &[], limits, percent).await? {
            Some(adjudication) => {
                let candidate = node::assemble(task, &adjudication.code, &spec.function.name);
                let keeps_code = run_spec_tests(ctx, &adjudication.spec, &program, limits).await?.all_passed();
                if keeps_code {
                    spec = adjudication.spec;
                } else if run_spec_tests(ctx, &adjudication.spec, &candidate, limits).await?.all_passed() {
                    ctx.warn(
                        Stage::Verify,
                        percent,
                        "a new case showed the verified code wrong; a consensus implementation that passes every case replaces it",
                    );
                    spec = adjudication.spec;
                    code = adjudication.code;
                    program = candidate;
                } else {
                    for (case, result) in &failing {
                        ctx.warn(
                            Stage::Tests,
                            percent,
                            format!(
                                "case {} not added: {} (no implementation passes it with the others)",
                                case.name, result.message
                            ),
                        );
                    }
                }
                oracle = Some(adjudication.report);
            }
            None => {
                for (case, result) in &failing {
                    ctx.warn(
                        Stage::Tests,
                        percent,
                        format!(
                            "case {} not added: the code and the overseer disagree ({}) and no consensus says which is right",
                            case.name, result.message
                        ),
                    );
                }
            }
        }
    }
    let added = spec.test_cases.len().saturating_sub(verified.spec.test_cases.len());
    if added == 0 && code == verified.code {
        return Ok(None);
    }
    normalise_case_names(&mut spec.test_cases);
    let report = run_spec_tests(ctx, &spec, &program, limits).await?;
    if !report.all_passed() {
        // Never: every kept case was just passed. Keep what was verified rather than guess.
        return Ok(None);
    }
    let tests = super::tests::render(&spec, task, spec.tools.is_empty());
    Ok(Some((
        Verified {
            spec,
            tests,
            code,
            node: program,
            report,
            attempts: verified.attempts.clone(),
            repaired: verified.repaired.clone(),
            oracle,
        },
        added,
    )))
}
