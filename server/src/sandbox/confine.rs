//! The limits a node runs under. They are applied by the warm runner in the forked child, before
//! any node code runs: RLIMIT_AS, RLIMIT_CPU, RLIMIT_FSIZE, RLIMIT_NPROC, RLIMIT_NOFILE, no core
//! files; no_new_privs and a seccomp filter; its own session. The jail's pid namespace ends every
//! process of a run when it ends (timeout or not). Without the jail, landlock file rules and a
//! private network namespace stand in where the kernel allows them.

use crate::config::Limits;
use serde::Serialize;
use std::time::Duration;

#[derive(Debug, Clone, Serialize)]
pub struct NodeLimits {
    #[serde(skip)]
    pub timeout: Duration,
    pub as_mb: u64,
    pub cpu_s: u64,
    pub fsize_mb: u64,
    pub nproc: u64,
    pub nofile: u64,
}

impl NodeLimits {
    pub fn from_config(limits: &Limits) -> Self {
        NodeLimits {
            timeout: Duration::from_secs_f64(limits.node_timeout_s),
            as_mb: limits.node_memory_mb,
            cpu_s: limits.node_cpu_s,
            fsize_mb: limits.node_file_size_mb,
            nproc: limits.node_processes,
            nofile: 256,
        }
    }

    /// Room for a test or bench run that calls a model through `call_tool`.
    pub fn with_extra_time(&self, extra: Duration) -> Self {
        NodeLimits { timeout: self.timeout + extra, ..self.clone() }
    }
}
