//! Optional TLS (rustls) for every service and client. A service presents a certificate and
//! its private key; a client trusts the certificate authority that signed the cluster's
//! certificates, and an `https://` address is only reached through that trust. Bearer tokens
//! travel inside the TLS connection when there is one.

use std::path::{Path, PathBuf};

use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity, Server, ServerTlsConfig};

use crate::error::{DistError, Result};

/// What one process uses of TLS: the identity its services present (none: they serve plain
/// HTTP/2) and the authority its clients trust (none: `https://` addresses are refused).
#[derive(Clone, Debug, Default)]
pub struct Tls {
    identity: Option<PemIdentity>,
    authority: Option<PemAuthority>,
}

#[derive(Clone)]
struct PemIdentity {
    identity: Identity,
    cert: PathBuf,
}

impl std::fmt::Debug for PemIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The private key never reaches a log.
        f.debug_struct("PemIdentity")
            .field("cert", &self.cert)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Debug)]
struct PemAuthority {
    certificate: Certificate,
    path: PathBuf,
}

impl Tls {
    /// Plain HTTP/2 everywhere.
    pub fn none() -> Self {
        Tls::default()
    }

    /// Services present the certificate chain in `cert` with the private key in `key` (PEM
    /// files); both are checked now, so a bad file stops the service before it listens.
    pub fn with_identity(self, cert: &Path, key: &Path) -> Result<Self> {
        let identity = Identity::from_pem(
            read_pem(cert, "TLS certificate")?,
            read_pem(key, "TLS private key")?,
        );
        let tls = Tls {
            identity: Some(PemIdentity {
                identity,
                cert: cert.to_path_buf(),
            }),
            ..self
        };
        tls.server().map_err(|e| {
            DistError::Config(format!(
                "TLS certificate {} with key {}: {e}",
                cert.display(),
                key.display()
            ))
        })?;
        Ok(tls)
    }

    /// Clients trust the certificate authorities in `ca` (a PEM file) for `https://`
    /// addresses.
    pub fn trusting(self, ca: &Path) -> Result<Self> {
        let certificate = Certificate::from_pem(read_pem(ca, "TLS certificate authority")?);
        Ok(Tls {
            authority: Some(PemAuthority {
                certificate,
                path: ca.to_path_buf(),
            }),
            ..self
        })
    }

    /// Whether services serve TLS, so their addresses are `https://`.
    pub fn serves(&self) -> bool {
        self.identity.is_some()
    }

    /// The scheme of this process's services' addresses.
    pub fn scheme(&self) -> &'static str {
        if self.serves() { "https" } else { "http" }
    }

    /// A server builder presenting the identity, if any.
    pub(crate) fn server(&self) -> std::result::Result<Server, String> {
        lode_exec::tls::install_provider();
        let builder = Server::builder();
        match &self.identity {
            None => Ok(builder),
            Some(pem) => builder
                .tls_config(ServerTlsConfig::new().identity(pem.identity.clone()))
                .map_err(|e| error_chain(&e)),
        }
    }

    /// `endpoint` for `address`, through TLS trusting the authority when the address is
    /// `https://`.
    pub(crate) fn endpoint(
        &self,
        address: &str,
        endpoint: Endpoint,
    ) -> std::result::Result<Endpoint, String> {
        if !address.starts_with("https://") {
            return Ok(endpoint);
        }
        lode_exec::tls::install_provider();
        let Some(authority) = &self.authority else {
            return Err(format!(
                "`{address}` serves TLS: give the certificate authority that signed its \
                 certificate (--tls-ca FILE)"
            ));
        };
        endpoint
            .tls_config(ClientTlsConfig::new().ca_certificate(authority.certificate.clone()))
            .map_err(|e| {
                format!(
                    "TLS certificate authority {}: {}",
                    authority.path.display(),
                    error_chain(&e)
                )
            })
    }
}

fn read_pem(path: &Path, what: &str) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path)
        .map_err(|e| DistError::Config(format!("{what} {}: {e}", path.display())))?;
    if !bytes.windows(11).any(|w| w == b"-----BEGIN ") {
        return Err(DistError::Config(format!(
            "{what} {} is not PEM: it has no `-----BEGIN` line",
            path.display()
        )));
    }
    Ok(bytes)
}

/// An error with its causes, which tonic's transport errors keep out of their own message.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}
