//! Apache Iceberg tables, read from their metadata.
//!
//! A directory or prefix whose `metadata/` holds `*.metadata.json` files is an Iceberg table
//! ([`crate::TableKind::Iceberg`]). Lode reads it by its location, as engines do without a
//! catalog: the newest metadata file (the one `metadata/version-hint.text` names, else the
//! highest version number), its current snapshot or the one `LOCATION#snapshot=ID` names,
//! that snapshot's manifest list and manifests (Avro), and then the live Parquet data files
//! they list through DataFusion's Parquet scan. The table's current schema is the plan's
//! base schema. Each file carries the row count, null counts and lower and upper bounds its
//! manifest keeps, so DataFusion skips files a filter rules out before opening them (an
//! identity-partitioned column's bounds are its partition value); bounds of strings (which
//! writers truncate) and floats are estimates, which do not prune.
//!
//! Why not iceberg-rust: its newest release (`iceberg` and `iceberg-datafusion` 0.10.1)
//! builds on DataFusion 53 and Arrow 58, and Lode on DataFusion 55 and Arrow 59. Reading the
//! format is small; when a release builds on ours, its reader can replace this one.
//!
//! Not read yet, and refused with a clear error rather than read wrongly: row-level deletes
//! (delete files of format version 2), data files other than Parquet, and tables whose
//! current schema renamed a column that data files still carry under the old name.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_avro::reader::ReaderBuilder;
use datafusion::arrow::array::{
    Array, AsArray, BinaryArray, Int32Array, RecordBatch, StringArray, StructArray,
};
use datafusion::arrow::datatypes::{
    DataType, Field, Fields, Int32Type, Int64Type, Schema, SchemaRef, TimeUnit,
};
use datafusion::common::stats::Precision;
use datafusion::common::{ColumnStatistics, ScalarValue, Statistics, TableReference};
use datafusion::datasource::listing::PartitionedFile;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::prelude::SessionContext;
use object_store::ObjectStoreExt;
use object_store::path::Path as ObjectPath;
use serde::Deserialize;
use url::Url;

mod append;
mod avro;

pub use append::append;

use crate::FileFormat;
use crate::storage::Location;
use crate::storage::messages::explain_store_error;

/// A number no other call in any process is likely to return: file names, snapshot ids and
/// Avro sync markers need uniqueness, not secrecy.
pub(crate) fn random_u64() -> u64 {
    use std::hash::BuildHasher;
    use std::sync::atomic::{AtomicU64, Ordering};
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    std::collections::hash_map::RandomState::new().hash_one((
        now,
        std::process::id(),
        CALLS.fetch_add(1, Ordering::Relaxed),
    ))
}

/// The files of one snapshot of an Iceberg table, ready to scan.
#[derive(Debug, Clone)]
pub struct IcebergFiles {
    /// The table's current schema.
    pub schema: SchemaRef,
    /// The store holding the data files.
    pub store: ObjectStoreUrl,
    /// The live data files, with the statistics their manifests keep.
    pub files: Vec<PartitionedFile>,
}

