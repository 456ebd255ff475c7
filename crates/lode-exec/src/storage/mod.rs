//! Where data lives: local paths and object-store URLs, and the object stores DataFusion reads
//! and writes them through.
//!
//! A location is a local path or a URL of one of these schemes: `s3://` (AWS S3 and
//! S3-compatible stores), `gs://` (Google Cloud Storage), `az://`, `abfs://`, `abfss://`
//! (Azure Blob Storage and ADLS Gen2), `http://` and `https://` (read only). [`Stores`] opens
//! the store of a URL's bucket on first use, with the credentials and settings the cloud's own
//! tools read from the environment: for S3 the `AWS_*` variables (`AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`, `AWS_ENDPOINT_URL`,
//! `AWS_ALLOW_HTTP`, `AWS_VIRTUAL_HOSTED_STYLE_REQUEST`) and, for what they leave unset, the
//! profile `AWS_PROFILE` names (or `default`) in `~/.aws/credentials` and `~/.aws/config`;
//! for GCS the `GOOGLE_*` variables; for Azure the `AZURE_*` variables. Plans never carry
//! credentials, and no message Lode writes contains them: errors name the URL and the setting
//! to change.

mod counted;
pub(crate) mod messages;
mod modules;
mod profile;
mod transfer;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::object_store::{DefaultObjectStoreRegistry, ObjectStoreRegistry};
use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use object_store::azure::MicrosoftAzureBuilder;
use object_store::gcp::GoogleCloudStorageBuilder;
use object_store::http::HttpBuilder;
use url::Url;

use crate::error::{ExecError, Result};

pub use counted::{StoreReads, count_store_reads};
pub use modules::{MODULE_STORE_VARIABLE, SharedModules};

/// The URL schemes Lode reads, as the error for any other scheme lists them.
pub const SCHEMES: &str = "s3://, gs://, az://, abfs://, abfss://, http:// or https://";

/// A place data is read from or written to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A local file or directory (`data/tpch`, `file:///data/tpch`).
    Local(PathBuf),
    /// An object in a store, or a prefix of objects (`s3://bucket/tpch/`).
    Url(Url),
}

impl Location {
    /// Reads a location: a URL of a scheme Lode knows, a `file://` URL or a path. An unknown
    /// scheme is an error naming the location and the schemes Lode reads.
    pub fn parse(text: &str) -> Result<Location> {
        let Some((scheme, _)) = text.split_once("://") else {
            return Ok(Location::Local(PathBuf::from(text)));
        };
        let url = Url::parse(text).map_err(|e| location_error(text, format!("not a URL: {e}")))?;
        match scheme.to_ascii_lowercase().as_str() {
            "file" => {
                let path = url
                    .to_file_path()
                    .map_err(|()| location_error(text, "not a local file URL".into()))?;
                // A fragment (`#version=N`, `#snapshot=ID`) stays, as it does after a path.
                Ok(Location::Local(match url.fragment() {
                    Some(fragment) => PathBuf::from(format!("{}#{fragment}", path.display())),
                    None => path,
                }))
            }
            scheme if is_store_scheme(scheme) => {
                if url.host_str().is_none_or(str::is_empty) {
                    return Err(location_error(
                        text,
                        "names no bucket (expected SCHEME://BUCKET/PATH)".into(),
                    ));
                }
                Ok(Location::Url(url))
            }
            other => Err(location_error(
                text,
                format!("unknown scheme `{other}://`; Lode reads local paths and {SCHEMES} URLs"),
            )),
        }
    }

    /// The URL, where the location is in an object store.
    pub fn url(&self) -> Option<&Url> {
        match self {
            Location::Url(url) => Some(url),
            Location::Local(_) => None,
        }
    }

