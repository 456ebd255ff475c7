//! Binding table names to files: `--data DIR`, `--table NAME=PATH`, `local_files` URIs.
//!
//! Names are matched case-insensitively (Isthmus and other Calcite producers upper-case them),
//! so every table is registered under its lower-cased name.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use datafusion::common::TableReference;
use datafusion::datasource::file_format::options::ArrowReadOptions;
use datafusion::prelude::{CsvReadOptions, ParquetReadOptions, SessionContext};
use object_store::ObjectStoreExt;
use object_store::path::Path as ObjectPath;
use tracing::debug;
use url::Url;

use crate::error::{ExecError, Result};
use crate::storage::messages::explain_store_error;
use crate::storage::{Location, Stores};

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

/// How a table's data is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableKind {
    /// Plain files of one format.
    Files(FileFormat),
    /// A Delta Lake table: its `_delta_log` says which files make up each version.
    Delta {
        /// The version to read (`LOCATION#version=N`); the latest when `None`.
        version: Option<u64>,
    },
    /// An Apache Iceberg table: its `metadata/` says which files make up each snapshot.
    Iceberg {
        /// The snapshot to read (`LOCATION#snapshot=ID`); the current one when `None`.
        snapshot: Option<i64>,
    },
}

/// One table: a name and the file or directory of files that hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableBinding {
    /// The name plans read it by (`lineitem`).
    pub name: String,
    /// A file or object, or a directory or prefix of files of one format.
    pub location: Location,
    /// Its files' format, or the table format that lists them.
    pub kind: TableKind,
}

impl TableBinding {
    /// The local file or directory, where the table is not in an object store.
    pub fn local_path(&self) -> Option<&Path> {
        match &self.location {
            Location::Local(path) => Some(path),
            Location::Url(_) => None,
        }
    }

    /// The ending DataFusion lists the table's files by: the format's extension for a
    /// directory or prefix, the file's own for one file; `None` for a Delta or Iceberg table.
    pub fn file_extension(&self) -> Option<String> {
        let TableKind::Files(format) = self.kind else {
            return None;
        };
        Some(if self.is_directory() {
            match format {
                FileFormat::Parquet => ".parquet".to_string(),
                FileFormat::Csv => ".csv".to_string(),
                FileFormat::Arrow => ".arrow".to_string(),
            }
        } else {
            format.extension(Path::new(&self.location.as_listing_str()))
        })
    }

    /// Whether the location is a directory or prefix of files rather than one file.
    fn is_directory(&self) -> bool {
        match &self.location {
            Location::Local(path) => path.is_dir(),
            Location::Url(url) => url.path().ends_with('/'),
        }
    }
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

