//! `lode gen`

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Instant;

use lode_datagen::Progress;

use crate::cli::{Dataset, GenArgs};
use crate::failure::Failure;

pub fn run(args: GenArgs) -> Result<ExitCode, Failure> {
    match args.dataset {
        Dataset::Tpch { sf, parts, out } => {
            let started = Instant::now();
            let interactive = std::io::stderr().is_terminal();
            let mut last_report = Instant::now();
            let files = lode_datagen::tpch::generate_parts(sf, parts, &out, |p| {
                report(&p, interactive, &mut last_report)
            })?;
            eprintln!(
                "TPC-H SF {sf}: {} files written to {} in {:.1} s",
                files.len(),
                out.display(),
                started.elapsed().as_secs_f64()
            );
            Ok(ExitCode::SUCCESS)
        }
        Dataset::Points {
            rows,
            clusters,
            seed,
            out,
        } => {
            let started = Instant::now();
            let interactive = std::io::stderr().is_terminal();
            let mut last_report = Instant::now();
            let files = lode_datagen::points::generate(rows, clusters, seed, &out, |p| {
                report(&p, interactive, &mut last_report)
            })?;
            eprintln!(
                "points: {rows} rows in {clusters} clusters, {} files under {} in {:.1} s",
                files.len(),
                out.join("points").display(),
                started.elapsed().as_secs_f64()
            );
            Ok(ExitCode::SUCCESS)
        }
        Dataset::Comments { rows, seed, out } => {
            let started = Instant::now();
            let interactive = std::io::stderr().is_terminal();
            let mut last_report = Instant::now();
            let files = lode_datagen::comments::generate(rows, seed, &out, |p| {
                report(&p, interactive, &mut last_report)
            })?;
            eprintln!(
                "comments: {rows} rows in {} files under {} in {:.1} s",
                files.len(),
                out.join("comments").display(),
                started.elapsed().as_secs_f64()
            );
            Ok(ExitCode::SUCCESS)
        }
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
