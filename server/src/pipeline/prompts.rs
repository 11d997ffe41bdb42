//! Prompts for each stage. Small local models do well with short, concrete instructions and a
//! worked example; the answer's shape is enforced by the stage's JSON schema, except for the
//! code stage, which answers with a plain ```python block (code escaped inside a JSON string is
//! what small models get wrong most).

use super::generate::{Attempt, StubForm};
use super::spec::{Check, Classification, Spec, TestCase};
use crate::config::ToolConfig;
use std::collections::BTreeMap;

pub const CLASSIFY_SYSTEM: &str = "You classify programming tasks for a code generator.\n\
Kinds:\n\
- arithmetic: a calculation on given numbers (add, multiply, percentages, powers).\n\
- simple_content: the user wants a short piece of WRITING (a joke, a one-liner, a greeting, a slogan).\n\
- complex_content: the user wants long WRITING (a story, an article, an essay, a report).\n\
- algorithm: anything else computed by code (parsing, sorting, searching, dates, strings, lists).\n\
Complexity: simple (a few lines), moderate (a loop or a few steps), complex (a real algorithm).\n\
Examples:\n\
add 10 and 20 -> {\"reason\": \"a sum of two numbers\", \"kind\": \"arithmetic\", \"complexity\": \"simple\"}\n\
write me a joke about cats -> {\"reason\": \"asks for a joke\", \"kind\": \"simple_content\", \"complexity\": \"simple\"}\n\
reverse the words in a sentence -> {\"reason\": \"string processing\", \"kind\": \"algorithm\", \"complexity\": \"simple\"}\n\
Answer with JSON: {\"reason\": one short sentence, \"kind\": ..., \"complexity\": ...}.";

pub fn classify_user(task: &str) -> String {
    format!("Task: {task}")
}

pub fn tools_text(tools: &BTreeMap<String, ToolConfig>) -> String {
    tools.iter().map(|(id, t)| format!("- {id}: {}", t.description)).collect::<Vec<_>>().join("\n")
}

pub const PLAN_SYSTEM: &str = "You are the overseer of a code generator. For the user's task, write the spec of ONE Python \
function that solves it. Answer with JSON only.\n\
Rules:\n\
- function: a descriptive snake_case name that is not a Python builtin (not sum, max, min, len, \
sorted, reversed, list, str, int), parameters with Python types, and the return type. Arguments \
and the result must be JSON values (numbers, strings, booleans, lists, objects).\n\
- The function takes the task's values (numbers, strings, lists, dates) as PARAMETERS, so it \
works for other values too; task_input holds the values from the task text.\n\
- test_cases: 4 or 5, each with a DIFFERENT input. The first is the task itself; the others are \
chosen to catch wrong code: an edge case (empty, zero, negative, one element, duplicates, a value \
exactly at a limit) where the problem allows it, and an ordinary value. Use ONLY your function's \
parameter names. Keep inputs small and compute each expected value exactly, step by step. Every \
case is a normal call with a normal result: do not test errors or invalid input. check is \"equals\" \
for exact results, \"approx\" for floats, \"contains\" when the result must contain the \
expected text, \"nonempty\" for creative text (expected \"\").\n\
- properties: what the TASK ITSELF says every result has, from: sorted (ascending), same_elements \
(the first argument reordered), subset (only elements of the first argument), no_duplicates, same_length \
(as the first argument), non_negative. Usually none: [].\n\
- Prefer the simplest approach (arithmetic, if/else, a dictionary, the standard library).\n\
- tools: for writing tasks (jokes, stories, articles, poems) list \"content_generator\": the \
function must get the text by calling call_tool(\"content_generator\", prompt). For calculations \
and data processing list no tools.\n\n\
Example for the task \"the hypotenuse of a right triangle with legs 3 and 4\":\n\
{\"problem\": \"Compute the hypotenuse from the two legs.\", \"requirements\": [\"use the \
Pythagorean theorem\"], \"limits\": \"O(1)\", \"plan\": [\"return sqrt(a*a + b*b)\"], \
\"function\": {\"name\": \"hypotenuse\", \"parameters\": [{\"name\": \"a\", \"type\": \"float\"}, \
{\"name\": \"b\", \"type\": \"float\"}], \"returns\": \"float\"}, \"task_input\": {\"a\": 3, \"b\": 4}, \
\"example_output\": 5.0, \"test_cases\": [{\"name\": \"task\", \"input\": {\"a\": 3, \"b\": 4}, \
\"expected\": 5.0, \"check\": \"approx\"}, {\"name\": \"five_twelve\", \"input\": {\"a\": 5, \
\"b\": 12}, \"expected\": 13.0, \"check\": \"approx\"}, {\"name\": \"eight_fifteen\", \"input\": \
{\"a\": 8, \"b\": 15}, \"expected\": 17.0, \"check\": \"approx\"}, {\"name\": \"zero_leg\", \"input\": \
{\"a\": 0, \"b\": 7}, \"expected\": 7.0, \"check\": \"approx\"}], \"tools\": []}";

