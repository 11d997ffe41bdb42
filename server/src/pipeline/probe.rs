//! probe: tests a small model wrote pass wrong code that differs from right code only where no
//! case looks (a text shorter than the limit, a negative number, a rotation past the length).
//! Once a version passes, a few fresh implementations are written; those that pass the same
//! tests run beside it on edge inputs made from the task's input (edge_inputs.rs). Where they
//! disagree, the tests cannot tell them apart, so the overseer works that input out from the
//! problem alone (review.rs: it sees no code and no result). A value becomes a case only when
//! it is what one of the implementations returned and the overseer's derivations name no other
//! implementation's value: never from code alone, never from the overseer alone. When the
//! verified code fails such a case, the implementation that passes every case replaces it.

use super::consensus::{Behaviour, Outcome, behaviour, positional, same_outcome, sample_implementations};
use super::edge_inputs::edge_inputs;
use super::escalate::Verified;
use super::events::Stage;
use super::evolver::{Ctx, EvolveError};
use super::review::rederive;
use super::spec::{Check, TestCase, normalise_case_names};
use super::verify::{check, close, run_spec_tests};
use super::{expressions, node};
use crate::sandbox::NodeLimits;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Edge inputs the implementations run on.
const INPUTS: usize = 8;
/// Disagreements put to the overseer at most (one review answers them all).
const ASKED: usize = 4;
/// Seeds of the probe's samples, apart from the consensus's.
const FIRST_SEED: u64 = 500;

/// What the probe did in one evolve.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ProbeReport {
    /// Edge inputs run.
    pub inputs: usize,
    /// Implementations that pass the tests, the verified one included.
    pub implementations: usize,
    /// Edge inputs on which they did not all do the same.
    pub disagreements: usize,
    /// "case: input -> expected", added to the spec.
    pub added: Vec<String>,
    /// The verified code failed an added case and an implementation that passes all replaced it.
    pub replaced: bool,
}

impl ProbeReport {
    pub fn summary(&self) -> String {
        let mut text = format!(
            "{} implementation(s) that pass the tests disagree on {} of {} edge input(s)",
            self.implementations, self.disagreements, self.inputs
        );
        if !self.added.is_empty() {
            text.push_str(&format!("; case(s) added: {}", self.added.join(", ")));
        }
        if self.replaced {
            text.push_str("; the verified code failed one and was replaced");
        }
        text
    }
}

/// The values among `outcomes` that one of the overseer's `candidates` names: a case's expected
/// value when exactly one is named.
fn named_values(outcomes: &[&Outcome], candidates: &[&Value]) -> Vec<Value> {
    let mut named: Vec<Value> = Vec::new();
    for outcome in outcomes {
        if let Outcome::Returned(v) = outcome
            && candidates.iter().any(|c| close(v, c) && close(c, v))
            && !named.iter().any(|n| close(n, v) && close(v, n))
        {
            named.push(v.clone());
        }
    }
    named
}

/// Whether `outcome` passes `case`.
fn passes(case: &TestCase, outcome: &Outcome) -> bool {
    matches!(outcome, Outcome::Returned(v) if check(case.check, v, &case.expected).is_ok())
}

