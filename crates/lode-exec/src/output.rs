//! Writing result streams: a text table, CSV, JSON lines, an Arrow IPC stream or Parquet.
//!
//! Every writer consumes the stream batch by batch; nothing collects the whole result. The text
//! table is laid out in blocks of [`TABLE_BLOCK_ROWS`] rows, each with its own column widths.

use std::io::Write;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::csv;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::ipc::writer::StreamWriter;
use datafusion::arrow::json::LineDelimitedWriter;
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::physical_plan::SendableRecordBatchStream;
use futures::StreamExt;
use tracing::info;

use crate::error::{ExecError, Result};

/// Rows per block of the text table.
pub const TABLE_BLOCK_ROWS: usize = 10_000;

/// How `lode run` writes a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultFormat {
    /// A text table, in blocks of [`TABLE_BLOCK_ROWS`] rows.
    Table,
    /// CSV with a header row.
    Csv,
    /// One JSON object per row.
    Json,
    /// Arrow IPC stream format.
    Arrow,
    /// One Parquet file (snappy-compressed, as `lode gen` writes them).
    Parquet,
}

impl ResultFormat {
    /// The format a file name's extension asks for (`.csv`, `.json`, `.jsonl`, `.arrow`,
    /// `.parquet`), if any.
    pub fn for_file_name(name: &str) -> Option<ResultFormat> {
        let (_, extension) = name.rsplit_once('.')?;
        match extension.to_ascii_lowercase().as_str() {
            "csv" => Some(ResultFormat::Csv),
            "json" | "jsonl" | "ndjson" => Some(ResultFormat::Json),
            "arrow" | "arrows" | "ipc" => Some(ResultFormat::Arrow),
            "parquet" | "pq" => Some(ResultFormat::Parquet),
            _ => None,
        }
    }

    /// The extension a file of this format is given (`parquet`), text tables `txt`.
    pub fn extension(self) -> &'static str {
        match self {
            ResultFormat::Table => "txt",
            ResultFormat::Csv => "csv",
            ResultFormat::Json => "jsonl",
            ResultFormat::Arrow => "arrows",
            ResultFormat::Parquet => "parquet",
        }
    }
}

/// What was written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteSummary {
    /// Rows written.
    pub rows: u64,
    /// Record batches written.
    pub batches: u64,
}

/// Drains `stream` into `out` in `format`.
pub async fn write_results(
    mut stream: SendableRecordBatchStream,
    format: ResultFormat,
    out: &mut (dyn Write + Send),
) -> Result<WriteSummary> {
    let schema = stream.schema();
    let mut sink = Sink::new(format, schema, out)?;
    let mut summary = WriteSummary::default();
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(ExecError::datafusion("the query failed"))?;
        summary.rows += batch.num_rows() as u64;
        summary.batches += 1;
        sink.write(batch)?;
    }
    sink.finish()?;
    info!(
        rows = summary.rows,
        batches = summary.batches,
        "results written"
    );
    Ok(summary)
}

/// Where results go: any writer that may move between threads (Parquet's writer needs it).
type Out<'w> = &'w mut (dyn Write + Send);

enum Sink<'w> {
    Table {
        out: Out<'w>,
        schema: SchemaRef,
        pending: Vec<RecordBatch>,
        pending_rows: usize,
        blocks: usize,
    },
    Csv(Box<csv::Writer<Out<'w>>>),
    Json(LineDelimitedWriter<Out<'w>>),
    Arrow(Box<StreamWriter<Out<'w>>>),
    Parquet(Box<ArrowWriter<Out<'w>>>),
}

fn write_error(e: impl std::fmt::Display) -> ExecError {
    ExecError::Io {
        context: "writing results failed".into(),
        source: std::io::Error::other(e.to_string()),
    }
}

impl<'w> Sink<'w> {
    fn new(format: ResultFormat, schema: SchemaRef, out: Out<'w>) -> Result<Self> {
        Ok(match format {
            ResultFormat::Table => Sink::Table {
                out,
                schema,
                pending: Vec::new(),
                pending_rows: 0,
                blocks: 0,
            },
            ResultFormat::Csv => Sink::Csv(Box::new(
                csv::WriterBuilder::new().with_header(true).build(out),
            )),
            ResultFormat::Json => Sink::Json(LineDelimitedWriter::new(out)),
            ResultFormat::Arrow => Sink::Arrow(Box::new(
                StreamWriter::try_new(out, &schema).map_err(write_error)?,
            )),
            ResultFormat::Parquet => {
                let properties = WriterProperties::builder()
                    .set_compression(Compression::SNAPPY)
                    .build();
                Sink::Parquet(Box::new(
                    ArrowWriter::try_new(out, schema, Some(properties)).map_err(write_error)?,
                ))
            }
        })
    }

    fn write(&mut self, batch: RecordBatch) -> Result<()> {
        match self {
            Sink::Table {
                pending,
                pending_rows,
                ..
            } => {
                *pending_rows += batch.num_rows();
                pending.push(batch);
                if *pending_rows >= TABLE_BLOCK_ROWS {
                    self.flush_table()?;
                }
                Ok(())
            }
            Sink::Csv(w) => w.write(&batch).map_err(write_error),
            Sink::Json(w) => w.write(&batch).map_err(write_error),
            Sink::Arrow(w) => w.write(&batch).map_err(write_error),
            Sink::Parquet(w) => w.write(&batch).map_err(write_error),
        }
    }

    fn flush_table(&mut self) -> Result<()> {
        let Sink::Table {
            out,
            schema,
            pending,
            pending_rows,
            blocks,
        } = self
        else {
            return Ok(());
        };
        // An empty result still shows its header, once.
        if pending.is_empty() && *blocks > 0 {
            return Ok(());
        }
        let batches = if pending.is_empty() {
            vec![RecordBatch::new_empty(schema.clone())]
        } else {
            std::mem::take(pending)
        };
        let text = pretty_format_batches(&batches).map_err(write_error)?;
        writeln!(out, "{text}").map_err(write_error)?;
        *pending_rows = 0;
        *blocks += 1;
        Ok(())
    }

    fn finish(mut self) -> Result<()> {
        self.flush_table()?;
        match self {
            Sink::Table { out, .. } => out.flush().map_err(write_error),
            Sink::Csv(w) => w.into_inner().flush().map_err(write_error),
            Sink::Json(mut w) => w.finish().map_err(write_error),
            Sink::Arrow(mut w) => w.finish().map_err(write_error),
            Sink::Parquet(w) => w.close().map(|_| ()).map_err(write_error),
        }
    }
}
