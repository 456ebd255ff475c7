//! Output files and objects that appear complete or not at all.

use std::io::Write;
use std::path::{Path, PathBuf};

use lode_exec::storage::{Location, Stores};
use lode_exec::{ResultFormat, write_results};
use tempfile::NamedTempFile;
use url::Url;

use crate::cli::OutputFormat;
use crate::failure::Failure;

/// A destination: standard output, or a file written through a temporary in the same
/// directory and renamed into place by [`Destination::commit`]. Dropped without commit, the
/// temporary is removed, so a failed query leaves no partial output behind. A path that is
/// not a regular file (`/dev/null`, a named pipe) is written directly: renaming over it
/// would replace the device or pipe with a file.
pub enum Destination {
    Stdout(std::io::BufWriter<std::io::Stdout>),
    File {
        temp: std::io::BufWriter<NamedTempFile>,
        path: PathBuf,
    },
    Special {
        file: std::io::BufWriter<std::fs::File>,
        path: PathBuf,
    },
}

impl Destination {
    pub fn open(path: Option<&Path>) -> Result<Self, Failure> {
        let Some(path) = path.filter(|p| p.as_os_str() != "-") else {
            return Ok(Destination::Stdout(std::io::BufWriter::new(
                std::io::stdout(),
            )));
        };
        if std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(|e| Failure::io(format!("cannot write {}: {e}", path.display())))?;
            return Ok(Destination::Special {
                file: std::io::BufWriter::new(file),
                path: path.to_path_buf(),
            });
        }
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        // Like `mkdir -p`: writing `out/result.csv` in a fresh checkout just works.
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure::io(format!("cannot create directory {}: {e}", dir.display())))?;
        let temp = NamedTempFile::new_in(dir).map_err(|e| {
            Failure::io(format!(
                "cannot create output file in {}: {e}",
                dir.display()
            ))
        })?;
        Ok(Destination::File {
            temp: std::io::BufWriter::new(temp),
            path: path.to_path_buf(),
        })
    }

    pub fn writer(&mut self) -> &mut (dyn Write + Send) {
        match self {
            Destination::Stdout(w) => w,
            Destination::File { temp, .. } => temp,
            Destination::Special { file, .. } => file,
        }
    }

    pub fn commit(self) -> Result<(), Failure> {
        match self {
            Destination::Stdout(mut w) => w
                .flush()
                .map_err(|e| Failure::io(format!("cannot write to standard output: {e}"))),
            Destination::File { temp, path } => {
                let temp = temp.into_inner().map_err(|e| {
                    Failure::io(format!("cannot write {}: {}", path.display(), e.error()))
                })?;
                temp.persist(&path).map_err(|e| {
                    Failure::io(format!("cannot write {}: {}", path.display(), e.error))
                })?;
                Ok(())
            }
            Destination::Special { mut file, path } => file
                .flush()
                .map_err(|e| Failure::io(format!("cannot write {}: {e}", path.display()))),
        }
    }
}

/// Writes a result to `output` (standard output when `None`, a file, or an object-store URL)
/// in `format` (by default as `output`'s name asks), whole or not at all, or appends it to
/// the Delta or Iceberg table `output` names as a new version or snapshot; errors say they
/// concern `source`.
pub async fn write_stream(
    stream: datafusion::physical_plan::SendableRecordBatchStream,
    format: Option<OutputFormat>,
    output: Option<&str>,
    source: &str,
) -> Result<lode_exec::WriteSummary, Failure> {
    let location = output
        .filter(|o| *o != "-")
        .map(Location::parse)
        .transpose()?;
    if let Some(table) = &location {
        if lode_exec::delta::is_table(table, &Stores::default()).await {
            return append_to_table(stream, format, table, TableFormat::Delta, source).await;
        }
        if lode_exec::iceberg::is_table(table).await {
            return append_to_table(stream, format, table, TableFormat::Iceberg, source).await;
        }
    }
    let format = result_format(format, location.as_ref());
    let written = |e: lode_exec::ExecError| Failure::from(e).context(source);
    match location {
        Some(Location::Url(url)) => {
            let mut upload = Upload::begin(url, format)?;
            let summary = write_results(stream, format, upload.writer())
                .await
                .map_err(written)?;
            upload.commit().await?;
            Ok(summary)
        }
        local => {
            let path = match &local {
                Some(Location::Local(path)) => Some(path.as_path()),
                _ => None,
            };
            let mut destination = Destination::open(path)?;
            let summary = write_results(stream, format, destination.writer())
                .await
                .map_err(written)?;
            destination.commit()?;
            Ok(summary)
        }
    }
}

