//! code-evolver: an LLM code-evolution engine with a language server and a CLI.
//!
//! The engine (`pipeline::Evolver`) knows nothing of editors or terminals; `cli` and (later) `lsp`
//! are thin adapters that render its events.

pub mod analysis;
pub mod cli;
pub mod config;
pub mod global;
pub mod llm;
pub mod lsp;
pub mod memory;
pub mod paths;
pub mod pipeline;
pub mod registry;
pub mod sandbox;
pub mod setup;
