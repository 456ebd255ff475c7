//! Appending a result to an Iceberg table as a new snapshot, as a catalog-less (Hadoop-style)
//! writer does: Parquet data files carrying the table's field ids, one per partition value
//! (identity partitions), a manifest listing them, a manifest list of the previous
//! snapshot's manifests and the new one, and the next metadata file, which commits.
//!
//! The commit is the metadata file's creation: written only if no file of its version
//! exists (a conditional put where the name is fixed, `vN.metadata.json`), and withdrawn if
//! another writer's file of the same version appears (`NNNNN-<uuid>.metadata.json`, whose
//! names cannot collide). Readers never see the data files before the commit. A table a
//! catalog owns should be appended to through it: the catalog's pointer does not move.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Int32Array, Int64Array, RecordBatch, StringArray, UInt32Array,
};
use datafusion::arrow::compute::{can_cast_types, cast, take};
use datafusion::arrow::datatypes::{DataType, Field, Int32Type, Int64Type, Schema, SchemaRef};
use datafusion::common::ScalarValue;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::prelude::SessionContext;
use futures::StreamExt;
use object_store::{ObjectStoreExt, PutMode, PutOptions, PutPayload};
use serde_json::{Value, json};
use url::Url;

use super::avro::{AvroFile, put_long, put_optional, put_string};
use super::{
    IcebergSchema, IcebergType, PartitionField, TableMetadata, newest_metadata, open, random_u64,
    read, read_avro, to_arrow_type,
};
use crate::storage::messages::explain_store_error;
use crate::storage::{Location, Stores};

/// Appends `rows` to the Iceberg table at `location` as a new snapshot; returns the
/// snapshot's id and the rows written.
pub async fn append(
    location: &Location,
    rows: SendableRecordBatchStream,
) -> Result<(i64, u64), String> {
    let ctx = super::session()?;
    let root = location.directory_url()?;
    let base = newest_metadata(&ctx, &root).await?;
    let raw: Value = serde_json::from_slice(&read(&ctx, &base).await?)
        .map_err(|e| format!("{base}: not Iceberg table metadata: {e}"))?;
    let table: TableMetadata = serde_json::from_value(raw.clone())
        .map_err(|e| format!("{base}: not Iceberg table metadata: {e}"))?;
    if table.format_version != 2 {
        return Err(format!(
            "{base}: Iceberg format version {}; Lode appends to version 2 tables",
            table.format_version
        ));
    }
    let schema = table.current_schema(&base)?;
    let layout = Layout::of(&table, schema)?;
    let written = write_data_files(&root, &layout, rows).await?;
    let snapshot_id = (random_u64() >> 1) as i64;
    let sequence = table.last_sequence_number + 1;
    let stores = Stores::default();
    let manifest =
        write_manifest(&root, &layout, &table, &raw, &written, snapshot_id, &stores).await?;
    let parent = table.snapshot(None, &base)?;
    let mut manifests = match parent {
        Some(parent) => {
            let list = super::resolve(&root, &parent.manifest_list)?;
            existing_manifests(&ctx, &list).await?
        }
        None => Vec::new(),
    };
    let added_rows: u64 = written.iter().map(|f| f.rows).sum();
    manifests.push(ManifestFile {
        path: manifest.0.to_string(),
        length: manifest.1 as i64,
        spec_id: layout.spec_id,
        content: 0,
        sequence_number: sequence,
        min_sequence_number: sequence,
        added_snapshot_id: snapshot_id,
        added_files: written.len() as i64,
        existing_files: 0,
        deleted_files: 0,
        added_rows: added_rows as i64,
        existing_rows: 0,
        deleted_rows: 0,
    });
    let list = write_manifest_list(
        &root,
        &manifests,
        snapshot_id,
        parent.map(|p| p.snapshot_id),
        sequence,
        &stores,
    )
    .await?;
    let summary = summary(parent.map(|p| &p.summary), &written);
    let next = next_metadata(raw, &base, &table, snapshot_id, sequence, &list, summary);
    commit(&ctx, &root, &base, next).await?;
    Ok((snapshot_id, added_rows))
}

/// The table's columns as written (with their field ids) and its identity partitions.
struct Layout {
    schema: SchemaRef,
    spec_id: i32,
    /// Per partition field: its column in `schema`, and the spec's field.
    partitions: Vec<(usize, PartitionField)>,
}

