//! `lode-bench`: measures Lode against plain DataFusion, each run in its own process so that
//! wall time and peak memory (from `wait4`) are per run and symmetric.
//!
//! `lode-bench tpch` runs every TPC-H query twice per iteration:
//! - **Substrait**: `lode run plans/tpch/qNN.json --data DIR --format arrow` (decode, validate,
//!   convert, optimize, execute, encode), the path a user takes;
//! - **SQL**: `lode-bench sql` on the same session setup (same table registration, same
//!   partitions), planning `qNN.sql` with DataFusion's SQL front end, encoding the same Arrow
//!   IPC stream.
//!
//! Both write to /dev/null. The report keeps the median time and the median peak RSS.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use clap::{Parser, Subcommand};

mod cluster;
mod drivers;
mod inprocess;
mod validator;
mod wasm;
use lode_exec::{Engine, EngineConfig, ResultFormat, TableBindings};

#[derive(Parser)]
#[command(about = "Lode benchmarks")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// TPC-H: Substrait through `lode run` vs DataFusion SQL; writes a section of the report
    Tpch {
        #[arg(long, default_value_t = 1.0)]
        sf: f64,
        /// Data directory (generated when it lacks lineitem.parquet)
        #[arg(long)]
        data: PathBuf,
        /// Markdown report to update (the TPC-H section is replaced, the rest kept)
        #[arg(long)]
        report: PathBuf,
        #[arg(long, default_value_t = 3)]
        iterations: usize,
        /// The `lode` binary (default: next to this one)
        #[arg(long)]
        lode: Option<PathBuf>,
    },
    /// TPC-H with every engine in one long-lived process: Lode (Substrait), DataFusion SQL
    /// and DuckDB on the same files, row counts checked; writes a section of the report
    Inprocess {
        /// Data directory of TPC-H Parquet files (`lode gen tpch`)
        #[arg(long)]
        data: PathBuf,
        /// The queries: qNN.json (Substrait) and qNN.sql
        #[arg(long, default_value = "plans/tpch")]
        plans: PathBuf,
        /// Markdown report to update (the section is replaced, the rest kept)
        #[arg(long)]
        report: PathBuf,
        #[arg(long, default_value_t = 3)]
        iterations: usize,
        /// A Python with PyPI duckdb (make bench installs one in out/scale-env)
        #[arg(long, default_value = "out/scale-env/bin/python")]
        peer_python: PathBuf,
    },
    /// Wasm functions vs the same Rust compiled natively; call, instance and compile costs
    Wasm {
        /// Rows per table
        #[arg(long, default_value_t = 10_000_000)]
        rows: usize,
        /// Directory of the built guests (`make guests`)
        #[arg(long, default_value = "guests/out")]
        guests: PathBuf,
        /// Markdown report to update (the Wasm section is replaced, the rest kept)
        #[arg(long)]
        report: PathBuf,
        #[arg(long, default_value_t = 3)]
        iterations: usize,
    },
    /// TPC-H through `lode run --executors 2` vs `lode run`; scheduling latency and result
    /// throughput of an in-process cluster
    Cluster {
        /// TPC-H data directory (`lode-bench tpch` generates it)
        #[arg(long)]
        data: PathBuf,
        /// Markdown report to update (the cluster section is replaced, the rest kept)
        #[arg(long)]
        report: PathBuf,
        #[arg(long, default_value_t = 3)]
        iterations: usize,
        /// The `lode` binary (default: next to this one)
        #[arg(long)]
        lode: Option<PathBuf>,
    },
    /// Driver overhead (k-means: driver and host interface vs query execution), and the gcd
    /// guest in Rust, C, Python and JavaScript (start-up, calls, throughput)
    Drivers {
        /// Points of the k-means table
        #[arg(long, default_value_t = 1_000_000)]
        points: usize,
        /// k-means iterations per run
        #[arg(long, default_value_t = 10)]
        iterations: usize,
        /// Rows of the gcd query per language
        #[arg(long, default_value_t = 1_000_000)]
        rows: usize,
        /// Directory of the built guests (`make guests`)
        #[arg(long, default_value = "guests/out")]
        guests: PathBuf,
        /// Markdown report to update (the drivers section is replaced, the rest kept)
        #[arg(long)]
        report: PathBuf,
        /// Measured runs (after one warm-up run)
        #[arg(long, default_value_t = 3)]
        repeats: usize,
    },
    /// Validation time per plan: `lode validate` vs the reference validator (PyPI
    /// `substrait-validator`, through `tools/reference-validator.py`)
    Validator {
        /// Directory of JSON plans
        #[arg(long, default_value = "plans/tpch")]
        plans: PathBuf,
        /// Markdown report to update (the validation section is replaced, the rest kept)
        #[arg(long)]
        report: PathBuf,
        /// Validations per plan and validator (after one warm-up)
        #[arg(long, default_value_t = 50)]
        runs: usize,
        /// The Python that has `substrait-validator` installed
        #[arg(long, default_value = "python3")]
        python: String,
    },
    /// Run one SQL query file with DataFusion on Lode's session setup; Arrow IPC to stdout
    Sql {
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        query: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::Tpch {
            sf,
            data,
            report,
            iterations,
            lode,
        } => tpch(sf, &data, &report, iterations.max(1), lode),
        Cmd::Inprocess {
            data,
            plans,
            report,
            iterations,
            peer_python,
        } => inprocess::run(&data, &plans, &report, iterations.max(1), &peer_python),
        Cmd::Wasm {
            rows,
            guests,
            report,
            iterations,
        } => wasm::run(rows.max(1), &guests, &report, iterations.max(1)),
        Cmd::Cluster {
            data,
            report,
            iterations,
            lode,
        } => cluster::run(&data, &report, iterations.max(1), lode),
        Cmd::Drivers {
            points,
            iterations,
            rows,
            guests,
            report,
            repeats,
        } => drivers::run(
            points.max(1),
            iterations.max(1),
            rows.max(1),
            &guests,
            &report,
            repeats.max(1),
        ),
        Cmd::Validator {
            plans,
            report,
            runs,
            python,
        } => validator::run(&plans, &report, runs.max(1), &python),
        Cmd::Sql { data, query } => sql(&data, &query),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

type Result<T> = std::result::Result<T, String>;

/// A multi-threaded tokio runtime for a benchmark's async work.
fn tokio_runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
}

