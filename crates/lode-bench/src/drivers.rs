//! `lode-bench drivers`: what driver guests and guests in other languages cost.
//!
//! - **Driver overhead**: the `kmeans` driver over an in-memory `points` table, a fixed number
//!   of iterations (its tolerance is negative, so it never stops early). The driver's own
//!   time and the host interface's (building relations, Substrait, laying results out for the
//!   driver) against the whole run; the rest is query execution.
//! - **Guest languages**: the same `gcd` module in Rust, C, Python and JavaScript: compiling
//!   it cold, loading it from the disk cache, instantiating it, one call, and `sum(gcd(a, b))`
//!   over in-memory rows; and `sentiment` in Rust, Python and JavaScript over comment text.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use datafusion::arrow::array::{Float64Array, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::datasource::MemTable;
use futures::TryStreamExt;
use lode_driver::{Driver, DriverLimits, Session};
use lode_exec::{Engine, EngineConfig, TableBindings};

use crate::Result;
use crate::wasm::{
    BATCH_ROWS, call_and_instance_costs, comments, compile_times, numbers, time_query,
};

/// The guest languages compared, by their `gcd` and `sentiment` module files in `guests/out`.
const LANGUAGES: [(&str, &str, Option<&str>); 4] = [
    ("Rust", "gcd", Some("sentiment")),
    ("C", "gcd-c", None),
    ("Python", "gcd-python", Some("sentiment-python")),
    ("JavaScript", "gcd-js", Some("sentiment-js")),
];

struct KMeansRun {
    total: Duration,
    driver: Duration,
    interface: Duration,
    plans: usize,
}

struct Language {
    name: &'static str,
    size: usize,
    cold: Duration,
    disk: Duration,
    instance: Duration,
    call: Duration,
    gcd: Duration,
    sentiment: Option<Duration>,
}

pub fn run(
    points: usize,
    iterations: usize,
    rows: usize,
    guests: &Path,
    report: &Path,
    repeats: usize,
) -> Result<()> {
    let runtime = crate::tokio_runtime()?;
    let read = |name: &str| crate::read_guest(guests, name);
    let kmeans = read("kmeans")?;
    let runs = runtime.block_on(async {
        let engine = Arc::new(
            Engine::new(&TableBindings::new(), EngineConfig::default())
                .await
                .map_err(|e| e.to_string())?,
        );
        eprintln!("generating {points} points");
        engine
            .session()
            .register_table("points", points_table(points)?)
            .map_err(|e| e.to_string())?;
        let driver = Driver::load(engine.wasm().map_err(|e| e.to_string())?, &kmeans, "kmeans")
            .map_err(|e| e.to_string())?;
        let mut runs = Vec::new();
        // The first run warms the module cache and DataFusion; it is not kept.
        for run in 0..=repeats {
            let measured = kmeans_run(&engine, &driver, iterations).await?;
            eprintln!(
                "kmeans run {run}: {:.3} s, driver {:.3} s, interface {:.3} s, {} plans",
                measured.total.as_secs_f64(),
                measured.driver.as_secs_f64(),
                measured.interface.as_secs_f64(),
                measured.plans
            );
            if run > 0 {
                runs.push(measured);
            }
        }
        Ok::<_, String>(runs)
    })?;
    let mut languages = Vec::new();
    let partitions = std::thread::available_parallelism().map_or(1, |n| n.get());
    for (name, gcd_file, sentiment_file) in LANGUAGES {
        let bytes = read(gcd_file)?;
        eprintln!("{name}: {} bytes", bytes.len());
        let compile = compile_times(&bytes)?;
        let costs = call_and_instance_costs(&bytes, 20_000, 200)?;
        let gcd = runtime.block_on(query_time(
            bytes.clone(),
            "numbers",
            numbers(rows, partitions)?,
            "SELECT sum(gcd(a, b)) FROM numbers",
            repeats,
        ))?;
        let sentiment = match sentiment_file {
            Some(file) => Some(runtime.block_on(query_time(
                read(file)?,
                "comments",
                comments(sentiment_rows(rows), partitions)?,
                "SELECT sum(sentiment(text)['compound']) FROM comments",
                repeats,
            ))?),
            None => None,
        };
        languages.push(Language {
            name,
            size: bytes.len(),
            cold: compile.cold,
            disk: compile.disk,
            instance: costs.instance,
            call: costs.call,
            gcd,
            sentiment,
        });
    }
    let section = render(&runs, points, iterations, &languages, rows, repeats);
    crate::update_report(report, "drivers", &section)?;
    eprintln!("report written to {}", report.display());
    Ok(())
}