/// Registers the Iceberg table at `location` (at `snapshot`, else its current one) as
/// `table`; an error says what is wrong in a user's terms.
pub(crate) async fn register(
    ctx: &SessionContext,
    table: TableReference,
    location: &Location,
    snapshot: Option<i64>,
) -> Result<(), String> {
    let files = load(ctx, location, snapshot).await?;
    // Its Parquet files in one group, which DataFusion cuts into byte ranges across
    // partitions.
    let scan = crate::FileScan {
        store: files.store,
        schema: files.schema,
        format: FileFormat::Parquet,
        groups: vec![files.files],
        statistics: None,
        partition_columns: Vec::new(),
    };
    ctx.register_table(table, Arc::new(scan))
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// The table at `location` (a directory or prefix) as of `snapshot`, else its current one.
pub async fn load(
    ctx: &SessionContext,
    location: &Location,
    snapshot: Option<i64>,
) -> Result<IcebergFiles, String> {
    let root = location.directory_url()?;
    let metadata = newest_metadata(ctx, &root).await?;
    let bytes = read(ctx, &metadata).await?;
    let table: TableMetadata = serde_json::from_slice(&bytes)
        .map_err(|e| format!("{metadata}: not Iceberg table metadata: {e}"))?;
    let schema = table.current_schema(&metadata)?;
    let arrow_schema = Arc::new(to_arrow_schema(schema).map_err(|e| format!("{metadata}: {e}"))?);
    let snapshot = table.snapshot(snapshot, &metadata)?;
    let mut files = Vec::new();
    if let Some(snapshot) = snapshot {
        let list = resolve(&root, &snapshot.manifest_list)?;
        for manifest in manifest_paths(ctx, &list).await? {
            let manifest = resolve(&root, &manifest)?;
            files.extend(data_files(ctx, &manifest, schema, &arrow_schema).await?);
        }
    }
    let store = match files.first() {
        Some((url, _)) => store_url(url)?,
        None => store_url(&root)?,
    };
    let files = files
        .into_iter()
        .map(|(url, file)| {
            if store_url(&url)? != store {
                return Err(format!(
                    "{url}: data files in more than one store ({}); Lode reads a table's files from one",
                    store.as_str()
                ));
            }
            Ok(file)
        })
        .collect::<Result<_, String>>()?;
    Ok(IcebergFiles {
        schema: arrow_schema,
        store,
        files,
    })
}

/// Whether `location` is an Iceberg table: its `metadata/` holds a `*.metadata.json`.
pub async fn is_table(location: &Location) -> bool {
    match (location.directory_url(), session()) {
        (Ok(root), Ok(ctx)) => newest_metadata(&ctx, &root).await.is_ok(),
        _ => false,
    }
}

/// A session reading through this process's object stores, for work outside a query.
fn session() -> Result<SessionContext, String> {
    let runtime = datafusion::execution::runtime_env::RuntimeEnvBuilder::new()
        .with_object_store_registry(Arc::new(crate::storage::Stores::default()))
        .build_arc()
        .map_err(|e| e.to_string())?;
    Ok(SessionContext::new_with_config_rt(
        datafusion::prelude::SessionConfig::new(),
        runtime,
    ))
}

/// The URL of the table's newest metadata file.
async fn newest_metadata(ctx: &SessionContext, root: &Url) -> Result<Url, String> {
    let dir = root.join("metadata/").map_err(|e| e.to_string())?;
    if let Ok(hint) = read(
        ctx,
        &dir.join("version-hint.text").map_err(|e| e.to_string())?,
    )
    .await
        && let Ok(version) = String::from_utf8_lossy(&hint).trim().parse::<u64>()
    {
        return dir
            .join(&format!("v{version}.metadata.json"))
            .map_err(|e| e.to_string());
    }
    let (store, prefix) = open(ctx, &dir)?;
    let listing = store
        .list_with_delimiter(Some(&prefix))
        .await
        .map_err(|e| format!("{dir}: {}", explain_store_error(&e)))?;
    let newest = listing
        .objects
        .iter()
        .filter_map(|object| {
            let name = object.location.filename()?;
            let stem = name.strip_suffix(".metadata.json")?;
            Some((metadata_version(stem)?, name.to_string()))
        })
        .max();
    let (_, name) = newest.ok_or_else(|| format!("{dir}: holds no Iceberg *.metadata.json"))?;
    dir.join(&name).map_err(|e| e.to_string())
}

/// The version in a metadata file's name: `v3` (Hadoop tables) or `00003-<uuid>` (catalogs).
fn metadata_version(stem: &str) -> Option<u64> {
    if let Some(number) = stem.strip_prefix('v') {
        return number.parse().ok();
    }
    stem.split('-').next()?.parse().ok()
}

/// The store and path of `url`.
fn open(
    ctx: &SessionContext,
    url: &Url,
) -> Result<(Arc<dyn object_store::ObjectStore>, ObjectPath), String> {
    let store = ctx
        .runtime_env()
        .object_store(store_url(url)?)
        .map_err(|e| format!("{url}: {e}"))?;
    let path = ObjectPath::from_url_path(url.path()).map_err(|e| format!("{url}: {e}"))?;
    Ok((store, path))
}

/// The whole object at `url`.
async fn read(ctx: &SessionContext, url: &Url) -> Result<bytes::Bytes, String> {
    let (store, path) = open(ctx, url)?;
    let failed = |e: object_store::Error| format!("{url}: {}", explain_store_error(&e));
    store
        .get(&path)
        .await
        .map_err(failed)?
        .bytes()
        .await
        .map_err(failed)
}

fn store_url(url: &Url) -> Result<ObjectStoreUrl, String> {
    let origin = &url[..url::Position::BeforePath];
    ObjectStoreUrl::parse(origin).map_err(|e| format!("{url}: {e}"))
}

/// A location the metadata names: an absolute URI (as Iceberg writes them), or a path
/// relative to the table.
fn resolve(root: &Url, location: &str) -> Result<Url, String> {
    match Location::parse(location) {
        Ok(Location::Url(url)) => Ok(url),
        Ok(Location::Local(path)) if path.is_absolute() => {
            Url::from_file_path(&path).map_err(|()| format!("{location}: not a file path"))
        }
        _ => root.join(location).map_err(|e| format!("{location}: {e}")),
    }
}

/// The fields of a table's metadata file Lode reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct TableMetadata {
    format_version: u8,
    #[serde(default)]
    schemas: Vec<IcebergSchema>,
    /// Format version 1 may carry one schema only.
    schema: Option<IcebergSchema>,
    #[serde(default)]
    current_schema_id: Option<i32>,
    #[serde(default)]
    current_snapshot_id: Option<i64>,
    #[serde(default)]
    snapshots: Vec<Snapshot>,
    #[serde(default)]
    last_sequence_number: i64,
    #[serde(default)]
    last_updated_ms: i64,
    #[serde(default)]
    default_spec_id: i32,
    #[serde(default)]
    partition_specs: Vec<PartitionSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct PartitionSpec {
    spec_id: i32,
    fields: Vec<PartitionField>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct PartitionField {
    source_id: i32,
    field_id: i32,
    name: String,
    transform: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct IcebergSchema {
    #[serde(default)]
    schema_id: i32,
    fields: Vec<IcebergField>,
}

#[derive(Debug, Deserialize)]
struct IcebergField {
    id: i32,
    name: String,
    required: bool,
    #[serde(rename = "type")]
    kind: IcebergType,
}

/// A type: a primitive's name (`long`, `decimal(9,2)`), or a nested type.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum IcebergType {
    Primitive(String),
    Struct {
        fields: Vec<IcebergField>,
    },
    #[serde(rename_all = "kebab-case")]
    List {
        element: Box<IcebergType>,
        element_required: bool,
    },
    #[serde(rename_all = "kebab-case")]
    Map {
        key: Box<IcebergType>,
        value: Box<IcebergType>,
        value_required: bool,
    },
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Snapshot {
    snapshot_id: i64,
    manifest_list: String,
    #[serde(default)]
    summary: HashMap<String, String>,
}

impl TableMetadata {
    fn current_schema(&self, file: &Url) -> Result<&IcebergSchema, String> {
        if self.format_version > 2 {
            return Err(format!(
                "{file}: Iceberg format version {}; Lode reads versions 1 and 2",
                self.format_version
            ));
        }
        let current = self.current_schema_id.unwrap_or_default();
        self.schemas
            .iter()
            .find(|s| s.schema_id == current)
            .or(self.schema.as_ref())
            .ok_or_else(|| format!("{file}: names current schema {current} but holds none"))
    }

    /// The snapshot to read: `wanted`, else the current one; `None` for an empty table.
    fn snapshot(&self, wanted: Option<i64>, file: &Url) -> Result<Option<&Snapshot>, String> {
        let id = match wanted.or(self.current_snapshot_id) {
            None | Some(-1) => return Ok(None),
            Some(id) => id,
        };
        let found = self.snapshots.iter().find(|s| s.snapshot_id == id);
        match (found, wanted) {
            (Some(snapshot), _) => Ok(Some(snapshot)),
            (None, Some(_)) => {
                let known: Vec<String> = self
                    .snapshots
                    .iter()
                    .map(|s| s.snapshot_id.to_string())
                    .collect();
                Err(format!(
                    "#snapshot={id}: the table has no such snapshot; its snapshots are {}",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ))
            }
            (None, None) => Err(format!(
                "{file}: names current snapshot {id} but does not list it"
            )),
        }
    }
}

fn to_arrow_schema(schema: &IcebergSchema) -> Result<Schema, String> {
    Ok(Schema::new(to_arrow_fields(&schema.fields)?))
}

fn to_arrow_fields(fields: &[IcebergField]) -> Result<Fields, String> {
    fields
        .iter()
        .map(|f| Ok(Field::new(&f.name, to_arrow_type(&f.kind)?, !f.required)))
        .collect::<Result<Vec<_>, String>>()
        .map(Fields::from)
}

fn to_arrow_type(kind: &IcebergType) -> Result<DataType, String> {
    Ok(match kind {
        IcebergType::Primitive(name) => primitive(name)?,
        IcebergType::Struct { fields } => DataType::Struct(to_arrow_fields(fields)?),
        IcebergType::List {
            element,
            element_required,
            ..
        } => DataType::List(Arc::new(Field::new(
            "element",
            to_arrow_type(element)?,
            !element_required,
        ))),
        IcebergType::Map {
            key,
            value,
            value_required,
            ..
        } => {
            let entries = Field::new(
                "key_value",
                DataType::Struct(Fields::from(vec![
                    Field::new("key", to_arrow_type(key)?, false),
                    Field::new("value", to_arrow_type(value)?, !value_required),
                ])),
                false,
            );
            DataType::Map(Arc::new(entries), false)
        }
    })
}

fn primitive(name: &str) -> Result<DataType, String> {
    Ok(match name {
        "boolean" => DataType::Boolean,
        "int" => DataType::Int32,
        "long" => DataType::Int64,
        "float" => DataType::Float32,
        "double" => DataType::Float64,
        "date" => DataType::Date32,
        "time" => DataType::Time64(TimeUnit::Microsecond),
        "timestamp" => DataType::Timestamp(TimeUnit::Microsecond, None),
        "timestamptz" => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        "timestamp_ns" => DataType::Timestamp(TimeUnit::Nanosecond, None),
        "timestamptz_ns" => DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
        "string" => DataType::Utf8,
        "uuid" => DataType::FixedSizeBinary(16),
        "binary" => DataType::Binary,
        other => {
            if let Some(length) = other
                .strip_prefix("fixed[")
                .and_then(|rest| rest.strip_suffix(']'))
            {
                let length = length
                    .trim()
                    .parse()
                    .map_err(|_| format!("unknown Iceberg type `{other}`"))?;
                return Ok(DataType::FixedSizeBinary(length));
            }
            if let Some(args) = other
                .strip_prefix("decimal(")
                .and_then(|rest| rest.strip_suffix(')'))
                && let Some((precision, scale)) = args.split_once(',')
                && let (Ok(precision), Ok(scale)) = (precision.trim().parse(), scale.trim().parse())
            {
                return Ok(DataType::Decimal128(precision, scale));
            }
            return Err(format!("unknown Iceberg type `{other}`"));
        }
    })
}

/// Every batch of the Avro file at `url`.
async fn read_avro(ctx: &SessionContext, url: &Url) -> Result<Vec<RecordBatch>, String> {
    let bytes = read(ctx, url).await?;
    let reader = ReaderBuilder::new()
        .build(std::io::Cursor::new(bytes))
        .map_err(|e| format!("{url}: not an Avro file: {e}"))?;
    reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{url}: {e}"))
}

/// The data manifests a manifest list names; a delete manifest is refused.
async fn manifest_paths(ctx: &SessionContext, list: &Url) -> Result<Vec<String>, String> {
    let mut paths = Vec::new();
    for batch in read_avro(ctx, list).await? {
        let path = strings(&batch, "manifest_path", list)?;
        let content = batch
            .column_by_name("content")
            .and_then(|c| c.as_any().downcast_ref::<Int32Array>());
        for row in 0..batch.num_rows() {
            if content.is_some_and(|c| c.value(row) != 0) {
                return Err(deletes_refused(list));
            }
            paths.push(path.value(row).to_string());
        }
    }
    Ok(paths)
}

fn deletes_refused(file: &Url) -> String {
    format!(
        "{file}: the snapshot has row-level deletes (delete files), which Lode does not apply \
         yet; read a snapshot before them or compact the table"
    )
}

fn strings<'b>(batch: &'b RecordBatch, name: &str, file: &Url) -> Result<&'b StringArray, String> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<StringArray>())
        .ok_or_else(|| format!("{file}: no string column `{name}`"))
}

/// The live data files a manifest lists, by URL, with their statistics.
async fn data_files(
    ctx: &SessionContext,
    manifest: &Url,
    schema: &IcebergSchema,
    arrow_schema: &SchemaRef,
) -> Result<Vec<(Url, PartitionedFile)>, String> {
    let missing = |name: &str| format!("{manifest}: manifest entries lack `{name}`");
    let mut files = Vec::new();
    for batch in read_avro(ctx, manifest).await? {
        let status = batch
            .column_by_name("status")
            .and_then(|c| c.as_primitive_opt::<Int32Type>())
            .ok_or_else(|| missing("status"))?;
        let data_file = batch
            .column_by_name("data_file")
            .and_then(|c| c.as_any().downcast_ref::<StructArray>())
            .ok_or_else(|| missing("data_file"))?;
        let field = |name: &str| data_file.column_by_name(name).ok_or_else(|| missing(name));
        let path = field("file_path")?
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| missing("file_path"))?;
        let format = field("file_format")?
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| missing("file_format"))?;
        let rows = field("record_count")?
            .as_primitive_opt::<Int64Type>()
            .ok_or_else(|| missing("record_count"))?;
        let size = field("file_size_in_bytes")?
            .as_primitive_opt::<Int64Type>()
            .ok_or_else(|| missing("file_size_in_bytes"))?;
        let content = data_file
            .column_by_name("content")
            .and_then(|c| c.as_primitive_opt::<Int32Type>());
        let bounds = Bounds::of(data_file);
        for row in 0..batch.num_rows() {
            // 2: deleted from the table by this snapshot.
            if status.value(row) == 2 {
                continue;
            }
            if content.is_some_and(|c| c.value(row) != 0) {
                return Err(deletes_refused(manifest));
            }
            let url = resolve(manifest, path.value(row))?;
            if !format.value(row).eq_ignore_ascii_case("parquet") {
                return Err(format!(
                    "{url}: a {} data file; Lode reads Iceberg tables of Parquet files",
                    format.value(row)
                ));
            }
            let object =
                ObjectPath::from_url_path(url.path()).map_err(|e| format!("{url}: {e}"))?;
            let mut file = PartitionedFile::new(object.to_string(), size.value(row).max(0) as u64);
            file.statistics = Some(Arc::new(bounds.statistics(
                row,
                rows.value(row),
                schema,
                arrow_schema,
            )));
            files.push((url, file));
        }
    }
    Ok(files)
}

