//! Data placement: executors announce the files of their data directories and prefixes;
//! the coordinator plans over [`FileScan`]s whose scan partitions each hold files one
//! executor has, and the scheduler sends each scan task to an executor holding its files.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::TableProvider;
use datafusion::common::{ScalarValue, Statistics};
use datafusion::datasource::file_format::FileFormat as DfFileFormat;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingTableUrl, PartitionedFile};
use datafusion::error::Result as DfResult;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::object_store::{ObjectMeta, ObjectStore};
use datafusion::prelude::SessionContext;
use futures::TryStreamExt;
use lode_exec::storage::Location;
use lode_exec::{FileFormat, FileScan, TableBinding, TableBindings, TableKind};
use prost::Message;

use crate::codec::{decode_schema, encode_schema};
use crate::error::{DistError, Result};
use crate::proto;
use url::Url;

/// The object store every executor maps to its own data directory: scans name files by
/// their path relative to it, so one plan reads the right files wherever it runs.
pub const DATA_STORE: &str = "lode-data://local";

pub fn data_store_url() -> ObjectStoreUrl {
    // A constant that parses.
    ObjectStoreUrl::parse(DATA_STORE).unwrap_or_else(|_| ObjectStoreUrl::local_filesystem())
}

/// The tables of `data` (a data directory or object-store prefix, as `lode run --data` reads
/// it) with their schemas and files. `bindings` are those of `data`, already registered in
/// `ctx`, whose schemas are announced; `ctx` reads the data directory as [`DATA_STORE`]. A
/// table of plain files is listed as DataFusion lists it when the table is read; an Iceberg
/// table's files are those of its snapshot, with its manifests' statistics.
pub async fn announce_tables(
    data: &Location,
    bindings: &TableBindings,
    ctx: &SessionContext,
) -> Result<Vec<proto::TableFiles>> {
    let mut tables = Vec::new();
    for binding in bindings.iter() {
        let name = binding.name.to_lowercase();
        let provider = ctx
            .table_provider(name.as_str())
            .await
            .map_err(DistError::datafusion(format!("table {name}")))?;
        let mut partition_columns = Vec::new();
        let (format, store, files) = match binding.kind {
            TableKind::Files(format) => {
                let (store, files) = listed_files(data, binding, ctx, format, &provider).await?;
                (format, store, files)
            }
            TableKind::Iceberg { snapshot } => {
                let (store, files) = iceberg_files(binding, ctx, snapshot).await?;
                (FileFormat::Parquet, store, files)
            }
            TableKind::Delta { version } => {
                let (store, columns, files) =
                    delta_files(data, binding, ctx, version, &provider.schema()).await?;
                partition_columns = columns;
                (FileFormat::Parquet, store, files)
            }
        };
        tables.push(proto::TableFiles {
            name,
            format: format_name(format).to_string(),
            schema: encode_schema(&provider.schema()).map_err(DistError::datafusion(format!(
                "the schema of table {}",
                binding.name
            )))?,
            files,
            store: store.to_string(),
            partition_columns,
        });
    }
    Ok(tables)
}

/// The files of a table of plain files, as DataFusion lists them, with Parquet files'
/// statistics.
async fn listed_files(
    data: &Location,
    binding: &TableBinding,
    ctx: &SessionContext,
    format: FileFormat,
    provider: &Arc<dyn TableProvider>,
) -> Result<(ObjectStoreUrl, Vec<proto::DataFile>)> {
    let failed = |e: &dyn std::fmt::Display| {
        DistError::Config(format!(
            "listing the files of table {} ({}): {e}",
            binding.name, binding.location
        ))
    };
    let url = announced_url(data, binding)?;
    let extension = binding.file_extension().unwrap_or_default();
    let store = ctx
        .runtime_env()
        .object_store(url.object_store())
        .map_err(|e| failed(&e))?;
    let state = ctx.state();
    let mut objects: Vec<ObjectMeta> = url
        .list_all_files(&state, store.as_ref(), &extension)
        .await
        .map_err(|e| failed(&e))?
        .try_collect()
        .await
        .map_err(|e| failed(&e))?;
    objects.sort_by(|a, b| a.location.cmp(&b.location));
    let mut files = Vec::with_capacity(objects.len());
    for object in objects {
        let statistics = match format {
            FileFormat::Parquet => {
                parquet_statistics(ctx, &store, provider.schema(), &object).await?
            }
            FileFormat::Csv | FileFormat::Arrow => Vec::new(),
        };
        files.push(proto::DataFile {
            path: object.location.to_string(),
            size: object.size,
            statistics,
            partition_values: Vec::new(),
        });
    }
    Ok((url.object_store(), files))
}

