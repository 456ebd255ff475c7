//! The error type of `lode-exec`.

use std::path::PathBuf;

use datafusion::error::DataFusionError;
use lode_plan::{Diagnostic, PlanError};

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error(transparent)]
    Plan(#[from] PlanError),

    /// Validation found errors; the plan was not run.
    #[error("the plan is invalid:\n{}", render(.0))]
    Invalid(Vec<Diagnostic>),

    /// A table binding (`--data`, `--table`, a `local_files` URI) is unusable.
    #[error("table `{name}` ({}): {message}", .path.display())]
    Table {
        name: String,
        path: PathBuf,
        message: String,
    },

    /// The plan refers to a table nobody bound.
    #[error("the plan reads table `{name}`, but no such table is bound{}", known_suffix(.known))]
    UnknownTable { name: String, known: Vec<String> },

    /// DataFusion rejected or failed the query; `context` says at which step.
    #[error("{context}: {}", clean(.source))]
    DataFusion {
        context: &'static str,
        #[source]
        source: DataFusionError,
    },

    /// A bug in Lode or a library it uses, caught before it could end the process.
    #[error("internal error: {0}")]
    Internal(String),

    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl ExecError {
    pub fn datafusion(context: &'static str) -> impl FnOnce(DataFusionError) -> ExecError {
        move |source| ExecError::DataFusion { context, source }
    }
}

fn render(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(|d| format!("  {d}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn known_suffix(known: &[String]) -> String {
    if known.is_empty() {
        "; bind tables with --data DIR or --table NAME=PATH".to_string()
    } else {
        format!("; bound tables: {}", known.join(", "))
    }
}

/// DataFusion wraps errors in context layers ("Error during planning: …"); keep the message,
/// drop the backtrace placeholder it appends when backtraces are off.
fn clean(e: &DataFusionError) -> String {
    let text = e.to_string();
    text.trim_end()
        .trim_end_matches(".\n\nbacktrace")
        .to_string()
}

pub type Result<T, E = ExecError> = std::result::Result<T, E>;