    /// Every `<name>.{parquet,csv,arrow}` file of a data directory or object-store prefix,
    /// and every `<name>/` directory (or prefix) of such files, becomes table `<name>`.
    pub async fn add_data(&mut self, location: &Location, stores: &Stores) -> Result<()> {
        let url = match location {
            Location::Local(dir) => return self.add_data_dir(dir),
            Location::Url(url) => url,
        };
        let listing = ObjectListing::of(url, stores).await?;
        let found = listing.tables();
        if found.is_empty() {
            return Err(ExecError::Location {
                location: url.to_string(),
                message: "holds no .parquet, .csv or .arrow files, and no directories of them"
                    .into(),
            });
        }
        for (stem, url) in found {
            let kind = match url.path().ends_with('/') {
                true => ObjectListing::of(&url, stores).await?.kind(stores).await?,
                false => FileFormat::from_path(Path::new(url.path()))
                    .map(TableKind::Files)
                    .ok_or_else(String::new),
            };
            // A sub-prefix of other files (no data files in it) is not a table.
            if let Ok(kind) = kind {
                self.insert(&stem, Location::Url(url), kind)?;
            }
        }
        Ok(())
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
                if directory_kind(&path).is_ok() {
                    self.add(stem, &path)?;
                }
            } else if FileFormat::from_path(&path).is_some() {
                self.add(stem, &path)?;
            }
        }
        Ok(())
    }

    /// Binds `name` to a file or object, to a directory or prefix whose files all have one
    /// format (a URL ending in `/` is a prefix), or to a Delta or Iceberg table's directory
    /// or prefix (`#version=N` after a Delta table reads that version, `#snapshot=ID` after
    /// an Iceberg table that snapshot).
    pub async fn add_location(
        &mut self,
        name: &str,
        location: &Location,
        stores: &Stores,
    ) -> Result<()> {
        let (mut location, travel) = split_time_travel(location)?;
        // A URL without a data file's extension is a prefix, as if it ended in `/` (a Delta
        // or Iceberg table is named by its directory).
        if let Location::Url(url) = &mut location
            && !url.path().ends_with('/')
            && FileFormat::from_path(Path::new(url.path())).is_none()
        {
            url.set_path(&format!("{}/", url.path()));
        }
        let table_error = |message: String| table_error(name, &location, message);
        let kind = match &location {
            Location::Local(path) => local_kind(path).map_err(table_error)?,
            Location::Url(url) if url.path().ends_with('/') => ObjectListing::of(url, stores)
                .await?
                .kind(stores)
                .await?
                .map_err(table_error)?,
            Location::Url(url) => {
                let format = FileFormat::from_path(Path::new(url.path())).ok_or_else(|| {
                    table_error("unknown file type; expected .parquet, .csv or .arrow".into())
                })?;
                ObjectListing::head(url, stores).await?;
                TableKind::Files(format)
            }
        };
        let kind = match (kind, travel) {
            (kind, None) => kind,
            (TableKind::Delta { .. }, Some(TimeTravel::Version(version))) => TableKind::Delta {
                version: Some(version),
            },
            (TableKind::Iceberg { .. }, Some(TimeTravel::Snapshot(snapshot))) => {
                TableKind::Iceberg {
                    snapshot: Some(snapshot),
                }
            }
            (TableKind::Delta { .. }, Some(TimeTravel::Snapshot(_))) => {
                return Err(table_error(
                    "#snapshot= reads a snapshot of an Iceberg table; this is a Delta table: use #version=N"
                        .into(),
                ));
            }
            (TableKind::Iceberg { .. }, Some(TimeTravel::Version(_))) => {
                return Err(table_error(
                    "#version= reads a version of a Delta table; this is an Iceberg table: use #snapshot=ID"
                        .into(),
                ));
            }
            (TableKind::Files(_), Some(TimeTravel::Version(_))) => {
                return Err(table_error(
                    "#version= reads a version of a Delta table, and this is not one (no _delta_log)"
                        .into(),
                ));
            }
            (TableKind::Files(_), Some(TimeTravel::Snapshot(_))) => {
                return Err(table_error(
                    "#snapshot= reads a snapshot of an Iceberg table, and this is not one (no metadata/*.metadata.json)"
                        .into(),
                ));
            }
        };
        self.insert(name, location.clone(), kind)
    }

    /// Binds `name` to a local file, to a directory whose files all have one format, or to a
    /// Delta table's directory.
    pub fn add(&mut self, name: &str, path: &Path) -> Result<()> {
        let location = Location::Local(path.to_path_buf());
        let kind = local_kind(path).map_err(|message| table_error(name, &location, message))?;
        self.insert(name, location, kind)
    }

    fn insert(&mut self, name: &str, location: Location, kind: TableKind) -> Result<()> {
        if name.is_empty() {
            return Err(table_error(
                name,
                &location,
                "a table needs a non-empty name".into(),
            ));
        }
        let key = name.to_lowercase();
        if let Some(existing) = self.tables.get(&key)
            && existing.location != location
        {
            return Err(table_error(
                name,
                &location,
                format!(
                    "table name clashes with `{}` ({}); names are case-insensitive",
                    existing.name, existing.location
                ),
            ));
        }
        self.tables.insert(
            key,
            TableBinding {
                name: name.to_string(),
                location,
                kind,
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

fn table_error(name: &str, location: &Location, message: String) -> ExecError {
    ExecError::Table {
        name: name.to_string(),
        location: location.to_string(),
        message,
    }
}

/// Registers one table in `ctx`.
pub(crate) async fn register_file(
    ctx: &SessionContext,
    table: TableReference,
    binding: &TableBinding,
) -> Result<()> {
    debug!(table = %table, location = %binding.location, ?binding.kind, "registering table");
    let result = match binding.kind {
        TableKind::Files(format) => register_files(ctx, table, binding, format)
            .await
            .map_err(|e| crate::storage::messages::describe(&e)),
        TableKind::Delta { version } => {
            crate::delta::register(ctx, table, &binding.location, version).await
        }
        TableKind::Iceberg { snapshot } => {
            crate::iceberg::register(ctx, table, &binding.location, snapshot).await
        }
    };
    result.map_err(|message| table_error(&binding.name, &binding.location, message))
}

/// Registers plain files of `format` as a listing table.
async fn register_files(
    ctx: &SessionContext,
    table: TableReference,
    binding: &TableBinding,
    format: FileFormat,
) -> datafusion::error::Result<()> {
    let location = binding.location.as_listing_str();
    let ext = binding.file_extension().unwrap_or_default();
    match format {
        FileFormat::Parquet => {
            ctx.register_parquet(
                table,
                location.as_str(),
                ParquetReadOptions::default().file_extension(&ext),
            )
            .await
        }
        FileFormat::Csv => {
            ctx.register_csv(
                table,
                location.as_str(),
                CsvReadOptions::new().has_header(true).file_extension(&ext),
            )
            .await
        }
        FileFormat::Arrow => {
            let options = ArrowReadOptions {
                file_extension: &ext,
                ..Default::default()
            };
            ctx.register_arrow(table, location.as_str(), options).await
        }
    }
}

/// Which state of a table to read: a Delta version or an Iceberg snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TimeTravel {
    Version(u64),
    Snapshot(i64),
}

/// `location` without a `#version=N` or `#snapshot=ID` suffix, and what it asks for.
fn split_time_travel(location: &Location) -> Result<(Location, Option<TimeTravel>)> {
    let text = location.to_string();
    let invalid = |message: String| ExecError::Location {
        location: text.clone(),
        message,
    };
    let (base, travel) = if let Some((base, version)) = text.rsplit_once("#version=") {
        let version = version.parse::<u64>().map_err(|_| {
            invalid(format!(
                "#version={version}: expected a Delta table version, a whole number"
            ))
        })?;
        (base, TimeTravel::Version(version))
    } else if let Some((base, snapshot)) = text.rsplit_once("#snapshot=") {
        let snapshot = snapshot.parse::<i64>().map_err(|_| {
            invalid(format!(
                "#snapshot={snapshot}: expected an Iceberg snapshot id, a whole number"
            ))
        })?;
        (base, TimeTravel::Snapshot(snapshot))
    } else {
        return Ok((location.clone(), None));
    };
    Ok((Location::parse(base)?, Some(travel)))
}

/// A local path's table kind: a file's format, or a directory's kind.
fn local_kind(path: &Path) -> std::result::Result<TableKind, String> {
    if path.is_dir() {
        directory_kind(path)
    } else if path.is_file() {
        FileFormat::from_path(path)
            .map(TableKind::Files)
            .ok_or_else(|| "unknown file type; expected .parquet, .csv or .arrow".into())
    } else {
        Err("no such file or directory".into())
    }
}

/// A directory's table kind: Delta when it holds a `_delta_log`, Iceberg when its
/// `metadata/` holds a `*.metadata.json`, else its files' one format.
fn directory_kind(dir: &Path) -> std::result::Result<TableKind, String> {
    if dir.join("_delta_log").is_dir() {
        return Ok(TableKind::Delta { version: None });
    }
    let metadata = std::fs::read_dir(dir.join("metadata"))
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok());
    if metadata.into_iter().any(|entry| {
        entry
            .file_name()
            .to_string_lossy()
            .ends_with(".metadata.json")
    }) {
        return Ok(TableKind::Iceberg { snapshot: None });
    }
    directory_format(dir).map(TableKind::Files)
}

/// The one format of all data files in a directory.
fn directory_format(dir: &Path) -> std::result::Result<FileFormat, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot list directory: {e}"))?;
    let files = entries
        .filter_map(|e| e.ok())
        .map(|entry| entry.path().to_string_lossy().into_owned());
    one_format(files)
}