/// The data files of an Iceberg table's snapshot, with the statistics its manifests keep.
async fn iceberg_files(
    binding: &TableBinding,
    ctx: &SessionContext,
    snapshot: Option<i64>,
) -> Result<(ObjectStoreUrl, Vec<proto::DataFile>)> {
    let table = lode_exec::iceberg::load(ctx, &binding.location, snapshot)
        .await
        .map_err(|e| {
            DistError::Config(format!(
                "table {} ({}): {e}",
                binding.name, binding.location
            ))
        })?;
    let files = table
        .files
        .iter()
        .map(|file| proto::DataFile {
            path: file.object_meta.location.to_string(),
            size: file.object_meta.size,
            statistics: file
                .statistics
                .as_deref()
                .map_or_else(Vec::new, |statistics| {
                    datafusion_proto_common::protobuf_common::Statistics::from(statistics)
                        .encode_to_vec()
                }),
            partition_values: Vec::new(),
        })
        .collect();
    Ok((table.store, files))
}

/// The data files of a Delta table's version, under the table's place in its store, with
/// their partition values typed as `schema` (the table's) types the partition columns.
async fn delta_files(
    data: &Location,
    binding: &TableBinding,
    ctx: &SessionContext,
    version: Option<u64>,
    schema: &SchemaRef,
) -> Result<(ObjectStoreUrl, Vec<String>, Vec<proto::DataFile>)> {
    let failed = |e: &dyn std::fmt::Display| {
        DistError::Config(format!(
            "table {} ({}): {e}",
            binding.name, binding.location
        ))
    };
    let table = lode_exec::delta::files(ctx, &binding.location, version)
        .await
        .map_err(|e| failed(&e))?;
    let root = announced_url(data, binding)?;
    let types = table
        .partition_columns
        .iter()
        .map(|column| Ok(schema.field_with_name(column)?.data_type().clone()))
        .collect::<DfResult<Vec<_>>>()
        .map_err(|e| failed(&e))?;
    let mut files = Vec::with_capacity(table.files.len());
    for file in table.files {
        let path = match root.prefix().as_ref() {
            "" => file.path,
            prefix => format!("{prefix}/{}", file.path),
        };
        let partition_values = file
            .partition_values
            .iter()
            .zip(&types)
            .map(|(value, kind)| {
                let typed = match value {
                    Some(text) => ScalarValue::try_from_string(text.clone(), kind),
                    None => ScalarValue::try_from(kind),
                }
                .map_err(|e| failed(&format!("partition value {value:?} of {path}: {e}")))?;
                let encoded =
                    datafusion_proto_common::protobuf_common::ScalarValue::try_from(&typed)
                        .map_err(|e| failed(&e))?;
                Ok(encoded.encode_to_vec())
            })
            .collect::<Result<Vec<_>>>()?;
        files.push(proto::DataFile {
            path,
            size: file.size,
            statistics: Vec::new(),
            partition_values,
        });
    }
    Ok((root.object_store(), table.partition_columns, files))
}

