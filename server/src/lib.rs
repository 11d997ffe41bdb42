//! code-evolver: an LLM code-evolution engine with a language server and a CLI.
//!
//! The engine (`pipeline::Evolver`) knows nothing of editors or terminals; `cli` and (later) `lsp`
//! are thin adapters that render its events.

pub mod analysis;
pub mod cli;
pub mod config;
pub mod global;
pub mod humaneval;
pub mod llm;
pub mod lsp;
pub mod memory;
pub mod paths;
pub mod pipeline;
pub mod registry;
pub mod sandbox;
pub mod setup;
pub mod smoke;

/// The scripted model server used by the tests and by `code-evolver bench engine`.
#[path = "../../tests/support/scripted_model.rs"]
pub mod scripted_model;

/// The editor side of LSP used by the tests and by `code-evolver bench lsp`.
#[path = "../../tests/support/lsp_client.rs"]
pub mod lsp_client;
