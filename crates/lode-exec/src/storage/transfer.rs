//! Whole objects in and out: a module's bytes read from a store, a local file uploaded in
//! parts that a reader sees complete or not at all.

use std::io::Read;
use std::path::Path;

use object_store::{ObjectStoreExt, WriteMultipart};
use url::Url;

use super::messages::explain_store_error;
use super::{Stores, location_error, object_path};
use crate::error::Result;

/// Bytes read from the local file per part uploaded.
const UPLOAD_CHUNK: usize = 8 << 20;
/// Parts in flight at once.
const UPLOAD_PARTS_IN_FLIGHT: usize = 4;

impl Stores {
    /// The bytes of the object `url` names.
    pub async fn read(&self, url: &Url) -> Result<Vec<u8>> {
        let store = self.store(url)?;
        let path = object_path(url)?;
        let failed = |e: object_store::Error| location_error(url.as_str(), explain_store_error(&e));
        let object = store.get(&path).await.map_err(failed)?;
        Ok(object.bytes().await.map_err(failed)?.to_vec())
    }

    /// Uploads the local `file` to `url` in parts, a few in flight at once; completes the
    /// upload, or aborts it so that no reader sees part of the file. Returns the bytes sent.
    pub async fn upload(&self, file: &Path, url: &Url) -> Result<u64> {
        let store = self.store(url)?;
        let path = object_path(url)?;
        let failed = |message: String| location_error(url.as_str(), message);
        let mut local = std::fs::File::open(file)
            .map_err(|e| failed(format!("cannot read {}: {e}", file.display())))?;
        let upload = store
            .put_multipart(&path)
            .await
            .map_err(|e| failed(explain_store_error(&e)))?;
        let mut parts = WriteMultipart::new_with_chunk_size(upload, UPLOAD_CHUNK);
        match send_parts(&mut parts, &mut local).await {
            Ok(sent) => {
                parts
                    .finish()
                    .await
                    .map_err(|e| failed(explain_store_error(&e)))?;
                Ok(sent)
            }
            Err(error) => {
                if let Err(abort) = parts.abort().await {
                    tracing::warn!(%url, error = %abort, "aborting the upload failed");
                }
                Err(failed(error))
            }
        }
    }
}

/// Reads `file` to its end into `parts`; the bytes sent, or what went wrong.
async fn send_parts(
    parts: &mut WriteMultipart,
    file: &mut std::fs::File,
) -> std::result::Result<u64, String> {
    let mut chunk = vec![0u8; UPLOAD_CHUNK];
    let mut sent = 0u64;
    loop {
        let read = file.read(&mut chunk).map_err(|e| e.to_string())?;
        if read == 0 {
            return Ok(sent);
        }
        parts
            .wait_for_capacity(UPLOAD_PARTS_IN_FLIGHT)
            .await
            .map_err(|e| explain_store_error(&e))?;
        parts.write(&chunk[..read]);
        sent += read as u64;
    }
}
