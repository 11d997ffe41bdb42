//! Configuration: `config/default.yaml` < user file < workspace file < `CODE_EVOLVER_*` environment
//! < editor settings. Each file is checked alone first so its errors name its own line.

mod load;
mod locate;
mod schema;
mod seed;
mod validate;

pub use load::{ConfigLoader, Layer};
pub use schema::*;

use std::path::PathBuf;

pub const DEFAULT_YAML: &str = include_str!("../../../config/default.yaml");

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{source_name}{}: {message}", line.map(|l| format!(" line {l}")).unwrap_or_default())]
    Invalid { source_name: String, line: Option<usize>, message: String },
    #[error("cannot read {path}: {error}")]
    Read { path: PathBuf, error: std::io::Error },
}

impl Config {
    /// The defaults alone, as shipped.
    pub fn defaults() -> Config {
        ConfigLoader::default().without_user_file().without_environment().load().expect("config/default.yaml is valid")
    }
}
