//! The memory bound and spill directory of a process: DataFusion's memory pool and disk
//! manager, set up once per [`Engine`](crate::Engine) and shared by every query (and, on an
//! executor, every task slot) it runs.
//!
//! The pool is DataFusion's `FairSpillPool` (operators that can spill share it evenly and
//! spill when their share is used; those that cannot take what is left) inside a
//! `TrackConsumersPool`, so that an allocation that fails names the operators holding the most.
//! Spill files go to a directory of the engine's own, `<spill dir>/lode-<pid>-<n>`, removed
//! when the engine is dropped; directories left by processes that no longer run (killed with
//! SIGKILL, say) are removed when the next engine starts in the same place.

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::error::DataFusionError;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::{FairSpillPool, TrackConsumersPool};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use tracing::{debug, info, warn};

use crate::error::{ExecError, Result};

/// The share of the machine's (or its cgroup's) memory a process takes when no limit is
/// given. DataFusion does not count every byte it uses (Parquet decoding buffers, batches in
/// flight between operators), so the bound leaves room for what it does not count.
pub const DEFAULT_MEMORY_SHARE: f64 = 0.6;

/// The bound when the machine's memory cannot be read (not Linux).
const FALLBACK_MEMORY_LIMIT: u64 = 4 << 30;

/// How many of the largest consumers an allocation failure names.
const CONSUMERS_NAMED: usize = 5;

/// The memory bound and spill place of one process.
#[derive(Debug, Clone, Default)]
pub struct MemoryConfig {
    /// The most memory queries may hold at once, in bytes; `None`: [`DEFAULT_MEMORY_SHARE`]
    /// of the machine's memory.
    pub limit: Option<u64>,
    /// Where spill files go; `None`: `lode-spill` in the system's temporary directory.
    pub spill_dir: Option<PathBuf>,
}

impl MemoryConfig {
    /// The bound in bytes this configuration gives.
    pub fn limit_bytes(&self) -> u64 {
        self.limit.unwrap_or_else(default_limit)
    }

    /// This configuration with the bound divided among `n` processes sharing it (an embedded
    /// cluster's executors).
    pub fn shared_by(&self, n: usize) -> MemoryConfig {
        MemoryConfig {
            limit: Some(self.limit_bytes() / n.max(1) as u64),
            spill_dir: self.spill_dir.clone(),
        }
    }

    fn spill_root(&self) -> PathBuf {
        self.spill_dir
            .clone()
            .unwrap_or_else(|| std::env::temp_dir().join("lode-spill"))
    }
}

/// [`DEFAULT_MEMORY_SHARE`] of the memory this process may use.
pub fn default_limit() -> u64 {
    machine_memory().map_or(FALLBACK_MEMORY_LIMIT, |bytes| {
        (bytes as f64 * DEFAULT_MEMORY_SHARE) as u64
    })
}

/// The memory this process may use: the machine's, or less where a cgroup bounds it.
pub fn machine_memory() -> Option<u64> {
    let total = std::fs::read_to_string("/proc/meminfo")
        .ok()?
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.trim().strip_suffix("kB"))
        .and_then(|kb| kb.trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)?;
    // cgroup v2, then v1 ("max" or a huge number when unbounded).
    let cgroup = [
        "/sys/fs/cgroup/memory.max",
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
    ]
    .iter()
    .find_map(|p| std::fs::read_to_string(p).ok())
    .and_then(|v| v.trim().parse::<u64>().ok());
    Some(cgroup.map_or(total, |c| c.min(total)))
}