    /// The location as the URL of a directory or prefix (ending in `/`): a local path made
    /// absolute as a `file://` URL. Table formats name their files under it.
    pub fn directory_url(&self) -> std::result::Result<Url, String> {
        let mut url = match self {
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

    /// The location as DataFusion's listing tables take it: a path, or the URL.
    pub fn as_listing_str(&self) -> String {
        match self {
            Location::Local(path) => path.to_string_lossy().into_owned(),
            Location::Url(url) => url.to_string(),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Local(path) => write!(f, "{}", path.display()),
            Location::Url(url) => write!(f, "{url}"),
        }
    }
}

/// The object path `url` names in its store.
pub(crate) fn object_path(url: &Url) -> Result<object_store::path::Path> {
    object_store::path::Path::from_url_path(url.path())
        .map_err(|e| location_error(url.as_str(), e.to_string()))
}

/// Whether `scheme` names an object store Lode reads (one of [`SCHEMES`], `s3a` and `azure`
/// included).
pub(crate) fn is_store_scheme(scheme: &str) -> bool {
    matches!(
        scheme,
        "s3" | "s3a" | "gs" | "az" | "azure" | "abfs" | "abfss" | "http" | "https"
    )
}

fn location_error(text: &str, message: String) -> ExecError {
    ExecError::Location {
        location: text.to_string(),
        message,
    }
}

/// The object stores of one process, by scheme and bucket: DataFusion's registry, which opens
/// the store of a bucket it has not seen on first use, from the environment (module docs).
#[derive(Debug, Default)]
pub struct Stores {
    opened: DefaultObjectStoreRegistry,
}

impl Stores {
    /// The store holding `url`, opened on first use.
    pub fn store(&self, url: &Url) -> Result<Arc<dyn ObjectStore>> {
        self.get_store(url)
            .map_err(|e| location_error(url.as_str(), e.to_string()))
    }
}

impl ObjectStoreRegistry for Stores {
    fn register_store(
        &self,
        url: &Url,
        store: Arc<dyn ObjectStore>,
    ) -> Option<Arc<dyn ObjectStore>> {
        self.opened.register_store(url, store)
    }

    fn deregister_store(&self, url: &Url) -> DfResult<Arc<dyn ObjectStore>> {
        self.opened.deregister_store(url)
    }

    fn get_store(&self, url: &Url) -> DfResult<Arc<dyn ObjectStore>> {
        if let Ok(store) = self.opened.get_store(url) {
            return Ok(store);
        }
        let store = open(url)?;
        self.opened.register_store(url, Arc::clone(&store));
        Ok(store)
    }
}

/// Opens the store of `url`'s bucket (or, for HTTP, its origin) from the environment.
fn open(url: &Url) -> DfResult<Arc<dyn ObjectStore>> {
    crate::tls::install_provider();
    let bucket = || format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default());
    let failed = |e: object_store::Error| {
        DataFusionError::Configuration(format!(
            "cannot open {}: {}",
            bucket(),
            messages::explain_store_error(&e)
        ))
    };
    let store: Arc<dyn ObjectStore> = match url.scheme() {
        "s3" | "s3a" => {
            let builder = profile::apply(AmazonS3Builder::from_env());
            Arc::new(builder.with_url(url.as_str()).build().map_err(failed)?)
        }
        "gs" => Arc::new(
            GoogleCloudStorageBuilder::from_env()
                .with_url(url.as_str())
                .build()
                .map_err(failed)?,
        ),
        "az" | "azure" | "abfs" | "abfss" => Arc::new(
            MicrosoftAzureBuilder::from_env()
                .with_url(url.as_str())
                .build()
                .map_err(failed)?,
        ),
        "http" | "https" => {
            let origin = url.origin().ascii_serialization();
            Arc::new(
                HttpBuilder::new()
                    .with_url(origin)
                    .build()
                    .map_err(failed)?,
            )
        }
        other => {
            return Err(DataFusionError::Configuration(format!(
                "{url}: unknown scheme `{other}://`; Lode reads local paths and {SCHEMES} URLs"
            )));
        }
    };
    Ok(store)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_urls_are_told_apart() {
        assert_eq!(
            Location::parse("data/tpch").unwrap(),
            Location::Local("data/tpch".into())
        );
        assert_eq!(
            Location::parse("file:///data/tpch").unwrap(),
            Location::Local("/data/tpch".into())
        );
        assert_eq!(
            Location::parse("file:///data/nation#snapshot=7").unwrap(),
            Location::Local("/data/nation#snapshot=7".into())
        );
        let s3 = Location::parse("s3://bucket/tpch/").unwrap();
        assert_eq!(s3.url().map(Url::as_str), Some("s3://bucket/tpch/"));
        assert!(Location::parse("gs://bucket/x.parquet").is_ok());
        assert!(Location::parse("abfss://container@account.dfs.core.windows.net/x").is_ok());
        assert!(Location::parse("https://example.com/x.parquet").is_ok());
    }

    #[test]
    fn an_unknown_scheme_names_the_location_and_the_schemes_lode_reads() {
        let error = Location::parse("hdfs://namenode/x")
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "hdfs://namenode/x: unknown scheme `hdfs://`; Lode reads local paths and s3://, gs://, az://, abfs://, abfss://, http:// or https:// URLs"
        );
        let error = Location::parse("s3:///x").unwrap_err().to_string();
        assert!(error.contains("names no bucket"), "{error}");
    }
}