impl Layout {
    fn of(table: &TableMetadata, schema: &IcebergSchema) -> Result<Layout, String> {
        let fields = schema
            .fields
            .iter()
            .map(|f| {
                if !matches!(f.kind, IcebergType::Primitive(_)) {
                    return Err(format!(
                        "column {} is nested; Lode appends to tables of primitive columns",
                        f.name
                    ));
                }
                let metadata = HashMap::from([("PARQUET:field_id".to_string(), f.id.to_string())]);
                Ok(Field::new(&f.name, to_arrow_type(&f.kind)?, !f.required)
                    .with_metadata(metadata))
            })
            .collect::<Result<Vec<_>, String>>()?;
        let spec = table
            .partition_specs
            .iter()
            .find(|s| s.spec_id == table.default_spec_id);
        let mut partitions = Vec::new();
        for field in spec.map(|s| s.fields.as_slice()).unwrap_or_default() {
            if field.transform != "identity" {
                return Err(format!(
                    "partition field {} uses transform {}; Lode appends to tables partitioned by \
                     identity only",
                    field.name, field.transform
                ));
            }
            let column = schema
                .fields
                .iter()
                .position(|f| f.id == field.source_id)
                .ok_or_else(|| {
                    format!(
                        "partition field {} names no column of the schema",
                        field.name
                    )
                })?;
            partitions.push((
                column,
                PartitionField {
                    source_id: field.source_id,
                    field_id: field.field_id,
                    name: field.name.clone(),
                    transform: field.transform.clone(),
                },
            ));
        }
        Ok(Layout {
            schema: Arc::new(Schema::new(fields)),
            spec_id: spec.map_or(0, |s| s.spec_id),
            partitions,
        })
    }

    /// `batch` as the table's columns: by position, names matching, types cast where no
    /// value can change, required columns without nulls.
    fn conform(&self, batch: &RecordBatch) -> Result<RecordBatch, String> {
        let expected = self.schema.fields();
        let got = batch.schema();
        if got.fields().len() != expected.len() {
            return Err(format!(
                "the result has {} columns ({}), the table {} ({})",
                got.fields().len(),
                names(got.fields().iter().map(|f| f.name())),
                expected.len(),
                names(expected.iter().map(|f| f.name()))
            ));
        }
        let mut columns = Vec::with_capacity(expected.len());
        for ((field, column), want) in got.fields().iter().zip(batch.columns()).zip(expected) {
            if !field.name().eq_ignore_ascii_case(want.name()) {
                return Err(format!(
                    "result column {} is not the table's column {} (columns go by position, \
                     named as the table names them)",
                    field.name(),
                    want.name()
                ));
            }
            if !can_cast_types(column.data_type(), want.data_type()) {
                return Err(format!(
                    "column {}: the result's {} cannot be written as the table's {}",
                    want.name(),
                    column.data_type(),
                    want.data_type()
                ));
            }
            let cast = cast(column, want.data_type()).map_err(|e| e.to_string())?;
            if !want.is_nullable() && cast.null_count() > 0 {
                return Err(format!(
                    "column {} is required, and the result has {} nulls in it",
                    want.name(),
                    cast.null_count()
                ));
            }
            columns.push(cast);
        }
        RecordBatch::try_new(Arc::clone(&self.schema), columns).map_err(|e| e.to_string())
    }

    /// The rows of `batch` by partition: each partition's values and its rows.
    fn split(&self, batch: &RecordBatch) -> Result<Vec<(Vec<ScalarValue>, RecordBatch)>, String> {
        if self.partitions.is_empty() {
            return Ok(vec![(Vec::new(), batch.clone())]);
        }
        let mut rows: Vec<(Vec<ScalarValue>, Vec<u32>)> = Vec::new();
        for row in 0..batch.num_rows() {
            let key = self
                .partitions
                .iter()
                .map(|(column, _)| ScalarValue::try_from_array(batch.column(*column), row))
                .collect::<datafusion::error::Result<Vec<_>>>()
                .map_err(|e| e.to_string())?;
            match rows.iter_mut().find(|(k, _)| *k == key) {
                Some((_, indices)) => indices.push(row as u32),
                None => rows.push((key, vec![row as u32])),
            }
        }
        rows.into_iter()
            .map(|(key, indices)| {
                let indices = UInt32Array::from(indices);
                let columns = batch
                    .columns()
                    .iter()
                    .map(|c| take(c, &indices, None))
                    .collect::<Result<Vec<ArrayRef>, _>>()
                    .map_err(|e| e.to_string())?;
                let part =
                    RecordBatch::try_new(batch.schema(), columns).map_err(|e| e.to_string())?;
                Ok((key, part))
            })
            .collect()
    }