/// Where executors read `binding`'s files: in [`DATA_STORE`] by its path relative to the data
/// directory, which each executor maps to its own; else at its object-store URL.
fn announced_url(data: &Location, binding: &TableBinding) -> Result<ListingTableUrl> {
    let outside = || {
        DistError::Config(format!(
            "table {} ({}) is not in the data directory {data}",
            binding.name, binding.location
        ))
    };
    let url = match (&binding.location, data) {
        (Location::Url(url), _) => url.clone(),
        (Location::Local(path), Location::Local(dir)) => {
            let relative = path.strip_prefix(dir).map_err(|_| outside())?;
            let mut url = Url::parse(DATA_STORE).map_err(|_| outside())?;
            {
                let mut segments = url.path_segments_mut().map_err(|()| outside())?;
                segments.clear();
                for part in relative.components() {
                    segments.push(&part.as_os_str().to_string_lossy());
                }
                if path.is_dir() {
                    segments.push("");
                }
            }
            url
        }
        (Location::Local(_), Location::Url(_)) => return Err(outside()),
    };
    ListingTableUrl::try_new(url, None).map_err(DistError::datafusion(format!(
        "the location of table {}",
        binding.name
    )))
}

/// DataFusion's statistics of the Parquet file `object` of `store`, encoded.
async fn parquet_statistics(
    ctx: &SessionContext,
    store: &Arc<dyn ObjectStore>,
    schema: SchemaRef,
    object: &ObjectMeta,
) -> Result<Vec<u8>> {
    let statistics = ParquetFormat::default()
        .infer_stats(&ctx.state(), store, schema, object)
        .await
        .map_err(|e| {
            DistError::Config(format!(
                "reading the statistics of data file {}: {e}",
                object.location
            ))
        })?;
    Ok(datafusion_proto_common::protobuf_common::Statistics::from(&statistics).encode_to_vec())
}

fn decode_partition_values(values: &[Vec<u8>]) -> std::result::Result<Vec<ScalarValue>, String> {
    values
        .iter()
        .map(|bytes| {
            let proto =
                datafusion_proto_common::protobuf_common::ScalarValue::decode(bytes.as_slice())
                    .map_err(|e| e.to_string())?;
            ScalarValue::try_from(&proto).map_err(|e| e.to_string())
        })
        .collect()
}

fn decode_statistics(bytes: &[u8]) -> Option<Arc<Statistics>> {
    if bytes.is_empty() {
        return None;
    }
    let proto = datafusion_proto_common::protobuf_common::Statistics::decode(bytes).ok()?;
    Statistics::try_from(&proto).ok().map(Arc::new)
}

fn format_name(format: FileFormat) -> &'static str {
    match format {
        FileFormat::Parquet => "parquet",
        FileFormat::Csv => "csv",
        FileFormat::Arrow => "arrow",
    }
}

/// The store an executor announced a table in; an empty name is its data directory.
fn parse_store(name: &str) -> Result<ObjectStoreUrl> {
    if name.is_empty() {
        return Ok(data_store_url());
    }
    ObjectStoreUrl::parse(name)
        .map_err(|e| DistError::Config(format!("announced object store `{name}`: {e}")))
}

/// A store as a user would name it: "its data directory" or the bucket's URL.
fn describe_store(store: &ObjectStoreUrl) -> String {
    if *store == data_store_url() {
        "its data directory".to_string()
    } else {
        store.as_str().to_string()
    }
}

fn parse_format(name: &str) -> Result<FileFormat> {
    Ok(match name {
        "parquet" => FileFormat::Parquet,
        "csv" => FileFormat::Csv,
        "arrow" => FileFormat::Arrow,
        other => {
            return Err(DistError::Config(format!("unknown file format `{other}`")));
        }
    })
}

/// Which executors hold which files, and the tables those files make.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    tables: BTreeMap<String, CatalogTable>,
}

