//! The evolve pipeline: one file per stage, the `Evolver` API in evolver.rs.

pub(crate) mod analyse;
/// The evolve's token and time budget lives beside the router that spends it.
pub use crate::llm::budget;
pub(crate) mod classify;
pub mod compose;
pub(crate) mod consensus;
pub(crate) mod ctx;
pub(crate) mod escalate;
pub(crate) mod evaluate;
pub mod events;
pub mod evolver;
pub(crate) mod existing;
pub(crate) mod extend;
pub(crate) mod generate;
pub(crate) mod learned;
pub(crate) mod lifecycle;
pub(crate) mod mutation;
pub(crate) mod node;
pub(crate) mod node_commands;
pub(crate) mod optimize;
pub(crate) mod patterns;
mod persist;
pub(crate) mod plan;
pub mod prompts;
pub(crate) mod recall;
pub(crate) mod reuse;
pub(crate) mod review;
pub(crate) mod runs;
pub mod schema;
pub mod score;
pub(crate) mod spec;
pub(crate) mod stub;
pub(crate) mod tests;
pub(crate) mod tool_calls;
pub(crate) mod toolbox;
pub(crate) mod verify;
mod workflow;

pub use consensus::OracleReport;
pub use escalate::AttemptRecord;
pub use events::{Detail, Event, EventSink, Level, Stage};
pub use evolver::{EvolveError, EvolveOutcome, EvolveRequest, Evolver, NodeRun};
pub use existing::ExistingFunction;
pub use mutation::MutationReport;
pub use optimize::OptimizationReport;
pub use spec::{Classification, Complexity, Spec, TaskKind};
pub use verify::TestReport;
