//! What each kind of memory artifact holds, as types: written by `recall::artifacts` after a
//! verified evolve, read by recall, reuse, the fix search, the editor's completion and
//! `memory search`. Fields added later are `default`, so older stores still read.

use serde::{Deserialize, Serialize};

use super::compose::StepRef;
use super::escalate::AttemptRecord;
use super::spec::Spec;
use crate::memory::{Artifact, ArtifactKind};

/// A verified function: what an editor inserts and what reuse re-tests.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FunctionContent {
    pub function: String,
    #[serde(default)]
    pub signature: String,
    pub code: String,
    #[serde(default)]
    pub tests: String,
    pub spec: Spec,
}

/// A repair that made failing code pass: the error, the code before and after.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FixContent {
    pub error: String,
    #[serde(default)]
    pub before: String,
    pub after: String,
    #[serde(default)]
    pub task: String,
}

/// How an evolve went: its stages and attempts.
#[derive(Debug, Clone, Serialize)]
pub struct WorkflowContent<'a> {
    pub stages: &'a [String],
    pub attempts: &'a [AttemptRecord],
}

/// A compound task built as a workflow: the task's node and the verified steps it calls.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ComposedContent {
    pub node_id: String,
    pub version: i64,
    pub steps: Vec<StepRef>,
    /// The tools the function and its steps call (configured tools and verified nodes).
    #[serde(default)]
    pub tools: Vec<String>,
}

/// The composed workflow an artifact holds (None: another kind, or the record of how an evolve
/// went, which is a Workflow artifact without steps).
pub fn composed_of(artifact: &Artifact) -> Option<ComposedContent> {
    (artifact.kind == ArtifactKind::Workflow)
        .then(|| serde_json::from_value::<ComposedContent>(artifact.payload.content.clone()).ok())
        .flatten()
        .filter(|c| !c.steps.is_empty())
}

/// What recurred across verified nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PatternKind {
    /// A helper function defined, word for word, by several verified nodes.
    Helper,
    /// A fix made for the same kind of error in several evolves.
    Fix,
}

/// A helper or a fix that recurred: its code, and the nodes it was seen in.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PatternContent {
    pub kind: PatternKind,
    /// The helper's name, or the error's first line.
    pub name: String,
    /// The helper's source, or the fixed code.
    pub code: String,
    pub nodes: Vec<String>,
}

/// The pattern an artifact holds.
pub fn pattern_of(artifact: &Artifact) -> Option<PatternContent> {
    (artifact.kind == ArtifactKind::Pattern)
        .then(|| serde_json::from_value(artifact.payload.content.clone()).ok())
        .flatten()
}

/// The measured figures stored with each artifact of a verified node.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Figures {
    pub tests_passed: usize,
    pub tests_total: usize,
    pub per_call_ns: f64,
    pub score: f64,
    pub peak_rss_kb: u64,
}

/// The function an artifact holds (None: another kind, or a payload that does not read).
pub fn function_of(artifact: &Artifact) -> Option<FunctionContent> {
    (artifact.kind == ArtifactKind::Function)
        .then(|| serde_json::from_value(artifact.payload.content.clone()).ok())
        .flatten()
}

/// The fix an artifact holds.
pub fn fix_of(artifact: &Artifact) -> Option<FixContent> {
    (artifact.kind == ArtifactKind::Fix)
        .then(|| serde_json::from_value(artifact.payload.content.clone()).ok())
        .flatten()
}

/// The figures stored with an artifact (zeros where none were).
pub fn figures_of(artifact: &Artifact) -> Figures {
    serde_json::from_value(artifact.payload.metrics.clone()).unwrap_or_default()
}