/// A manifest's per-file column statistics: null counts and lower and upper bounds by
/// field id, as lists of `{key, value}` records.
struct Bounds<'a> {
    nulls: Option<&'a datafusion::arrow::array::ListArray>,
    lower: Option<&'a datafusion::arrow::array::ListArray>,
    upper: Option<&'a datafusion::arrow::array::ListArray>,
}

impl<'a> Bounds<'a> {
    fn of(data_file: &'a StructArray) -> Self {
        let list = |name: &str| {
            data_file
                .column_by_name(name)
                .and_then(|c| c.as_list_opt::<i32>())
        };
        Bounds {
            nulls: list("null_value_counts"),
            lower: list("lower_bounds"),
            upper: list("upper_bounds"),
        }
    }

    /// DataFusion's statistics of file `row` over the table's top-level columns.
    fn statistics(
        &self,
        row: usize,
        rows: i64,
        schema: &IcebergSchema,
        arrow_schema: &SchemaRef,
    ) -> Statistics {
        let nulls = entries(self.nulls, row);
        let lower = entries(self.lower, row);
        let upper = entries(self.upper, row);
        let columns = schema
            .fields
            .iter()
            .zip(arrow_schema.fields())
            .map(|(field, arrow)| {
                // Writers keep exact bounds of numbers, dates and times, which DataFusion's
                // file pruning needs; a string's may be truncated and a float's leave NaN
                // out, so those are only estimates.
                let exact = !matches!(
                    arrow.data_type(),
                    DataType::Utf8 | DataType::Float32 | DataType::Float64
                );
                let bound = |values: &HashMap<i32, Vec<u8>>| {
                    let value = values
                        .get(&field.id)
                        .and_then(|bytes| decode_bound(bytes, arrow.data_type()));
                    match value {
                        Some(value) if exact => Precision::Exact(value),
                        Some(value) => Precision::Inexact(value),
                        None => Precision::Absent,
                    }
                };
                let null_count = nulls
                    .get(&field.id)
                    .and_then(|bytes| bytes.as_slice().try_into().ok())
                    .map_or(Precision::Absent, |n: [u8; 8]| {
                        Precision::Exact(i64::from_le_bytes(n).max(0) as usize)
                    });
                ColumnStatistics {
                    null_count,
                    min_value: bound(&lower),
                    max_value: bound(&upper),
                    ..ColumnStatistics::new_unknown()
                }
            })
            .collect();
        Statistics {
            num_rows: Precision::Exact(rows.max(0) as usize),
            total_byte_size: Precision::Absent,
            column_statistics: columns,
        }
    }
}

