//! Runs generated Python in a jail: bubblewrap around a warm runner (jail.rs) that forks a
//! confined child per run (run.rs; confine.rs says which limits); a run's `call_tool` requests
//! come back over its own channel (tools.rs).

pub(crate) mod confine;
pub(crate) mod jail;
pub(crate) mod run;
pub(crate) mod tools;

pub use confine::NodeLimits;
pub use run::{Isolation, RunKind, RunOutcome, RunRequest, Sandbox, SandboxError};
