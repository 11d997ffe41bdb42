//! Compound tasks as workflows of verified steps. A task holding one of the configured keywords
//! (`workflow.detect_keywords`, the prototype's `and`, `then`, `translate`, `convert`) is put to
//! the overseer, who says whether it is one function or a pipeline of steps, and names each step
//! as a task of its own. Each step is then evolved (or recalled from memory) as a node with its
//! own spec and tests; the task's own function is evolved last, with the steps' verified code
//! defined above it and its own end-to-end cases (evolver.rs `evolve_workflow`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::events::Stage;
use super::evolver::{Ctx, EvolveError};
use super::{learned, schema};
use crate::config::Role;
use crate::llm::{ChatRequest, Message};
use crate::memory::{ArtifactKind, Filter};
use crate::registry::StepLink;

/// A step as the overseer names it: its function, its task, and the data that flows in and out
/// (the first step takes the task's input, each later one the previous step's output).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[schemars(transform = |s: &mut schemars::Schema| super::spec::require(s, &["name", "task", "takes", "returns"]))]
pub struct StepPlan {
    /// A snake_case name for the step's function.
    pub name: String,
    /// The step as a task of its own: what it takes and what it returns.
    #[schemars(length(max = 300))]
    pub task: String,
    /// Its parameters with their types ("line: str, a log line").
    #[serde(default)]
    #[schemars(length(max = 120))]
    pub takes: String,
    /// Its result with its type ("list[float], the numbers in order").
    #[serde(default)]
    #[schemars(length(max = 120))]
    pub returns: String,
}

impl StepPlan {
    /// A stored step, named again as it was evolved.
    pub fn stored(name: &str, task: &str) -> StepPlan {
        StepPlan { name: name.into(), task: task.into(), takes: String::new(), returns: String::new() }
    }

    /// The task the step is evolved as: its words, then its typed input and output unless the
    /// words already state them (a stored step's task, named again).
    pub fn task_text(&self) -> String {
        let task = self.task.trim().trim_end_matches('.');
        if task.contains(" It takes ") || (self.takes.trim().is_empty() && self.returns.trim().is_empty()) {
            return self.task.trim().to_string();
        }
        let mut text = format!("{task}.");
        if !self.takes.trim().is_empty() {
            text.push_str(&format!(" It takes {}", self.takes.trim().trim_end_matches('.')));
        }
        if !self.returns.trim().is_empty() {
            // Not "and": a step's own words decide whether it is split again (a keyword).
            text.push_str(&format!(
                "{} returns {}",
                if self.takes.trim().is_empty() { " It" } else { "; it" },
                self.returns.trim().trim_end_matches('.')
            ));
        }
        text.push('.');
        text
    }
}

/// The overseer's answer: one function, or the steps.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct Decomposition {
    #[schemars(length(max = 300))]
    pub reason: String,
    pub compound: bool,
    #[serde(default)]
    #[schemars(length(max = 6))]
    pub steps: Vec<StepPlan>,
}

/// A verified step of a workflow, as the outcome and memory record it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepRef {
    pub name: String,
    pub task: String,
    pub node_id: String,
    pub version: i64,
    pub function: String,
    pub signature: String,
    /// Recalled from memory (its tests re-run) rather than generated.
    #[serde(default)]
    pub reused: bool,
    /// The step's own steps, when it was split again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<StepRef>,
}

impl StepRef {
    /// Every step of the tree, this one's sub-steps after it.
    pub fn count(steps: &[StepRef]) -> usize {
        steps.iter().map(|s| 1 + StepRef::count(&s.steps)).sum()
    }
}

/// How a task was split, and its verified steps.
#[derive(Debug, Clone, Serialize)]
pub struct WorkflowReport {
    pub reason: String,
    pub steps: Vec<StepRef>,
}

const DECOMPOSE_SYSTEM: &str = "You decide how a programming task is built. If one small Python function \
does it, answer compound: false. If it is a pipeline of distinct operations, where the output of one is the \
input of the next (parse, then compute; convert, then format), answer compound: true and list the steps in \
order: each a snake_case function name, its own self-contained task, what it takes (parameters with \
Python types) and what it returns (with its type). The first step takes the task's input; each later step \
takes the previous step's output. Do not split what one line of code does. Answer with JSON only.";

