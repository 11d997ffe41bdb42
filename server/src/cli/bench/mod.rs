//! `code-evolver bench ...` and `code-evolver smoke`: figures from the engine's public API — the
//! memory store, the sandbox, the auto-evolution check, the embedded models, HumanEval and the
//! everyday-task suite. The benches that need a test server (the scripted model, the LSP client)
//! are cargo benches: `cargo bench --bench engine|lsp` (benches/).

pub mod due;
pub mod embedded;
pub mod humaneval;
pub mod humaneval_suite;
pub mod memory;
pub mod sandbox;
pub mod smoke;
pub mod smoke_suite;
