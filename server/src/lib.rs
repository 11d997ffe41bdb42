//! code-evolver: an LLM code-evolution engine with a language server and a CLI.
//!
//! Layers (docs/architecture.md; checked by scripts/check-layers.sh):
//! - the engine: `pipeline` (the `Evolver` API and one module per stage), `llm`, `memory`,
//!   `sandbox`, `registry`, `analysis`, `config`. It knows no editor and no terminal: it emits
//!   typed events (`Event`, `Detail`) that each adapter renders its own way.
//! - the adapters: `cli` (the terminal, and the benches that need no test server) and `lsp` (the
//!   language server). They never import each other; what both start from is `global`.
//! - `setup` installs the Python venv and the embedded models; `paths` finds data and Python;
//!   `scratch` holds the process's temp dirs.
//!
//! The engine's API is what this file re-exports, and the modules' `pub` items; a stage's
//! internals are `pub(crate)`.

pub mod analysis;
pub mod cli;
pub mod config;
pub mod global;
pub mod llm;
pub mod lsp;
pub mod memory;
pub mod paths;
pub mod pipeline;
pub mod python;
pub mod registry;
pub mod sandbox;
pub mod scratch;
pub mod setup;

pub use config::{Config, ConfigLoader, Layer, Role};
pub use pipeline::{
    Classification, Detail, Event, EventSink, EvolveError, EvolveOutcome, EvolveRequest, Evolver, Level, NodeRun, Spec,
    Stage, TestReport,
};
