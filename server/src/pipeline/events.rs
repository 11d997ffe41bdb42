//! What the engine tells its callers while it works: stage, percent, a message for people, and
//! for the events an adapter may render its own way (model calls, attempts, verdicts, the saved
//! node) a typed `detail`. The CLI renders these as lines and a progress bar, the language server
//! as `$/progress` and `codeEvolver/stage` (with the detail as JSON).

use crate::config::Role;
use serde::Serialize;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    Classify,
    Recall,
    Plan,
    Tests,
    Generate,
    Verify,
    Escalate,
    Analyse,
    Optimize,
    Remember,
    Run,
    Done,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Classify => "classify",
            Stage::Recall => "recall",
            Stage::Plan => "plan",
            Stage::Tests => "tests",
            Stage::Generate => "generate",
            Stage::Verify => "verify",
            Stage::Escalate => "escalate",
            Stage::Analyse => "analyse",
            Stage::Optimize => "optimize",
            Stage::Remember => "remember",
            Stage::Run => "run",
            Stage::Done => "done",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Info,
    /// A call made for the stage finished: a model call (with a `ModelCall` detail) or a node
    /// called as a tool.
    Model,
    Warning,
}

#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub stage: Stage,
    pub percent: u8,
    pub level: Level,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<Detail>,
}

impl Event {
    pub fn new(stage: Stage, percent: u8, level: Level, message: impl Into<String>) -> Event {
        Event { stage, percent: percent.min(100), level, message: message.into(), detail: None }
    }

    pub fn with(mut self, detail: Detail) -> Event {
        self.detail = Some(detail);
        self
    }
}

/// What an event is about, in fields.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Detail {
    /// The task's kind and complexity.
    Classified { kind: String, complexity: String, by_keywords: bool },
    /// The overseer's spec: the function and how many cases test it.
    Spec { signature: String, cases: usize },
    /// An attempt on the generation ladder starts (`number` of `of`).
    Attempt { number: usize, of: usize, role: Role, model: String, backend: String, temperature: f32 },
    /// The spec's tests ran on an attempt's code. `abnormal`: how the run itself failed.
    Verdict { passed: usize, total: usize, wall_ms: f64, abnormal: Option<String> },
    /// A model call ended.
    ModelCall {
        role: String,
        model: String,
        backend: String,
        endpoint: String,
        prompt_tokens: u64,
        completion_tokens: u64,
        duration_ms: u64,
    },
    /// The node was saved in the registry.
    Saved { node_id: String, version: i64 },
    /// A workflow's step starts (`number` of `of`).
    Step { number: usize, of: usize, name: String, task: String },
}

pub type EventSink = Arc<dyn Fn(&Event) + Send + Sync>;

pub fn discard() -> EventSink {
    Arc::new(|_| {})
}
