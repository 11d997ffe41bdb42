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

/// Why a command did not succeed. `main` prints it and exits with its code: the one table of exit
/// codes is `CliError::exit_code` (0 done, 1 the work failed, 2 bad input or configuration,
/// 130 cancelled).
#[derive(Debug)]
pub enum CliError {
    /// Bad input or configuration: what and where.
    Usage(anyhow::Error),
    /// The work failed: why.
    Failed(anyhow::Error),
    /// The work failed and the command's own output already says how.
    Reported,
    /// Stopped by Ctrl-C: what was kept.
    Cancelled(String),
}

pub type CliResult = Result<(), CliError>;

impl CliError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Failed(_) | CliError::Reported => 1,
            CliError::Usage(_) => 2,
            CliError::Cancelled(_) => 130,
        }
    }

    /// What the user reads on stderr (nothing for `Reported`).
    pub fn print(&self) {
        match self {
            CliError::Usage(e) | CliError::Failed(e) => eprintln!("error: {e:#}"),
            CliError::Reported => {}
            CliError::Cancelled(kept) => eprintln!("cancelled: {kept}"),
        }
    }
}

/// `usage!("...", args)`: a bad input or configuration error (exit 2).
#[macro_export]
macro_rules! usage {
    ($($arg:tt)*) => { $crate::cli::CliError::Usage(anyhow::anyhow!($($arg)*)) };
}

/// `failed!("...", args)`: the work failed (exit 1).
#[macro_export]
macro_rules! failed {
    ($($arg:tt)*) => { $crate::cli::CliError::Failed(anyhow::anyhow!($($arg)*)) };
}

pub use crate::global::Global;

/// What the CLI adds to the options both adapters share: the configuration and the engine, or
/// the error that ends the command.
impl Global {
    /// The configuration (warnings printed), or a usage error that names file, line and key.
    pub fn config(&self) -> Result<Config, CliError> {
        let (config, warnings) =
            self.loader().load_with_warnings().map_err(|e| usage!("invalid configuration: {e}"))?;
        for w in warnings {
            eprintln!("warning: {w}");
        }
        Ok(config)
    }

    pub fn evolver(&self) -> Result<Evolver, CliError> {
        self.evolver_with(|_| {})
    }

    /// The engine, after `adjust` has changed the loaded configuration (command-line flags).
    pub fn evolver_with(&self, adjust: impl FnOnce(&mut Config)) -> Result<Evolver, CliError> {
        let mut config = self.config()?;
        adjust(&mut config);
        Evolver::new(config, &self.data_dir()).map_err(|e| usage!("{e}"))
    }
}

/// A reader that goes away (`code-evolver show ID | head`) ends the command as SIGPIPE ends a
/// shell tool: quietly, status 141. Rust ignores SIGPIPE, so `println!` panics instead; restoring
/// the signal would also let a node under test kill the evolver by closing a pipe it writes to.
pub fn exit_quietly_when_stdout_closes() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info.payload_as_str().unwrap_or("");
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            crate::scratch::remove_own();
            std::process::exit(141);
        }
        default(info);
    }));
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
