//! Compiled components on disk, keyed by the sha256 of the component bytes.
//!
//! Loading precompiled code is only sound for artifacts this host produced: a file is used
//! only when it is owned by this user, not writable by others, and its checksum (written
//! with it) matches. Anything else is recompiled and rewritten; nothing is trusted blindly.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

const MAGIC: &[u8; 8] = b"LODECW01";

/// The directory of compiled artifacts for one engine configuration.
pub struct DiskCache {
    dir: PathBuf,
    /// Distinguishes artifacts of different wasmtime versions and engine settings.
    engine_tag: String,
}

impl DiskCache {
    /// `$LODE_CACHE_DIR`, else `$XDG_CACHE_HOME/lode/modules`, else `~/.cache/lode/modules`.
    pub(crate) fn default_dir() -> Option<PathBuf> {
        if let Some(dir) = std::env::var_os("LODE_CACHE_DIR") {
            return Some(PathBuf::from(dir));
        }
        let base = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
        Some(base.join("lode").join("modules"))
    }

    pub fn new(dir: PathBuf, engine_tag: String) -> Self {
        DiskCache { dir, engine_tag }
    }

    fn path(&self, sha256: &str) -> PathBuf {
        self.dir.join(format!("{sha256}-{}.cwasm", self.engine_tag))
    }

    /// The artifact for `sha256`, if a trustworthy one exists.
    pub fn get(&self, sha256: &str) -> Option<Vec<u8>> {
        let path = self.path(sha256);
        let bytes = fs::read(&path).ok()?;
        match verify(&path, &bytes) {
            Ok(()) => Some(bytes[MAGIC.len() + 32..].to_vec()),
            Err(reason) => {
                tracing::warn!(path = %path.display(), reason, "ignoring cached module artifact; recompiling");
                None
            }
        }
    }

    /// Stores an artifact atomically (write to a temporary file, then rename).
    pub fn put(&self, sha256: &str, artifact: &[u8]) -> std::io::Result<()> {
        create_private_dir(&self.dir)?;
        let path = self.path(sha256);
        let tmp = path.with_extension(format!("partial-{}", std::process::id()));
        let mut file = fs::File::create(&tmp)?;
        file.write_all(MAGIC)?;
        file.write_all(&Sha256::digest(artifact))?;
        file.write_all(artifact)?;
        file.sync_all()?;
        fs::rename(&tmp, &path)
    }
}

fn verify(path: &Path, bytes: &[u8]) -> Result<(), &'static str> {
    use std::os::unix::fs::MetadataExt;
    let meta = fs::metadata(path).map_err(|_| "cannot stat")?;
    // SAFETY: geteuid has no preconditions.
    if meta.uid() != unsafe { libc::geteuid() } {
        return Err("not owned by this user");
    }
    if meta.mode() & 0o022 != 0 {
        return Err("writable by group or others");
    }
    if bytes.len() < MAGIC.len() + 32 || &bytes[..MAGIC.len()] != MAGIC {
        return Err("not a Lode artifact");
    }
    let (sum, artifact) = bytes[MAGIC.len()..].split_at(32);
    if Sha256::digest(artifact).as_slice() != sum {
        return Err("checksum mismatch");
    }
    Ok(())
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(test)]
mod tests {
    //! A cached artifact is loaded as machine code, so the cache must hand back exactly what
    //! this user stored and refuse anything else.

    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn cache(dir: &Path, tag: &str) -> DiskCache {
        DiskCache::new(dir.join("modules"), tag.to_string())
    }

    #[test]
    fn an_artifact_comes_back_as_stored_in_a_private_directory() {
        let dir = tempfile::tempdir().unwrap();
        let cache = cache(dir.path(), "engine-a");
        assert_eq!(cache.get("abc"), None);
        cache.put("abc", b"machine code").unwrap();
        assert_eq!(cache.get("abc").as_deref(), Some(&b"machine code"[..]));
        let mode = fs::metadata(dir.path().join("modules"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
    }

    #[test]
    fn another_engine_configuration_does_not_see_the_artifact() {
        let dir = tempfile::tempdir().unwrap();
        cache(dir.path(), "engine-a").put("abc", b"code").unwrap();
        assert_eq!(cache(dir.path(), "engine-b").get("abc"), None);
    }

    #[test]
    fn a_tampered_artifact_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let cache = cache(dir.path(), "engine-a");
        cache.put("abc", b"machine code").unwrap();
        let path = cache.path("abc");
        let mut bytes = fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        fs::write(&path, &bytes).unwrap();
        assert_eq!(verify(&path, &bytes), Err("checksum mismatch"));
        assert_eq!(cache.get("abc"), None);
    }

    #[test]
    fn a_file_others_may_write_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let cache = cache(dir.path(), "engine-a");
        cache.put("abc", b"machine code").unwrap();
        let path = cache.path("abc");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o666)).unwrap();
        assert_eq!(
            verify(&path, &fs::read(&path).unwrap()),
            Err("writable by group or others")
        );
        assert_eq!(cache.get("abc"), None);
    }

    #[test]
    fn a_file_that_is_not_an_artifact_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let cache = cache(dir.path(), "engine-a");
        create_private_dir(&cache.dir).unwrap();
        let path = cache.path("abc");
        fs::write(&path, b"\x7fELF not ours").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(
            verify(&path, &fs::read(&path).unwrap()),
            Err("not a Lode artifact")
        );
        assert_eq!(cache.get("abc"), None);
    }
}