/// Probes `verified` against fresh implementations; returns it with more cases, or with the
/// code of an implementation that passes them, and what was done (None: not probed).
pub async fn probe(
    ctx: &Ctx<'_>,
    task: &str,
    verified: Verified,
    limits: &NodeLimits,
    percent: u8,
) -> Result<(Verified, Option<ProbeReport>), EvolveError> {
    let count = ctx.config.pipeline.consensus.probe;
    let spec = &verified.spec;
    // A node that calls model tools answers differently each run; one built on a workflow's
    // steps needs them defined above it, which fresh samples would not have.
    let plain = verified.node == node::assemble(task, &verified.code, &spec.function.name);
    let inputs = edge_inputs(spec, INPUTS);
    if count == 0 || !spec.tools.is_empty() || !plain || inputs.is_empty() {
        return Ok((verified, None));
    }
    ctx.emit(
        Stage::Tests,
        percent,
        format!(
            "probe: {count} fresh implementation(s) run beside the verified code on {} edge input(s)",
            inputs.len()
        ),
    );
    let mut report = ProbeReport { inputs: inputs.len(), ..Default::default() };
    let mut codes = vec![verified.code.clone()];
    for code in sample_implementations(ctx, task, spec, spec, count, FIRST_SEED, percent).await? {
        let same = codes.iter().any(|c| super::escalate::normalised(c) == super::escalate::normalised(&code));
        let program = node::assemble(task, &code, &spec.function.name);
        if !same && run_spec_tests(ctx, spec, &program, limits).await?.all_passed() {
            codes.push(code);
        }
    }
    report.implementations = codes.len();
    if codes.len() < 2 {
        ctx.emit(Stage::Tests, percent, "probe: no other implementation passes the tests");
        return Ok((verified, Some(report)));
    }
    let arguments = positional(spec, inputs.iter());
    let mut behaviours: Vec<Behaviour> = Vec::new();
    for code in &codes {
        let program = node::assemble(task, code, &spec.function.name);
        behaviours.push(behaviour(ctx, &program, spec, &arguments, limits).await?);
    }
    let at = |i: usize| -> Vec<&Outcome> { behaviours.iter().map(|b| &b[i]).collect() };
    let disputed: Vec<usize> = (0..inputs.len())
        .filter(|&i| {
            let outcomes: Vec<&Outcome> = at(i).into_iter().filter(|o| **o != Outcome::Nothing).collect();
            outcomes.iter().any(|o| !same_outcome(o, outcomes[0]))
        })
        .collect();
    report.disagreements = disputed.len();
    if disputed.is_empty() {
        ctx.emit(Stage::Tests, percent, format!("probe: {}", report.summary()));
        return Ok((verified, Some(report)));
    }
    let check_kind = if spec.function.returns.trim() == "float" { Check::Approx } else { Check::Equals };
    let asked: Vec<(usize, TestCase)> = disputed
        .iter()
        .take(ASKED)
        .enumerate()
        .map(|(k, &i)| {
            let case = TestCase {
                name: format!("probe_{}", k + 1),
                input: inputs[i].clone(),
                expected: Value::Null,
                check: check_kind,
                author: false,
            };
            (i, case)
        })
        .collect();
    let refs: Vec<&TestCase> = asked.iter().map(|(_, c)| c).collect();
    let derived = rederive(ctx, task, spec, &refs, percent).await?;
    let mut added: Vec<(usize, TestCase)> = Vec::new();
    for (i, mut case) in asked {
        let Some(d) = derived.iter().find(|d| d.case == case.name) else { continue };
        let candidates: Vec<&Value> =
            d.candidates().filter(|v| expressions::fits_return_type(v, &spec.function.returns)).collect();
        // The overseer's derivations name one implementation's value, and no other's.
        if let [value] = named_values(&at(i), &candidates).as_slice() {
            case.expected = value.clone();
            added.push((i, case));
        }
    }
    // The implementation that passes most of the new cases; the verified code on a tie.
    let passed_by = |j: usize| added.iter().filter(|(i, c)| passes(c, &behaviours[j][*i])).count();
    let Some(best) = (0..codes.len()).rev().max_by_key(|&j| passed_by(j)) else {
        return Ok((verified, Some(report)));
    };
    added.retain(|(i, c)| passes(c, &behaviours[best][*i]));
    if added.is_empty() {
        ctx.emit(Stage::Tests, percent, format!("probe: {}; the overseer named no single value", report.summary()));
        return Ok((verified, Some(report)));
    }
    let mut new_spec = spec.clone();
    for (_, case) in &added {
        let args = super::tests::keyword_arguments(&case.input);
        report.added.push(format!("({args}) -> {}", super::tests::py_literal(&case.expected)));
    }
    new_spec.test_cases.extend(added.into_iter().map(|(_, c)| c));
    normalise_case_names(&mut new_spec.test_cases);
    let program = node::assemble(task, &codes[best], &spec.function.name);
    let tests_report = run_spec_tests(ctx, &new_spec, &program, limits).await?;
    if !tests_report.all_passed() {
        // Never: the implementation just returned every expected value. Keep what was verified.
        ctx.warn(Stage::Tests, percent, "probe: the chosen implementation failed the extended tests; nothing changed");
        return Ok((verified, Some(report)));
    }
    report.replaced = best != 0;
    if report.replaced {
        ctx.warn(Stage::Verify, percent, format!("probe: {}", report.summary()));
    } else {
        ctx.emit(Stage::Tests, percent, format!("probe: {}", report.summary()));
    }
    let tests = super::tests::render(&new_spec, task, new_spec.tools.is_empty());
    let probed = Verified {
        spec: new_spec,
        tests,
        code: codes[best].clone(),
        node: program,
        report: tests_report,
        attempts: verified.attempts,
        repaired: verified.repaired,
        oracle: verified.oracle,
    };
    Ok((probed, Some(report)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_value_becomes_a_case_only_when_the_overseer_names_one_implementations_value() {
        let returned = |v: Value| Outcome::Returned(v);
        let (short, padded, raised) = (returned(json!("hi")), returned(json!("hi...")), Outcome::Raised);
        let outcomes = vec![&padded, &short, &short, &raised];
        assert_eq!(named_values(&outcomes, &[&json!("hi")]), vec![json!("hi")]);
        // The expression says one, the reckoning the other: no single value, no case.
        assert_eq!(named_values(&outcomes, &[&json!("hi..."), &json!("hi")]).len(), 2);
        // A value no implementation returned is no case: the overseer alone does not decide.
        assert!(named_values(&outcomes, &[&json!("h")]).is_empty());
        let (int, float) = (Outcome::Returned(json!(3)), Outcome::Returned(json!(3.0)));
        assert_eq!(named_values(&[&int, &float], &[&json!(3)]).len(), 1, "3 and 3.0 are one value");
    }

    #[test]
    fn a_case_passes_only_on_the_expected_value() {
        let case = TestCase {
            name: "probe_1".into(),
            input: serde_json::Map::new(),
            expected: json!(5),
            check: Check::Equals,
            author: false,
        };
        assert!(passes(&case, &Outcome::Returned(json!(5))));
        assert!(!passes(&case, &Outcome::Returned(json!(4))));
        assert!(!passes(&case, &Outcome::Raised));
        assert!(!passes(&case, &Outcome::Nothing));
    }
}