pub fn plan_user(task: &str, classification: &Classification, tools: &str, problems: Option<&str>) -> String {
    let mut text = format!(
        "Task: {task}\nKind: {} ({})\nAvailable tools (call_tool):\n{tools}\n",
        classification.kind.as_str(),
        classification.complexity.as_str()
    );
    if let Some(problems) = problems {
        text.push_str(&format!("\nYour previous spec was unusable: {problems}\nWrite a corrected spec.\n"));
    }
    text
}

/// How the code stage's system prompt starts. The code stage sends no JSON schema (code inside a
/// JSON string is what small models get wrong most), so a scripted test server recognises the
/// stage by this text instead.
pub const CODE_SYSTEM_LEAD: &str = "You write Python 3.11 code.";

/// The code stage's system prompt for a task that carries a stub: the plain completion request
/// models are trained on, word for word what the HumanEval single-shot baseline sends, so the
/// ladder's first (greedy) rung starts where one-shot generation ends. (HumanEval, 0.5B, first
/// 99: the generic code prompt lost 7 problems single-shot solves.)
pub const STUB_SYSTEM: &str = "You complete Python functions. Answer with the complete function (its signature, body \
and any imports it needs) in one ```python code block, and nothing else.";

/// The completion request for a stub, as the single-shot baseline sends it.
pub fn complete_stub(stub: &str) -> String {
    format!("Complete this function:\n```python\n{}\n```", stub.trim_end())
}

pub fn code_system(spec: &Spec, attempt: &Attempt<'_>) -> String {
    let mut text = match &spec.stub {
        Some(_) if attempt.form == StubForm::Completion => STUB_SYSTEM.to_string(),
        _ => format!(
            "{CODE_SYSTEM_LEAD} Write the function `{}` and any helpers it needs, with their imports and \
type hints. Do NOT read input, print, parse arguments, add an `if __name__` block or write tests: \
the caller calls the function directly. Answer with the complete code in one ```python code block.",
            spec.function.name
        ),
    };
    if !spec.tools.is_empty() {
        text.push_str(
            "\nThe text must come from a tool: `from node_runtime import call_tool` and call \
`call_tool(\"TOOL_NAME\", prompt)` (it returns a string). Never write the content yourself.",
        );
    }
    text
}

/// The cases as lines for a prompt: each written case, then each property once (its generated
/// inputs are the tests', not the model's to see).
fn case_lines<'a>(cases: impl IntoIterator<Item = &'a TestCase>, spec: &Spec) -> String {
    let mut text = String::new();
    let mut properties = Vec::new();
    for case in cases {
        match case.check {
            Check::Holds(p) if !properties.contains(&p) => properties.push(p),
            Check::Holds(_) => {}
            _ => text.push_str(&format!("- {}\n", case_line(case, &spec.function.name))),
        }
    }
    for p in properties {
        text.push_str(&format!("- for every input, the result is {} (checked on other inputs too)\n", p.describe()));
    }
    text
}

