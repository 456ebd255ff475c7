//! The error type of `lode-driver`.

use lode_exec::ExecError;

#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// The driver component could not be compiled or linked.
    #[error("driver {driver}: {message}")]
    Load { driver: String, message: String },

    /// The driver returned an error from `emit` or `run`.
    #[error("driver {driver} failed: {message}")]
    Failed { driver: String, message: String },

    /// The driver trapped (a panic, an out-of-bounds access) or was stopped at a limit.
    #[error("driver {driver} stopped: {message}{}", lode_wasm::error::stderr_suffix(.stderr))]
    Trap {
        driver: String,
        message: String,
        stderr: String,
    },

    /// Planning or running on the host failed outside any call of the driver.
    #[error(transparent)]
    Exec(#[from] ExecError),
}

pub type Result<T, E = DriverError> = std::result::Result<T, E>;