#[derive(Debug, Clone)]
struct CatalogTable {
    schema: SchemaRef,
    format: FileFormat,
    /// The store its files are in: [`DATA_STORE`], or a bucket every holder reads.
    store: ObjectStoreUrl,
    /// By path: size and holders (executor ids).
    files: BTreeMap<String, (u64, BTreeSet<String>)>,
    /// By path: DataFusion's statistics of the file, as its first holder announced them.
    statistics: BTreeMap<String, Arc<Statistics>>,
    /// Columns whose values come from each file's partition values (a Delta table's).
    partition_columns: Vec<String>,
    /// By path: the file's partition values, one per partition column.
    partition_values: BTreeMap<String, Vec<ScalarValue>>,
}

impl CatalogTable {
    /// The table's statistics, merged from its files'; unknown unless every file has some.
    fn statistics(&self) -> Option<Statistics> {
        let files: Vec<&Statistics> = self
            .files
            .keys()
            .map(|path| self.statistics.get(path).map(|s| s.as_ref()))
            .collect::<Option<_>>()?;
        Statistics::try_merge_iter(files, &self.schema).ok()
    }
}

impl Catalog {
    /// Adds what `executor` announced; a table whose schema or file sizes disagree with
    /// another executor's is refused, naming both.
    pub fn add_executor(&mut self, executor: &str, tables: &[proto::TableFiles]) -> Result<()> {
        let mut next = self.clone();
        for announced in tables {
            let schema = decode_schema(&announced.schema).map_err(DistError::datafusion(
                format!("the schema of table {}", announced.name),
            ))?;
            let format = parse_format(&announced.format)?;
            let store = parse_store(&announced.store)?;
            let table = next
                .tables
                .entry(announced.name.clone())
                .or_insert_with(|| CatalogTable {
                    schema: Arc::clone(&schema),
                    format,
                    store: store.clone(),
                    files: BTreeMap::new(),
                    statistics: BTreeMap::new(),
                    partition_columns: announced.partition_columns.clone(),
                    partition_values: BTreeMap::new(),
                });
            if table.schema.fields() != schema.fields() || table.format != format {
                return Err(DistError::Config(format!(
                    "table {} on executor {executor} has another schema or format than on the \
                     executors already registered ({} vs {})",
                    announced.name,
                    format_name(format),
                    format_name(table.format)
                )));
            }
            if table.partition_columns != announced.partition_columns {
                return Err(DistError::Config(format!(
                    "table {} on executor {executor} is partitioned by [{}] but by [{}] on the \
                     executors already registered",
                    announced.name,
                    announced.partition_columns.join(", "),
                    table.partition_columns.join(", ")
                )));
            }
            if table.store != store {
                return Err(DistError::Config(format!(
                    "table {} on executor {executor} is in {} but in {} on the executors \
                     already registered; every executor must read one table from one place",
                    announced.name,
                    describe_store(&store),
                    describe_store(&table.store)
                )));
            }
            for file in &announced.files {
                let entry = table
                    .files
                    .entry(file.path.clone())
                    .or_insert_with(|| (file.size, BTreeSet::new()));
                if entry.0 != file.size {
                    return Err(DistError::Config(format!(
                        "file {} of table {} is {} bytes on executor {executor} but {} bytes \
                         elsewhere; one path must hold the same file everywhere",
                        file.path, announced.name, file.size, entry.0
                    )));
                }
                entry.1.insert(executor.to_string());
                let values = decode_partition_values(&file.partition_values).map_err(|e| {
                    DistError::Config(format!(
                        "the partition values of file {} of table {}: {e}",
                        file.path, announced.name
                    ))
                })?;
                if values.len() != table.partition_columns.len() {
                    return Err(DistError::Config(format!(
                        "file {} of table {} has {} partition values for {} partition columns",
                        file.path,
                        announced.name,
                        values.len(),
                        table.partition_columns.len()
                    )));
                }
                table.partition_values.insert(file.path.clone(), values);
                if let Some(statistics) = decode_statistics(&file.statistics) {
                    table
                        .statistics
                        .entry(file.path.clone())
                        .or_insert(statistics);
                }
            }
        }
        *self = next;
        Ok(())
    }