/// A size as users write it: `4G`, `512M`, `1.5GiB`, `100000` (bytes), or `50%` of the
/// machine's memory. Units are powers of 1024.
pub fn parse_size(text: &str) -> std::result::Result<u64, String> {
    let t = text.trim();
    if let Some(percent) = t.strip_suffix('%') {
        let share: f64 = percent
            .trim()
            .parse()
            .map_err(|_| format!("`{text}` is not a percentage such as 50%"))?;
        if !(share > 0.0 && share <= 100.0) {
            return Err(format!(
                "`{text}`: a share of memory is above 0% and at most 100%"
            ));
        }
        let machine = machine_memory().ok_or_else(|| {
            format!("`{text}`: this machine's memory cannot be read; give a size such as 4G")
        })?;
        return Ok((machine as f64 * share / 100.0) as u64);
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size such as 4G, 512M or 1.5GiB"))?;
    let scale: u64 = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        "G" | "GB" | "GIB" => 1 << 30,
        "T" | "TB" | "TIB" => 1 << 40,
        other => {
            return Err(format!(
                "`{text}`: unknown unit `{other}` (use B, K, M, G or T, or a percentage)"
            ));
        }
    };
    let bytes = number * scale as f64;
    if !(bytes >= 1.0 && bytes < u64::MAX as f64) {
        return Err(format!("`{text}` is not a size of at least one byte"));
    }
    Ok(bytes as u64)
}

/// A byte count for people: `1.5 GiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// This process's spill directory, removed (with anything left in it) when dropped.
#[derive(Debug)]
pub(crate) struct SpillDir {
    path: PathBuf,
}

impl SpillDir {
    /// `<root>/lode-<pid>-<n>`, the `n`th engine of this process (engines of one process come
    /// and go independently: an embedded cluster's, a test's), created after removing the
    /// directories of processes that no longer run.
    fn create(root: &Path) -> Result<SpillDir> {
        static ENGINES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let io = |source| ExecError::Io {
            context: format!(
                "creating the spill directory under {} (change it with --spill-dir)",
                root.display()
            ),
            source,
        };
        std::fs::create_dir_all(root).map_err(io)?;
        remove_orphans(root);
        let n = ENGINES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = root.join(format!("lode-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&path).map_err(io)?;
        Ok(SpillDir { path })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for SpillDir {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            warn!(dir = %self.path.display(), error = %e, "could not remove the spill directory");
        }
    }
}

/// Removes `lode-<pid>-<n>` directories under `root` whose process is gone. Only where the
/// system tells which processes run (`/proc`); elsewhere they stay.
fn remove_orphans(root: &Path) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("lode-"))
            .and_then(|rest| rest.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !Path::new("/proc").join(pid.to_string()).exists() {
            match std::fs::remove_dir_all(entry.path()) {
                Ok(()) => {
                    debug!(dir = %entry.path().display(), "removed a spill directory left by a process that ended")
                }
                Err(e) => {
                    warn!(dir = %entry.path().display(), error = %e, "could not remove a spill directory left by a process that ended")
                }
            }
        }
    }
}

/// The runtime every query of an engine shares: its memory pool and disk manager.
pub(crate) fn runtime(config: &MemoryConfig) -> Result<(Arc<RuntimeEnv>, SpillDir)> {
    let limit = config.limit_bytes();
    let spill = SpillDir::create(&config.spill_root())?;
    let pool = TrackConsumersPool::new(
        FairSpillPool::new(usize::try_from(limit).unwrap_or(usize::MAX)),
        NonZeroUsize::new(CONSUMERS_NAMED).unwrap_or(NonZeroUsize::MIN),
    );
    let disk = DiskManagerBuilder::default().with_mode(DiskManagerMode::Directories(vec![
        spill.path().to_path_buf(),
    ]));
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_pool(Arc::new(pool))
        .with_disk_manager_builder(disk)
        .with_object_store_registry(Arc::new(crate::storage::Stores::default()))
        .build_arc()
        .map_err(|e| ExecError::Io {
            context: format!("setting up the spill directory {}", spill.path().display()),
            source: std::io::Error::other(e.to_string()),
        })?;
    info!(
        memory_limit = %human_bytes(limit),
        default = config.limit.is_none(),
        spill_dir = %spill.path().display(),
        "memory bound and spill directory"
    );
    Ok((runtime, spill))
}