fn case_line(case: &TestCase, function: &str) -> String {
    let args: Vec<String> = case.input.iter().map(|(k, v)| format!("{k}={}", super::tests::py_literal(v))).collect();
    let want = match case.check {
        Check::Equals => format!("== {}", super::tests::py_literal(&case.expected)),
        Check::Approx => format!("≈ {}", super::tests::py_literal(&case.expected)),
        Check::Contains => format!("contains {}", super::tests::py_literal(&case.expected)),
        Check::Nonempty => "is a non-empty result".to_string(),
        Check::Type => format!("is of type {}", case.expected.as_str().unwrap_or("?")),
        Check::Holds(p) => format!("is {}", p.describe()),
    };
    format!("{function}({}) {want}", args.join(", "))
}

/// The code stage's request: the task, and for a repair the code that failed and how.
pub fn code_user(spec: &Spec, tools: &BTreeMap<String, ToolConfig>, attempt: &Attempt<'_>) -> String {
    let Some((code, failures)) = attempt.repair else {
        return task_user(spec, tools, attempt);
    };
    format!(
        "{}\n\nYour previous code:\n```python\n{code}\n```\nIt failed:\n{failures}\nFind the mistake and \
write corrected code for `{}`.",
        task_user(spec, tools, &Attempt { template: None, patterns: None, ..*attempt }),
        spec.function.name
    )
}

/// The attempt's task is the user's own words (or stub), which carry what a spec may lose.
fn task_user(spec: &Spec, tools: &BTreeMap<String, ToolConfig>, attempt: &Attempt<'_>) -> String {
    let mut text = match &spec.stub {
        Some(stub) => stub_part(spec, stub, attempt),
        None => spec_part(spec, attempt),
    };
    for tool in &spec.tools {
        if let Some(t) = tools.get(tool) {
            text.push_str(&format!("Tool `{tool}`: {}\n", t.description));
        } else if let Some(note) = spec.tool_notes.get(tool) {
            text.push_str(&format!("Tool `{tool}`: {note}\n"));
        }
    }
    if let Some(template) = attempt.template {
        text.push_str(&format!("\nA related verified solution you may adapt:\n```python\n{template}\n```\n"));
    }
    if let Some(prelude) = attempt.prelude {
        text.push_str(&format!(
            "\nThese verified functions are already defined above your code; call them, do not write them \
again:\n```python\n{prelude}\n```\n"
        ));
    }
    if let Some(patterns) = attempt.patterns {
        text.push_str(&format!(
            "\nHelpers that verified solutions of similar tasks share (use one where it fits):\n```python\n{patterns}\n```\n"
        ));
    }
    // No trailing newline: a stub's request then ends exactly as the one-shot request does (one
    // token more changed the 0.5B's greedy answer to HumanEval 76).
    text.truncate(text.trim_end().len());
    text
}

/// A prose task, with the spec restated: signature, problem, (plan), every case.
fn spec_part(spec: &Spec, attempt: &Attempt<'_>) -> String {
    let mut text =
        format!("Task: {}\n\nWrite: def {}\nProblem: {}\n", attempt.task.trim(), spec.signature(), spec.problem);
    if attempt.show_plan && !spec.requirements.is_empty() {
        text.push_str(&format!("Requirements:\n- {}\n", spec.requirements.join("\n- ")));
    }
    if attempt.show_plan && !spec.plan.is_empty() {
        text.push_str(&format!("Plan:\n- {}\n", spec.plan.join("\n- ")));
    }
    text.push_str("Examples it must satisfy (checked by the tests; do not copy them into the code):\n");
    text.push_str(&case_lines(&spec.test_cases, spec));
    text
}

/// A stub says it all as its author wrote it (signature, docstring, examples), the form models
/// know best; restated, the docstring came twice. Only cases the author did not write are added.
/// (HumanEval, 0.5B pipeline, first 99: 67 restated, 68 as written.)
/// In the completion form the stub alone is asked for; in the instruction form, the task as the
/// user wrote it (the stub and any words around it).
fn stub_part(spec: &Spec, stub: &str, attempt: &Attempt<'_>) -> String {
    let mut text = match attempt.form {
        StubForm::Completion => format!("{}\n", complete_stub(stub)),
        StubForm::Instruction => format!("{}\n", attempt.task.trim()),
    };
    let added: Vec<&TestCase> = spec.test_cases.iter().filter(|c| !c.author).collect();
    if !added.is_empty() {
        text.push_str("\nIt must also satisfy (checked by the tests; do not copy them into the code):\n");
        text.push_str(&case_lines(added, spec));
    }
    text
}

