//! Output files that appear complete or not at all.

use std::io::Write;
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use lode_exec::{ResultFormat, write_results};

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

    pub fn writer(&mut self) -> &mut dyn Write {
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

/// Writes a result to `output` (standard output when `None`) in `format`, whole or not at
/// all; errors say they concern `source`.
pub async fn write_stream(
    stream: datafusion::physical_plan::SendableRecordBatchStream,
    format: OutputFormat,
    output: Option<&std::path::Path>,
    source: &str,
) -> Result<lode_exec::WriteSummary, Failure> {
    let mut destination = Destination::open(output)?;
    let format = match format {
        OutputFormat::Table => ResultFormat::Table,
        OutputFormat::Csv => ResultFormat::Csv,
        OutputFormat::Json => ResultFormat::Json,
        OutputFormat::Arrow => ResultFormat::Arrow,
    };
    let summary = write_results(stream, format, destination.writer())
        .await
        .map_err(|e| Failure::from(e).context(source))?;
    destination.commit()?;
    Ok(summary)
}
