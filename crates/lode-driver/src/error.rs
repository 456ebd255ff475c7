//! The error type of `lode-driver`.

use lode_exec::ExecError;

/// Why a driver did not finish. Each names the driver (its file or hash).
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// The driver component could not be compiled or linked.
    #[error("driver {driver}: {message}")]
    Load {
        /// The driver.
        driver: String,
        /// What the compiler or linker said.
        message: String,
    },

    /// The driver returned an error from `emit` or `run`.
    #[error("driver {driver} failed: {message}")]
    Failed {
        /// The driver.
        driver: String,
        /// The driver's own message.
        message: String,
    },

    /// The driver trapped (a panic, an out-of-bounds access) or was stopped at a limit.
    #[error("driver {driver} stopped: {message}{}", lode_wasm::error::stderr_suffix(.stderr))]
    Trap {
        /// The driver.
        driver: String,
        /// The trap or the limit.
        message: String,
        /// What the driver wrote to stderr before it stopped.
        stderr: String,
    },

    /// Planning or running on the host failed outside any call of the driver.
    #[error(transparent)]
    Exec(#[from] ExecError),
}

/// A result whose error is a [`DriverError`].
pub type Result<T, E = DriverError> = std::result::Result<T, E>;
