//! The error type of `lode-plan`.

use std::path::PathBuf;

use crate::diagnostic::{Code, Diagnostic};
use crate::path::PlanPath;

/// Why a plan could not be read.
///
/// Every variant names where the problem is: a byte offset for binary plans, a line and column
/// (and the JSON path) for JSON plans, the file for I/O failures.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The file could not be read at all.
    #[error("cannot read plan file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The input is empty.
    #[error("the plan is empty (0 bytes): expected a Substrait plan as binary protobuf or JSON")]
    Empty,
    /// Binary protobuf that does not decode as a `substrait.Plan`.
    #[error("not a valid binary Substrait plan: {message}{}", offset_suffix(*.offset))]
    Binary {
        message: String,
        offset: Option<usize>,
    },
    /// Text that is not JSON at all.
    #[error("not valid JSON at line {line}, column {column}: {message}")]
    JsonSyntax {
        line: usize,
        column: usize,
        message: String,
    },
    /// JSON that does not follow the proto3 JSON mapping of `substrait.Plan`.
    #[error("JSON does not match the Substrait plan schema at `{path}`{}: {message}", line_suffix(*.line, *.column))]
    JsonSchema {
        path: String,
        line: Option<usize>,
        column: Option<usize>,
        message: String,
    },
    /// A plan could not be written (JSON serialization failed).
    #[error("cannot encode the plan: {message}")]
    Encode { message: String },
}

fn offset_suffix(offset: Option<usize>) -> String {
    offset
        .map(|o| format!(" (at byte offset {o})"))
        .unwrap_or_default()
}

fn line_suffix(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(" (line {l}, column {c})"),
        _ => String::new(),
    }
}

pub type Result<T, E = PlanError> = std::result::Result<T, E>;

impl PlanError {
    /// Diagnostic D001, what `lode validate` reports for input that does not decode as a
    /// plan; `None` when there was no input to decode (the file could not be read).
    pub fn diagnostic(&self) -> Option<Diagnostic> {
        match self {
            PlanError::Io { .. } => None,
            other => Some(Diagnostic::new(
                Code::DecodeFailed,
                PlanPath::root(),
                other.to_string(),
            )),
        }
    }
}
