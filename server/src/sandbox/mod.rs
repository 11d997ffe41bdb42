//! Runs generated Python in confinement: a warm runner forks per run (run.rs), with rlimits,
//! landlock and a network namespace applied in the child (confine.rs says which limits); nodes reach
//! the evolver's tools over a Unix socket (tools.rs).

pub mod confine;
pub mod run;
pub mod tools;

pub use confine::NodeLimits;
pub use run::{Isolation, RunOutcome, RunRequest, Sandbox, SandboxError};