/// The bytes of guest `name` from the built guests in `guests` (`make guests`).
fn read_guest(guests: &Path, name: &str) -> Result<Vec<u8>> {
    let path = guests.join(format!("{name}.wasm"));
    std::fs::read(&path).map_err(|e| format!("{}: {e} (run `make guests`)", path.display()))
}

fn sql(data: &Path, query: &Path) -> Result<()> {
    let text = std::fs::read_to_string(query).map_err(|e| format!("{}: {e}", query.display()))?;
    let runtime = crate::tokio_runtime()?;
    runtime.block_on(async {
        let mut tables = TableBindings::new();
        tables.add_data_dir(data).map_err(|e| e.to_string())?;
        let engine = Engine::new(&tables, EngineConfig::default())
            .await
            .map_err(|e| e.to_string())?;
        let frame = engine
            .session()
            .sql(&text)
            .await
            .map_err(|e| e.to_string())?;
        let stream = frame.execute_stream().await.map_err(|e| e.to_string())?;
        let mut out = std::io::BufWriter::new(std::io::stdout());
        lode_exec::write_results(stream, ResultFormat::Arrow, &mut out)
            .await
            .map_err(|e| e.to_string())?;
        Ok(())
    })
}

/// Wall time and peak resident memory of one child process.
#[derive(Debug, Clone, Copy)]
struct Sample {
    seconds: f64,
    max_rss_kib: i64,
}

fn measure(cmd: &mut Command) -> Result<Sample> {
    let started = Instant::now();
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{cmd:?}: {e}"))?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data that wait4 fills in; pid is our own child, reaped only here.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let seconds = started.elapsed().as_secs_f64();
    if waited != pid {
        return Err(format!(
            "{cmd:?}: wait4 failed: {}",
            std::io::Error::last_os_error()
        ));
    }
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        let mut stderr = String::new();
        if let Some(mut pipe) = child.stderr {
            use std::io::Read;
            let _ = pipe.read_to_string(&mut stderr);
        }
        return Err(format!("{cmd:?} failed (status {status}): {stderr}"));
    }
    Ok(Sample {
        seconds,
        max_rss_kib: usage.ru_maxrss,
    })
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn geomean(values: &[f64]) -> f64 {
    (values.iter().map(|v| v.ln()).sum::<f64>() / values.len() as f64).exp()
}

struct Row {
    query: String,
    substrait: (f64, f64),
    sql: (f64, f64),
}

