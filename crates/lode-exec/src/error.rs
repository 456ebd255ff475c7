//! The error type of `lode-exec`.

use datafusion::error::DataFusionError;
use lode_plan::{Diagnostic, PlanError};

/// Why a plan was not run or did not finish; [`ExecError::is_rejection`] tells which.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The plan could not be read or decoded.
    #[error(transparent)]
    Plan(#[from] PlanError),

    /// Validation found errors; the plan was not run.
    #[error("the plan is invalid:\n{}", render(.0))]
    Invalid(Vec<Diagnostic>),

    /// A table binding (`--data`, `--table`, a `local_files` URI) is unusable.
    #[error("table `{name}` ({location}): {message}")]
    Table {
        /// The table's name.
        name: String,
        /// Where it was bound.
        location: String,
        /// Why it cannot be read.
        message: String,
    },

    /// A location (`--data`, `--table`, `-o`, a `local_files` URI) is not one Lode can read
    /// or write, or its store cannot be opened.
    #[error("{location}: {message}")]
    Location {
        /// The location as given.
        location: String,
        /// What is wrong with it.
        message: String,
    },

    /// DataFusion could not convert, plan or bind the plan; `context` says at which step.
    /// The plan was not run.
    #[error("{context}: {}", error_message(source))]
    Convert {
        /// The step that failed.
        context: &'static str,
        /// DataFusion's error.
        #[source]
        source: DataFusionError,
    },

    /// The query failed while running; `context` says at which step.
    #[error("{context}: {}", error_message(source))]
    DataFusion {
        /// The step that failed.
        context: &'static str,
        /// DataFusion's error.
        #[source]
        source: DataFusionError,
    },

    /// SQL calls a function that is neither built in nor in a registered module.
    #[error("unknown function '{name}': {hint}")]
    UnknownFunction {
        /// The function as the SQL names it.
        name: String,
        /// Where functions come from, and how to add the one meant.
        hint: String,
    },

    /// A Wasm module failed to load, bind or run.
    #[error(transparent)]
    Wasm(#[from] lode_wasm::WasmError),

    /// The plan's module table or Wasm function declarations are wrong.
    #[error("{0}")]
    Module(String),

    /// A plan sent elsewhere (to a cluster) was refused there (`rejected`: nothing ran) or
    /// failed while running; the message says where and why.
    #[error("{message}")]
    Remote {
        /// The cluster's message.
        message: String,
        /// Whether the plan was refused before anything ran.
        rejected: bool,
    },

    /// A bug in Lode or a library it uses, caught before it could end the process.
    #[error("internal error: {0}")]
    Internal(String),

    /// Reading or writing a file failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being read or written, and where.
        context: String,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
}

impl ExecError {
    /// A failure of a query while it runs.
    pub fn datafusion(context: &'static str) -> impl FnOnce(DataFusionError) -> ExecError {
        move |source| ExecError::DataFusion { context, source }
    }

    /// A plan DataFusion cannot convert, plan or bind (it was not run). A store that fails
    /// meanwhile (planning reads file metadata) is a failure while running, not the plan's.
    pub fn convert(context: &'static str) -> impl FnOnce(DataFusionError) -> ExecError {
        move |source| match crate::storage::messages::is_store_error(&source) {
            true => ExecError::DataFusion {
                context,
                source: crate::storage::messages::explain(source),
            },
            false => ExecError::Convert { context, source },
        }
    }

    /// True when the plan was not accepted: it could not be decoded, validated, converted or
    /// bound (its modules included), so nothing ran; false when a query failed while running
    /// (or elsewhere, on a cluster), or Lode failed.
    pub fn is_rejection(&self) -> bool {
        matches!(
            self,
            ExecError::Plan(_)
                | ExecError::Invalid(_)
                | ExecError::Convert { .. }
                | ExecError::UnknownFunction { .. }
                | ExecError::Wasm(_)
                | ExecError::Module(_)
                | ExecError::Table { .. }
                | ExecError::Location { .. }
                | ExecError::Remote { rejected: true, .. }
        )
    }
}

/// A DataFusion error as a user reads it: an error of Lode's own code that DataFusion carried
/// (a Wasm call's, a store's) without the `External error: ` DataFusion puts before it.
pub fn error_message(error: &DataFusionError) -> String {
    match error.find_root() {
        DataFusionError::External(inner) => inner.to_string(),
        _ => error.to_string(),
    }
}

fn render(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(|d| format!("  {d}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A result whose error is an [`ExecError`].
pub type Result<T, E = ExecError> = std::result::Result<T, E>;
