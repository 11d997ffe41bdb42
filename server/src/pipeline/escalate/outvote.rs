//! The ladder's own attempts as evidence against a case: attempts that fail one of the
//! overseer's cases alone are noted, and enough of them alike drop it (consensus::outvoting).
//! Agreeing attempts are evidence against a slip in the overseer's value (a date one day off, a
//! standard deviation misreckoned), not against its reading of the task: attempts of small models
//! share their misreadings (a card "masked" by returning its last four digits). So a value of
//! another shape than the overseer's (another type, length, key set, or a text far from it) goes
//! only when the attempts' code also passes cases with new inputs the overseer writes then.

use super::{Ladder, Tested, Verified, normalised};
use crate::config::Role;
use crate::pipeline::consensus::{LoneFailure, OracleReport};
use crate::pipeline::escalate::{AttemptBy, AttemptRecord};
use crate::pipeline::events::Stage;
use crate::pipeline::evolver::{Ctx, EvolveError};
use crate::pipeline::node;
use crate::pipeline::spec::TestCase;
use crate::pipeline::tests::{NODE_FILE, NODE_MODULE, py_literal};
use crate::pipeline::verify::{run_cases, run_spec_tests};
use crate::sandbox::NodeLimits;
use serde_json::Value;

impl Ladder {
    /// Notes the attempt just judged when it failed one of the overseer's cases (not the author's,
    /// not a property's) and passed every other case, two at least, unless the same code was
    /// noted.
    pub(super) fn note_lone_failure(&mut self, role: Role, model: &str) {
        let (Some(report), Some(code)) = (&self.last_report, &self.last_code) else { return };
        let failing: Vec<_> = report.cases.iter().filter(|c| !c.passed).collect();
        let ([only], None) = (failing.as_slice(), &report.abnormal) else { return };
        let (Some(returned), Some(case)) = (&only.returned, self.spec.test_cases.iter().find(|c| c.name == only.name))
        else {
            return;
        };
        // The same code again is no second opinion.
        let again = self.lone_failures.iter().any(|f| normalised(&f.code) == normalised(code));
        if again || case.author || report.passed < 2 || matches!(case.check, crate::pipeline::spec::Check::Holds(_)) {
            return;
        }
        self.lone_failures.push(LoneFailure {
            case: case.name.clone(),
            role,
            model: model.to_string(),
            returned: returned.clone(),
            code: code.clone(),
        });
    }

    /// Enough attempts failed one case alone, returning one value there: the case goes
    /// (consensus::outvoting), and the latest of them is tested on the remaining cases.
    pub(super) async fn outvote_a_case(
        &mut self,
        ctx: &Ctx<'_>,
        task: &str,
        limits: &NodeLimits,
        ladder_ended: bool,
    ) -> Result<Option<Verified>, EvolveError> {
        // A case since dropped or corrected (by a consensus, the review) is no longer in question;
        // nor is one the new-input cases kept.
        let (spec, stands) = (&self.spec, &self.outvote_refused);
        self.lone_failures.retain(|f| {
            !stands.contains(&f.case)
                && spec.test_cases.iter().any(|c| {
                    c.name == f.case && crate::pipeline::verify::check(c.check, &f.returned, &c.expected).is_err()
                })
        });
        let Some((failure, agreeing)) = crate::pipeline::consensus::outvoting(&self.lone_failures, ladder_ended) else {
            return Ok(None);
        };
        let (case, code, model, role) =
            (failure.case.clone(), failure.code.clone(), failure.model.clone(), failure.role);
        let Some(spec_case) = self.spec.test_cases.iter().find(|c| c.name == case) else { return Ok(None) };
        let which = if crate::pipeline::consensus::is_task_case(&self.spec, spec_case) {
            "the task's own case"
        } else {
            "case"
        };
        let (returned, expected) = (py_literal(&failure.returned), py_literal(&spec_case.expected));
        let mut new_cases = Vec::new();
        if !a_slip_apart(&spec_case.expected, &failure.returned) {
            match self.new_inputs_passed(ctx, task, spec_case, &code, limits).await? {
                Ok(cases) => new_cases = cases,
                Err(why) => {
                    ctx.warn(
                        Stage::Tests,
                        70,
                        format!(
                            "{agreeing} attempts pass every other case and return {returned} on {which} {case}, not the overseer's {expected}, an answer of another shape; {why}: the case stands"
                        ),
                    );
                    self.outvote_refused.push(case);
                    self.lone_failures.clear();
                    return Ok(None);
                }
            }
        }
        ctx.warn(
            Stage::Tests,
            70,
            format!(
                "{agreeing} attempts pass every other case and return {returned} on {which} {case}, not the overseer's {expected}: the case is dropped"
            ),
        );
        self.lone_failures.clear();
        self.spec.test_cases.retain(|c| c.name != case);
        self.spec.test_cases.extend(new_cases);
        crate::pipeline::spec::normalise_case_names(&mut self.spec.test_cases);
        self.tests = crate::pipeline::tests::render(&self.spec, task, self.spec.tools.is_empty());
        let oracle = self.oracle.get_or_insert_with(|| OracleReport {
            implementations: agreeing,
            agreeing,
            ..Default::default()
        });
        oracle.kept.retain(|k| *k != case);
        oracle.dropped.push(case);
        let program = node::assemble(task, &code, &self.spec.function.name);
        let report = run_spec_tests(ctx, &self.spec, &program, limits).await?;
        let record = AttemptRecord {
            rung: self.attempts.len() + 1,
            by: AttemptBy::Model(role),
            model,
            temperature: 0.0,
            passed: 0,
            total: self.spec.test_cases.len(),
            outcome: String::new(),
        };
        Ok(self.verdict(ctx, 70, Tested { code, program, report }, record))
    }

