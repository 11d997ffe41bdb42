//! The ladder's own attempts as evidence against a case: attempts that fail one of the
//! overseer's cases alone are noted, and enough of them alike drop it (consensus::outvoting).

use super::{Ladder, Tested, Verified, normalised};
use crate::config::Role;
use crate::pipeline::consensus::{LoneFailure, OracleReport};
use crate::pipeline::escalate::{AttemptBy, AttemptRecord};
use crate::pipeline::events::Stage;
use crate::pipeline::evolver::{Ctx, EvolveError};
use crate::pipeline::node;
use crate::pipeline::verify::run_spec_tests;
use crate::sandbox::NodeLimits;

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
        // A case since dropped or corrected (by a consensus, the review) is no longer in question.
        let spec = &self.spec;
        self.lone_failures.retain(|f| {
            spec.test_cases
                .iter()
                .any(|c| c.name == f.case && crate::pipeline::verify::check(c.check, &f.returned, &c.expected).is_err())
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
        ctx.warn(
            Stage::Tests,
            70,
            format!(
                "{agreeing} attempts pass every other case and return {} on {which} {case}, not the overseer's {}: the case is dropped",
                crate::pipeline::tests::py_literal(&failure.returned),
                crate::pipeline::tests::py_literal(&spec_case.expected)
            ),
        );
        self.lone_failures.clear();
        self.spec.test_cases.retain(|c| c.name != case);
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
}