/// One `kmeans` run of exactly `iterations` iterations with k = 8.
async fn kmeans_run(engine: &Arc<Engine>, driver: &Driver, iterations: usize) -> Result<KMeansRun> {
    let log = Arc::new(Mutex::new(0usize));
    let counted = Arc::clone(&log);
    let session = Session {
        planner: Arc::clone(engine),
        target: Some(Arc::new(lode_exec::Embedded::new(Arc::clone(engine)))),
        limits: DriverLimits::default(),
        progress: Arc::new(move |line: &str| {
            if line.starts_with("iteration") {
                *counted.lock().unwrap_or_else(|e| e.into_inner()) += 1;
            }
        }),
    };
    let args: Vec<(String, String)> = [
        ("k", "8".to_string()),
        ("max-iterations", iterations.to_string()),
        ("tolerance", "-1".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let started = Instant::now();
    let outcome = driver
        .run(session, &args)
        .await
        .map_err(|e| e.to_string())?;
    if let Some(stream) = outcome.result {
        let _: Vec<RecordBatch> = stream.try_collect().await.map_err(|e| e.to_string())?;
    }
    let total = started.elapsed();
    let ran = *log.lock().unwrap_or_else(|e| e.into_inner());
    if ran != iterations {
        return Err(format!(
            "kmeans ran {ran} iterations, not the {iterations} asked for"
        ));
    }
    Ok(KMeansRun {
        total,
        driver: outcome.driver_time,
        interface: outcome.interface_time,
        plans: outcome.plans,
    })
}

/// Rows of the `sentiment` query: a tenth of the `gcd` query's, since the interpreted guests
/// score a few thousand to a few tens of thousands of comments a second.
fn sentiment_rows(rows: usize) -> usize {
    (rows / 10).max(1)
}

/// The median time of `sql` over `table` (registered as `name`) with `module`'s functions.
async fn query_time(
    module: Vec<u8>,
    name: &str,
    table: Arc<MemTable>,
    sql: &str,
    repeats: usize,
) -> Result<Duration> {
    let config = EngineConfig {
        module_cache: None,
        ..EngineConfig::default()
    };
    let engine = Engine::new(&TableBindings::new(), config)
        .await
        .map_err(|e| e.to_string())?;
    engine.register_module(module).map_err(|e| e.to_string())?;
    engine
        .session()
        .register_table(name, table)
        .map_err(|e| e.to_string())?;
    let (time, _) = time_query(&engine, sql, repeats).await?;
    Ok(time)
}

/// `points(x, y)`: `n` points around eight centres, in batches over every core.
fn points_table(n: usize) -> Result<Arc<MemTable>> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("x", DataType::Float64, false),
        Field::new("y", DataType::Float64, false),
    ]));
    let partitions = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut parts = vec![Vec::new(); partitions];
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut row = 0;
    for (i, start) in (0..n).step_by(BATCH_ROWS).enumerate() {
        let count = BATCH_ROWS.min(n - start);
        let (mut xs, mut ys) = (Vec::with_capacity(count), Vec::with_capacity(count));
        for _ in 0..count {
            let centre = (row % 8) as f64;
            xs.push(centre * 10.0 + 4.0 * (uniform() - 0.5));
            ys.push((centre * 7.0) % 30.0 + 4.0 * (uniform() - 0.5));
            row += 1;
        }
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                Arc::new(Float64Array::from(xs)),
                Arc::new(Float64Array::from(ys)),
            ],
        )
        .map_err(|e| e.to_string())?;
        parts[i % partitions].push(batch);
    }
    MemTable::try_new(schema, parts)
        .map(Arc::new)
        .map_err(|e| e.to_string())
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn render(
    runs: &[KMeansRun],
    points: usize,
    iterations: usize,
    languages: &[Language],
    rows: usize,
    repeats: usize,
) -> String {
    let mut s = String::from("## Driver guests and guest languages\n\n");
    s.push_str(&crate::provenance());
    let total = median(runs.iter().map(|r| r.total).collect());
    let driver = median(runs.iter().map(|r| r.driver).collect());
    let interface = median(runs.iter().map(|r| r.interface).collect());
    let plans = runs.first().map_or(0, |r| r.plans);
    let share = (driver + interface).as_secs_f64() / total.as_secs_f64() * 100.0;
    s.push_str(&format!(
        "- `kmeans` (k = 8) over {points} in-memory points, {iterations} iterations, {plans} plans, in one process on the embedded engine; medians of {} runs after a warm-up run.\n\n",
        runs.len()
    ));
    s.push_str("| part of the run | s | share |\n|---|---:|---:|\n");
    let row = |name: &str, d: Duration| {
        format!(
            "| {name} | {:.3} | {:.1} % |\n",
            d.as_secs_f64(),
            d.as_secs_f64() / total.as_secs_f64() * 100.0
        )
    };
    s.push_str(&row("the driver's own code", driver));
    s.push_str(&row(
        "the host interface (relations, Substrait, results to the driver)",
        interface,
    ));
    s.push_str(&row(
        "query execution (the rest)",
        total.saturating_sub(driver + interface),
    ));
    s.push_str(&row("whole run", total));
    s.push_str(&format!(
        "\nDriver and interface together: {share:.2} % of the run (target < 5 %).\n\n"
    ));
    s.push_str(&format!(
        "- Each guest language's `gcd` module: loading compiles it (cold) or reads the disk cache; an instance is a fresh sandbox of the compiled module; a call is `noop` over a 1-row batch. Throughput: `SELECT sum(gcd(a, b))` over {rows} in-memory rows, and `SELECT sum(sentiment(text)['compound'])` over {} comments (median of {repeats}; C has no `sentiment`).\n\n",
        sentiment_rows(rows)
    ));
    s.push_str("| language | `gcd` component | compile (cold) | from the disk cache | instance | call | `gcd` rows/s | `sentiment` rows/s |\n|---|---:|---:|---:|---:|---:|---:|---:|\n");
    let per_second =
        |rows: usize, d: Duration| format!("{:.0} k", rows as f64 / d.as_secs_f64() / 1e3);
    for l in languages {
        s.push_str(&format!(
            "| {} | {:.1} MB | {:.0} ms | {:.1} ms | {:.1} µs | {:.2} µs | {} | {} |\n",
            l.name,
            l.size as f64 / 1e6,
            l.cold.as_secs_f64() * 1e3,
            l.disk.as_secs_f64() * 1e3,
            l.instance.as_secs_f64() * 1e6,
            l.call.as_secs_f64() * 1e6,
            per_second(rows, l.gcd),
            l.sentiment
                .map_or_else(|| "—".to_string(), |d| per_second(sentiment_rows(rows), d)),
        ));
    }
    s
}
