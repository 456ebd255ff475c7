//! Delta Lake tables, read with delta-rs (`deltalake-core`) on Lode's DataFusion and object
//! stores.
//!
//! A directory or prefix holding `_delta_log/` is a Delta table ([`crate::TableKind::Delta`]).
//! Its log, not a listing, says which files make up a version: the latest, or the one
//! `LOCATION#version=N` names. delta-rs's table provider gives the table's schema as the
//! plan's base schema and skips files by the partition values and statistics the log keeps.
//! Files are read through the engine's [`Stores`], so a table in a bucket uses the same
//! credentials as any other read. [`append`] adds a result to a table as a new version.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once};

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::streaming::StreamingTable;
use datafusion::common::TableReference;
use datafusion::datasource::provider_as_source;
use datafusion::error::DataFusionError;
use datafusion::execution::TaskContext;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::logical_expr::LogicalPlanBuilder;
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use datafusion::prelude::{SessionConfig, SessionContext};
use deltalake_core::logstore::{
    LogStore, LogStoreFactory, ObjectStoreRef, StorageConfig, default_logstore, logstore_factories,
};
use deltalake_core::protocol::SaveMode;
use deltalake_core::{DeltaResult, DeltaTable, DeltaTableBuilder, DeltaTableError};
use url::Url;

use crate::storage::{Location, Stores};

/// Registers the Delta table at `location` (at `version`, else its latest) as `table`; an
/// error says what is wrong in a user's terms.
pub(crate) async fn register(
    ctx: &SessionContext,
    table: TableReference,
    location: &Location,
    version: Option<u64>,
) -> Result<(), String> {
    let delta = load(ctx, location, version).await?;
    let provider = delta
        .table_provider()
        .await
        .map_err(|e| crate::storage::messages::describe(&e))?;
    ctx.register_table(table, provider)
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// The table at `location`, at `version` or its latest.
async fn load(
    ctx: &SessionContext,
    location: &Location,
    version: Option<u64>,
) -> Result<DeltaTable, String> {
    let builder = builder(ctx, location)?;
    match version {
        None => builder.load().await.map_err(describe),
        Some(version) => match builder.with_version(version).load().await {
            Ok(delta) => Ok(delta),
            Err(error) => Err(missing_version(ctx, location, version, error).await),
        },
    }
}

/// The data files of one version of a Delta table, as a cluster's executors announce them.
#[derive(Debug, Clone)]
pub struct DeltaFiles {
    /// The table's partition columns, in the log's order.
    pub partition_columns: Vec<String>,
    /// Its live files.
    pub files: Vec<DeltaFile>,
}

/// One data file of a Delta table.
#[derive(Debug, Clone)]
pub struct DeltaFile {
    /// Its path under the table's root, as an object-store path.
    pub path: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its value of each partition column (`None`: null), as the log writes it.
    pub partition_values: Vec<Option<String>>,
}

/// The live files of the table at `location`, at `version` or its latest. Tables whose
/// files need more than their paths and partition values to read (column mapping,
/// deletion vectors) are refused, naming what they use.
pub async fn files(
    ctx: &SessionContext,
    location: &Location,
    version: Option<u64>,
) -> Result<DeltaFiles, String> {
    let delta = load(ctx, location, version).await?;
    let snapshot = delta.snapshot().map_err(describe)?;
    let metadata = snapshot.metadata();
    if let Some(mode) = metadata.configuration().get("delta.columnMapping.mode")
        && mode != "none"
    {
        return Err(format!(
            "uses column mapping (mode {mode}), which executors do not read yet; read it \
             with lode run without --executors"
        ));
    }
    let partition_columns = metadata.partition_columns().to_vec();
    let mut files = Vec::new();
    for file in snapshot.log_data().iter() {
        if file.deletion_vector_descriptor().is_some() {
            return Err(format!(
                "{} has a deletion vector, which executors do not apply yet; read the table \
                 with lode run without --executors",
                file.path()
            ));
        }
        let values = file.partition_values_map();
        files.push(DeltaFile {
            path: file.object_store_path().to_string(),
            size: file.size().max(0) as u64,
            partition_values: partition_columns
                .iter()
                .map(|column| values.get(column).cloned().flatten())
                .collect(),
        });
    }
    Ok(DeltaFiles {
        partition_columns,
        files,
    })
}

/// Whether `location` is a Delta table: a directory or prefix holding `_delta_log/`.
pub async fn is_table(location: &Location, stores: &Stores) -> bool {
    match location {
        Location::Local(path) => path.join("_delta_log").is_dir(),
        Location::Url(url) => {
            let Ok(log) = location
                .directory_url()
                .and_then(|root| root.join("_delta_log/").map_err(|e| e.to_string()))
            else {
                return false;
            };
            let Ok(store) = stores.store(url) else {
                return false;
            };
            let Ok(prefix) = object_store::path::Path::from_url_path(log.path()) else {
                return false;
            };
            store
                .list_with_delimiter(Some(&prefix))
                .await
                .is_ok_and(|listing| !listing.objects.is_empty())
        }
    }
}

/// Appends `rows` to the Delta table at `location` as a new version, as one commit: readers
/// see all of the rows or none. Returns the new version and the rows written.
pub async fn append(
    location: &Location,
    rows: SendableRecordBatchStream,
) -> Result<(u64, u64), String> {
    let runtime = RuntimeEnvBuilder::new()
        .with_object_store_registry(Arc::new(Stores::default()))
        .build_arc()
        .map_err(|e| e.to_string())?;
    let ctx = SessionContext::new_with_config_rt(SessionConfig::new(), runtime);
    let delta = builder(&ctx, location)?.load().await.map_err(describe)?;
    let counted = Arc::new(AtomicU64::new(0));
    let source = StreamingTable::try_new(
        rows.schema(),
        vec![Arc::new(OneShot::new(rows, Arc::clone(&counted)))],
    )
    .map_err(|e| e.to_string())?;
    let plan = LogicalPlanBuilder::scan("result", provider_as_source(Arc::new(source)), None)
        .and_then(LogicalPlanBuilder::build)
        .map_err(|e| e.to_string())?;
    // delta-rs plans the write in a session of its own (its planner has nodes ours lacks),
    // with the table's store, which is ours.
    let written = delta
        .write(Vec::new())
        .with_input_plan(plan)
        .with_save_mode(SaveMode::Append)
        .await
        .map_err(describe)?;
    let version = written.version().unwrap_or_default();
    Ok((version as u64, counted.load(Ordering::Relaxed)))
}

/// A result stream as a table partition delta-rs's writer executes once.
struct OneShot {
    schema: SchemaRef,
    stream: Mutex<Option<SendableRecordBatchStream>>,
    rows: Arc<AtomicU64>,
}

impl OneShot {
    fn new(stream: SendableRecordBatchStream, rows: Arc<AtomicU64>) -> Self {
        OneShot {
            schema: stream.schema(),
            stream: Mutex::new(Some(stream)),
            rows,
        }
    }
}

impl std::fmt::Debug for OneShot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OneShot")
            .field("schema", &self.schema)
            .finish()
    }
}