/// Row `row` of a list of `{key: int, value}` records, values as bytes (a count's as its
/// little-endian `long`).
fn entries(
    list: Option<&datafusion::arrow::array::ListArray>,
    row: usize,
) -> HashMap<i32, Vec<u8>> {
    let mut found = HashMap::new();
    let Some(list) = list.filter(|l| l.is_valid(row)) else {
        return found;
    };
    let records = list.value(row);
    let Some(records) = records.as_any().downcast_ref::<StructArray>() else {
        return found;
    };
    let keys = records
        .column_by_name("key")
        .and_then(|k| k.as_primitive_opt::<Int32Type>());
    let Some(keys) = keys else { return found };
    let Some(values) = records.column_by_name("value") else {
        return found;
    };
    for i in 0..records.len() {
        if values.is_null(i) {
            continue;
        }
        let bytes = if let Some(binary) = values.as_any().downcast_ref::<BinaryArray>() {
            binary.value(i).to_vec()
        } else if let Some(counts) = values.as_primitive_opt::<Int64Type>() {
            counts.value(i).to_le_bytes().to_vec()
        } else {
            continue;
        };
        found.insert(keys.value(i), bytes);
    }
    found
}

/// An Iceberg bound (its single-value binary form) as a value of `kind`; `None` for types
/// whose bounds Lode does not use.
fn decode_bound(bytes: &[u8], kind: &DataType) -> Option<ScalarValue> {
    let le4 = || -> Option<[u8; 4]> { bytes.try_into().ok() };
    let le8 = || -> Option<[u8; 8]> { bytes.try_into().ok() };
    Some(match kind {
        DataType::Boolean => ScalarValue::Boolean(Some(*bytes.first()? != 0)),
        DataType::Int32 => ScalarValue::Int32(Some(i32::from_le_bytes(le4()?))),
        DataType::Date32 => ScalarValue::Date32(Some(i32::from_le_bytes(le4()?))),
        DataType::Int64 => ScalarValue::Int64(Some(i64::from_le_bytes(le8()?))),
        DataType::Float32 => ScalarValue::Float32(Some(f32::from_le_bytes(le4()?))),
        DataType::Float64 => ScalarValue::Float64(Some(f64::from_le_bytes(le8()?))),
        DataType::Time64(TimeUnit::Microsecond) => {
            ScalarValue::Time64Microsecond(Some(i64::from_le_bytes(le8()?)))
        }
        DataType::Timestamp(TimeUnit::Microsecond, zone) => {
            ScalarValue::TimestampMicrosecond(Some(i64::from_le_bytes(le8()?)), zone.clone())
        }
        DataType::Timestamp(TimeUnit::Nanosecond, zone) => {
            ScalarValue::TimestampNanosecond(Some(i64::from_le_bytes(le8()?)), zone.clone())
        }
        DataType::Utf8 => ScalarValue::Utf8(Some(String::from_utf8(bytes.to_vec()).ok()?)),
        DataType::Decimal128(precision, scale) if !bytes.is_empty() && bytes.len() <= 16 => {
            // Big-endian two's complement, sign-extended to 16 bytes.
            let fill = if bytes[0] & 0x80 != 0 { 0xff } else { 0 };
            let mut wide = [fill; 16];
            wide[16 - bytes.len()..].copy_from_slice(bytes);
            ScalarValue::Decimal128(Some(i128::from_be_bytes(wide)), *precision, *scale)
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_decode_as_iceberg_writes_them() {
        assert_eq!(
            decode_bound(&7i64.to_le_bytes(), &DataType::Int64),
            Some(ScalarValue::Int64(Some(7)))
        );
        assert_eq!(
            decode_bound(b"ALGERIA", &DataType::Utf8),
            Some(ScalarValue::Utf8(Some("ALGERIA".into())))
        );
        // -1.50 as decimal(9,2): unscaled -150 in the fewest big-endian bytes.
        assert_eq!(
            decode_bound(&(-150i16).to_be_bytes(), &DataType::Decimal128(9, 2)),
            Some(ScalarValue::Decimal128(Some(-150), 9, 2))
        );
        assert_eq!(decode_bound(&[1, 2, 3], &DataType::Int32), None);
    }

    #[test]
    fn metadata_versions_come_from_either_naming() {
        assert_eq!(metadata_version("v12"), Some(12));
        assert_eq!(
            metadata_version("00003-08896ff4-1765-4a7f-8ba0-ec059a8ca96a"),
            Some(3)
        );
        assert_eq!(metadata_version("notes"), None);
    }

    #[test]
    fn types_map_to_arrow() {
        assert_eq!(primitive("decimal(12, 2)"), Ok(DataType::Decimal128(12, 2)));
        assert_eq!(primitive("fixed[4]"), Ok(DataType::FixedSizeBinary(4)));
        assert_eq!(
            primitive("variant"),
            Err("unknown Iceberg type `variant`".to_string())
        );
    }
}
