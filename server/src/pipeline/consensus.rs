//! consensus: when code fails some of the overseer's cases, is the code wrong or the case? Fresh
//! implementations are sampled from the task alone (they never see the overseer's expected
//! values) and every one runs on every case's input in the sandbox; the results come back as
//! plain JSON and are compared here. Implementations that return the same on every input form a
//! cluster (CodeT's dual execution agreement). When a cluster of at least `min_agree` disagrees
//! with a case, the overseer works that case out again from the problem alone: if its new
//! answer is the cluster's, the case is corrected; otherwise the case is dropped, since two
//! independent sources contradict it. The author's own examples are never disputed. Nothing here
//! takes an expected value from the code under test alone: a correction needs the overseer's
//! re-derivation and several independent implementations to agree.

use super::evolver::{Ctx, EvolveError};
use super::generate::{Attempt, Generated, StubForm, generate};
use super::node;
use super::review::{agrees, rederive};
use super::spec::{Check, Spec, TestCase, same_value};
use super::tests::{NODE_FILE, NODE_MODULE};
use super::verify::{CallResult, call_function, check, close};
use crate::sandbox::NodeLimits;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// What the consensus did in one evolve, for reports.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct OracleReport {
    /// Implementations run (the failing one and the fresh samples).
    pub implementations: usize,
    /// The largest group that behaved alike on every case.
    pub agreeing: usize,
    /// "case: was -> now", for cases the consensus and the overseer's second derivation agreed on.
    pub corrected: Vec<String>,
    /// Cases the consensus contradicted and the overseer's second derivation did not confirm.
    pub dropped: Vec<String>,
    /// The consensus agreed with every case (the failing code was the odd one out).
    pub confirmed: bool,
    /// The task's own case, which the consensus contradicted and the overseer derived again as
    /// it was: it stays.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kept: Vec<String>,
}

impl OracleReport {
    pub fn changed(&self) -> bool {
        !self.corrected.is_empty() || !self.dropped.is_empty()
    }

    pub fn summary(&self) -> String {
        let mut parts = vec![format!("{} of {} implementations agree", self.agreeing, self.implementations)];
        if self.confirmed {
            parts.push("they confirm every case".into());
        }
        if !self.corrected.is_empty() {
            parts.push(format!("corrected {}", self.corrected.join(", ")));
        }
        if !self.dropped.is_empty() {
            parts.push(format!("dropped {}", self.dropped.join(", ")));
        }
        if !self.kept.is_empty() {
            parts.push(format!("kept {} (the overseer derived it again as it was)", self.kept.join(", ")));
        }
        parts.join("; ")
    }
}

/// The outcome: the adjusted spec and a consensus member's code to test with it.
pub struct Adjudication {
    pub spec: Spec,
    /// The code of the agreeing group's first member (the failing code itself when it is one).
    pub code: String,
    pub report: OracleReport,
    /// When the task's own case was kept against the group: the spec as the group would have it
    /// (that case dropped too), for when no attempt on the whole ladder passes the case.
    pub overruled: Option<Spec>,
}

/// What one implementation did on one input. Two that both raise agree (the input is one the
/// task does not define, whatever the overseer expected); one that gave nothing (killed, timed
/// out) agrees with nothing.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Outcome {
    Returned(Value),
    Raised,
    Nothing,
}

pub(super) type Behaviour = Vec<Outcome>;

/// Each input as positional arguments in the spec's parameter order: an implementation that
/// renamed a parameter (`lst` for `list`) is still judged on what it computes, not on the name.
pub(super) fn positional<'a>(
    spec: &Spec,
    inputs: impl Iterator<Item = &'a serde_json::Map<String, Value>>,
) -> Vec<Value> {
    let names: Vec<&str> = spec.function.parameters.iter().map(|p| p.name.as_str()).collect();
    inputs
        .map(|input| match names.iter().map(|n| input.get(*n).cloned()).collect::<Option<Vec<Value>>>() {
            Some(args) if args.len() == input.len() => Value::Array(args),
            _ => Value::Object(input.clone()),
        })
        .collect()
}

/// What `program` (a node) does on each input, run in the sandbox in one go.
pub(super) async fn behaviour(
    ctx: &Ctx<'_>,
    program: &str,
    spec: &Spec,
    inputs: &[Value],
    limits: &NodeLimits,
) -> Result<Behaviour, EvolveError> {
    let files = BTreeMap::from([(NODE_FILE.to_string(), program.to_string())]);
    Ok(match call_function(ctx, files, NODE_MODULE, &spec.function.name, inputs, limits).await? {
        Ok(calls) => calls
            .results
            .into_iter()
            .map(|r| match r {
                Some(CallResult::Returned(v)) => Outcome::Returned(v),
                Some(CallResult::Raised(_)) => Outcome::Raised,
                None => Outcome::Nothing,
            })
            .collect(),
        Err(_) => vec![Outcome::Nothing; inputs.len()],
    })
}

