//! What an evolve is asked and what it gives back: the request, the outcome (the verified node
//! with its figures and reports) and the ways it can fail. `Evolver::evolve` (evolver.rs) turns
//! the one into the other.

use super::budget::Budget;
use super::compose::{StepRef, WorkflowReport};
use super::consensus::OracleReport;
use super::escalate::AttemptRecord;
use super::mutation::MutationReport;
use super::optimize::OptimizationReport;
use super::spec::{Classification, Spec};
use super::verify::TestReport;
use crate::analysis::LinterReport;
use crate::llm::{CallRecord, LlmError};
use crate::registry::RegistryError;
use crate::sandbox::{RunOutcome, SandboxError};
use serde::Serialize;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum EvolveError {
    #[error("cancelled")]
    Cancelled,
    #[error("budget exhausted: {0}")]
    Budget(String),
    #[error("model call failed: {0}")]
    Llm(LlmError),
    #[error("{0}")]
    Model(String),
    #[error("{0}")]
    Spec(String),
    #[error("no version passed the spec's tests after {attempts} attempts: {detail}")]
    TestsFailed { attempts: usize, detail: String },
    #[error("blocking findings: {0}")]
    Blocked(String),
    #[error("sandbox: {0}")]
    Sandbox(#[from] SandboxError),
    #[error("{0}")]
    Registry(#[from] RegistryError),
    #[error("{0}")]
    Node(String),
    #[error("file system: {0}")]
    Io(#[from] std::io::Error),
}

impl From<LlmError> for EvolveError {
    fn from(e: LlmError) -> Self {
        match e {
            LlmError::Cancelled => EvolveError::Cancelled,
            LlmError::Budget(why) => EvolveError::Budget(why),
            other => EvolveError::Llm(other),
        }
    }
}

#[derive(Debug, Clone)]
pub struct EvolveRequest {
    pub task: String,
    /// Run the verified node on the task's own input and report the result.
    pub run_task: bool,
    /// Run the optimize stage (when the config gives it iterations).
    pub optimize: bool,
    /// Recall from and remember into memory (when the config has a store).
    pub use_memory: bool,
    /// Whether a compound task may become a workflow of steps (None: `workflow.enabled`).
    pub compose: Option<bool>,
    /// The verified steps the task's function is built on (set by `evolve_workflow`).
    pub steps: Vec<(StepRef, String)>,
    /// How many workflow levels this task is below the user's task (0: the user's own task);
    /// a step is split again only above `workflow.max_depth`.
    pub depth: u32,
    /// The budget this evolve spends from (None: a fresh one from `limits`): a workflow's steps
    /// and its function share one, so the whole workflow stays within the user's limits.
    pub budget: Option<Arc<Budget>>,
}

impl EvolveRequest {
    pub fn new(task: impl Into<String>) -> Self {
        EvolveRequest {
            task: task.into(),
            run_task: true,
            optimize: true,
            use_memory: true,
            compose: None,
            steps: Vec::new(),
            depth: 0,
            budget: None,
        }
    }
}

/// A node's run on one input.
#[derive(Debug, Clone, Serialize)]
pub struct NodeRun {
    pub input: serde_json::Value,
    /// The node's `result`, or its `error` / how it died.
    pub output: Result<serde_json::Value, String>,
    pub metrics: RunOutcome,
}

#[derive(Debug, Clone, Serialize)]
pub struct EvolveOutcome {
    pub node_id: String,
    pub version: i64,
    pub task: String,
    pub classification: Classification,
    pub spec: Spec,
    /// The model's code (the function and helpers), as it goes into an editor.
    pub code: String,
    /// The node program (code + the engine's I/O).
    pub program: String,
    pub tests: String,
    pub report: TestReport,
    pub attempts: Vec<AttemptRecord>,
    pub analysis: Vec<LinterReport>,
    pub optimization: OptimizationReport,
    /// How strong the final tests are (None: not measured, e.g. a node that calls model tools).
    pub mutation: Option<MutationReport>,
    /// What the consensus of independent implementations did, when code failed the overseer's cases.
    pub oracle: Option<OracleReport>,
    /// What fresh implementations run beside the verified one on edge inputs did (probe.rs).
    pub probe: Option<super::probe::ProbeReport>,
    pub result: Option<NodeRun>,
    /// How a compound task was split, and its verified steps (None: one function).
    pub workflow: Option<WorkflowReport>,
    pub calls: Vec<CallRecord>,
    pub tokens: u64,
    pub duration_ms: u64,
}
