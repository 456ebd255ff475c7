//! `lode gen`

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use lode_datagen::Progress;
use lode_exec::storage::{Location, Stores};
use url::Url;

use crate::cli::{Dataset, GenArgs};
use crate::failure::Failure;

pub async fn run(args: GenArgs) -> Result<ExitCode, Failure> {
    let started = Instant::now();
    let interactive = std::io::stderr().is_terminal();
    let mut last_report = Instant::now();
    let mut progress = |p: Progress| report(&p, interactive, &mut last_report);
    let (files, staging, summary) = match args.dataset {
        Dataset::Tpch { sf, parts, out } => {
            let staging = Staging::for_location(out)?;
            let files =
                lode_datagen::tpch::generate_parts(sf, parts, staging.dir(), &mut progress)?;
            (files, staging, format!("TPC-H SF {sf}"))
        }
        Dataset::Points {
            rows,
            clusters,
            seed,
            out,
        } => {
            let staging = Staging::for_location(out)?;
            let files =
                lode_datagen::points::generate(rows, clusters, seed, staging.dir(), &mut progress)?;
            (
                files,
                staging,
                format!("points: {rows} rows in {clusters} clusters"),
            )
        }
        Dataset::Comments { rows, seed, out } => {
            let staging = Staging::for_location(out)?;
            let files = lode_datagen::comments::generate(rows, seed, staging.dir(), &mut progress)?;
            (files, staging, format!("comments: {rows} rows"))
        }
    };
    let destination = staging.deliver(&files).await?;
    eprintln!(
        "{summary}: {} files written to {destination} in {:.1} s",
        files.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// Where generated files are written: the output directory itself, or, for an object-store
/// prefix, a temporary directory whose files are uploaded under it.
enum Staging {
    Local(PathBuf),
    Upload {
        temp: tempfile::TempDir,
        prefix: Url,
    },
}

impl Staging {
    fn for_location(out: Location) -> Result<Staging, Failure> {
        match out {
            Location::Local(dir) => Ok(Staging::Local(dir)),
            Location::Url(mut prefix) => {
                if !prefix.path().ends_with('/') {
                    prefix.set_path(&format!("{}/", prefix.path()));
                }
                let temp = tempfile::tempdir().map_err(|e| {
                    Failure::io(format!(
                        "cannot create a temporary directory for {prefix}: {e}"
                    ))
                })?;
                Ok(Staging::Upload { temp, prefix })
            }
        }
    }

    fn dir(&self) -> &Path {
        match self {
            Staging::Local(dir) => dir,
            Staging::Upload { temp, .. } => temp.path(),
        }
    }

    /// Uploads the staged `files` where they go; says where that is.
    async fn deliver(self, files: &[PathBuf]) -> Result<String, Failure> {
        let (temp, prefix) = match self {
            Staging::Local(dir) => return Ok(dir.display().to_string()),
            Staging::Upload { temp, prefix } => (temp, prefix),
        };
        let stores = Stores::default();
        for file in files {
            let relative = file.strip_prefix(temp.path()).unwrap_or(file);
            let url = prefix
                .join(&relative.to_string_lossy().replace('\\', "/"))
                .map_err(|e| Failure::io(format!("{prefix}: {e}")))?;
            stores.upload(file, &url).await?;
        }
        Ok(prefix.to_string())
    }
}

/// One line per finished table; while a large table is generated, its progress every second
/// (overwritten in place on a terminal).
fn report(p: &Progress, interactive: bool, last: &mut Instant) {
    let line = match (p.done, p.expected_rows) {
        (true, _) => format!("{:>9}: {} rows", p.table, p.rows),
        (false, Some(n)) if n > 0 => format!(
            "{:>9}: {} / {n} rows ({:.0}%)",
            p.table,
            p.rows,
            100.0 * p.rows as f64 / n as f64
        ),
        (false, _) => format!("{:>9}: {} rows", p.table, p.rows),
    };
    if p.done {
        if interactive {
            eprint!("\r\x1b[2K");
        }
        eprintln!("{line}");
    } else if last.elapsed().as_secs() >= 1 {
        *last = Instant::now();
        if interactive {
            eprint!("\r\x1b[2K{line}");
            let _ = std::io::stderr().flush();
        } else {
            eprintln!("{line}");
        }
    }
}