pub(super) fn same_outcome(x: &Outcome, y: &Outcome) -> bool {
    match (x, y) {
        (Outcome::Returned(x), Outcome::Returned(y)) => close(x, y) && close(y, x),
        (Outcome::Raised, Outcome::Raised) => true,
        _ => false,
    }
}

fn same_behaviour(a: &Behaviour, b: &Behaviour) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same_outcome(x, y))
}

/// Groups implementations that behave alike; each group is a list of indexes, largest first.
fn clusters(behaviours: &[Behaviour]) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, b) in behaviours.iter().enumerate() {
        match groups.iter_mut().find(|g| same_behaviour(&behaviours[g[0]], b)) {
            Some(group) => group.push(i),
            None => groups.push(vec![i]),
        }
    }
    groups.sort_by_key(|g| std::cmp::Reverse(g.len()));
    groups
}

/// Whether a case can be disputed by what independent code does: any the overseer wrote. Only
/// exact expectations can be re-derived and corrected; a "non-empty" or type check the
/// consensus contradicts is dropped.
fn disputable(case: &TestCase) -> bool {
    !case.author
}

/// The case that asks the task's own question: the one whose input is the task's (the prompt
/// puts it first).
pub(super) fn is_task_case(spec: &Spec, case: &TestCase) -> bool {
    if spec.task_input.is_empty() {
        spec.test_cases.first().is_some_and(|c| c.name == case.name)
    } else {
        case.input == spec.task_input
    }
}

fn correctable(case: &TestCase) -> bool {
    matches!(case.check, Check::Equals | Check::Approx | Check::Contains)
}

/// Whether the group's outcome on a case contradicts the case.
fn contradicts(case: &TestCase, outcome: &Outcome) -> bool {
    match outcome {
        Outcome::Returned(v) => check(case.check, v, &case.expected).is_err(),
        // A property case allows raising (verify::run_cases).
        Outcome::Raised => !matches!(case.check, Check::Holds(_)),
        Outcome::Nothing => false,
    }
}

/// An attempt of the ladder that failed one case and passed every other one, with what it
/// returned there.
pub(super) struct LoneFailure {
    pub case: String,
    pub role: crate::config::Role,
    pub model: String,
    pub returned: Value,
    pub code: String,
}

/// Attempts that failed one case alone, all returning the same value there, outvote the
/// overseer's expected value: three of them, each other code, written by two models (by one,
/// once the ladder has ended with no version passing). Code that passes every other case and
/// computes one answer again and again, after repairs were shown the expected value, is more
/// evidence than one model's arithmetic done twice (a date 30 days on, a standard deviation):
/// as much as a consensus of fresh samples, which drops such a case too. The task's own case is
/// no exception here: it stood against the samples' consensus, not against the whole ladder.
/// The most recent such attempt, and how many agree.
pub(super) fn outvoting(failures: &[LoneFailure], ladder_ended: bool) -> Option<(&LoneFailure, usize)> {
    failures
        .iter()
        .filter_map(|one| {
            let agreeing: Vec<&LoneFailure> =
                failures.iter().filter(|f| f.case == one.case && same_value(&f.returned, &one.returned)).collect();
            let mut models: Vec<&str> = agreeing.iter().map(|f| f.model.as_str()).collect();
            models.sort_unstable();
            models.dedup();
            let last = *agreeing.last()?;
            (agreeing.len() >= 3 && (models.len() >= 2 || ladder_ended)).then_some((last, agreeing.len()))
        })
        .max_by_key(|(_, n)| *n)
}

