//! Delta Lake tables, read with delta-rs (`deltalake-core`) on Lode's DataFusion and object
//! stores.
//!
//! A directory or prefix holding `_delta_log/` is a Delta table ([`crate::TableKind::Delta`]).
//! Its log, not a listing, says which files make up a version: the latest, or the one
//! `LOCATION#version=N` names. delta-rs's table provider gives the table's schema as the
//! plan's base schema and skips files by the partition values and statistics the log keeps.
//! Files are read through the engine's [`Stores`](crate::storage::Stores), so a table in a
//! bucket uses the same credentials as any other read.

use std::sync::{Arc, Once};

use datafusion::common::TableReference;
use datafusion::prelude::SessionContext;
use deltalake_core::logstore::{
    LogStore, LogStoreFactory, ObjectStoreRef, StorageConfig, default_logstore, logstore_factories,
};
use deltalake_core::{DeltaResult, DeltaTableBuilder, DeltaTableError};
use url::Url;

use crate::storage::Location;

/// Registers the Delta table at `location` (at `version`, else its latest) as `table`; an
/// error says what is wrong in a user's terms.
pub(crate) async fn register(
    ctx: &SessionContext,
    table: TableReference,
    location: &Location,
    version: Option<u64>,
) -> Result<(), String> {
    let builder = builder(ctx, location)?;
    let delta = match version {
        None => builder.load().await.map_err(describe)?,
        Some(version) => match builder.with_version(version).load().await {
            Ok(delta) => delta,
            Err(error) => return Err(missing_version(ctx, location, version, error).await),
        },
    };
    let provider = delta
        .table_provider()
        .await
        .map_err(|e| crate::storage::describe(&e))?;
    ctx.register_table(table, provider)
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// A builder of the table at `location`, on the engine's store for its bucket.
fn builder(ctx: &SessionContext, location: &Location) -> Result<DeltaTableBuilder, String> {
    let url = table_url(location)?;
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
        Some(latest) if version > latest as u64 => {
            format!("Delta table version {version} does not exist; the latest is {latest}")
        }
        _ => format!("Delta table version {version}: {}", describe(error)),
    }
}

/// The table's root as a URL ending in `/`.
fn table_url(location: &Location) -> Result<Url, String> {
    let mut url = match location {
        Location::Url(url) => url.clone(),
        Location::Local(path) => {
            let absolute = std::path::absolute(path).map_err(|e| e.to_string())?;
            Url::from_directory_path(&absolute)
                .map_err(|()| format!("{} is not a directory path", absolute.display()))?
        }
    };
    if !url.path().ends_with('/') {
        url.set_path(&format!("{}/", url.path()));
    }
    Ok(url)
}

/// A delta-rs error told as Lode tells store errors where it is one.
fn describe(error: DeltaTableError) -> String {
    match error {
        DeltaTableError::ObjectStore { source } => crate::storage::explain_store_error(&source),
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