    /// The directory of a partition's files under `data/`: `name=value/…`.
    fn directory(&self, key: &[ScalarValue]) -> String {
        self.partitions
            .iter()
            .zip(key)
            .map(|((_, field), value)| {
                let text = if value.is_null() {
                    "null".to_string()
                } else {
                    value.to_string()
                };
                let escaped: String =
                    url::form_urlencoded::byte_serialize(text.as_bytes()).collect();
                format!("{}={escaped}/", field.name)
            })
            .collect()
    }
}

fn names<'a>(names: impl Iterator<Item = &'a String>) -> String {
    names.map(String::as_str).collect::<Vec<_>>().join(", ")
}

/// A data file written for the new snapshot.
struct WrittenFile {
    url: Url,
    partition: Vec<ScalarValue>,
    rows: u64,
    size: u64,
}

/// One open data file: where it goes and its writer over a local temporary file.
struct OpenFile {
    url: Url,
    rows: u64,
    writer: ArrowWriter<std::fs::File>,
    temp: tempfile::NamedTempFile,
}

/// Writes the result as Parquet data files, one per partition, each uploaded under `data/`
/// once whole; nothing the table lists yet.
async fn write_data_files(
    root: &Url,
    layout: &Layout,
    mut rows: SendableRecordBatchStream,
) -> Result<Vec<WrittenFile>, String> {
    let mut open: Vec<(Vec<ScalarValue>, OpenFile)> = Vec::new();
    let run = random_u64();
    while let Some(batch) = rows.next().await {
        let batch = layout.conform(&batch.map_err(|e| e.to_string())?)?;
        for (key, part) in layout.split(&batch)? {
            let position = match open.iter().position(|(k, _)| *k == key) {
                Some(position) => position,
                None => {
                    let name = format!(
                        "data/{}{run:016x}-{:05}-lode.parquet",
                        layout.directory(&key),
                        open.len()
                    );
                    let url = root.join(&name).map_err(|e| e.to_string())?;
                    let temp = tempfile::NamedTempFile::new()
                        .map_err(|e| format!("cannot create a temporary file: {e}"))?;
                    let file = temp.reopen().map_err(|e| e.to_string())?;
                    let writer = ArrowWriter::try_new(file, Arc::clone(&layout.schema), None)
                        .map_err(|e| e.to_string())?;
                    open.push((
                        key.clone(),
                        OpenFile {
                            url,
                            rows: 0,
                            writer,
                            temp,
                        },
                    ));
                    open.len() - 1
                }
            };
            let file = &mut open[position].1;
            file.rows += part.num_rows() as u64;
            file.writer.write(&part).map_err(|e| e.to_string())?;
        }
    }
    let stores = Stores::default();
    let mut written = Vec::with_capacity(open.len());
    for (partition, file) in open {
        file.writer.close().map_err(|e| e.to_string())?;
        let size = stores
            .upload(file.temp.path(), &file.url)
            .await
            .map_err(|e| e.to_string())?;
        written.push(WrittenFile {
            url: file.url,
            partition,
            rows: file.rows,
            size,
        });
    }
    Ok(written)
}

/// The Avro type of a partition value of `kind`, and whether Lode writes it.
fn avro_type(kind: &DataType) -> Option<Value> {
    Some(match kind {
        DataType::Boolean => json!("boolean"),
        DataType::Int32 => json!("int"),
        DataType::Int64 => json!("long"),
        DataType::Float32 => json!("float"),
        DataType::Float64 => json!("double"),
        DataType::Utf8 => json!("string"),
        DataType::Date32 => json!({"type": "int", "logicalType": "date"}),
        _ => return None,
    })
}

fn put_value(out: &mut Vec<u8>, value: &ScalarValue) {
    match value {
        ScalarValue::Boolean(Some(b)) => out.push(u8::from(*b)),
        ScalarValue::Int32(Some(n)) | ScalarValue::Date32(Some(n)) => put_long(out, i64::from(*n)),
        ScalarValue::Int64(Some(n)) => put_long(out, *n),
        ScalarValue::Float32(Some(x)) => out.extend_from_slice(&x.to_le_bytes()),
        ScalarValue::Float64(Some(x)) => out.extend_from_slice(&x.to_le_bytes()),
        ScalarValue::Utf8(Some(s)) => put_string(out, s),
        _ => {}
    }
}