/// The table formats a result can be appended to.
#[derive(Debug, Clone, Copy)]
enum TableFormat {
    Delta,
    Iceberg,
}

/// Appends the result to the Delta or Iceberg table at `table`, as one new version or
/// snapshot.
async fn append_to_table(
    stream: datafusion::physical_plan::SendableRecordBatchStream,
    format: Option<OutputFormat>,
    table: &Location,
    kind: TableFormat,
    source: &str,
) -> Result<lode_exec::WriteSummary, Failure> {
    if format.is_some_and(|f| !matches!(f, OutputFormat::Parquet)) {
        return Err(Failure::io(format!(
            "-o {table} is a {kind:?} table: a result is appended to it as Parquet; drop --format"
        )));
    }
    let failed = |message: String| {
        Failure::failed(format!("appending to {table}: {message}")).context(source)
    };
    let (what, rows) = match kind {
        TableFormat::Delta => {
            let (version, rows) = lode_exec::delta::append(table, stream)
                .await
                .map_err(failed)?;
            (format!("Delta version {version}"), rows)
        }
        TableFormat::Iceberg => {
            let (snapshot, rows) = lode_exec::iceberg::append(table, stream)
                .await
                .map_err(failed)?;
            (format!("Iceberg snapshot {snapshot}"), rows)
        }
    };
    eprintln!("appended {rows} rows to {table} as {what}");
    Ok(lode_exec::WriteSummary { rows, batches: 0 })
}

/// The format asked for, or the one `output`'s name asks for: its extension, Parquet for a
/// URL prefix, a text table otherwise.
fn result_format(format: Option<OutputFormat>, output: Option<&Location>) -> ResultFormat {
    match format {
        Some(OutputFormat::Table) => ResultFormat::Table,
        Some(OutputFormat::Csv) => ResultFormat::Csv,
        Some(OutputFormat::Json) => ResultFormat::Json,
        Some(OutputFormat::Arrow) => ResultFormat::Arrow,
        Some(OutputFormat::Parquet) => ResultFormat::Parquet,
        None => match output {
            Some(Location::Url(url)) if url.path().ends_with('/') => ResultFormat::Parquet,
            Some(location) => {
                ResultFormat::for_file_name(&location.to_string()).unwrap_or(ResultFormat::Table)
            }
            None => ResultFormat::Table,
        },
    }
}

/// A result bound for an object store: written to a local temporary file, then uploaded in
/// parts by [`Upload::commit`]. A query that fails uploads nothing, and an upload that fails
/// is aborted, so a reader of the store never sees part of a result.
pub struct Upload {
    temp: std::io::BufWriter<NamedTempFile>,
    url: Url,
}

impl Upload {
    /// An upload to `url`; a URL ending in `/` gets `part-00000.<extension>` under it.
    fn begin(url: Url, format: ResultFormat) -> Result<Self, Failure> {
        let url = if url.path().ends_with('/') {
            url.join(&format!("part-00000.{}", format.extension()))
                .map_err(|e| Failure::io(format!("{url}: {e}")))?
        } else {
            url
        };
        let temp = NamedTempFile::new().map_err(|e| {
            Failure::io(format!(
                "cannot create a temporary file for the result bound for {url}: {e}"
            ))
        })?;
        Ok(Upload {
            temp: std::io::BufWriter::new(temp),
            url,
        })
    }

    fn writer(&mut self) -> &mut (dyn Write + Send) {
        &mut self.temp
    }

    /// Uploads the result; the temporary file is removed either way.
    async fn commit(self) -> Result<(), Failure> {
        let temp = self
            .temp
            .into_inner()
            .map_err(|e| Failure::io(format!("cannot write {}: {}", self.url, e.error())))?;
        Stores::default().upload(temp.path(), &self.url).await?;
        Ok(())
    }
}
