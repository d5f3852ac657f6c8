//! What can go wrong while publishing, and how each failure reads as a diagnostic.

use std::io;
use std::path::PathBuf;

use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::emit::EmitError;

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("{message}")]
    Invalid {
        message: String,
        help: Option<String>,
    },
    #[error("`git {command}` failed: {detail}")]
    Git {
        command: String,
        detail: String,
        help: Option<String>,
    },
    #[error("cannot run `git`: {0}")]
    NoGit(io::Error),
    #[error("cannot {op} `{}`: {source}", .path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Emit(#[from] EmitError),
    #[error(
        "the branch `{branch}` of {repo} moved on every attempt: gave up after {attempts} attempts"
    )]
    Contended {
        repo: String,
        branch: String,
        attempts: u32,
    },
}

impl PublishError {
    pub fn to_diagnostics(&self) -> Diagnostics {
        match self {
            PublishError::Emit(e) => e.to_diagnostics(),
            PublishError::Invalid { help, .. } => {
                with_help(Code::InvalidValue, self.to_string(), help.as_deref())
            }
            PublishError::Git { help, .. } => {
                with_help(Code::Io, self.to_string(), help.as_deref())
            }
            PublishError::NoGit(_) => with_help(
                Code::Io,
                self.to_string(),
                Some("platc publish needs the `git` command on PATH"),
            ),
            PublishError::Contended { .. } => with_help(
                Code::Io,
                self.to_string(),
                Some(
                    "another publisher keeps pushing to this branch; run again, or raise --max-retries",
                ),
            ),
            PublishError::Io { .. } => with_help(Code::Io, self.to_string(), None),
        }
    }
}

fn with_help(code: Code, message: String, help: Option<&str>) -> Diagnostics {
    let d = Diagnostic::error(code, None, message);
    Diagnostics::from(match help {
        Some(h) => d.with_help(h),
        None => d,
    })
}

impl From<PublishError> for Diagnostics {
    fn from(e: PublishError) -> Self {
        e.to_diagnostics()
    }
}
