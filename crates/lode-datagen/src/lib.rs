//! # lode-datagen
//!
//! Generators for the data Lode's demos, tests and benchmarks run on. Each writes Parquet
//! files atomically (a file appears complete or not at all) and reports progress.

pub mod tpch;

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum GenError {
    #[error("scale factor must be a positive number, got {0}")]
    BadScaleFactor(f64),
    #[error("cannot write {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("generating {table} failed: {message}")]
    Generate {
        table: &'static str,
        message: String,
    },
}

/// How far a generator has got, reported after every batch.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub table: &'static str,
    pub rows: u64,
    /// Rows the table will have, where the generator can tell in advance.
    pub expected_rows: Option<u64>,
    pub done: bool,
}