    /// The overseer's cases with new inputs like `disputed`, when `code` passes them all (two at
    /// least); else why not.
    pub(super) async fn new_inputs_passed(
        &self,
        ctx: &Ctx<'_>,
        task: &str,
        disputed: &TestCase,
        code: &str,
        limits: &NodeLimits,
    ) -> Result<Result<Vec<TestCase>, String>, EvolveError> {
        ctx.emit(
            Stage::Tests,
            70,
            format!(
                "attempts agree on another answer than the overseer's for case {}: the overseer writes cases like it with new inputs, which their code must pass",
                disputed.name
            ),
        );
        let cases = crate::pipeline::extend::new_cases(ctx, task, &self.spec, Some(disputed), Stage::Tests, 70).await?;
        if cases.len() < 2 {
            return Ok(Err(format!("the overseer wrote {} usable case(s) with new inputs, not 2", cases.len())));
        }
        let program = node::assemble(task, code, &self.spec.function.name);
        let files = std::collections::BTreeMap::from([(NODE_FILE.to_string(), program)]);
        let run = run_cases(ctx, files, NODE_MODULE, &self.spec.function.name, &cases, limits).await?;
        let failed: Vec<String> = cases
            .iter()
            .zip(&run.cases)
            .filter(|(_, r)| !r.passed)
            .map(|(c, r)| format!("{}: {}", c.name, r.message))
            .collect();
        if let Some(first) = failed.first() {
            return Ok(Err(format!("their code fails {} of {} new cases ({first})", failed.len(), cases.len())));
        }
        if run.cases.len() != cases.len() || run.abnormal.is_some() {
            return Ok(Err("their code did not finish the new cases".to_string()));
        }
        Ok(Ok(cases))
    }
}

/// Whether `returned` differs from `expected` as a slip in working out a value does: any two
/// numbers (or two booleans), texts a few edits apart (a third of the longer), lists one element
/// longer or shorter at most, objects with one key more or fewer at most. Another type, or a text,
/// list or object of another shape, is another reading of the task.
pub(crate) fn a_slip_apart(expected: &Value, returned: &Value) -> bool {
    match (expected, returned) {
        (Value::Number(_), Value::Number(_)) | (Value::Bool(_), Value::Bool(_)) => true,
        (Value::String(e), Value::String(r)) => {
            let (e, r): (Vec<char>, Vec<char>) = (e.chars().collect(), r.chars().collect());
            let longer = e.len().max(r.len());
            // Long texts are compared by length alone: an edit distance is quadratic.
            if longer > 2000 {
                return e.len().abs_diff(r.len()) <= longer / 3;
            }
            edit_distance(&e, &r) <= (longer / 3).max(2)
        }
        (Value::Array(e), Value::Array(r)) => e.len().abs_diff(r.len()) <= 1,
        (Value::Object(e), Value::Object(r)) => {
            let only_one = e.keys().filter(|k| !r.contains_key(*k)).count();
            let only_other = r.keys().filter(|k| !e.contains_key(*k)).count();
            only_one + only_other <= 1
        }
        _ => false,
    }
}

fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, x) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, y) in b.iter().enumerate() {
            let replaced = diagonal + usize::from(x != y);
            diagonal = row[j + 1];
            row[j + 1] = replaced.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::a_slip_apart;
    use serde_json::json;

    #[test]
    fn a_slip_changes_a_value_not_its_shape() {
        assert!(a_slip_apart(&json!("2024-02-15"), &json!("2024-02-14")), "a date one day off");
        assert!(a_slip_apart(&json!(2.0), &json!(2.138)), "a number misreckoned");
        assert!(a_slip_apart(&json!("**********78"), &json!("************5678")), "a mask miscounted");
        assert!(a_slip_apart(&json!([1, 2, 3]), &json!([1, 2])), "one element more");
        assert!(a_slip_apart(&json!({"a": 1, "b": 2}), &json!({"a": 1, "b": 3})), "a value in a merge");
        assert!(!a_slip_apart(&json!("************5678"), &json!("5678")), "the card not masked at all");
        assert!(!a_slip_apart(&json!("3725"), &json!("1:02:05")), "the input echoed, not formatted");
        assert!(!a_slip_apart(&json!(5), &json!("5")), "another type");
        assert!(!a_slip_apart(&json!([1, 2, 3, 4]), &json!([1, 2])), "another length");
        assert!(!a_slip_apart(&json!({"a": 1}), &json!({"b": 1, "c": 2})), "other keys");
        assert!(!a_slip_apart(&json!(null), &json!(0)), "nothing against something");
    }
}
