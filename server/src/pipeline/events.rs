//! What the engine tells its callers while it works: stage, percent, message. The CLI renders these
//! as lines and a progress bar, the language server as `$/progress`.

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
    /// A model call finished (message names role, model, endpoint, tokens, time).
    Model,
    Warning,
}

#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub stage: Stage,
    pub percent: u8,
    pub level: Level,
    pub message: String,
}

pub type EventSink = Arc<dyn Fn(&Event) + Send + Sync>;

pub fn discard() -> EventSink {
    Arc::new(|_| {})
}
