//! How a command failed, and the exit code that says so: 1 when the input is invalid (a plan
//! that cannot be validated, converted or bound: nothing ran), 2 when input could not be read
//! or the command line is wrong, 3 when a query failed while running.

use std::fmt;
use std::process::ExitCode;

use lode_exec::ExecError;
use lode_plan::PlanError;

#[derive(Debug)]
pub struct Failure {
    message: String,
    code: u8,
}

impl Failure {
    /// The input could not be read (missing file, undecodable plan, bad usage): exit 2.
    pub fn io(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            code: 2,
        }
    }

    /// The input is invalid (nothing ran): exit 1.
    pub fn invalid(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            code: 1,
        }
    }

    /// The query failed while running: exit 3.
    pub fn failed(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            code: 3,
        }
    }

    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.code)
    }

    pub fn context(self, context: &str) -> Self {
        Failure {
            message: format!("{context}: {}", self.message),
            ..self
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<PlanError> for Failure {
    fn from(e: PlanError) -> Self {
        Failure::io(e.to_string())
    }
}

impl From<ExecError> for Failure {
    fn from(e: ExecError) -> Self {
        match e {
            ExecError::Plan(p) => p.into(),
            ExecError::Table { .. } | ExecError::Location { .. } | ExecError::Io { .. } => {
                Failure::io(e.to_string())
            }
            e if e.is_rejection() => Failure::invalid(e.to_string()),
            e => Failure::failed(e.to_string()),
        }
    }
}

impl From<lode_dist::DistError> for Failure {
    fn from(e: lode_dist::DistError) -> Self {
        match e {
            lode_dist::DistError::Exec(e) => e.into(),
            lode_dist::DistError::Io { .. } => Failure::io(e.to_string()),
            lode_dist::DistError::JobFailed(_) | lode_dist::DistError::DataFusion { .. } => {
                Failure::failed(e.to_string())
            }
            // Rejected plans, and a coordinator that refuses or cannot be reached.
            _ => Failure::invalid(e.to_string()),
        }
    }
}

impl From<lode_driver::DriverError> for Failure {
    fn from(e: lode_driver::DriverError) -> Self {
        match e {
            lode_driver::DriverError::Exec(e) => e.into(),
            _ => Failure::invalid(e.to_string()),
        }
    }
}

impl From<lode_datagen::GenError> for Failure {
    fn from(e: lode_datagen::GenError) -> Self {
        match e {
            // Bad command-line values: usage errors, like clap's own.
            lode_datagen::GenError::BadScaleFactor(_) | lode_datagen::GenError::BadArgument(_) => {
                Failure::io(e.to_string())
            }
            _ => Failure::invalid(e.to_string()),
        }
    }
}