/// Writes the manifest of the new files; its URL and size.
async fn write_manifest(
    root: &Url,
    layout: &Layout,
    table: &TableMetadata,
    raw: &Value,
    written: &[WrittenFile],
    snapshot_id: i64,
    stores: &Stores,
) -> Result<(Url, u64), String> {
    let mut partition_fields = Vec::new();
    for (column, field) in &layout.partitions {
        let kind = layout.schema.field(*column).data_type();
        let avro = avro_type(kind).ok_or_else(|| {
            format!(
                "partition column {} is {kind}; Lode appends to tables partitioned by booleans, \
                 numbers, dates and strings",
                field.name
            )
        })?;
        partition_fields.push(json!({
            "name": field.name, "type": ["null", avro], "default": null, "field-id": field.field_id
        }));
    }
    let schema = json!({"type": "record", "name": "manifest_entry", "fields": [
        {"name": "status", "type": "int", "field-id": 0},
        {"name": "snapshot_id", "type": ["null", "long"], "default": null, "field-id": 1},
        {"name": "sequence_number", "type": ["null", "long"], "default": null, "field-id": 3},
        {"name": "file_sequence_number", "type": ["null", "long"], "default": null, "field-id": 4},
        {"name": "data_file", "field-id": 2, "type": {"type": "record", "name": "r2", "fields": [
            {"name": "content", "type": "int", "field-id": 134},
            {"name": "file_path", "type": "string", "field-id": 100},
            {"name": "file_format", "type": "string", "field-id": 101},
            {"name": "partition", "field-id": 102,
             "type": {"type": "record", "name": "r102", "fields": partition_fields}},
            {"name": "record_count", "type": "long", "field-id": 103},
            {"name": "file_size_in_bytes", "type": "long", "field-id": 104}
        ]}}
    ]});
    let current_schema = raw["schemas"]
        .as_array()
        .and_then(|schemas| {
            schemas
                .iter()
                .find(|s| s["schema-id"] == json!(table.current_schema_id.unwrap_or_default()))
        })
        .cloned()
        .unwrap_or(Value::Null);
    let spec_fields = raw["partition-specs"]
        .as_array()
        .and_then(|specs| specs.iter().find(|s| s["spec-id"] == json!(layout.spec_id)))
        .map(|spec| spec["fields"].clone())
        .unwrap_or(json!([]));
    let mut file = AvroFile::new(
        &schema.to_string(),
        &[
            ("schema", current_schema.to_string()),
            (
                "schema-id",
                table.current_schema_id.unwrap_or_default().to_string(),
            ),
            ("partition-spec", spec_fields.to_string()),
            ("partition-spec-id", layout.spec_id.to_string()),
            ("format-version", "2".into()),
            ("content", "data".into()),
        ],
    );
    for data in written {
        let record = file.record();
        put_long(record, 1); // ADDED
        put_optional(record, true);
        put_long(record, snapshot_id);
        put_optional(record, false); // sequence numbers: inherited from the manifest list
        put_optional(record, false);
        put_long(record, 0); // data
        put_string(record, data.url.as_str());
        put_string(record, "PARQUET");
        for value in &data.partition {
            put_optional(record, !value.is_null());
            put_value(record, value);
        }
        put_long(record, data.rows as i64);
        put_long(record, data.size as i64);
    }
    let name = format!("metadata/{:016x}-m0.avro", random_u64());
    let url = root.join(&name).map_err(|e| e.to_string())?;
    let bytes = file.finish();
    let size = bytes.len() as u64;
    put(stores, &url, bytes, false).await?;
    Ok((url, size))
}

/// An entry of a manifest list.
struct ManifestFile {
    path: String,
    length: i64,
    spec_id: i32,
    content: i32,
    sequence_number: i64,
    min_sequence_number: i64,
    added_snapshot_id: i64,
    added_files: i64,
    existing_files: i64,
    deleted_files: i64,
    added_rows: i64,
    existing_rows: i64,
    deleted_rows: i64,
}

