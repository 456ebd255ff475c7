//! The error type of `lode-dist`.

use std::path::PathBuf;

use datafusion::error::DataFusionError;

/// Why a job, a coordinator or an executor failed.
#[derive(Debug, thiserror::Error)]
pub enum DistError {
    /// The physical plan has an operator the stage planner cannot cut or keep whole correctly.
    #[error("cannot distribute this plan: {0}")]
    Unsupported(String),

    /// A stage task failed inside DataFusion; `context` names the stage and task.
    #[error("{context}: {}", lode_exec::error_message(source))]
    DataFusion {
        /// The stage and task.
        context: String,
        /// DataFusion's error.
        #[source]
        source: DataFusionError,
    },

    /// Reading or writing a shuffle piece failed.
    #[error("shuffle piece {}: {source}", .path.display())]
    Io {
        /// The piece's file.
        path: PathBuf,
        /// What the file system said.
        #[source]
        source: std::io::Error,
    },

    /// A coordinator or executor answered with an error, or could not be reached.
    #[error("{address}: {message}")]
    Remote {
        /// The service's address.
        address: String,
        /// Its answer, or why it could not be reached.
        message: String,
    },

    /// The coordinator ran the job and it failed.
    #[error("{0}")]
    JobFailed(String),

    /// The coordinator did not accept the plan (it could not be decoded, validated, converted
    /// or bound): nothing ran.
    #[error("{0}")]
    JobRejected(String),

    /// A setting is missing or wrong (a token file, an address).
    #[error("{0}")]
    Config(String),

    /// Converting, binding or running the plan failed as it does locally.
    #[error(transparent)]
    Exec(#[from] lode_exec::ExecError),
}

/// A result whose error is a [`DistError`].
pub type Result<T, E = DistError> = std::result::Result<T, E>;

impl DistError {
    /// True when the plan was not accepted and nothing ran (see [`lode_exec::ExecError::is_rejection`]).
    pub fn is_rejection(&self) -> bool {
        match self {
            DistError::Unsupported(_) | DistError::JobRejected(_) => true,
            DistError::Exec(e) => e.is_rejection(),
            _ => false,
        }
    }

    /// Wraps a DataFusion error with what was being done.
    pub(crate) fn datafusion(context: impl Into<String>) -> impl FnOnce(DataFusionError) -> Self {
        let context = context.into();
        move |source| DistError::DataFusion { context, source }
    }
}

/// A cluster's error as the error of a [`lode_exec::PlanTarget`]: a plan the cluster
/// refused, or one it could not be sent to, is a rejection (nothing ran); a job that failed,
/// or whose result could not be read, is not.
impl From<DistError> for lode_exec::ExecError {
    fn from(e: DistError) -> Self {
        match e {
            DistError::Exec(e) => e,
            DistError::JobFailed(_) | DistError::DataFusion { .. } | DistError::Io { .. } => {
                lode_exec::ExecError::Remote {
                    message: e.to_string(),
                    rejected: false,
                }
            }
            _ => lode_exec::ExecError::Remote {
                message: e.to_string(),
                rejected: true,
            },
        }
    }
}