/// What a directory or prefix that is no table holds.
const NEITHER: &str = "directory holds no .parquet, .csv or .arrow files, no Delta log (_delta_log/) and no Iceberg metadata (metadata/*.metadata.json)";

/// The one format of data files named `files`; an error when they mix formats or none is a
/// data file.
fn one_format(files: impl Iterator<Item = String>) -> std::result::Result<FileFormat, String> {
    let mut found: Option<(FileFormat, String)> = None;
    for file in files {
        let Some(format) = FileFormat::from_path(Path::new(&file)) else {
            continue;
        };
        match &found {
            None => found = Some((format, file)),
            Some((f, first)) if *f != format => {
                return Err(format!("mixes file formats ({first} and {file})"));
            }
            Some(_) => {}
        }
    }
    found.map(|(f, _)| f).ok_or_else(|| NEITHER.to_string())
}

/// One level of an object-store prefix: its objects and its sub-prefixes.
struct ObjectListing {
    url: Url,
    objects: Vec<String>,
    prefixes: Vec<String>,
}

impl ObjectListing {
    /// Lists the prefix `url` names (as if it ended in `/`).
    async fn of(url: &Url, stores: &Stores) -> Result<ObjectListing> {
        let store = stores.store(url)?;
        let prefix = ObjectPath::from_url_path(url.path())
            .map_err(|e| location_error(url, e.to_string()))?;
        let listing = store
            .list_with_delimiter(Some(&prefix))
            .await
            .map_err(|e| location_error(url, explain_store_error(&e)))?;
        let mut url = url.clone();
        if !url.path().ends_with('/') {
            url.set_path(&format!("{}/", url.path()));
        }
        let name = |path: &ObjectPath| path.filename().unwrap_or_default().to_string();
        let mut objects: Vec<String> = listing.objects.iter().map(|o| name(&o.location)).collect();
        let mut prefixes: Vec<String> = listing.common_prefixes.iter().map(name).collect();
        objects.sort();
        prefixes.sort();
        Ok(ObjectListing {
            url,
            objects,
            prefixes,
        })
    }

