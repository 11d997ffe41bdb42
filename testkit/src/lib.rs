//! What the tests and benches of code-evolver drive the product with, kept out of the product:
//! a scripted model server speaking the Ollama and OpenAI wire formats, and the editor side of
//! LSP over stdio.

pub mod bench_args;
pub mod lsp_client;
pub mod scripted_model;
