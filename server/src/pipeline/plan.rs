//! plan: the overseer writes the spec (problem, limits, plan, function, I/O, >= 3 test cases). An
//! unusable spec goes back to the overseer once with what is wrong.

use super::events::Stage;
use super::evolver::{Ctx, EvolveError};
use super::spec::{Classification, Spec, TestCase, normalise_case_names};
use super::toolbox::RankedTool;
use super::{prompts, schema};
use crate::config::Role;
use crate::llm::{ChatRequest, Message};

/// `reference`: a similar verified spec from memory, shown to the overseer. `offered`: saved
/// nodes that fit the task, which the spec may call as tools.
pub async fn plan(
    ctx: &Ctx<'_>,
    task: &str,
    classification: &Classification,
    reference: Option<&str>,
    offered: &[RankedTool],
) -> Result<Spec, EvolveError> {
    let mut known: Vec<String> = ctx.config.tools.keys().cloned().collect();
    known.extend(offered.iter().map(|r| r.tool.name.clone()));
    let mut tools = prompts::tools_text(&ctx.config.tools);
    for r in offered {
        tools.push_str(&format!(
            "\n- {}: a verified function, {} — {}",
            r.tool.name,
            r.tool.signature.clone().unwrap_or_default(),
            r.tool.description
        ));
    }
    let stub = super::stub::extract(ctx, task).await?;
    if let Some(stub) = &stub {
        ctx.emit(
            Stage::Plan,
            8,
            format!(
                "the task holds a stub: {}({}) with {} docstring example(s)",
                stub.function.name,
                stub.function.parameters.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", "),
                stub.cases.len()
            ),
        );
    }
    // Three examples of the author's make the stub a whole spec: the overseer's cases would never
    // be used beside them (Stub::apply stops at three) and its plan is not shown beside a stub.
    if let Some(mut spec) = stub.as_ref().filter(|s| s.cases.len() >= 3).and_then(|s| s.spec()) {
        if classification.kind.is_content() && known.iter().any(|t| t == "content_generator") {
            spec.tools.push("content_generator".into());
        }
        ctx.emit(Stage::Plan, 18, "the stub's signature and examples are the spec; the overseer is not asked");
        return Ok(spec);
    }
    let mut problems: Option<String> = None;
    // Numbers of the task the overseer's first spec took for constants (not arithmetic's: there
    // every number is an operand): parameters now, they default to the task's value.
    let mut constants: Vec<f64> = Vec::new();
    for attempt in 0..2 {
        ctx.emit(
            Stage::Plan,
            8 + attempt * 4,
            if attempt == 0 {
                "the overseer writes the spec".to_string()
            } else {
                "the overseer corrects the spec".to_string()
            },
        );
        let request = request(task, classification, &tools, reference, problems.as_deref(), attempt);
        let answer = ctx.ask(Stage::Plan, 10 + attempt * 4, Role::Overseer, None, request).await?;
        let parsed =
            schema::parse_json_answer(&answer.text).ok_or_else(|| "the answer is not JSON".to_string()).and_then(|v| {
                serde_json::from_value::<Spec>(v).map_err(|e| format!("the JSON does not fit the spec schema: {e}"))
            });
        match parsed {
            Ok(mut spec) => {
                // A tool that exists nowhere (a small model's placeholder `TOOL_NAME`) is refused
                // here, with the plan lines that use it, so no code is ever asked to call it.
                let unknown: Vec<String> = spec.tools.iter().filter(|t| !known.contains(t)).cloned().collect();
                if !unknown.is_empty() {
                    ctx.warn(
                        Stage::Plan,
                        14,
                        format!(
                            "the spec named tool(s) that do not exist: {} (known: {}); dropped",
                            unknown.join(", "),
                            if known.is_empty() { "none".to_string() } else { known.join(", ") }
                        ),
                    );
                    drop_tools(&mut spec, &unknown);
                }
                // Content tasks must reach the content model; a spec that forgot says so is fixed
                // here rather than failing later.
                if classification.kind.is_content()
                    && spec.tools.is_empty()
                    && known.iter().any(|t| t == "content_generator")
                {
                    spec.tools.push("content_generator".into());
                }
                // And computations do not call writing tools, whatever a small model listed; a
                // verified node offered for the task is a computation and may stay.
                let is_node = |t: &String| offered.iter().any(|r| &r.tool.name == t);
                let writing: Vec<String> = spec.tools.iter().filter(|t| !is_node(t)).cloned().collect();
                if !classification.kind.is_content() && !writing.is_empty() {
                    ctx.warn(
                        Stage::Plan,
                        14,
                        format!("tools {} dropped: the task is computed, not written", writing.join(", ")),
                    );
                    spec.tools.retain(|t| is_node(t));
                }
                for r in offered.iter().filter(|r| spec.tools.contains(&r.tool.name)) {
                    ctx.emit(Stage::Plan, 14, format!("the spec uses the verified node {} as a tool", r.tool.name));
                    spec.tool_notes.insert(
                        r.tool.name.clone(),
                        format!(
                            "call_tool(\"{}\", \"\", name=value, ...) runs the verified function {} and returns its result as JSON text (use json.loads)",
                            r.tool.name,
                            r.tool.signature.clone().unwrap_or_default()
                        ),
                    );
                }
                // Only a stub's examples are the author's, whatever the overseer's JSON says.
                spec.test_cases.iter_mut().for_each(|c| c.author = false);
                drop_copied_example(&mut spec, task);
                if let Some(stub) = &stub {
                    stub.apply(&mut spec);
                }
                // A stub's signature is the author's: only the overseer's own names are aligned.
                if stub.is_none() {
                    for change in super::align::align_inputs(&mut spec) {
                        ctx.warn(Stage::Plan, 13, format!("spec aligned: {change}"));
                    }
                    let annotations = super::align::python_types(&mut spec);
                    if !annotations.is_empty() {
                        ctx.warn(Stage::Plan, 13, format!("types that are no Python: {}", annotations.join(", ")));
                    }
                    let retyped = super::align::dates_as_text(&mut spec);
                    if !retyped.is_empty() {
                        ctx.warn(Stage::Plan, 13, format!("JSON carries dates as text: {}", retyped.join(", ")));
                    }
                }
                let exact = super::align::exact_checks(&mut spec, !classification.kind.is_content());
                if !exact.is_empty() {
                    ctx.warn(
                        Stage::Plan,
                        13,
                        format!("checked exactly, as their expected values say: {}", exact.join(", ")),
                    );
                }
                // The last try: inputs that still name other arguments are fitted or dropped
                // rather than the whole spec lost for them.
                if stub.is_none() && attempt == 1 {
                    for change in super::align::fit_to_signature(&mut spec) {
                        ctx.warn(Stage::Plan, 13, format!("spec aligned: {change}"));
                    }
                }
                let repeated = super::spec::drop_repeated_inputs(&mut spec.test_cases);
                if repeated > 0 {
                    ctx.warn(
                        Stage::Plan,
                        13,
                        format!("{repeated} case(s) repeated another case's input and were dropped: a case tests an input once"),
                    );
                }
                // The author's own examples are enough cases even when there are fewer than three;
                // on the last try, so are fewer distinct cases (said, not hidden).
                let examples = stub.as_ref().is_some_and(|s| s.has_examples());
                let last_try = attempt == 1;
                // A hard-coded task value makes a node right on the task alone. Asked once to
                // correct; on the last try the numbers become parameters that every case keeps
                // the value it was computed with for, and what is left is said, not fatal.
                let hard_coded = if stub.is_some() {
                    Vec::new()
                } else {
                    super::task_values::problems(&spec, task, classification.kind)
                };
                if attempt == 0
                    && !hard_coded.is_empty()
                    && !super::task_values::is_arithmetic(task, classification.kind)
                {
                    constants = super::task_values::left_out(&spec, task);
                }
                if last_try && !hard_coded.is_empty() {
                    for change in super::task_values::parameterise(
                        &mut spec,
                        task,
                        super::task_values::is_arithmetic(task, classification.kind),
                    ) {
                        ctx.warn(Stage::Plan, 18, change);
                    }
                    for problem in super::task_values::problems(&spec, task, classification.kind) {
                        ctx.warn(Stage::Plan, 18, format!("kept as is: {problem}"));
                    }
                }
                let mut found: Vec<String> = spec
                    .problems(&known)
                    .into_iter()
                    .filter(|p| {
                        !((examples || (last_try && !spec.test_cases.is_empty()))
                            && p.contains("at least 3 are needed"))
                    })
                    .collect();
                // Cases that never vary a parameter cannot tell code that uses it from code that
                // does not: asked once, then said.
                let unvaried = super::spec::unvaried_parameters(&spec);
                if !last_try {
                    found.extend(hard_coded);
                    found.extend(unvaried);
                } else {
                    for problem in unvaried {
                        ctx.warn(Stage::Plan, 18, format!("kept as is: {problem}"));
                    }
                }
                // Too few distinct cases after the correction: the overseer is asked once more,
                // for new inputs only (one case cannot tell right code from code that is right on
                // the task alone, nor outvote a wrong expected value).
                // (Not a node that calls model tools: its cases check written text loosely.)
                if found.is_empty() && spec.test_cases.len() < 3 && !examples && spec.tools.is_empty() {
                    ctx.emit(
                        Stage::Plan,
                        18,
                        format!(
                            "only {} case(s) with distinct inputs: the overseer writes more from the problem",
                            spec.test_cases.len()
                        ),
                    );
                    let new_cases = super::extend::new_cases(ctx, task, &spec, None, Stage::Plan, 18).await?;
                    let added = add_fitting_cases(&mut spec, &known, new_cases);
                    if !added.is_empty() {
                        ctx.emit(Stage::Plan, 18, format!("{} case(s) added with new inputs", added.len()));
                    }
                    // Still too few: inputs made from the task's by type, valued by the overseer.
                    if spec.test_cases.len() < 3 {
                        let wanted = 3 - spec.test_cases.len();
                        let edges = super::edge_inputs::edge_cases(ctx, task, &spec, wanted, 18).await?;
                        let added = add_fitting_cases(&mut spec, &known, edges);
                        if !added.is_empty() {
                            ctx.warn(Stage::Plan, 18, format!("edge case(s) added: {}", added.join("; ")));
                        }
                    }
                }
                if found.is_empty() && spec.test_cases.len() < 3 && !examples {
                    ctx.warn(
                        Stage::Plan,
                        18,
                        format!(
                            "only {} case(s) with distinct inputs: the code is checked on fewer inputs than it should be",
                            spec.test_cases.len()
                        ),
                    );
                }
                if found.is_empty() {
                    let defaulted = super::task_values::default_to_task_values(&mut spec, &constants);
                    if !defaulted.is_empty() {
                        ctx.warn(
                            Stage::Plan,
                            18,
                            format!("{} default(s) to the task's value: {}", defaulted.join(", "), spec.signature()),
                        );
                    }
                    normalise_case_names(&mut spec.test_cases);
                    super::spec::unwrap_expected(&mut spec);
                    add_property_cases(ctx, &mut spec);
                    return Ok(spec);
                }
                problems = Some(found.join("; "));
            }
            Err(why) => problems = Some(why),
        }
        ctx.warn(Stage::Plan, 12, format!("unusable spec: {}", problems.as_deref().unwrap_or("")));
    }
    if let Some(spec) = stub.as_ref().and_then(|s| s.spec()) {
        ctx.warn(Stage::Plan, 18, "the overseer's spec was unusable: the stub's signature and examples are the spec");
        return Ok(spec);
    }
    Err(EvolveError::Spec(format!("the overseer could not write a usable spec: {}", problems.unwrap_or_default())))
}

