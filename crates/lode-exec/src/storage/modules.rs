//! A module store in a bucket, shared by machines: `LODE_MODULE_STORE=s3://bucket/modules/`.
//!
//! The local module store (`lode_wasm::ModuleStore`) keeps `<sha256>.wasm` files on one
//! machine's disk. When `LODE_MODULE_STORE` is an object-store URL, `lode module add` uploads
//! the same files under that prefix instead, and an engine or a coordinator that meets a plan
//! naming a module by hash alone, without it at hand, reads it from there and checks its
//! sha256 before using it. A cluster's executors get modules from their coordinator, as for
//! any plan, so one `lode module add` on any machine is seen by every cluster configured with
//! the bucket.

use object_store::{ObjectStoreExt, PutPayload};
use url::Url;

use super::messages::explain_store_error;
use super::{Location, Stores, location_error, object_path};
use crate::error::{ExecError, Result};

/// The variable naming the module store: a directory, or a bucket prefix shared by machines.
pub const MODULE_STORE_VARIABLE: &str = "LODE_MODULE_STORE";

/// A bucket prefix of `<sha256>.wasm` objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedModules {
    prefix: Url,
}

impl SharedModules {
    /// The shared store `LODE_MODULE_STORE` names, if it names an object-store URL (a
    /// directory there is the local store, which `lode_wasm` reads).
    pub fn configured() -> Result<Option<SharedModules>> {
        let Some(value) = std::env::var_os(MODULE_STORE_VARIABLE) else {
            return Ok(None);
        };
        let value = value.to_string_lossy();
        match Location::parse(&value) {
            Ok(Location::Url(url)) => Ok(Some(SharedModules::new(url))),
            Ok(Location::Local(_)) => Ok(None),
            Err(e) => Err(ExecError::Location {
                location: value.into_owned(),
                message: format!("{MODULE_STORE_VARIABLE}: {e}"),
            }),
        }
    }

    /// The store under `prefix` (a URL; it is read as a prefix whether or not it ends in
    /// `/`).
    pub fn new(mut prefix: Url) -> SharedModules {
        if !prefix.path().ends_with('/') {
            prefix.set_path(&format!("{}/", prefix.path()));
        }
        SharedModules { prefix }
    }

    /// The prefix, for messages.
    pub fn url(&self) -> &Url {
        &self.prefix
    }

    fn object(&self, sha256: &str) -> Result<Url> {
        self.prefix
            .join(&format!("{}.wasm", sha256.to_ascii_lowercase()))
            .map_err(|e| location_error(self.prefix.as_str(), e.to_string()))
    }

    /// Adds a module's bytes (one put, which a reader sees whole or not at all); returns
    /// its sha256. Adding it again changes nothing.
    pub async fn put(&self, stores: &Stores, bytes: &[u8]) -> Result<String> {
        let sha256 = lode_wasm::sha256_hex(bytes);
        let url = self.object(&sha256)?;
        let store = stores.store(&url)?;
        let path = object_path(&url)?;
        let failed = |e: object_store::Error| location_error(url.as_str(), explain_store_error(&e));
        match store.head(&path).await {
            Ok(meta) if meta.size == bytes.len() as u64 => return Ok(sha256),
            Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(failed(e)),
        }
        store
            .put(&path, PutPayload::from(bytes.to_vec()))
            .await
            .map_err(failed)?;
        Ok(sha256)
    }

    /// The bytes of module `sha256`, or `None` when the store lacks it. Bytes that do not
    /// hash to `sha256` are an error: a module is never used under another's hash.
    pub async fn get(&self, stores: &Stores, sha256: &str) -> Result<Option<Vec<u8>>> {
        let url = self.object(sha256)?;
        let store = stores.store(&url)?;
        let path = object_path(&url)?;
        let failed = |e: object_store::Error| location_error(url.as_str(), explain_store_error(&e));
        let object = match store.get(&path).await {
            Ok(object) => object,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(failed(e)),
        };
        let bytes = object.bytes().await.map_err(failed)?.to_vec();
        let actual = lode_wasm::sha256_hex(&bytes);
        if !actual.eq_ignore_ascii_case(sha256) {
            return Err(location_error(
                url.as_str(),
                format!(
                    "holds a module whose sha256 is {actual}, not {sha256}; remove it and add the module again"
                ),
            ));
        }
        Ok(Some(bytes))
    }

    /// Fills in the bytes of `table`'s modules that name a hash alone and that `have` says
    /// this host lacks, from this store; returns the hashes filled in. A module the store
    /// lacks too is left as it was, for the plan's loading to report.
    pub async fn fill(
        &self,
        stores: &Stores,
        table: &mut lode_plan::ext::ModuleTable,
        have: impl Fn(&str) -> bool,
    ) -> Result<Vec<String>> {
        let mut filled = Vec::new();
        for entry in &mut table.modules {
            if !entry.component.is_empty()
                || !lode_plan::ext::is_sha256(&entry.sha256)
                || have(&entry.sha256)
            {
                continue;
            }
            if let Some(bytes) = self.get(stores, &entry.sha256).await? {
                tracing::info!(module = %entry.sha256, store = %self.prefix, "module read from the shared module store");
                entry.component = bytes;
                filled.push(entry.sha256.clone());
            }
        }
        Ok(filled)
    }

    /// Every module in the store: its sha256 and size, by sha256.
    pub async fn list(&self, stores: &Stores) -> Result<Vec<lode_wasm::StoredModule>> {
        use futures::TryStreamExt;
        let store = stores.store(&self.prefix)?;
        let prefix = object_path(&self.prefix)?;
        let objects: Vec<_> = store
            .list(Some(&prefix))
            .try_collect()
            .await
            .map_err(|e| location_error(self.prefix.as_str(), explain_store_error(&e)))?;
        let mut modules: Vec<lode_wasm::StoredModule> = objects
            .into_iter()
            .filter_map(|object| {
                let name = object.location.filename()?;
                let sha256 = name.strip_suffix(".wasm")?;
                lode_plan::ext::is_sha256(sha256).then(|| lode_wasm::StoredModule {
                    sha256: sha256.to_string(),
                    size: object.size,
                })
            })
            .collect();
        modules.sort_by(|a, b| a.sha256.cmp(&b.sha256));
        Ok(modules)
    }
}