/// The entries of the manifest list at `list`, as the new snapshot carries them on.
async fn existing_manifests(ctx: &SessionContext, list: &Url) -> Result<Vec<ManifestFile>, String> {
    let mut manifests = Vec::new();
    for batch in read_avro(ctx, list).await? {
        let missing = |name: &str| format!("{list}: manifest list entries lack `{name}`");
        let string =
            |name: &str| -> Result<&StringArray, String> { super::strings(&batch, name, list) };
        let int = |name: &str| -> Result<&Int32Array, String> {
            batch
                .column_by_name(name)
                .and_then(|c| c.as_primitive_opt::<Int32Type>())
                .ok_or_else(|| missing(name))
        };
        let long = |name: &str| -> Result<&Int64Array, String> {
            batch
                .column_by_name(name)
                .and_then(|c| c.as_primitive_opt::<Int64Type>())
                .ok_or_else(|| missing(name))
        };
        let (path, length, spec, content) = (
            string("manifest_path")?,
            long("manifest_length")?,
            int("partition_spec_id")?,
            int("content")?,
        );
        let (sequence, min_sequence, added_snapshot) = (
            long("sequence_number")?,
            long("min_sequence_number")?,
            long("added_snapshot_id")?,
        );
        let (added, existing, deleted) = (
            int("added_files_count")?,
            int("existing_files_count")?,
            int("deleted_files_count")?,
        );
        let (added_rows, existing_rows, deleted_rows) = (
            long("added_rows_count")?,
            long("existing_rows_count")?,
            long("deleted_rows_count")?,
        );
        for row in 0..batch.num_rows() {
            manifests.push(ManifestFile {
                path: path.value(row).to_string(),
                length: length.value(row),
                spec_id: spec.value(row),
                content: content.value(row),
                sequence_number: sequence.value(row),
                min_sequence_number: min_sequence.value(row),
                added_snapshot_id: added_snapshot.value(row),
                added_files: i64::from(added.value(row)),
                existing_files: i64::from(existing.value(row)),
                deleted_files: i64::from(deleted.value(row)),
                added_rows: added_rows.value(row),
                existing_rows: existing_rows.value(row),
                deleted_rows: deleted_rows.value(row),
            });
        }
    }
    Ok(manifests)
}

/// Writes the new snapshot's manifest list; its URL.
async fn write_manifest_list(
    root: &Url,
    manifests: &[ManifestFile],
    snapshot_id: i64,
    parent: Option<i64>,
    sequence: i64,
    stores: &Stores,
) -> Result<Url, String> {
    let schema = json!({"type": "record", "name": "manifest_file", "fields": [
        {"name": "manifest_path", "type": "string", "field-id": 500},
        {"name": "manifest_length", "type": "long", "field-id": 501},
        {"name": "partition_spec_id", "type": "int", "field-id": 502},
        {"name": "content", "type": "int", "field-id": 517},
        {"name": "sequence_number", "type": "long", "field-id": 515},
        {"name": "min_sequence_number", "type": "long", "field-id": 516},
        {"name": "added_snapshot_id", "type": "long", "field-id": 503},
        {"name": "added_files_count", "type": "int", "field-id": 504},
        {"name": "existing_files_count", "type": "int", "field-id": 505},
        {"name": "deleted_files_count", "type": "int", "field-id": 506},
        {"name": "added_rows_count", "type": "long", "field-id": 512},
        {"name": "existing_rows_count", "type": "long", "field-id": 513},
        {"name": "deleted_rows_count", "type": "long", "field-id": 514}
    ]});
    let mut metadata = vec![
        ("snapshot-id", snapshot_id.to_string()),
        ("sequence-number", sequence.to_string()),
        ("format-version", "2".to_string()),
    ];
    if let Some(parent) = parent {
        metadata.push(("parent-snapshot-id", parent.to_string()));
    }
    let mut file = AvroFile::new(&schema.to_string(), &metadata);
    for manifest in manifests {
        let record = file.record();
        put_string(record, &manifest.path);
        put_long(record, manifest.length);
        put_long(record, i64::from(manifest.spec_id));
        put_long(record, i64::from(manifest.content));
        put_long(record, manifest.sequence_number);
        put_long(record, manifest.min_sequence_number);
        put_long(record, manifest.added_snapshot_id);
        put_long(record, manifest.added_files);
        put_long(record, manifest.existing_files);
        put_long(record, manifest.deleted_files);
        put_long(record, manifest.added_rows);
        put_long(record, manifest.existing_rows);
        put_long(record, manifest.deleted_rows);
    }
    let name = format!("metadata/snap-{snapshot_id}-1-{:016x}.avro", random_u64());
    let url = root.join(&name).map_err(|e| e.to_string())?;
    put(stores, &url, file.finish(), false).await?;
    Ok(url)
}