/// The overseer's plan request: the first try greedy, the correction (which names the first
/// spec's `problems`) sampled. Also what `setup` warms (warm.rs).
pub(crate) fn request(
    task: &str,
    classification: &Classification,
    tools: &str,
    reference: Option<&str>,
    problems: Option<&str>,
    attempt: u8,
) -> ChatRequest {
    let user = prompts::plan_user(task, classification, tools, problems);
    ChatRequest {
        messages: vec![
            Message::system(prompts::PLAN_SYSTEM),
            Message::user(match reference {
                Some(r) => format!("{user}\n{r}\n"),
                None => user,
            }),
        ],
        schema: Some(schema::plan()),
        temperature: if attempt > 0 { Some(0.4) } else { None },
        ..Default::default()
    }
}

/// The spec's properties as cases on generated inputs (properties.rs), and what was dropped.
/// Adds each case the spec's own checks accept (a wrong type or a bad check is left out);
/// returns the added ones as `input -> expected`.
fn add_fitting_cases(spec: &mut Spec, known: &[String], cases: Vec<TestCase>) -> Vec<String> {
    let mut added = Vec::new();
    for case in cases {
        let before = spec.problems(known).len();
        let shown = format!("{} -> {}", serde_json::Value::Object(case.input.clone()), case.expected);
        spec.test_cases.push(case);
        if spec.problems(known).len() > before {
            spec.test_cases.pop();
        } else {
            added.push(shown);
        }
    }
    added
}