pub fn optimize_user(spec: &Spec, code: &str, per_call: &str) -> String {
    format!(
        "This verified Python function takes {per_call} per call:\n```python\n{code}\n```\nWrite a \
faster version of `{}` with exactly the same behaviour (same results for every input, same \
signature): {}. Make ONE concrete improvement (a better algorithm, fewer allocations, a builtin). \
Answer with JSON: {{\"code\": \"<the complete faster code>\", \"change\": \"<what you changed>\"}}.",
        spec.function.name,
        spec.signature()
    )
}

pub const OPTIMIZE_SYSTEM: &str = "You make verified Python code faster without changing its behaviour. \
Do not read input, print, or add an `if __name__` block.";

pub const REVIEW_SYSTEM: &str = "You check the test cases of a Python function's spec. For each call, work out \
the exact result from the problem statement, step by step, in `work`; then write `expression`: one line \
of Python that computes the result from the call's arguments by name, without calling the function \
itself (for hypotenuse(a=3, b=4): math.sqrt(a ** 2 + b ** 2)); then give the result in `result` as a \
JSON value of the function's return type. Answer with JSON: {\"cases\": [{\"name\": ..., \
\"work\": ..., \"expression\": ..., \"result\": ...}]}.";

pub fn review_user(task: &str, spec: &Spec, cases: &[&TestCase]) -> String {
    let mut text = format!("Task: {task}\nProblem: {}\nFunction: def {}\n", spec.problem, spec.signature());
    if !spec.requirements.is_empty() {
        text.push_str(&format!("Requirements:\n- {}\n", spec.requirements.join("\n- ")));
    }
    text.push_str("Calls to work out:\n");
    for case in cases {
        let args = super::tests::keyword_arguments(&case.input);
        text.push_str(&format!("- {}: {}({args})\n", case.name, spec.function.name));
    }
    text
}

pub const EXTEND_SYSTEM: &str = "You add test cases to a Python function's spec. The existing cases miss \
behaviour: write 3 NEW cases whose inputs differ from every existing one, chosen to catch wrong \
code: boundaries (a value exactly at a limit, just below, just above), empty input, zero, negative \
numbers, one element, duplicates, ties, order, case of letters, whatever the problem makes valid. \
Only valid inputs with normal results: no errors. Use ONLY the function's parameter names. Work out \
each expected value exactly, step by step, in `work`, from the problem alone. Answer with JSON: \
{\"test_cases\": [{\"name\": ..., \"work\": ..., \"input\": {...}, \"expected\": ..., \"check\": \"equals\"}]}.";

/// For a case the ladder's attempts dispute with an answer of another shape: cases of its kind,
/// not boundaries (a card of 16 digits, not an empty one, tells a mask from a slice).
pub const EXTEND_LIKE_SYSTEM: &str = "You add test cases to a Python function's spec. Write 3 NEW cases like \
the case named at the end: inputs of the same kind and size as its input, with other values, so that each \
result is worked out the same way. Only valid inputs with normal results: no errors. Use ONLY the \
function's parameter names. Work out each expected value exactly, step by step, in `work`, from the \
problem alone. Answer with JSON: {\"test_cases\": [{\"name\": ..., \"work\": ..., \"input\": {...}, \
\"expected\": ..., \"check\": \"equals\"}]}.";

pub fn extend_like_user(task: &str, spec: &Spec, like: &TestCase) -> String {
    format!("{}Write cases like: {}\n", extend_user(task, spec), case_line(like, &spec.function.name))
}

pub fn extend_user(task: &str, spec: &Spec) -> String {
    let mut text = format!("Task: {task}\nProblem: {}\nFunction: def {}\n", spec.problem, spec.signature());
    if !spec.requirements.is_empty() {
        text.push_str(&format!("Requirements:\n- {}\n", spec.requirements.join("\n- ")));
    }
    text.push_str("Existing cases:\n");
    text.push_str(&case_lines(&spec.test_cases, spec));
    text
}