/// The new snapshot's summary: what it added, and the table's totals after it.
fn summary(parent: Option<&HashMap<String, String>>, written: &[WrittenFile]) -> Value {
    let total = |key: &str| -> i64 {
        parent
            .and_then(|s| s.get(key))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let files = written.len() as i64;
    let records: i64 = written.iter().map(|f| f.rows as i64).sum();
    let size: i64 = written.iter().map(|f| f.size as i64).sum();
    json!({
        "operation": "append",
        "added-data-files": files.to_string(),
        "added-records": records.to_string(),
        "added-files-size": size.to_string(),
        "total-data-files": (total("total-data-files") + files).to_string(),
        "total-records": (total("total-records") + records).to_string(),
        "total-files-size": (total("total-files-size") + size).to_string(),
        "total-delete-files": total("total-delete-files").to_string(),
        "total-position-deletes": total("total-position-deletes").to_string(),
        "total-equality-deletes": total("total-equality-deletes").to_string(),
    })
}

/// The table's next metadata: `raw` with the new snapshot current.
fn next_metadata(
    mut raw: Value,
    base: &Url,
    table: &TableMetadata,
    snapshot_id: i64,
    sequence: i64,
    list: &Url,
    summary: Value,
) -> Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
        .max(table.last_updated_ms + 1);
    let mut snapshot = json!({
        "snapshot-id": snapshot_id,
        "sequence-number": sequence,
        "timestamp-ms": now,
        "manifest-list": list.as_str(),
        "summary": summary,
        "schema-id": table.current_schema_id.unwrap_or_default(),
    });
    if let Some(parent) = table.current_snapshot_id.filter(|id| *id != -1) {
        snapshot["parent-snapshot-id"] = json!(parent);
    }
    let push = |raw: &mut Value, key: &str, item: Value| match raw[key].as_array_mut() {
        Some(items) => items.push(item),
        None => raw[key] = json!([item]),
    };
    push(&mut raw, "snapshots", snapshot);
    push(
        &mut raw,
        "snapshot-log",
        json!({"snapshot-id": snapshot_id, "timestamp-ms": now}),
    );
    push(
        &mut raw,
        "metadata-log",
        json!({"metadata-file": base.as_str(), "timestamp-ms": table.last_updated_ms}),
    );
    raw["current-snapshot-id"] = json!(snapshot_id);
    raw["last-sequence-number"] = json!(sequence);
    raw["last-updated-ms"] = json!(now);
    raw["refs"]["main"] = json!({"snapshot-id": snapshot_id, "type": "branch"});
    raw
}

/// Writes `next` as the metadata file after `base`, committing the snapshot: refused if
/// another writer committed that version first.
async fn commit(ctx: &SessionContext, root: &Url, base: &Url, next: Value) -> Result<(), String> {
    let base_name = base.path().rsplit('/').next().unwrap_or_default();
    let stem = base_name.strip_suffix(".metadata.json").unwrap_or_default();
    let version = super::metadata_version(stem).unwrap_or(0) + 1;
    let hadoop = stem.starts_with('v');
    let name = match hadoop {
        true => format!("metadata/v{version}.metadata.json"),
        false => format!("metadata/{version:05}-{:016x}.metadata.json", random_u64()),
    };
    let url = root.join(&name).map_err(|e| e.to_string())?;
    let bytes = serde_json::to_vec_pretty(&next).map_err(|e| e.to_string())?;
    let stores = Stores::default();
    put(&stores, &url, bytes, true).await.map_err(|e| {
        format!("{e} (another writer may have committed version {version} first; run again)")
    })?;
    let newest = newest_metadata(ctx, root).await?;
    if newest != url {
        // Another writer's file of the same version: ours steps back.
        let (store, path) = open(ctx, &url)?;
        let _ = store.delete(&path).await;
        return Err(format!(
            "another writer committed version {version} of the table at the same time ({newest}); run again"
        ));
    }
    if hadoop {
        let hint = root
            .join("metadata/version-hint.text")
            .map_err(|e| e.to_string())?;
        put(&stores, &hint, version.to_string().into_bytes(), false).await?;
    }
    Ok(())
}

/// Puts `bytes` at `url` in one request; with `create`, only if nothing is there.
async fn put(stores: &Stores, url: &Url, bytes: Vec<u8>, create: bool) -> Result<(), String> {
    let store = stores.store(url).map_err(|e| e.to_string())?;
    let path = crate::storage::object_path(url).map_err(|e| e.to_string())?;
    let options = PutOptions {
        mode: if create {
            PutMode::Create
        } else {
            PutMode::Overwrite
        },
        ..PutOptions::default()
    };
    store
        .put_opts(&path, PutPayload::from(bytes), options)
        .await
        .map(|_| ())
        .map_err(|e| format!("{url}: {}", explain_store_error(&e)))
}