    /// Checks that the object `url` names exists.
    async fn head(url: &Url, stores: &Stores) -> Result<()> {
        let store = stores.store(url)?;
        let path = ObjectPath::from_url_path(url.path())
            .map_err(|e| location_error(url, e.to_string()))?;
        store
            .head(&path)
            .await
            .map(|_| ())
            .map_err(|e| location_error(url, explain_store_error(&e)))
    }

    /// The tables of a data prefix: `<name>.<ext>` objects and `<name>/` prefixes, by name.
    fn tables(&self) -> Vec<(String, Url)> {
        let mut tables = Vec::new();
        for object in &self.objects {
            if let Some(stem) = object.rsplit_once('.').map(|(stem, _)| stem)
                && !stem.is_empty()
                && !stem.starts_with('.')
                && FileFormat::from_path(Path::new(object)).is_some()
                && let Ok(url) = self.url.join(object)
            {
                tables.push((stem.to_string(), url));
            }
        }
        for prefix in &self.prefixes {
            if !prefix.starts_with('.')
                && let Ok(url) = self.url.join(&format!("{prefix}/"))
            {
                tables.push((prefix.clone(), url));
            }
        }
        tables
    }

    /// The prefix's table kind: Delta when it holds a `_delta_log/`, Iceberg when its
    /// `metadata/` holds a `*.metadata.json`, else its objects' one format.
    async fn kind(&self, stores: &Stores) -> Result<std::result::Result<TableKind, String>> {
        if self.prefixes.iter().any(|p| p == "_delta_log") {
            return Ok(Ok(TableKind::Delta { version: None }));
        }
        if self.objects.is_empty()
            && self.prefixes.iter().any(|p| p == "metadata")
            && let Ok(metadata) = self.url.join("metadata/")
            && ObjectListing::of(&metadata, stores)
                .await?
                .objects
                .iter()
                .any(|o| o.ends_with(".metadata.json"))
        {
            return Ok(Ok(TableKind::Iceberg { snapshot: None }));
        }
        Ok(one_format(self.objects.iter().cloned()).map(TableKind::Files))
    }
}

fn location_error(url: &Url, message: String) -> ExecError {
    ExecError::Location {
        location: url.to_string(),
        message,
    }
}

/// Whether `name` is a table name a plan can read without quoting: lower-case ASCII letters,
/// digits and `_`, not starting with a digit. Names under which results are stored must be.
pub fn is_plain_table_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}
