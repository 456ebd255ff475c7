//! Counting what a query reads from object stores: [`count_store_reads`] gives a runtime whose
//! stores of object-store URLs (the schemes of [`super::SCHEMES`]) count the bytes they return,
//! so a cluster's job status can say how much came from the store, apart from what moved
//! between executors. Local files are not counted.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use datafusion::error::Result as DfResult;
use datafusion::execution::object_store::ObjectStoreRegistry;
use datafusion::execution::runtime_env::RuntimeEnv;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, GetResultPayload, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions,
};
use url::Url;

/// The bytes read from object stores through one runtime made by [`count_store_reads`].
#[derive(Debug, Clone, Default)]
pub struct StoreReads(Arc<AtomicU64>);

impl StoreReads {
    /// The bytes of object data read so far.
    pub fn bytes(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    fn add(&self, bytes: u64) {
        self.0.fetch_add(bytes, Ordering::Relaxed);
    }
}

/// `runtime` with the same memory pool, disk and caches, whose object stores count the bytes
/// read from them into the returned [`StoreReads`].
pub fn count_store_reads(runtime: &RuntimeEnv) -> (Arc<RuntimeEnv>, StoreReads) {
    let reads = StoreReads::default();
    let mut counted = runtime.clone();
    counted.object_store_registry = Arc::new(CountingRegistry {
        inner: Arc::clone(&runtime.object_store_registry),
        reads: reads.clone(),
    });
    (Arc::new(counted), reads)
}

#[derive(Debug)]
struct CountingRegistry {
    inner: Arc<dyn ObjectStoreRegistry>,
    reads: StoreReads,
}

impl ObjectStoreRegistry for CountingRegistry {
    fn register_store(
        &self,
        url: &Url,
        store: Arc<dyn ObjectStore>,
    ) -> Option<Arc<dyn ObjectStore>> {
        self.inner.register_store(url, store)
    }

    fn deregister_store(&self, url: &Url) -> DfResult<Arc<dyn ObjectStore>> {
        self.inner.deregister_store(url)
    }

    fn get_store(&self, url: &Url) -> DfResult<Arc<dyn ObjectStore>> {
        let store = self.inner.get_store(url)?;
        if !super::is_store_scheme(url.scheme()) {
            return Ok(store);
        }
        Ok(Arc::new(CountingStore {
            inner: store,
            reads: self.reads.clone(),
        }))
    }
}

/// A store that counts the bytes its reads return and passes everything else through.
#[derive(Debug)]
struct CountingStore {
    inner: Arc<dyn ObjectStore>,
    reads: StoreReads,
}

impl fmt::Display for CountingStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

#[async_trait]
impl ObjectStore for CountingStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        let mut result = self.inner.get_opts(location, options).await?;
        result.payload = match result.payload {
            GetResultPayload::Stream(stream) => {
                let reads = self.reads.clone();
                GetResultPayload::Stream(
                    stream
                        .inspect(move |chunk| {
                            if let Ok(bytes) = chunk {
                                reads.add(bytes.len() as u64);
                            }
                        })
                        .boxed(),
                )
            }
            file => {
                self.reads.add(result.range.end - result.range.start);
                file
            }
        };
        Ok(result)
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<Bytes>> {
        let parts = self.inner.get_ranges(location, ranges).await?;
        self.reads
            .add(parts.iter().map(|part| part.len() as u64).sum());
        Ok(parts)
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(
        &self,
        from: &Path,
        to: &Path,
        options: RenameOptions,
    ) -> object_store::Result<()> {
        self.inner.rename_opts(from, to, options).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::execution::runtime_env::RuntimeEnvBuilder;
    use object_store::ObjectStoreExt;
    use object_store::memory::InMemory;

    #[tokio::test]
    async fn reads_from_object_stores_are_counted_and_local_ones_are_not() {
        let runtime = RuntimeEnvBuilder::new().build().expect("runtime");
        let bucket = Url::parse("s3://bucket/").expect("url");
        let local = Url::parse("file:///").expect("url");
        for url in [&bucket, &local] {
            let store = InMemory::new();
            store
                .put(
                    &Path::from("t/a.parquet"),
                    PutPayload::from(vec![7u8; 1000]),
                )
                .await
                .expect("put");
            runtime.register_object_store(url, Arc::new(store));
        }
        let (counted, reads) = count_store_reads(&runtime);
        let path = Path::from("t/a.parquet");
        let store = counted
            .object_store_registry
            .get_store(&bucket)
            .expect("store");
        store.get_range(&path, 0..100).await.expect("range");
        store
            .get_ranges(&path, &[0..10, 500..520])
            .await
            .expect("ranges");
        store
            .get(&path)
            .await
            .expect("get")
            .bytes()
            .await
            .expect("bytes");
        counted
            .object_store_registry
            .get_store(&local)
            .expect("store")
            .get(&path)
            .await
            .expect("get")
            .bytes()
            .await
            .expect("bytes");
        assert_eq!(reads.bytes(), 100 + 30 + 1000);
    }
}
