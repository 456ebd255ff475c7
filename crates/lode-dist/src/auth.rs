//! Bearer-token authentication for every service: the coordinator's, and the Flight services
//! of the coordinator and executors. A server with a token answers any call that does not
//! carry `authorization: Bearer <token>` with `Unauthenticated` and nothing else.

use std::path::Path;
use std::sync::Arc;

use tonic::metadata::MetadataValue;
use tonic::service::Interceptor;
use tonic::{Request, Status};

use crate::error::{DistError, Result};

/// The shared secret of a cluster, or none (an open cluster, for loopback experiments).
#[derive(Clone, Default)]
pub struct Token(Option<Arc<str>>);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Token(set)"
        } else {
            "Token(none)"
        })
    }
}

impl Token {
    /// No authentication.
    pub fn none() -> Self {
        Token(None)
    }

    /// A bearer token; refused when empty or not valid in an HTTP header.
    pub fn new(secret: impl Into<String>) -> Result<Self> {
        let secret = secret.into();
        let secret = secret.trim();
        if secret.is_empty() {
            return Err(DistError::Config("the token is empty".into()));
        }
        if MetadataValue::try_from(format!("Bearer {secret}")).is_err() {
            return Err(DistError::Config(
                "the token must be printable ASCII (it travels in an HTTP header)".into(),
            ));
        }
        Ok(Token(Some(secret.into())))
    }

    /// The token in `path` (surrounding whitespace ignored).
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| DistError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Token::new(text).map_err(|e| DistError::Config(format!("{}: {e}", path.display())))
    }

    /// A fresh random token, for a cluster inside one process.
    pub fn random() -> Result<Self> {
        use std::io::Read;
        let mut bytes = [0u8; 16];
        let urandom = Path::new("/dev/urandom");
        std::fs::File::open(urandom)
            .and_then(|mut f| f.read_exact(&mut bytes))
            .map_err(|source| DistError::Io {
                path: urandom.to_path_buf(),
                source,
            })?;
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Ok(Token(Some(hex.into())))
    }

    /// Checks calls on a server.
    pub fn require(&self) -> RequireToken {
        RequireToken(self.0.clone())
    }

    /// Adds the token to a client's calls.
    pub fn send(&self) -> SendToken {
        SendToken(
            self.0
                .as_ref()
                .and_then(|t| MetadataValue::try_from(format!("Bearer {t}")).ok()),
        )
    }
}

/// Server side: rejects calls without the token.
#[derive(Clone)]
pub struct RequireToken(Option<Arc<str>>);

impl Interceptor for RequireToken {
    fn call(&mut self, request: Request<()>) -> std::result::Result<Request<()>, Status> {
        let Some(expected) = &self.0 else {
            return Ok(request);
        };
        let given = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        match given {
            Some(given) if constant_time_eq(given.as_bytes(), expected.as_bytes()) => Ok(request),
            Some(_) => Err(Status::unauthenticated("wrong bearer token")),
            None => Err(Status::unauthenticated(
                "this cluster requires a bearer token (--token-file)",
            )),
        }
    }
}

/// Client side: adds the token to every call.
#[derive(Clone)]
pub struct SendToken(Option<MetadataValue<tonic::metadata::Ascii>>);

impl Interceptor for SendToken {
    fn call(&mut self, mut request: Request<()>) -> std::result::Result<Request<()>, Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

/// Compares without stopping at the first difference, so timing does not reveal a prefix.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