fn add_property_cases(ctx: &Ctx<'_>, spec: &mut Spec) {
    let inputs = ctx.config.pipeline.properties.inputs as usize;
    if inputs == 0 {
        spec.properties.clear();
        return;
    }
    let applied = super::properties::apply(spec, inputs);
    if !applied.dropped.is_empty() {
        ctx.warn(Stage::Plan, 19, format!("properties dropped: {}", applied.dropped.join("; ")));
    }
    if applied.cases_added > 0 {
        ctx.emit(
            Stage::Plan,
            19,
            format!(
                "properties {} checked on {} generated input(s) each: {} case(s) that need no expected value",
                applied.kept.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", "),
                applied.cases_added / applied.kept.len().max(1),
                applied.cases_added
            ),
        );
    }
}

/// Removes `tools` from the spec, and the plan steps and requirements that name them.
fn drop_tools(spec: &mut Spec, tools: &[String]) {
    spec.tools.retain(|t| !tools.contains(t));
    let names_one = |line: &String| tools.iter().any(|t| line.contains(t.as_str()));
    spec.plan.retain(|p| !names_one(p));
    spec.requirements.retain(|r| !names_one(r));
    for tool in tools {
        spec.tool_notes.remove(tool);
    }
}

/// Small models copy the prompt's worked example (the hypotenuse) into unrelated specs: its plan
/// ("return sqrt(a*a + b*b)"), its requirement and its cases. Those parts are dropped unless the
/// task is about that example.
fn drop_copied_example(spec: &mut Spec, task: &str) {
    if task.to_lowercase().contains("hypotenuse") {
        return;
    }
    spec.plan.retain(|p| !p.replace(' ', "").contains("sqrt(a*a+b*b)"));
    spec.requirements.retain(|r| !r.contains("Pythagorean"));
    spec.test_cases.retain(|c| !["five_twelve", "eight_fifteen", "zero_leg"].contains(&c.name.as_str()));
}