    /// Forgets `executor`'s files; tables no executor holds files of disappear.
    pub fn remove_executor(&mut self, executor: &str) {
        for table in self.tables.values_mut() {
            table.files.retain(|_, (_, holders)| {
                holders.remove(executor);
                !holders.is_empty()
            });
            let files = &table.files;
            table.statistics.retain(|path, _| files.contains_key(path));
            table
                .partition_values
                .retain(|path, _| files.contains_key(path));
        }
        self.tables.retain(|_, t| !t.files.is_empty());
    }

    /// The tables, each split into about `partitions_per_executor` scan partitions per
    /// executor in `executors`, every partition's files held by one executor; large Parquet
    /// files are read in byte ranges of at least `min_range_bytes`.
    pub fn tables(
        &self,
        executors: &[String],
        partitions_per_executor: usize,
        min_range_bytes: u64,
    ) -> Result<Vec<(String, Arc<FileScan>)>> {
        self.tables
            .iter()
            .map(|(name, table)| {
                let groups = place_files(
                    table,
                    executors,
                    partitions_per_executor.max(1),
                    min_range_bytes.max(1),
                )
                .map_err(|file| {
                    DistError::Config(format!(
                        "file {file} of table {name} is held by no attached executor"
                    ))
                })?;
                // One scan partition per group, so a scan task reads files one executor holds.
                let provider = FileScan {
                    store: table.store.clone(),
                    schema: Arc::clone(&table.schema),
                    format: table.format,
                    groups,
                    statistics: table.statistics(),
                    partition_columns: table.partition_columns.clone(),
                };
                Ok((name.clone(), Arc::new(provider)))
            })
            .collect()
    }

    /// Every table with its schema.
    pub fn schemas(&self) -> Vec<(String, SchemaRef)> {
        self.tables
            .iter()
            .map(|(name, table)| (name.clone(), Arc::clone(&table.schema)))
            .collect()
    }

    pub fn has_table(&self, name: &str) -> bool {
        self.tables.contains_key(name)
    }

    /// Whether `executor` holds every one of `files`.
    pub fn holds_all(&self, executor: &str, files: &[ScanFile]) -> bool {
        files.iter().all(|scan| {
            self.tables.values().any(|t| {
                t.store == scan.store
                    && t.files
                        .get(scan.file.object_meta.location.as_ref())
                        .is_some_and(|(_, holders)| holders.contains(executor))
            })
        })
    }
}