/// What the overseer is told about a workflow's verified steps when it plans the task's own
/// function.
pub fn steps_note(steps: &[(StepRef, String)]) -> Option<String> {
    if steps.is_empty() {
        return None;
    }
    let mut note = String::from(
        "This task is built from verified steps, already defined; plan only the function that calls them \
(its cases are the whole task's, input to final output):\n",
    );
    for (step, _) in steps {
        note.push_str(&format!("- {}: {}\n", step.signature, step.task));
    }
    Some(note)
}

/// The steps' verified code, defined above the task's own function.
pub fn prelude(steps: &[(StepRef, String)]) -> Option<String> {
    (!steps.is_empty()).then(|| steps.iter().map(|(_, code)| code.trim_end()).collect::<Vec<_>>().join("\n\n\n"))
}

/// The registry's note on a workflow's first version: its steps and their versions.
pub fn change_text(steps: &[(StepRef, String)]) -> String {
    if steps.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = steps.iter().map(|(s, _)| format!("{} ({} v{})", s.name, s.node_id, s.version)).collect();
    format!("workflow of {}", parts.join(" → "))
}

/// The registry's links from a workflow version to its steps: each step's node and version, as
/// long as `code` still defines every step's function (an optimizer may have inlined them).
pub fn links(code: &str, steps: &[StepLink]) -> Vec<StepLink> {
    let defined = crate::python::top_level_functions(code);
    if steps.iter().all(|s| defined.contains(&s.name)) { steps.to_vec() } else { Vec::new() }
}

/// The links of a workflow's first version: its steps' functions, nodes and versions.
pub fn step_links(steps: &[(StepRef, String)]) -> Vec<StepLink> {
    steps
        .iter()
        .map(|(s, _)| StepLink { name: s.function.clone(), node_id: s.node_id.clone(), version: s.version })
        .collect()
}

/// `code` with the steps' code above it, unless it defines them itself.
pub fn with_prelude(code: &str, prelude: Option<&str>) -> String {
    let Some(prelude) = prelude else { return code.to_string() };
    let defined = crate::python::top_level_functions(code);
    let needed = crate::python::top_level_functions(prelude);
    if needed.iter().all(|f| defined.contains(f)) {
        return code.to_string();
    }
    format!("{}\n\n\n{}\n", prelude.trim_end(), code.trim())
}

/// Whether the task reads like more than one step: a keyword as a word of its own.
pub fn looks_compound(task: &str, keywords: &[String]) -> bool {
    task.split(|c: char| !c.is_alphanumeric()).any(|w| keywords.iter().any(|k| k.eq_ignore_ascii_case(w)))
}

/// A composed workflow memory holds for a task like this one: its similarity, its task, its
/// steps (the best at or above `memory.related_threshold`).
pub struct SimilarWorkflow {
    pub score: f32,
    pub task: String,
    pub steps: Vec<StepRef>,
}

async fn similar_workflow(ctx: &Ctx<'_>, task: &str) -> Option<SimilarWorkflow> {
    let memory = ctx.memory?;
    let hits = memory.similar(task, 5, &Filter::kind(ArtifactKind::Workflow)).await.ok()?;
    hits.into_iter().filter(|h| h.score >= ctx.config.memory.related_threshold).find_map(|h| {
        let composed = learned::composed_of(&h.artifact)?;
        Some(SimilarWorkflow { score: h.score, task: h.artifact.payload.task.clone(), steps: composed.steps })
    })
}

