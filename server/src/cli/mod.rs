//! The terminal door: thin commands over the engine; rendering lives in render.rs.

pub mod bench;
pub mod chat;
pub mod evolve;
pub mod lifecycle;
pub mod memory;
pub mod nodes;
pub mod render;
pub mod setup;
pub mod status;
pub mod tools;

use crate::config::Config;
use crate::pipeline::Evolver;

/// Exit codes: 0 done, 1 the work failed, 2 bad input or configuration, 130 cancelled.
pub const EXIT_FAILED: i32 = 1;
pub const EXIT_USAGE: i32 = 2;
pub const EXIT_CANCELLED: i32 = 130;

pub use crate::global::Global;

/// What the CLI adds to the options both adapters share: errors printed, exit codes returned.
impl Global {
    /// The configuration, or a printed error (file, line, key) and exit code 2.
    pub fn config(&self) -> Result<Config, i32> {
        match self.loader().load_with_warnings() {
            Ok((config, warnings)) => {
                for w in warnings {
                    eprintln!("warning: {w}");
                }
                Ok(config)
            }
            Err(e) => {
                eprintln!("error: invalid configuration: {e}");
                Err(EXIT_USAGE)
            }
        }
    }

    pub fn evolver(&self) -> Result<Evolver, i32> {
        self.evolver_with(|_| {})
    }

    /// The engine, after `adjust` has changed the loaded configuration (command-line flags).
    pub fn evolver_with(&self, adjust: impl FnOnce(&mut Config)) -> Result<Evolver, i32> {
        let mut config = self.config()?;
        adjust(&mut config);
        Evolver::new(config, &self.data_dir()).map_err(|e| {
            eprintln!("error: {e}");
            EXIT_USAGE
        })
    }
}

pub fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn,code_evolver=warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("CODE_EVOLVER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).try_init();
}

/// Finds backends that cannot be reached and says which fallback serves instead.
pub async fn announce_fallbacks(evolver: &Evolver, renderer: &render::Renderer) {
    for backend in evolver.router().check_reachability().await {
        let fallback = evolver.config().backends.get(&backend).and_then(|b| b.fallback.clone()).unwrap_or_default();
        renderer.line(&format!("{backend} cannot be reached: the {fallback} backend serves every role that uses it"));
    }
}