/// Splits a table's files into groups, each homed on one executor holding all its files,
/// balancing bytes: the largest file first, into the least-filled group it may join. Where
/// files have more than one holder, a file joins a group whose other files some other
/// executor also holds, if there is one: then every group has a second executor that holds
/// all of it, and a task whose executor is lost runs again there (without this, a group of
/// two files held by the lost executor and by two different others has no home left); where
/// no group it may join keeps a second holder, the file opens a group of its own. A
/// Parquet file larger than a group's fair share is cut into byte ranges (row groups go to
/// the range holding their middle), each range into a different group homed on one of the
/// file's holders, so a table of one large file still gives every task slot a part; no range
/// is smaller than `min_range_bytes`. A file none of `executors` holds is returned as the
/// error: a scan never skips a file.
fn place_files(
    table: &CatalogTable,
    executors: &[String],
    per_executor: usize,
    min_range_bytes: u64,
) -> std::result::Result<Vec<Vec<PartitionedFile>>, String> {
    // Executors take turns, so files that every executor holds (in an object store) and
    // ranges of one file are spread over executors before a second group of one fills.
    let mut groups: Vec<Group> = (0..per_executor)
        .flat_map(|_| executors.iter().map(String::as_str))
        .map(Group::new)
        .collect();
    let total: u64 = table.files.values().map(|(size, _)| size).sum();
    let fair_share = total.div_ceil(groups.len().max(1) as u64).max(1);
    let mut files: Vec<_> = table.files.iter().collect();
    files.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(b.0)));
    for (path, (size, holders)) in files {
        let mut eligible: Vec<usize> = (0..groups.len())
            .filter(|&g| holders.contains(groups[g].home))
            .collect();
        if eligible.is_empty() {
            return Err(path.clone());
        }
        // A group that would be left with a single holder goes last, if the file has two.
        let spare = |g: usize| holders.len() < 2 || groups[g].holders_with(holders) >= 2;
        if !eligible.iter().any(|&g| spare(g)) {
            // Every group the file could join would keep one holder: it opens a group of its
            // own on its least-loaded holder, so no task is stranded by one executor's loss.
            let home = least_loaded(&groups, &eligible);
            groups.push(Group::new(home));
            eligible = vec![groups.len() - 1];
        }
        let spare = |g: usize| holders.len() < 2 || groups[g].holders_with(holders) >= 2;
        eligible.sort_by_key(|&g| (!spare(g), groups[g].bytes, groups[g].files.len(), g));
        // Ranges go only to groups that keep a second holder, while there are such groups.
        let spares = eligible.iter().filter(|&&g| spare(g)).count().max(1);
        let ranges = if table.format == FileFormat::Parquet {
            size.div_ceil(fair_share)
                .min(size / min_range_bytes)
                .clamp(1, spares as u64)
        } else {
            1
        };
        for (i, &g) in eligible.iter().take(ranges as usize).enumerate() {
            // A file's own statistics let its scan skip it when a filter rules it out.
            let mut file = PartitionedFile::new(path.clone(), *size);
            file.statistics = table.statistics.get(path).cloned();
            file.partition_values = table
                .partition_values
                .get(path)
                .cloned()
                .unwrap_or_default();
            let (file, bytes) = if ranges == 1 {
                (file, *size)
            } else {
                let (start, end) = (size * i as u64 / ranges, size * (i as u64 + 1) / ranges);
                (file.with_range(start as i64, end as i64), end - start)
            };
            groups[g].add(file, bytes, holders);
        }
    }
    Ok(groups
        .into_iter()
        .map(|group| group.files)
        .filter(|files| !files.is_empty())
        .collect())
}

/// A scan task's files while [`place_files`] fills it.
struct Group<'a> {
    /// The executor it is placed on first.
    home: &'a str,
    bytes: u64,
    files: Vec<PartitionedFile>,
    /// The executors holding every one of its files; `None` while it has none.
    holders: Option<BTreeSet<String>>,
}

/// The executor among the homes of `eligible` groups with the fewest bytes placed on it.
fn least_loaded<'a>(groups: &[Group<'a>], eligible: &[usize]) -> &'a str {
    let load = |home: &str| -> u64 {
        groups
            .iter()
            .filter(|g| g.home == home)
            .map(|g| g.bytes)
            .sum()
    };
    eligible
        .iter()
        .map(|&g| groups[g].home)
        .min_by_key(|home| (load(home), *home))
        .expect("a file's eligible groups are never empty here")
}

impl<'a> Group<'a> {
    fn new(home: &'a str) -> Self {
        Group {
            home,
            bytes: 0,
            files: Vec::new(),
            holders: None,
        }
    }

    /// How many executors would hold all of the group with a file held by `holders`.
    fn holders_with(&self, holders: &BTreeSet<String>) -> usize {
        match &self.holders {
            Some(current) => current.intersection(holders).count(),
            None => holders.len(),
        }
    }

    fn add(&mut self, file: PartitionedFile, bytes: u64, holders: &BTreeSet<String>) {
        self.bytes += bytes;
        self.files.push(file);
        self.holders = Some(match self.holders.take() {
            Some(current) => current.intersection(holders).cloned().collect(),
            None => holders.clone(),
        });
    }
}