impl PartitionStream for OneShot {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _: Arc<TaskContext>) -> SendableRecordBatchStream {
        let taken = crate::lock(&self.stream).take();
        let schema = Arc::clone(&self.schema);
        let Some(stream) = taken else {
            let again = futures::stream::once(async {
                Err(DataFusionError::Internal(
                    "a result stream was read twice".into(),
                ))
            });
            return Box::pin(RecordBatchStreamAdapter::new(schema, again));
        };
        let rows = Arc::clone(&self.rows);
        let counted = futures::StreamExt::map(stream, move |batch| {
            if let Ok(batch) = &batch {
                rows.fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
            }
            batch
        });
        Box::pin(RecordBatchStreamAdapter::new(schema, counted))
    }
}

/// A builder of the table at `location`, on the engine's store for its bucket.
fn builder(ctx: &SessionContext, location: &Location) -> Result<DeltaTableBuilder, String> {
    let url = location.directory_url()?;
    let mut builder = DeltaTableBuilder::from_url(url.clone()).map_err(describe)?;
    if let Location::Url(_) = location {
        register_log_stores();
        let store = ctx
            .runtime_env()
            .object_store_registry
            .get_store(&url)
            .map_err(|e| e.to_string())?;
        builder = builder.with_storage_backend(store, url);
    }
    Ok(builder)
}

/// Why `version` could not be loaded: it is past the table's latest, or `error`.
async fn missing_version(
    ctx: &SessionContext,
    location: &Location,
    version: u64,
    error: DeltaTableError,
) -> String {
    let latest = match builder(ctx, location) {
        Ok(builder) => builder.load().await.ok().and_then(|delta| delta.version()),
        Err(_) => None,
    };
    match latest {
        Some(latest) if version > latest => {
            format!("Delta table version {version} does not exist; the latest is {latest}")
        }
        _ => format!("Delta table version {version}: {}", describe(error)),
    }
}

/// A delta-rs error told as Lode tells store errors where it is one.
fn describe(error: DeltaTableError) -> String {
    match error {
        DeltaTableError::ObjectStore { source } => {
            crate::storage::messages::explain_store_error(&source)
        }
        other => format!("Delta table: {other}"),
    }
}

/// delta-rs opens a table in a store only where a log store factory is registered for the
/// URL's scheme (its cloud crates register them); Lode supplies the stores itself, so the
/// default log store serves every scheme it reads.
fn register_log_stores() {
    static REGISTERED: Once = Once::new();
    REGISTERED.call_once(|| {
        let factories = logstore_factories();
        for scheme in [
            "s3", "s3a", "gs", "az", "azure", "abfs", "abfss", "http", "https",
        ] {
            if let Ok(url) = Url::parse(&format!("{scheme}://")) {
                factories
                    .entry(url)
                    .or_insert_with(|| Arc::new(DefaultLogStores));
            }
        }
    });
}

/// delta-rs's default log store, for the schemes Lode opens stores for.
struct DefaultLogStores;

impl LogStoreFactory for DefaultLogStores {
    fn with_options(
        &self,
        prefixed_store: ObjectStoreRef,
        root_store: ObjectStoreRef,
        location: &Url,
        options: &StorageConfig,
    ) -> DeltaResult<Arc<dyn LogStore>> {
        Ok(default_logstore(
            prefixed_store,
            root_store,
            location,
            options,
        ))
    }
}
