//! TPC-H measured like for like: every engine in one long-lived process, as DuckDB and
//! DataFusion are used. Lode runs the Substrait plans (`plans/tpch/qNN.json`) on one engine;
//! DataFusion 55 (the engine Lode builds on, with its defaults) runs the SQL in this process;
//! DuckDB runs the SQL in its own process through `tools/scale/peer_tpch.py`, timed inside it.
//! Each query runs once to warm up, then `iterations` times; medians. The three row counts of
//! each query must agree. One more run of Lode's plan, untimed, profiles it: planning time, and
//! the operators' CPU time by kind from DataFusion's metrics (what `EXPLAIN ANALYZE` shows).

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use std::sync::Arc;

use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use futures::TryStreamExt;
use lode_exec::{Engine, EngineConfig, TableBindings};

use crate::{Result, geomean, median, provenance, update_report};

/// One query's medians, in seconds, and its row count.
struct Timing {
    query: String,
    lode: f64,
    datafusion: f64,
    duckdb: f64,
    rows: usize,
    profile: Profile,
}

/// The operator kinds a profile sums CPU time by, in the report's order.
const KINDS: [&str; 6] = ["scan", "join", "aggregate", "sort", "exchange", "other"];

/// Where one run of a Lode plan spends its time: decoding, validating and planning (wall
/// seconds), then each operator kind's CPU seconds summed over partitions.
struct Profile {
    planning: f64,
    cpu: [f64; KINDS.len()],
}

pub fn run(
    data: &Path,
    plans: &Path,
    report: &Path,
    iterations: usize,
    peer_python: &Path,
) -> Result<()> {
    if !data.join("lineitem.parquet").exists() {
        return Err(format!(
            "{} has no TPC-H tables: `lode gen tpch --sf 1 --out {}`",
            data.display(),
            data.display()
        ));
    }
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let duckdb = duckdb(data, plans, iterations, threads, peer_python)?;
    let runtime = crate::tokio_runtime()?;
    let timings = runtime.block_on(async {
        let mut tables = TableBindings::new();
        tables.add_data_dir(data).map_err(|e| e.to_string())?;
        let engine = Engine::new(&tables, EngineConfig::default())
            .await
            .map_err(|e| e.to_string())?;
        let config = SessionConfig::new().with_target_partitions(threads);
        let datafusion = SessionContext::new_with_config(config);
        for table in ["customer", "lineitem", "nation", "orders", "part", "partsupp", "region", "supplier"] {
            let path = data.join(format!("{table}.parquet"));
            datafusion
                .register_parquet(table, path.to_string_lossy().as_ref(), ParquetReadOptions::default())
                .await
                .map_err(|e| e.to_string())?;
        }
        let mut timings = Vec::new();
        for n in 1..=22 {
            let query = format!("q{n:02}");
            let plan = std::fs::read(plans.join(format!("{query}.json")))
                .map_err(|e| format!("{query}.json: {e}"))?;
            let sql = std::fs::read_to_string(plans.join(format!("{query}.sql")))
                .map_err(|e| format!("{query}.sql: {e}"))?;
            let (lode, lode_rows) = repeat(iterations, || run_lode(&engine, &plan)).await?;
            let (df, df_rows) = repeat(iterations, || run_datafusion(&datafusion, &sql)).await?;
            let profile = profile(&engine, &plan).await?;
            let (duck, duck_rows) = duckdb
                .get(&query)
                .copied()
                .ok_or_else(|| format!("DuckDB did not run {query}"))?;
            if lode_rows != df_rows || lode_rows != duck_rows {
                return Err(format!(
                    "{query}: Lode returned {lode_rows} rows, DataFusion {df_rows}, DuckDB {duck_rows}"
                ));
            }
            eprintln!(
                "{query}: Lode {lode:.3} s | DataFusion SQL {df:.3} s | DuckDB {duck:.3} s | Lode/DuckDB {:.2}",
                lode / duck
            );
            timings.push(Timing {
                query,
                lode,
                datafusion: df,
                duckdb: duck,
                rows: lode_rows,
                profile,
            });
        }
        Ok::<_, String>(timings)
    })?;
    update_report(report, "inprocess", &render(&timings, iterations, threads))?;
    eprintln!("report written to {}", report.display());
    Ok(())
}