/// A file a scan task reads: the store it is in and the part of it read.
#[derive(Debug, Clone)]
pub struct ScanFile {
    /// [`DATA_STORE`] or a bucket.
    pub store: ObjectStoreUrl,
    /// The file, with the byte range read when not all of it.
    pub file: PartitionedFile,
}

impl std::fmt::Display for ScanFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.store == data_store_url() {
            write!(f, "{}", self.file.object_meta.location)
        } else {
            write!(
                f,
                "{}{}",
                self.store.as_str(),
                self.file.object_meta.location
            )
        }
    }
}

/// The bytes a task reads of `file`: its range, else all of it.
pub fn bytes_to_read(file: &PartitionedFile) -> u64 {
    file.range.as_ref().map_or(file.object_meta.size, |range| {
        (range.end - range.start).max(0) as u64
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::Schema;

    const MIB: u64 = 1024 * 1024;
    const MIN_RANGE: u64 = 10 * MIB;

    fn table(format: FileFormat, files: &[(&str, u64, &[&str])]) -> CatalogTable {
        CatalogTable {
            schema: Arc::new(Schema::empty()),
            format,
            store: data_store_url(),
            statistics: BTreeMap::new(),
            partition_columns: Vec::new(),
            partition_values: BTreeMap::new(),
            files: files
                .iter()
                .map(|(path, size, holders)| {
                    let holders = holders.iter().map(|h| h.to_string()).collect();
                    (path.to_string(), (*size, holders))
                })
                .collect(),
        }
    }

    /// Each group as (path, start, end) triples; a whole file is `(path, 0, size)`.
    fn layout(groups: &[Vec<PartitionedFile>]) -> Vec<Vec<(String, u64, u64)>> {
        groups
            .iter()
            .map(|group| {
                group
                    .iter()
                    .map(|f| {
                        let (start, end) = f
                            .range
                            .as_ref()
                            .map_or((0, f.object_meta.size), |r| (r.start as u64, r.end as u64));
                        (f.object_meta.location.to_string(), start, end)
                    })
                    .collect()
            })
            .collect()
    }

    fn executors(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn a_large_parquet_file_held_by_every_executor_is_read_in_ranges_by_every_group() {
        let table = table(
            FileFormat::Parquet,
            &[("big.parquet", 100 * MIB, &["a", "b"])],
        );
        let groups = place_files(&table, &executors(&["a", "b"]), 2, MIN_RANGE).expect("placed");
        let mut ranges: Vec<_> = layout(&groups).into_iter().flatten().collect();
        ranges.sort_by_key(|r| r.1);
        assert_eq!(ranges.len(), 4, "{ranges:?}");
        assert_eq!(ranges[0].1, 0);
        assert_eq!(ranges[3].2, 100 * MIB);
        for pair in ranges.windows(2) {
            assert_eq!(
                pair[0].2, pair[1].1,
                "ranges leave a gap or overlap: {ranges:?}"
            );
        }
    }

    #[test]
    fn a_file_is_split_only_among_the_executors_holding_it() {
        let table = table(
            FileFormat::Parquet,
            &[
                ("big.parquet", 100 * MIB, &["a"]),
                ("other.parquet", 100 * MIB, &["b"]),
            ],
        );
        let groups = place_files(&table, &executors(&["a", "b"]), 1, MIN_RANGE).expect("placed");
        assert_eq!(
            layout(&groups),
            vec![
                vec![("big.parquet".to_string(), 0, 100 * MIB)],
                vec![("other.parquet".to_string(), 0, 100 * MIB)],
            ]
        );
    }

    #[test]
    fn small_files_and_other_formats_are_read_whole() {
        let small = table(
            FileFormat::Parquet,
            &[("small.parquet", 12 * MIB, &["a", "b"])],
        );
        let groups = place_files(&small, &executors(&["a", "b"]), 1, MIN_RANGE).expect("placed");
        assert_eq!(
            layout(&groups),
            vec![vec![("small.parquet".to_string(), 0, 12 * MIB)]]
        );

        let csv = table(FileFormat::Csv, &[("big.csv", 100 * MIB, &["a", "b"])]);
        let groups = place_files(&csv, &executors(&["a", "b"]), 1, MIN_RANGE).expect("placed");
        assert_eq!(
            layout(&groups),
            vec![vec![("big.csv".to_string(), 0, 100 * MIB)]]
        );
    }

    #[test]
    fn files_spread_over_groups_stay_whole() {
        let files: Vec<(String, u64)> = (0..4)
            .map(|i| (format!("part-{i}.parquet"), 50 * MIB))
            .collect();
        let spec: Vec<(&str, u64, &[&str])> = files
            .iter()
            .map(|(p, s)| (p.as_str(), *s, &["a", "b"][..]))
            .collect();
        let groups = place_files(
            &table(FileFormat::Parquet, &spec),
            &executors(&["a", "b"]),
            1,
            MIN_RANGE,
        )
        .expect("placed");
        let layout = layout(&groups);
        assert_eq!(layout.len(), 2);
        assert!(
            layout
                .iter()
                .all(|g| g.len() == 2 && g.iter().all(|f| f.1 == 0 && f.2 == 50 * MIB))
        );
    }

    /// Three executors each holding two of a table's three files (as `make scale` lays them
    /// out): every task's files are also all held by a second executor, so the loss of any
    /// one executor leaves each task a place to run again.
    /// Three executors each holding two of a table's three files (as `make scale` lays them
    /// out), files of every size order and scale (SF 10's `customer` once put two files in
    /// one group: a larger third file took the groups the second could have joined).
    #[test]
    fn with_files_on_two_executors_every_group_survives_losing_one() {
        let orders = [
            [90, 80, 70],
            [41, 40, 42],
            [42, 40, 41],
            [40, 41, 42],
            [40, 40, 40],
        ];
        for sizes in orders {
            for unit in [MIB / 40, MIB / 8, MIB / 4, MIB, 4 * MIB] {
                let spec: Vec<(&str, u64, &[&str])> = vec![
                    ("part-1.parquet", sizes[0] * unit, &["a", "c"]),
                    ("part-2.parquet", sizes[1] * unit, &["a", "b"]),
                    ("part-3.parquet", sizes[2] * unit, &["b", "c"]),
                ];
                let table = table(FileFormat::Parquet, &spec);
                let groups = place_files(&table, &executors(&["a", "b", "c"]), 2, MIN_RANGE)
                    .expect("placed");
                let layout = layout(&groups);
                for group in &layout {
                    let holders: Vec<&str> = ["a", "b", "c"]
                        .into_iter()
                        .filter(|e| {
                            group.iter().all(|(path, _, _)| {
                                spec.iter().any(|(p, _, h)| p == path && h.contains(e))
                            })
                        })
                        .collect();
                    assert!(
                        holders.len() >= 2,
                        "sizes {sizes:?} x {unit}: {group:?} is held only by {holders:?}"
                    );
                }
                let placed: u64 = layout
                    .iter()
                    .flatten()
                    .map(|(_, start, end)| end - start)
                    .sum();
                let total: u64 = sizes.iter().map(|s| s * unit).sum();
                assert_eq!(placed, total, "sizes {sizes:?} x {unit}: {layout:?}");
            }
        }
    }

    #[test]
    fn a_file_no_executor_holds_is_an_error() {
        let table = table(FileFormat::Parquet, &[("lost.parquet", MIB, &["gone"])]);
        assert_eq!(
            place_files(&table, &executors(&["a"]), 1, MIN_RANGE).err(),
            Some("lost.parquet".to_string())
        );
    }
}
