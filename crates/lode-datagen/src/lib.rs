//! # lode-datagen
//!
//! Generators for the data Lode's demos, tests and benchmarks run on. Each writes Parquet
//! files atomically (a file appears complete or not at all) and reports progress.

pub mod comments;
pub mod points;
pub mod tpch;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::error::ArrowError;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::WriterProperties;
use tracing::info;

/// Rows per Parquet row group, as DuckDB writes them: a scan splits a file only between row
/// groups, and Parquet's default (1 Mi rows) left SF 1's `partsupp`, `part` and `customer` in
/// one row group each, scanned by one task however many executors hold them.
const ROW_GROUP_ROWS: usize = 122_880;

type Batches = Box<dyn Iterator<Item = Result<RecordBatch, ArrowError>>>;

/// Why a generator stopped.
#[derive(Debug, thiserror::Error)]
pub enum GenError {
    /// `--sf` was zero, negative or not a number.
    #[error("scale factor must be a positive number, got {0}")]
    BadScaleFactor(f64),
    /// Another argument is out of range; the message names it.
    #[error("{0}")]
    BadArgument(String),
    /// A file could not be written.
    #[error("cannot write {}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the file system said.
        #[source]
        source: std::io::Error,
    },
    /// The generator itself failed.
    #[error("generating {table} failed: {message}")]
    Generate {
        /// The table being generated.
        table: &'static str,
        /// What went wrong.
        message: String,
    },
}

/// How far a generator has got, reported after every batch.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// The table being generated.
    pub table: &'static str,
    /// Rows written so far.
    pub rows: u64,
    /// Rows the table will have, where the generator can tell in advance.
    pub expected_rows: Option<u64>,
    /// Whether the table is complete.
    pub done: bool,
}

/// Rows per batch of the generated tables.
const ROWS_PER_BATCH: u64 = 8192;

/// Writes `rows` rows of `table` to `dir/part-NNN.parquet`, `rows_per_file` rows a file, each
/// batch made by `batch(first_row, end_row)`; returns the files.
fn write_split(
    dir: &Path,
    table: &'static str,
    schema: SchemaRef,
    rows: u64,
    rows_per_file: u64,
    batch: impl Fn(u64, u64) -> RecordBatch + Clone + 'static,
    mut progress: impl FnMut(Progress),
) -> Result<Vec<PathBuf>, GenError> {
    std::fs::create_dir_all(dir).map_err(|source| GenError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut written = Vec::new();
    let mut done = 0;
    for file in 0..rows.div_ceil(rows_per_file) {
        let start = file * rows_per_file;
        let end = (start + rows_per_file).min(rows);
        let path = dir.join(format!("part-{file:03}.parquet"));
        let make = batch.clone();
        let batches: Batches = Box::new(
            (start..end)
                .step_by(ROWS_PER_BATCH as usize)
                .map(move |from| Ok(make(from, (from + ROWS_PER_BATCH).min(end)))),
        );
        write_parquet(&path, table, Arc::clone(&schema), batches, None, &mut |p| {
            progress(Progress {
                rows: done + p.rows,
                expected_rows: Some(rows),
                done: p.done && end == rows,
                ..p
            })
        })?;
        done = end;
        written.push(path);
    }
    Ok(written)
}

/// Writes `batches` to `path` through a `.partial` file renamed when complete.
fn write_parquet(
    path: &Path,
    table: &'static str,
    schema: SchemaRef,
    batches: Batches,
    expected_rows: Option<u64>,
    progress: &mut impl FnMut(Progress),
) -> Result<(), GenError> {
    let partial = path.with_extension("parquet.partial");
    let io = |source: std::io::Error| GenError::Io {
        path: path.to_path_buf(),
        source,
    };
    let gen_error = |e: &dyn std::fmt::Display| GenError::Generate {
        table,
        message: e.to_string(),
    };
    let file = File::create(&partial).map_err(io)?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .build();
    let mut writer =
        ArrowWriter::try_new(file, Arc::clone(&schema), Some(props)).map_err(|e| gen_error(&e))?;
    let mut rows = 0u64;
    for batch in batches {
        let batch = batch.map_err(|e| gen_error(&e))?;
        rows += batch.num_rows() as u64;
        writer.write(&batch).map_err(|e| gen_error(&e))?;
        progress(Progress {
            table,
            rows,
            expected_rows,
            done: false,
        });
    }
    writer.close().map_err(|e| gen_error(&e))?;
    std::fs::rename(&partial, path).map_err(io)?;
    info!(table, rows, path = %path.display(), "table written");
    progress(Progress {
        table,
        rows,
        expected_rows,
        done: true,
    });
    Ok(())
}
