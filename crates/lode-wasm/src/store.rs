//! The module store: component bytes kept by their sha256, so that a plan may name a module
//! by hash alone instead of carrying it (a Python guest is about 18 MB, and a plan that embeds
//! it is as large). `lode module add` fills it; `lode sql --by-hash` writes such plans.
//!
//! Unlike the compile cache, the store keeps what cannot be recomputed: deleting it makes
//! plans that refer to its modules unrunnable here until the modules are added again.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::WasmError;

type Result<T, E = WasmError> = std::result::Result<T, E>;

/// A directory of `<sha256>.wasm` files.
#[derive(Debug, Clone)]
pub struct ModuleStore {
    dir: PathBuf,
}

/// One module in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredModule {
    pub sha256: String,
    pub size: u64,
}

impl ModuleStore {
    pub fn new(dir: PathBuf) -> Self {
        ModuleStore { dir }
    }

    /// `$LODE_MODULE_STORE`, else `$XDG_DATA_HOME/lode/modules`, else
    /// `~/.local/share/lode/modules`. A `$LODE_MODULE_STORE` that is a URL names a store in
    /// a bucket (read by `lode-exec`); this host's own store is then the default directory,
    /// where modules added locally still go.
    pub fn default_dir() -> Option<PathBuf> {
        if let Some(dir) = std::env::var_os("LODE_MODULE_STORE")
            && !dir.to_string_lossy().contains("://")
        {
            return Some(PathBuf::from(dir));
        }
        let base = std::env::var_os("XDG_DATA_HOME")
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local").join("share"))
            })?;
        Some(base.join("lode").join("modules"))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, sha256: &str) -> PathBuf {
        self.dir
            .join(format!("{}.wasm", sha256.to_ascii_lowercase()))
    }

    fn error(&self, path: &Path, source: std::io::Error) -> WasmError {
        WasmError::Store {
            path: path.to_path_buf(),
            message: source.to_string(),
        }
    }

    /// Adds a component (written to a temporary file, then renamed, so a reader never sees
    /// half of one); returns its sha256. Adding it again changes nothing.
    pub fn put(&self, bytes: &[u8]) -> Result<String> {
        let sha256 = sha256_hex(bytes);
        let path = self.path(&sha256);
        if path.is_file() {
            return Ok(sha256);
        }
        fs::create_dir_all(&self.dir).map_err(|e| self.error(&self.dir, e))?;
        let tmp = path.with_extension(format!("partial-{}", std::process::id()));
        let write = || -> std::io::Result<()> {
            let mut file = fs::File::create(&tmp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            fs::rename(&tmp, &path)
        };
        write().map_err(|e| {
            let _ = fs::remove_file(&tmp);
            self.error(&path, e)
        })?;
        Ok(sha256)
    }

    /// The bytes of module `sha256`, or `None` when the store does not have it. A file whose
    /// bytes do not hash to its name is an error naming it, never used.
    pub fn get(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        let path = self.path(sha256);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.error(&path, e)),
        };
        let actual = sha256_hex(&bytes);
        if !actual.eq_ignore_ascii_case(sha256) {
            return Err(WasmError::Store {
                path,
                message: format!(
                    "the file's bytes hash to {actual}, not to its name; remove it and add the module again"
                ),
            });
        }
        Ok(Some(bytes))
    }

    /// The modules in the store, by sha256.
    pub fn list(&self) -> Result<Vec<StoredModule>> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(self.error(&self.dir, e)),
        };
        let mut modules = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| self.error(&self.dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(sha256) = name.strip_suffix(".wasm") else {
                continue;
            };
            if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                continue;
            }
            let size = entry
                .metadata()
                .map_err(|e| self.error(&entry.path(), e))?
                .len();
            modules.push(StoredModule {
                sha256: sha256.to_string(),
                size,
            });
        }
        modules.sort_by(|a, b| a.sha256.cmp(&b.sha256));
        Ok(modules)
    }
}

/// Lowercase hex sha256 of `bytes`: a module's identity.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_bytes_by_hash_and_refuses_a_tampered_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = ModuleStore::new(dir.path().join("store"));
        assert_eq!(store.list().unwrap(), []);
        let sha = store.put(b"\0asm module bytes").unwrap();
        assert_eq!(sha, sha256_hex(b"\0asm module bytes"));
        assert_eq!(store.put(b"\0asm module bytes").unwrap(), sha);
        assert_eq!(store.get(&sha).unwrap().unwrap(), b"\0asm module bytes");
        assert_eq!(store.list().unwrap()[0].size, 17);
        assert_eq!(store.get(&"0".repeat(64)).unwrap(), None);

        fs::write(store.path(&sha), b"something else").unwrap();
        let err = store.get(&sha).unwrap_err().to_string();
        assert!(err.contains("hash to") && err.contains(&sha), "{err}");
    }
}
