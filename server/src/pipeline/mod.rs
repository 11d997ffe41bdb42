//! The evolve pipeline: one file per stage, the `Evolver` API in evolver.rs.

pub mod analyse;
/// The evolve's token and time budget lives beside the router that spends it.
pub use crate::llm::budget;
pub mod classify;
pub mod consensus;
pub mod escalate;
pub mod evaluate;
pub mod events;
pub mod evolver;
pub mod existing;
pub mod extend;
pub mod generate;
pub mod learned;
pub mod lifecycle;
pub mod mutation;
pub mod node;
pub mod node_commands;
pub mod optimize;
mod persist;
pub mod plan;
pub mod prompts;
pub mod recall;
pub mod reuse;
pub mod review;
pub mod runs;
pub mod schema;
pub mod score;
pub mod spec;
pub mod stub;
pub mod tests;
pub mod tool_calls;
pub mod toolbox;
pub mod verify;

pub use events::{Event, EventSink, Level, Stage};
pub use evolver::{EvolveError, EvolveOutcome, EvolveRequest, Evolver, NodeRun};