/// Runs `query` once to warm up and `iterations` times more: the median seconds and the rows.
async fn repeat<F, Fut>(iterations: usize, mut query: F) -> Result<(f64, usize)>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<usize>>,
{
    let rows = query().await?;
    let mut seconds = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let started = Instant::now();
        query().await?;
        seconds.push(started.elapsed().as_secs_f64());
    }
    Ok((median(seconds), rows))
}

/// A Substrait plan from its bytes to its last batch: decoding, validation, planning, running.
async fn run_lode(engine: &Engine, plan: &[u8]) -> Result<usize> {
    let decoded = lode_plan::decode_plan(plan).map_err(|e| e.to_string())?;
    let stream = engine.execute(&decoded).await.map_err(|e| e.to_string())?;
    count(stream).await
}

/// One untimed run of a plan, planned and run apart so their times can be told.
async fn profile(engine: &Engine, plan: &[u8]) -> Result<Profile> {
    let started = Instant::now();
    let decoded = lode_plan::decode_plan(plan).map_err(|e| e.to_string())?;
    let logical = engine
        .logical_plan(&decoded)
        .await
        .map_err(|e| e.to_string())?;
    let physical = engine
        .physical_plan(&logical)
        .await
        .map_err(|e| e.to_string())?;
    let planning = started.elapsed().as_secs_f64();
    datafusion::physical_plan::collect(Arc::clone(&physical), engine.session().task_ctx())
        .await
        .map_err(|e| e.to_string())?;
    let mut cpu = [0.0; KINDS.len()];
    add_cpu(&physical, &mut cpu);
    Ok(Profile { planning, cpu })
}

/// Adds each operator's CPU time (its own, without its inputs') to its kind.
fn add_cpu(plan: &Arc<dyn ExecutionPlan>, cpu: &mut [f64; KINDS.len()]) {
    let name = plan.name();
    if let Some(metrics) = plan.metrics() {
        // A scan's decoding is counted as its file stream's processing time.
        let nanos = if name == "DataSourceExec" {
            metrics
                .sum_by_name("time_elapsed_processing")
                .map(|v| v.as_usize())
        } else {
            metrics.elapsed_compute()
        };
        let kind = match name {
            "DataSourceExec" => 0,
            n if n.contains("Join") => 1,
            "AggregateExec" => 2,
            "SortExec" | "SortPreservingMergeExec" => 3,
            "RepartitionExec" | "CoalescePartitionsExec" | "CoalesceBatchesExec" => 4,
            _ => 5,
        };
        cpu[kind] += nanos.unwrap_or(0) as f64 / 1e9;
    }
    for child in plan.children() {
        add_cpu(child, cpu);
    }
}

async fn run_datafusion(ctx: &SessionContext, sql: &str) -> Result<usize> {
    let frame = ctx.sql(sql).await.map_err(|e| e.to_string())?;
    let stream = frame.execute_stream().await.map_err(|e| e.to_string())?;
    count(stream).await
}

async fn count(stream: datafusion::execution::SendableRecordBatchStream) -> Result<usize> {
    let batches: Vec<_> = stream.try_collect().await.map_err(|e| e.to_string())?;
    Ok(batches.iter().map(|b| b.num_rows()).sum())
}