pub async fn adjudicate(
    ctx: &Ctx<'_>,
    task: &str,
    spec: &Spec,
    failing_code: &str,
    earlier: &[String],
    limits: &NodeLimits,
    percent: u8,
) -> Result<Option<Adjudication>, EvolveError> {
    let settings = &ctx.config.pipeline.consensus;
    if settings.samples == 0 || spec.test_cases.iter().all(|c| !disputable(c)) || !spec.tools.is_empty() {
        return Ok(None);
    }
    ctx.emit(
        super::events::Stage::Tests,
        percent,
        format!(
            "code fails the overseer's cases: {} fresh implementations, written without the expected values, judge the cases",
            settings.samples
        ),
    );
    // The samples see the task and the author's examples only: the overseer's expected values
    // are what is in question.
    let mut blind = spec.clone();
    blind.test_cases.retain(|c| c.author);
    let mut codes = vec![failing_code.to_string()];
    // Earlier failed attempts (the second judging): each distinct one is one more implementation.
    for code in earlier {
        let same = |c: &String| super::escalate::normalised(c) == super::escalate::normalised(code);
        if !codes.iter().any(same) {
            codes.push(code.clone());
        }
    }
    // A second judging draws other samples than the first.
    let seed = 1 + 100 * earlier.len() as u64;
    codes.extend(sample_implementations(ctx, task, &blind, spec, settings.samples, seed, percent).await?);
    let inputs = positional(spec, spec.test_cases.iter().map(|c| &c.input));
    let mut behaviours: Vec<Behaviour> = Vec::new();
    for code in &codes {
        behaviours.push(behaviour(ctx, &node::assemble(task, code, &spec.function.name), spec, &inputs, limits).await?);
    }
    let groups = clusters(&behaviours);
    // Ties go to the group that agrees with more of the spec's cases.
    let agreement = |g: &Vec<usize>| {
        spec.test_cases
            .iter()
            .zip(&behaviours[g[0]])
            .filter(|(case, outcome)| !contradicts(case, outcome) && **outcome != Outcome::Nothing)
            .count()
    };
    let Some(best) = groups.iter().filter(|g| g.len() == groups[0].len()).max_by_key(|g| agreement(g)) else {
        return Ok(None);
    };
    let mut report = OracleReport { implementations: codes.len(), agreeing: best.len(), ..Default::default() };
    if best.len() < settings.min_agree as usize || behaviours[best[0]].iter().all(|o| *o == Outcome::Raised) {
        ctx.emit(
            super::events::Stage::Tests,
            percent,
            format!("no consensus ({} of {} implementations agree at most)", best.len(), codes.len()),
        );
        return Ok(None);
    }
    let values = &behaviours[best[0]];
    let disputed: Vec<&TestCase> = spec
        .test_cases
        .iter()
        .zip(values)
        .filter(|(case, outcome)| disputable(case) && contradicts(case, outcome))
        .map(|(case, _)| case)
        .collect();
    // The failing code itself, when it is one of the agreeing group, is the one kept.
    let member = if best.contains(&0) { 0 } else { best[0] };
    let mut adjusted = spec.clone();
    if disputed.is_empty() {
        report.confirmed = true;
        ctx.emit(super::events::Stage::Tests, percent, format!("consensus: {}", report.summary()));
        return Ok(Some(Adjudication { spec: adjusted, code: codes[member].clone(), report, overruled: None }));
    }
    // Only cases with an exact expected value, where the group returned one, can be re-derived.
    let index_of = |case: &TestCase| spec.test_cases.iter().position(|c| c.name == case.name).expect("from the spec");
    let rederivable: Vec<&TestCase> = disputed
        .iter()
        .copied()
        .filter(|case| correctable(case) && matches!(values[index_of(case)], Outcome::Returned(_)))
        .collect();
    let derived = rederive(ctx, task, spec, &rederivable, percent).await?;
    for case in &disputed {
        let consensus = match &values[index_of(case)] {
            Outcome::Returned(v) => Some(v.clone()),
            _ => None,
        };
        let rederived = derived.iter().find(|d| d.case == case.name);
        // Any of the overseer's derivations (its expression, its reckoning, its work written as
        // code) that agrees with the consensus: two independent sources, one value.
        let agreeing = consensus.as_ref().zip(rederived).and_then(|(consensus, d)| {
            d.candidates().find(|now| {
                agrees(&TestCase { expected: consensus.clone(), ..(*case).clone() }, now) || close(consensus, now)
            })
        });
        match (consensus, rederived.map(|d| &d.value), agreeing) {
            (Some(_), _, Some(now)) => {
                report.corrected.push(format!(
                    "{}: {} -> {}",
                    case.name,
                    super::tests::py_literal(&case.expected),
                    super::tests::py_literal(now)
                ));
                if let Some(c) = adjusted.test_cases.iter_mut().find(|c| c.name == case.name) {
                    c.expected = now.clone();
                }
            }
            // The task's own case, derived the same way twice, stands against the consensus:
            // it is the user's question, and implementations that share a small model's blind
            // spot (a Roman numeral summed without subtraction) agree on the wrong answer.
            (Some(_), Some(now), None) if agrees(case, now) && is_task_case(spec, case) => {
                report.kept.push(case.name.clone());
            }
            _ => {
                report.dropped.push(case.name.clone());
                adjusted.test_cases.retain(|c| c.name != case.name);
            }
        }
    }

    let overruled = (!report.kept.is_empty()).then(|| {
        let mut without = adjusted.clone();
        without.test_cases.retain(|c| !report.kept.contains(&c.name));
        without
    });
    // Nothing left to verify by: the cases stay as they are and the ladder goes on.
    if adjusted.test_cases.is_empty() {
        ctx.warn(super::events::Stage::Tests, percent, "consensus would leave no case: the cases stay as they are");
        return Ok(None);
    }
    if adjusted.test_cases.len() < 2 {
        ctx.warn(
            super::events::Stage::Tests,
            percent,
            "one case left: the mutation check will ask the overseer for more before the node counts as verified",
        );
    }
    ctx.warn(super::events::Stage::Tests, percent, format!("consensus: {}", report.summary()));
    Ok(Some(Adjudication { spec: adjusted, code: codes[member].clone(), report, overruled }))
}