fn tpch(
    sf: f64,
    data: &Path,
    report: &Path,
    iterations: usize,
    lode: Option<PathBuf>,
) -> Result<()> {
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let lode = lode.unwrap_or_else(|| me.with_file_name("lode"));
    if !lode.exists() {
        return Err(format!(
            "{} not found; build it with `cargo build --release -p lode-cli`",
            lode.display()
        ));
    }
    if !data.join("lineitem.parquet").exists() {
        // In a child: Linux carries a parent's peak RSS into each forked child's ru_maxrss, so
        // generating here would inflate every measurement that follows.
        eprintln!("generating TPC-H SF {sf} into {}", data.display());
        let status = Command::new(&lode)
            .args(["gen", "tpch", "--sf", &sf.to_string(), "--out"])
            .arg(data)
            .status();
        if !status.is_ok_and(|s| s.success()) {
            return Err(format!("generating TPC-H into {} failed", data.display()));
        }
    }
    let plans = Path::new("plans/tpch");
    let mut rows = Vec::new();
    for n in 1..=22 {
        let q = format!("q{n:02}");
        let plan = plans.join(format!("{q}.json"));
        let sql_file = plans.join(format!("{q}.sql"));
        let (mut lt, mut lm, mut st, mut sm) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let run_substrait = || {
            measure(
                Command::new(&lode)
                    .arg("run")
                    .arg(&plan)
                    .arg("--data")
                    .arg(data)
                    .args(["--format", "arrow"]),
            )
        };
        let run_sql = || {
            measure(
                Command::new(&me)
                    .arg("sql")
                    .arg("--data")
                    .arg(data)
                    .arg("--query")
                    .arg(&sql_file),
            )
        };
        for i in 0..iterations {
            // Alternate which goes first so neither always runs on a warmer page cache.
            let (l, s) = if i % 2 == 0 {
                let l = run_substrait()?;
                (l, run_sql()?)
            } else {
                let s = run_sql()?;
                (run_substrait()?, s)
            };
            lt.push(l.seconds);
            lm.push(l.max_rss_kib as f64 / 1024.0);
            st.push(s.seconds);
            sm.push(s.max_rss_kib as f64 / 1024.0);
        }
        let row = Row {
            query: q,
            substrait: (median(lt), median(lm)),
            sql: (median(st), median(sm)),
        };
        eprintln!(
            "{}: substrait {:.3} s {:.0} MiB | sql {:.3} s {:.0} MiB | ratio {:.3}",
            row.query,
            row.substrait.0,
            row.substrait.1,
            row.sql.0,
            row.sql.1,
            row.substrait.0 / row.sql.0
        );
        rows.push(row);
    }
    let section = render(&rows, sf, iterations);
    update_report(report, "tpch-substrait", &section)?;
    eprintln!("report written to {}", report.display());
    Ok(())
}

fn render(rows: &[Row], sf: f64, iterations: usize) -> String {
    let time_ratios: Vec<f64> = rows.iter().map(|r| r.substrait.0 / r.sql.0).collect();
    let mem_ratios: Vec<f64> = rows.iter().map(|r| r.substrait.1 / r.sql.1).collect();
    let mut s = String::new();
    s.push_str(&format!(
        "## TPC-H SF {sf}: Substrait (`lode run`) vs DataFusion SQL\n\n"
    ));
    s.push_str(&provenance());
    s.push_str(&format!(
        "- Each query runs {iterations} times per path, each run a fresh process (startup, decode, planning and Arrow IPC encoding to /dev/null included on both sides); medians shown. Memory is the process's peak RSS.\n"
    ));
    s.push_str(&format!(
        "- **Geometric mean: time ratio {:.3}, memory ratio {:.3}** (targets: ≤ 1.05 and ≤ 1.10)\n\n",
        geomean(&time_ratios),
        geomean(&mem_ratios)
    ));
    s.push_str("| query | Substrait s | SQL s | time ratio | Substrait MiB | SQL MiB | memory ratio |\n|---|---:|---:|---:|---:|---:|---:|\n");
    for (r, (tr, mr)) in rows.iter().zip(time_ratios.iter().zip(&mem_ratios)) {
        s.push_str(&format!(
            "| {} | {:.3} | {:.3} | {:.3} | {:.0} | {:.0} | {:.3} |\n",
            r.query, r.substrait.0, r.sql.0, tr, r.substrait.1, r.sql.1, mr
        ));
    }
    s
}

/// Replaces the report's section `key` (between `<!-- key:begin -->` and `<!-- key:end -->`)
/// with `body`, or appends it; the rest of the report is kept.
fn update_report(path: &Path, key: &str, body: &str) -> Result<()> {
    let (begin, end) = (
        format!("<!-- {key}:begin -->"),
        format!("<!-- {key}:end -->"),
    );
    let section = format!("{begin}\n{}\n{end}\n", body.trim_end());
    let existing = std::fs::read_to_string(path).unwrap_or_else(|_| "# Benchmarks\n".to_string());
    let updated = match (existing.find(&begin), existing.find(&end)) {
        (Some(b), Some(e)) if e > b => format!(
            "{}{}{}",
            &existing[..b],
            section,
            &existing[e + end.len()..].trim_start_matches('\n')
        ),
        _ => format!("{}\n\n{}", existing.trim_end(), section),
    };
    std::fs::write(path, updated).map_err(|e| format!("{}: {e}", path.display()))
}

/// A report section's first lines: the command that measured it, on what machine, when.
fn provenance() -> String {
    let invocation: Vec<String> = std::env::args().collect();
    format!(
        "- Command: `make bench`, which runs `{}`\n- Machine: {}\n- Date: {}\n",
        invocation.join(" "),
        machine(),
        today()
    )
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
    format!(
        "{cores} cores ({cpu}), {mem_gib:.0} GiB RAM, {} {}",
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

fn today() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}
