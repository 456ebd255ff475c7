//! The crate's errors: a corpus that cannot be read, and text that does not parse.

use std::path::{Path, PathBuf};

/// Text that does not parse, with the byte column where reading stopped.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message} (column {})", .column + 1)]
pub struct SyntaxError {
    pub message: String,
    /// 0-based byte offset into the text that was being read.
    pub column: usize,
}

impl SyntaxError {
    pub fn new(message: impl Into<String>, column: usize) -> Self {
        SyntaxError {
            message: message.into(),
            column,
        }
    }

    /// The same error, with its column moved by `offset` (for text read out of a longer line).
    pub fn shifted(mut self, offset: usize) -> Self {
        self.column += offset;
        self
    }
}

/// Why a literal could not become a Substrait literal.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LiteralError {
    #[error("{0}")]
    Invalid(String),
    /// Well-formed, but the harness cannot express it as a plain Substrait literal (a lambda,
    /// a user-defined type).
    #[error("{0}")]
    Unsupported(String),
}

#[derive(Debug, thiserror::Error)]
pub enum ConformanceError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Corpus { path: PathBuf, message: String },
    #[error(transparent)]
    Exec(#[from] lode_exec::ExecError),
}

impl ConformanceError {
    /// Wraps an I/O error with the path it happened at: `.map_err(ConformanceError::io(dir))`.
    pub fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ConformanceError + '_ {
        move |source| ConformanceError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

pub type Result<T, E = ConformanceError> = std::result::Result<T, E>;