/// The steps of a compound task, or None (one function; or the overseer's answer was unusable,
/// which never fails the evolve). A task that matches a stored workflow at `reuse_threshold`
/// takes its steps as they are (each then recalled from memory); a merely similar one has them
/// offered to the overseer, to reuse word for word where they fit.
pub async fn split(ctx: &Ctx<'_>, task: &str) -> Result<Option<Vec<StepPlan>>, EvolveError> {
    let settings = &ctx.config.workflow;
    let similar = similar_workflow(ctx, task).await;
    if !looks_compound(task, &settings.detect_keywords) && similar.is_none() {
        return Ok(None);
    }
    let mut user = format!("Task: {task}");
    if let Some(stored) = &similar {
        let plans: Vec<StepPlan> = stored.steps.iter().map(|s| StepPlan::stored(&s.name, &s.task)).collect();
        if stored.score >= ctx.config.memory.reuse_threshold {
            ctx.emit(
                Stage::Recall,
                5,
                format!(
                    "this task was built as a workflow before (similarity {:.3}): its {} steps are taken as they are ({})",
                    stored.score,
                    plans.len(),
                    names(&plans)
                ),
            );
            return Ok(Some(plans));
        }
        ctx.emit(
            Stage::Recall,
            5,
            format!(
                "a similar task was built as a workflow (similarity {:.3}: \"{}\"): its {} verified steps are offered to the overseer",
                stored.score,
                stored.task,
                plans.len()
            ),
        );
        user.push_str(&format!(
            "\n\nA similar task (\"{}\") was built from these verified steps. Where a step fits this task, list it with the same name and the same task, word for word, so that its verified code is reused:\n",
            stored.task
        ));
        for p in &plans {
            user.push_str(&format!("- {}: {}\n", p.name, p.task));
        }
    }
    ctx.emit(Stage::Plan, 5, "the task may hold several steps: the overseer decides");
    let request = ChatRequest {
        messages: vec![Message::system(DECOMPOSE_SYSTEM), Message::user(user)],
        schema: Some(schema::decompose()),
        temperature: Some(0.0),
        ..Default::default()
    };
    let answer = match ctx.ask(Stage::Plan, 5, Role::Overseer, None, request).await {
        Ok(a) => a,
        Err(e @ (EvolveError::Cancelled | EvolveError::Budget(_))) => return Err(e),
        Err(e) => {
            ctx.warn(Stage::Plan, 5, format!("no decomposition ({e}): one function"));
            return Ok(None);
        }
    };
    let parsed: Option<Decomposition> =
        schema::parse_json_answer(&answer.text).and_then(|v: Value| serde_json::from_value(v).ok());
    let Some(d) = parsed else {
        ctx.warn(Stage::Plan, 5, "the decomposition was unusable: one function");
        return Ok(None);
    };
    let steps: Vec<StepPlan> =
        d.steps.into_iter().filter(|s| super::spec::is_identifier(&s.name) && !s.task.trim().is_empty()).collect();
    // A step that is the task itself would split forever: the task is one function.
    let same = |a: &str, b: &str| a.split_whitespace().eq(b.split_whitespace());
    if steps.iter().any(|s| same(&s.task_text(), task) || same(&s.task, task)) {
        ctx.emit(Stage::Plan, 5, "one function: a proposed step is the task itself");
        return Ok(None);
    }
    let (min, max) = (settings.min_steps as usize, settings.max_steps as usize);
    if !d.compound || steps.len() < min || steps.len() > max {
        ctx.emit(
            Stage::Plan,
            5,
            if d.compound {
                format!("{} step(s) proposed, outside {min}..={max}: one function", steps.len())
            } else {
                format!("one function: {}", d.reason)
            },
        );
        return Ok(None);
    }
    ctx.emit(Stage::Plan, 5, format!("split into {} steps ({}): {}", steps.len(), names(&steps), d.reason));
    Ok(Some(steps))
}

fn names(steps: &[StepPlan]) -> String {
    steps.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(" → ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_steps_task_states_its_typed_input_and_output_once() {
        let step = StepPlan {
            name: "parse_numbers".into(),
            task: "parse the numbers out of a log line.".into(),
            takes: "line: str".into(),
            returns: "list[float].".into(),
        };
        let text = step.task_text();
        assert_eq!(text, "parse the numbers out of a log line. It takes line: str; it returns list[float].");
        // Named again from memory, word for word: nothing is added twice.
        assert_eq!(StepPlan { task: text.clone(), ..step }.task_text(), text);
        assert_eq!(StepPlan::stored("f", "do it").task_text(), "do it");
    }

    #[test]
    fn keywords_count_as_words_only() {
        let keywords: Vec<String> = ["and", "then"].map(String::from).to_vec();
        assert!(looks_compound("parse the numbers, then return their mean", &keywords));
        assert!(looks_compound("Sort AND dedupe", &keywords));
        assert!(!looks_compound("expand the random operand", &keywords));
    }
}
