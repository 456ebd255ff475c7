//! Binding table names to files: `--data DIR`, `--table NAME=PATH`, `local_files` URIs.
//!
//! Names are matched case-insensitively (Isthmus and other Calcite producers upper-case them),
//! so every table is registered under its lower-cased name.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use datafusion::common::TableReference;
use datafusion::datasource::file_format::options::ArrowReadOptions;
use datafusion::prelude::{CsvReadOptions, ParquetReadOptions, SessionContext};
use tracing::debug;

use crate::error::{ExecError, Result};

/// The file formats Lode reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// Apache Parquet.
    Parquet,
    /// CSV with a header row.
    Csv,
    /// Arrow IPC file format.
    Arrow,
}

impl FileFormat {
    /// The format a file's extension names (`.parquet`, `.csv`, `.arrow`), if Lode reads it.
    pub fn from_path(path: &Path) -> Option<FileFormat> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "parquet" | "pq" => Some(FileFormat::Parquet),
            "csv" => Some(FileFormat::Csv),
            "arrow" | "ipc" | "feather" => Some(FileFormat::Arrow),
            _ => None,
        }
    }

    fn extension(self, path: &Path) -> String {
        path.extension()
            .and_then(|e| e.to_str())
            .map(|e| format!(".{e}"))
            .unwrap_or_default()
    }
}

/// One table: a name and the file or directory of files that hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableBinding {
    /// The name plans read it by (`lineitem`).
    pub name: String,
    /// A file, or a directory of files of one format.
    pub path: PathBuf,
    /// The format of its files.
    pub format: FileFormat,
}

/// All tables a query may read, by lower-cased name.
#[derive(Debug, Clone, Default)]
pub struct TableBindings {
    tables: BTreeMap<String, TableBinding>,
}

impl TableBindings {
    /// No tables.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every `DIR/<name>.{parquet,csv,arrow}` file, and every `DIR/<name>/` directory of such
    /// files, becomes table `<name>`.
    pub fn add_data_dir(&mut self, dir: &Path) -> Result<()> {
        let entries = std::fs::read_dir(dir).map_err(|source| ExecError::Io {
            context: format!("cannot read data directory {}", dir.display()),
            source,
        })?;
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths {
            let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            if stem.starts_with('.') {
                continue;
            }
            if path.is_dir() {
                if directory_format(&path).is_ok() {
                    self.add(stem, &path)?;
                }
            } else if FileFormat::from_path(&path).is_some() {
                self.add(stem, &path)?;
            }
        }
        Ok(())
    }

    /// Binds `name` to a file, or to a directory whose files all have one format.
    pub fn add(&mut self, name: &str, path: &Path) -> Result<()> {
        let table_error = |message: String| ExecError::Table {
            name: name.to_string(),
            path: path.to_path_buf(),
            message,
        };
        if name.is_empty() {
            return Err(table_error("a table needs a non-empty name".into()));
        }
        let format = if path.is_dir() {
            directory_format(path).map_err(table_error)?
        } else if path.is_file() {
            FileFormat::from_path(path).ok_or_else(|| {
                table_error("unknown file type; expected .parquet, .csv or .arrow".into())
            })?
        } else {
            return Err(table_error("no such file or directory".into()));
        };
        let key = name.to_lowercase();
        if let Some(existing) = self.tables.get(&key)
            && existing.path != path
        {
            return Err(table_error(format!(
                "table name clashes with `{}` ({}); names are case-insensitive",
                existing.name,
                existing.path.display()
            )));
        }
        self.tables.insert(
            key,
            TableBinding {
                name: name.to_string(),
                path: path.to_path_buf(),
                format,
            },
        );
        Ok(())
    }

    /// The table called `name`, in any case.
    pub fn get(&self, name: &str) -> Option<&TableBinding> {
        self.tables.get(&name.to_lowercase())
    }

    /// The tables' names, lower-cased and sorted.
    pub fn names(&self) -> Vec<String> {
        self.tables.keys().cloned().collect()
    }

    /// Every table, in name order.
    pub fn iter(&self) -> impl Iterator<Item = &TableBinding> {
        self.tables.values()
    }

    /// Registers every binding in `ctx` under its lower-cased name.
    pub async fn register(&self, ctx: &SessionContext) -> Result<()> {
        for (key, binding) in &self.tables {
            register_file(ctx, TableReference::bare(key.as_str()), binding).await?;
        }
        Ok(())
    }
}

/// Registers one file or directory as a table in `ctx`.
pub(crate) async fn register_file(
    ctx: &SessionContext,
    table: TableReference,
    binding: &TableBinding,
) -> Result<()> {
    let location = binding.path.to_string_lossy();
    let ext = if binding.path.is_dir() {
        match binding.format {
            FileFormat::Parquet => ".parquet".to_string(),
            FileFormat::Csv => ".csv".to_string(),
            FileFormat::Arrow => ".arrow".to_string(),
        }
    } else {
        binding.format.extension(&binding.path)
    };
    debug!(table = %table, path = %location, ?binding.format, "registering table");
    let result = match binding.format {
        FileFormat::Parquet => {
            ctx.register_parquet(
                table,
                location.as_ref(),
                ParquetReadOptions::default().file_extension(&ext),
            )
            .await
        }
        FileFormat::Csv => {
            ctx.register_csv(
                table,
                location.as_ref(),
                CsvReadOptions::new().has_header(true).file_extension(&ext),
            )
            .await
        }
        FileFormat::Arrow => {
            let options = ArrowReadOptions {
                file_extension: &ext,
                ..Default::default()
            };
            ctx.register_arrow(table, location.as_ref(), options).await
        }
    };
    result.map_err(|e| ExecError::Table {
        name: binding.name.clone(),
        path: binding.path.clone(),
        message: e.to_string(),
    })
}

/// The one format of all data files in a directory.
fn directory_format(dir: &Path) -> std::result::Result<FileFormat, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot list directory: {e}"))?;
    let mut found: Option<(FileFormat, PathBuf)> = None;
    for entry in entries.filter_map(|e| e.ok()) {
        let path = entry.path();
        let Some(format) = FileFormat::from_path(&path) else {
            continue;
        };
        match &found {
            None => found = Some((format, path)),
            Some((f, first)) if *f != format => {
                return Err(format!(
                    "mixes file formats ({} and {})",
                    first.display(),
                    path.display()
                ));
            }
            Some(_) => {}
        }
    }
    found
        .map(|(f, _)| f)
        .ok_or_else(|| "directory holds no .parquet, .csv or .arrow files".to_string())
}

/// Whether `name` is a table name a plan can read without quoting: lower-case ASCII letters,
/// digits and `_`, not starting with a digit. Names under which results are stored must be.
pub fn is_plain_table_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}
