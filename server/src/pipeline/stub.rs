//! Tasks that carry a Python stub (a signature with a docstring, as in "implement this" requests,
//! an editor selection, or a benchmark prompt). The stub fixes the function's name, parameters and
//! types, and its doctest examples are test cases written by the task's author: they outrank the
//! overseer's own guesses. Parsed by runtime/stub_spec.py in the sandbox; nothing is executed.

use serde::Deserialize;

use super::evolver::{Ctx, EvolveError};
use super::spec::{Check, FunctionSig, Spec, TestCase};
use crate::sandbox::NodeLimits;
use crate::sandbox::RunRequest;

#[derive(Debug, Clone, Deserialize)]
pub struct Stub {
    pub function: FunctionSig,
    #[serde(default)]
    pub problem: String,
    #[serde(default)]
    pub cases: Vec<StubCase>,
    /// The stub's code as written (the fenced block, or the task from its first line of code).
    #[serde(default)]
    pub source: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StubCase {
    pub name: String,
    pub input: serde_json::Map<String, serde_json::Value>,
    pub expected: serde_json::Value,
    /// `approx` for a doctest that rounds the result (`round(f(x), 2)`).
    #[serde(default)]
    pub check: Check,
}

impl Stub {
    pub fn test_cases(&self) -> Vec<TestCase> {
        self.cases
            .iter()
            .map(|c| TestCase {
                name: c.name.clone(),
                input: c.input.clone(),
                expected: c.expected.clone(),
                check: c.check,
                author: true,
            })
            .collect()
    }

    fn parameter_names(&self) -> Vec<&str> {
        self.function.parameters.iter().map(|p| p.name.as_str()).collect()
    }

    /// The overseer's spec with the stub's signature and examples: the examples first; the
    /// overseer's cases only to reach three, and only those that fit the signature.
    pub fn apply(&self, spec: &mut Spec) {
        spec.stub = Some(self.source.clone());
        spec.function = self.function.clone();
        if !self.problem.is_empty() {
            spec.problem = self.problem.clone();
        }
        let names = self.parameter_names();
        let fits = |input: &serde_json::Map<String, serde_json::Value>| {
            input.len() == names.len() && input.keys().all(|k| names.contains(&k.as_str()))
        };
        let mut cases = self.test_cases();
        for case in spec.test_cases.drain(..) {
            if cases.len() >= 3 {
                break;
            }
            // Beside the author's examples, which check real values, an overseer's "nonempty"
            // guess only adds risk: a computed result can rightly be empty (HumanEval 7, 26, 34).
            if self.has_examples() && case.check == Check::Nonempty {
                continue;
            }
            if fits(&case.input) && !cases.iter().any(|c| c.input == case.input) {
                cases.push(case);
            }
        }
        spec.test_cases = cases;
        if !fits(&spec.task_input)
            && let Some(first) = spec.test_cases.first()
        {
            spec.task_input = first.input.clone();
        }
        if spec.benchmark_input.as_ref().is_some_and(|b| !fits(b)) {
            spec.benchmark_input = None;
        }
    }

    /// A spec from the stub alone (when the overseer's is unusable).
    pub fn spec(&self) -> Option<Spec> {
        let cases = self.test_cases();
        let first = cases.first()?.clone();
        Some(Spec {
            problem: if self.problem.is_empty() {
                format!("Implement {}.", self.function.name)
            } else {
                self.problem.clone()
            },
            requirements: Vec::new(),
            limits: String::new(),
            plan: Vec::new(),
            function: self.function.clone(),
            task_input: first.input.clone(),
            example_output: first.expected.clone(),
            test_cases: cases,
            benchmark_input: None,
            tools: Vec::new(),
            properties: Vec::new(),
            tool_notes: Default::default(),
            stub: Some(self.source.clone()),
        })
    }

    pub fn has_examples(&self) -> bool {
        !self.cases.is_empty()
    }
}

/// The stub in `task`, if it holds one.
pub async fn extract(ctx: &Ctx<'_>, task: &str) -> Result<Option<Stub>, EvolveError> {
    if !task.contains("def ") {
        return Ok(None);
    }
    let request =
        RunRequest::runtime_script("stub_spec.py", task.to_string(), NodeLimits::from_config(&ctx.config.limits));
    let outcome = ctx.run_sandboxed(&request).await?;
    let line = outcome.stdout.lines().last().unwrap_or("{}");
    Ok(serde_json::from_str::<Stub>(line).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn author_examples_come_first_and_overseer_nonempty_guesses_are_dropped() {
        let stub: Stub = serde_json::from_value(json!({
            "function": {"name": "evens", "parameters": [{"name": "xs", "type": "list[int]"}], "returns": "list[int]"},
            "problem": "The even numbers of xs.",
            "cases": [{"name": "docstring_1", "input": {"xs": [1, 2]}, "expected": [2]}]
        }))
        .unwrap();
        let mut spec: Spec = serde_json::from_value(json!({
            "problem": "Filter evens.",
            "plan": ["loop"],
            "function": {"name": "filter_evens", "parameters": [{"name": "xs", "type": "list"}], "returns": "list"},
            "test_cases": [
                {"name": "odd_only", "input": {"xs": [1, 3]}, "expected": "", "check": "nonempty"},
                {"name": "wrong_param", "input": {"ys": [2]}, "expected": [2], "check": "equals"},
                {"name": "mixed", "input": {"xs": [4, 5]}, "expected": [4], "check": "equals"}
            ]
        }))
        .unwrap();
        stub.apply(&mut spec);
        let names: Vec<&str> = spec.test_cases.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["docstring_1", "mixed"]);
        assert_eq!(spec.function.name, "evens");
        assert!(spec.stub.is_some());
    }
}
