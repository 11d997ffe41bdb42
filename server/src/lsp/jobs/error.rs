//! How a job ends when it does not succeed: a kind the editors can tell apart (`error_kind` in
//! `codeEvolver/jobDone`) and a message that says what happened and what was kept.

use crate::pipeline::evolver::EvolveError;

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Cancelled; the message says what was done and what was not.
    #[error("{0}")]
    Stopped(String),
    #[error("the document was closed")]
    DocumentClosed,
    /// The engine could not be built on the current settings.
    #[error("{0}")]
    NoEngine(String),
    /// The engine's work failed (the model, the tests, the sandbox...).
    #[error("{0}")]
    Engine(EvolveError),
    /// The result could not go into the document.
    #[error("{0}")]
    Edit(String),
    /// The code at the cursor is not what the job works on.
    #[error("{0}")]
    Unsupported(String),
    /// A file beside the document could not be written.
    #[error("{0}")]
    File(String),
}

impl JobError {
    pub fn kind(&self) -> &'static str {
        match self {
            JobError::Stopped(_) => "stopped",
            JobError::DocumentClosed => "document_closed",
            JobError::NoEngine(_) => "no_engine",
            JobError::Engine(_) => "engine",
            JobError::Edit(_) => "edit",
            JobError::Unsupported(_) => "unsupported",
            JobError::File(_) => "file",
        }
    }

    /// The engine's error, with what a cancel there means for this job.
    pub fn from_engine(error: EvolveError, when_stopped: &str) -> JobError {
        match error {
            EvolveError::Cancelled => JobError::Stopped(when_stopped.into()),
            other => JobError::Engine(other),
        }
    }

    /// The same kind of error with a note on what was kept (a closed document becomes an edit
    /// that could not be made).
    pub fn noting(self, note: &str) -> JobError {
        match self {
            JobError::Stopped(m) => JobError::Stopped(format!("{m}; {note}")),
            JobError::DocumentClosed => JobError::Edit(format!("the document was closed; {note}")),
            JobError::Edit(m) => JobError::Edit(format!("{m}; {note}")),
            other => other,
        }
    }
}