/// `count` implementations written hot from `shown` (what the samples may see), each seeded
/// apart from `first_seed` on; one that computes with the task's values or never reads a
/// parameter of `spec` is left out.
pub(super) async fn sample_implementations(
    ctx: &Ctx<'_>,
    task: &str,
    shown: &Spec,
    spec: &Spec,
    count: u32,
    first_seed: u64,
    percent: u8,
) -> Result<Vec<String>, EvolveError> {
    let settings = &ctx.config.pipeline.consensus;
    let mut codes = Vec::new();
    for i in 0..count {
        let attempt = Attempt {
            role: settings.role,
            temperature: settings.temperature,
            repair: None,
            form: if i % 2 == 0 { StubForm::Instruction } else { StubForm::Completion },
            template: None,
            patterns: None,
            prelude: None,
            task,
            show_plan: false,
            seed: Some(first_seed + i as u64),
        };
        match generate(ctx, shown, &attempt, percent).await? {
            Generated::Code { code, .. } => {
                let copied = super::escalate::hard_coded(spec, &code);
                let ignored = super::escalate::ignored_parameters(spec, &code);
                if copied.is_empty() && ignored.is_empty() {
                    codes.push(code);
                } else {
                    let why = if copied.is_empty() {
                        format!("it never uses its parameters {}", ignored.join(", "))
                    } else {
                        format!("it computes with the task's values {}", copied.join(", "))
                    };
                    ctx.warn(
                        super::events::Stage::Tests,
                        percent,
                        format!("a fresh implementation was left out: {why}"),
                    );
                }
            }
            Generated::Unusable { reason, .. } => {
                ctx.warn(super::events::Stage::Tests, percent, format!("a fresh implementation was unusable: {reason}"))
            }
        }
    }
    Ok(codes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn three_attempts_of_two_models_returning_one_value_outvote_the_task_case() {
        let failure = |model: &str, returned: Value| LoneFailure {
            case: "task".into(),
            role: crate::config::Role::GeneratorFast,
            model: model.into(),
            returned,
            code: format!("# {model}"),
        };
        let mut failures = vec![failure("small", json!("2024-02-14")), failure("small", json!("2024-02-14"))];
        assert!(outvoting(&failures, true).is_none(), "two are not enough");
        failures.push(failure("small", json!("2024-02-14")));
        assert!(outvoting(&failures, false).is_none(), "one model's three need the ladder's end");
        assert_eq!(outvoting(&failures, true).map(|(_, n)| n), Some(3));
        failures.push(failure("big", json!("2024-02-14")));
        let (last, agreeing) = outvoting(&failures, false).expect("two models");
        assert_eq!((last.code.as_str(), agreeing), ("# big", 4));
        // An attempt that returned something else does not count with them.
        failures.push(failure("big", json!("2024-02-15")));
        assert_eq!(outvoting(&failures, true).map(|(f, n)| (f.returned.clone(), n)), Some((json!("2024-02-14"), 4)));
    }

    #[test]
    fn implementations_that_return_the_same_form_one_group() {
        let b = |v: Vec<Value>| v.into_iter().map(Outcome::Returned).collect::<Behaviour>();
        let behaviours = vec![
            b(vec![json!(30), json!(23)]),
            b(vec![json!(30), json!(23.0)]),
            b(vec![json!(30), json!(17)]),
            b(vec![json!(30), json!(23)]),
            vec![Outcome::Returned(json!(30)), Outcome::Nothing],
            vec![Outcome::Returned(json!(30)), Outcome::Raised],
            vec![Outcome::Returned(json!(30)), Outcome::Raised],
        ];
        let groups = clusters(&behaviours);
        assert_eq!(groups[0], vec![0, 1, 3]);
        assert_eq!(groups[1], vec![5, 6], "two that raise on the same input agree");
        assert_eq!(groups.len(), 4, "one that gave nothing agrees with nothing");
    }
}