/// A failure for lack of memory or spill space told in Lode's terms: the limit and the flag
/// that raises it, or the spill directory that is full. Other errors pass unchanged.
pub(crate) fn explain(error: DataFusionError, limit: u64, spill: &Path) -> DataFusionError {
    let root = error.find_root();
    let message = root.to_string();
    let disk_full = matches!(root, DataFusionError::IoError(e) if e.raw_os_error() == Some(ENOSPC))
        || message.contains("No space left on device");
    if disk_full {
        return DataFusionError::ResourcesExhausted(format!(
            "the disk holding the spill directory {} is full ({message}); free space there or \
             point --spill-dir at a larger disk",
            spill.display()
        ));
    }
    match root {
        DataFusionError::ResourcesExhausted(m) if m.contains("disk space") => {
            DataFusionError::ResourcesExhausted(format!(
                "spilling to {} needs more disk than allowed: {m}",
                spill.display()
            ))
        }
        DataFusionError::ResourcesExhausted(m) => DataFusionError::ResourcesExhausted(format!(
            "{m}\nThe query needs more memory than this process may use ({}); raise \
             --memory-limit, or run fewer tasks at once",
            human_bytes(limit)
        )),
        _ => error,
    }
}

/// Whether `error` is a hash join failing to hold its build side (which DataFusion 55 cannot
/// spill) in the memory pool.
pub(crate) fn is_hash_join_build_exhausted(error: &DataFusionError) -> bool {
    matches!(error.find_root(), DataFusionError::ResourcesExhausted(m)
        if m.contains("for HashJoinInput"))
}

/// `ENOSPC`: no space left on the device.
const ENOSPC: i32 = 28;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_users_write_them() {
        assert_eq!(parse_size("4G"), Ok(4 << 30));
        assert_eq!(parse_size("512m"), Ok(512 << 20));
        assert_eq!(parse_size("1.5GiB"), Ok(3 << 29));
        assert_eq!(parse_size("100000"), Ok(100_000));
        assert!(parse_size("4X").unwrap_err().contains("unknown unit `X`"));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("0").is_err());
        assert!(parse_size("150%").is_err());
    }

    #[test]
    fn a_full_spill_disk_names_the_directory_and_the_flag() {
        let full = DataFusionError::IoError(std::io::Error::from_raw_os_error(ENOSPC));
        let wrapped = DataFusionError::Context("spilling a sort".into(), Box::new(full));
        let told = explain(wrapped, 1 << 30, Path::new("/scratch/lode-1-0")).to_string();
        assert!(
            told.contains("the disk holding the spill directory /scratch/lode-1-0 is full")
                && told.contains("--spill-dir"),
            "{told}"
        );
        let short = DataFusionError::ResourcesExhausted("Failed to allocate 8 MB".into());
        let told = explain(short, 1 << 30, Path::new("/scratch")).to_string();
        assert!(
            told.contains("raise --memory-limit") && told.contains("1.0 GiB"),
            "{told}"
        );
    }

    #[test]
    fn bytes_print_for_people() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(3 << 29), "1.5 GiB");
    }

    #[test]
    fn the_spill_directory_goes_with_its_engine_and_orphans_are_removed() {
        let root = tempfile::tempdir().unwrap();
        // A directory of a process that cannot exist (pids stay below 2^22 on Linux).
        let orphan = root.path().join("lode-4294967295-0");
        std::fs::create_dir_all(orphan.join("datafusion-x")).unwrap();
        let spill = SpillDir::create(root.path()).unwrap();
        assert!(spill.path().exists());
        if Path::new("/proc/self").exists() {
            assert!(!orphan.exists(), "the orphan is removed");
        }
        let other = SpillDir::create(root.path()).unwrap();
        assert_ne!(
            other.path(),
            spill.path(),
            "each engine spills in a directory of its own"
        );
        let path = spill.path().to_path_buf();
        drop(spill);
        assert!(!path.exists());
        assert!(other.path().exists(), "another engine's directory stays");
    }
}