/// DuckDB's medians and row counts per query, from tools/scale/peer_tpch.py.
fn duckdb(
    data: &Path,
    plans: &Path,
    iterations: usize,
    threads: usize,
    python: &Path,
) -> Result<std::collections::HashMap<String, (f64, usize)>> {
    let output = Command::new(python)
        .arg("tools/scale/peer_tpch.py")
        .args(["--engine", "duckdb", "--data"])
        .arg(data)
        .arg("--sql")
        .arg(plans)
        .args([
            "--threads",
            &threads.to_string(),
            "--iterations",
            &iterations.to_string(),
        ])
        .output()
        .map_err(|e| {
            format!(
                "{}: {e} (make bench installs DuckDB in out/scale-env)",
                python.display()
            )
        })?;
    if !output.status.success() {
        return Err(format!(
            "peer_tpch.py (DuckDB) failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let report: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("peer_tpch.py's output: {e}"))?;
    let times = report["queries"]
        .as_object()
        .ok_or("peer_tpch.py gave no queries")?;
    times
        .iter()
        .map(|(query, seconds)| {
            let seconds = seconds.as_f64().ok_or(format!("{query}: no time"))?;
            let rows = report["rows"][query]
                .as_u64()
                .ok_or(format!("{query}: no row count"))?;
            Ok((query.clone(), (seconds, rows as usize)))
        })
        .collect()
}

fn render(timings: &[Timing], iterations: usize, threads: usize) -> String {
    let vs_duckdb: Vec<f64> = timings.iter().map(|t| t.lode / t.duckdb).collect();
    let vs_datafusion: Vec<f64> = timings.iter().map(|t| t.lode / t.datafusion).collect();
    let column = |f: fn(&Timing) -> f64| geomean(&timings.iter().map(f).collect::<Vec<_>>());
    let mut s = String::from("## TPC-H in one process: Lode beside DuckDB and DataFusion SQL\n\n");
    s.push_str(&provenance());
    s.push_str(&format!(
        "- Every engine in one long-lived process over the same Parquet files, {threads} threads: \
         Lode runs the Substrait plans (`plans/tpch/*.json`: decode, validate, plan, run), \
         DataFusion 55 the SQL with its defaults, DuckDB (PyPI, `tools/scale/peer_tpch.py`) the \
         SQL. Each query once to warm up, then {iterations} times; medians. Row counts agree.\n"
    ));
    s.push_str(&format!(
        "- **Geometric mean: Lode/DuckDB {:.2}, Lode/DataFusion {:.2}** (goals: ≤ 1.0 and < 1.0)\n\n",
        geomean(&vs_duckdb),
        geomean(&vs_datafusion)
    ));
    s.push_str("| query | rows | Lode s | DataFusion SQL s | DuckDB s | Lode/DuckDB | Lode/DataFusion |\n|---|---:|---:|---:|---:|---:|---:|\n");
    for (t, (d, f)) in timings.iter().zip(vs_duckdb.iter().zip(&vs_datafusion)) {
        s.push_str(&format!(
            "| {} | {} | {:.3} | {:.3} | {:.3} | {d:.2} | {f:.2} |\n",
            t.query, t.rows, t.lode, t.datafusion, t.duckdb
        ));
    }
    s.push_str(&format!(
        "| geomean | | {:.3} | {:.3} | {:.3} | {:.2} | {:.2} |\n",
        column(|t| t.lode),
        column(|t| t.datafusion),
        column(|t| t.duckdb),
        geomean(&vs_duckdb),
        geomean(&vs_datafusion)
    ));
    s.push_str(
        "\nWhere Lode's time goes (one more run of each plan): decoding, validating and planning \
         in wall milliseconds, then the operators' CPU time (DataFusion's metrics, summed over \
         partitions) and each kind's share of it. A scan's share is its decoding; exchange is \
         repartitioning and coalescing.\n\n| query | planning ms | CPU s |",
    );
    for kind in KINDS {
        s.push_str(&format!(" {kind} |"));
    }
    s.push_str("\n|---|---:|---:|");
    s.push_str(&"---:|".repeat(KINDS.len()));
    s.push('\n');
    for t in timings {
        let total: f64 = t.profile.cpu.iter().sum();
        s.push_str(&format!(
            "| {} | {:.1} | {total:.3} |",
            t.query,
            t.profile.planning * 1e3
        ));
        for part in t.profile.cpu {
            s.push_str(&format!(
                " {:.0}% |",
                100.0 * part / total.max(f64::MIN_POSITIVE)
            ));
        }
        s.push('\n');
    }
    s
}
