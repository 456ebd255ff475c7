//! Errors of the Wasm host. Every one names the module; call errors name the function and,
//! for data errors, the row.

use std::path::PathBuf;

/// A module as errors name it: its short name when it has one, and its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleName {
    pub name: String,
    pub sha256: String,
}

impl std::fmt::Display for ModuleName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let short = &self.sha256[..self.sha256.len().min(12)];
        if self.name.is_empty() {
            write!(f, "module {short}")
        } else {
            write!(f, "module '{}' ({short})", self.name)
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WasmError {
    #[error(
        "module bytes hash to sha256 {actual}, but the plan declares {declared}: the plan's module table is corrupt or was edited"
    )]
    HashMismatch { declared: String, actual: String },

    #[error("{module} is not a valid WebAssembly component: {message}")]
    Compile { module: ModuleName, message: String },

    #[error(
        "{module} does not export {export} of lode:guest@0.1.0; build it against guests/wit (the `extension` world)"
    )]
    MissingExport { module: ModuleName, export: String },

    #[error("{module} exports {export} with the wrong type: {message}")]
    ExportType {
        module: ModuleName,
        export: String,
        message: String,
    },

    #[error("{module} cannot be instantiated: {message}")]
    Instantiate { module: ModuleName, message: String },

    #[error(
        "{module} asks for capability '{capability}', which the host does not grant; allow it with --allow-capability {capability}"
    )]
    CapabilityDenied {
        module: ModuleName,
        capability: String,
    },

    #[error("{module} has no {kind} function '{function}' (it has: {available})")]
    NoSuchFunction {
        module: ModuleName,
        kind: &'static str,
        function: String,
        available: String,
    },

    #[error("{module}, function '{function}': {message}")]
    Bind {
        module: ModuleName,
        function: String,
        message: String,
    },

    #[error("{module}, function '{function}'{}: {message}", row_suffix(*row))]
    Call {
        module: ModuleName,
        function: String,
        row: Option<u64>,
        message: String,
    },

    #[error(
        "{module}, function '{function}' ran longer than its {seconds}s limit per call and was stopped"
    )]
    Timeout {
        module: ModuleName,
        function: String,
        seconds: f64,
    },

    #[error("{module}, function '{function}' exceeded its memory limit of {limit_bytes} bytes")]
    MemoryLimit {
        module: ModuleName,
        function: String,
        limit_bytes: u64,
    },

    #[error(
        "{module}, function '{function}': its memory could not grow within the process's memory bound ({reason}); raise --memory-limit or run fewer partitions"
    )]
    HostMemory {
        module: ModuleName,
        function: String,
        reason: String,
    },

    #[error(
        "{module}, function '{function}' trapped: {message}{}",
        stderr_suffix(stderr)
    )]
    Trap {
        module: ModuleName,
        function: String,
        message: String,
        stderr: String,
    },

    #[error("{module}, function '{function}' returned malformed data: {message}")]
    Malformed {
        module: ModuleName,
        function: String,
        message: String,
    },

    #[error("{module}, function '{function}': cannot pass its input: {message}")]
    Input {
        module: ModuleName,
        function: String,
        message: String,
    },

    #[error("module cache {path}: {source}")]
    Cache {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("module store {path}: {message}")]
    Store { path: PathBuf, message: String },

    #[error("wasmtime engine: {0}")]
    Engine(String),
}

fn row_suffix(row: Option<u64>) -> String {
    // The host calls a guest once per batch: the row is the batch's, which the arguments
    // (added by the caller) identify in the input.
    row.map(|r| format!(" at row {r} of its batch"))
        .unwrap_or_default()
}

/// The tail of a guest's captured stdout and stderr, as a line to add to an error. Rust's
/// advice to set `RUST_BACKTRACE` is dropped: a guest has no environment, so it cannot work.
pub fn stderr_suffix(stderr: &str) -> String {
    let kept: Vec<&str> = stderr
        .lines()
        .filter(|line| !line.starts_with("note: run with `RUST_BACKTRACE=1`"))
        .collect();
    let tail = kept.join("\n");
    let tail = tail.trim();
    if tail.is_empty() {
        String::new()
    } else {
        format!("\n  guest stderr: {tail}")
    }
}

pub type Result<T, E = WasmError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::stderr_suffix;

    #[test]
    fn a_panic_keeps_its_message_and_drops_the_backtrace_advice() {
        let stderr = "thread '<unnamed>' panicked at src/lib.rs:9:5:\nbad latitude\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n";
        assert_eq!(
            stderr_suffix(stderr),
            "\n  guest stderr: thread '<unnamed>' panicked at src/lib.rs:9:5:\nbad latitude"
        );
        assert_eq!(stderr_suffix("  \n"), "");
    }
}
