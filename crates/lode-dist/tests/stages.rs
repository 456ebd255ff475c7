//! Plans cut into stages and run through pieces on disk return what the local engine returns.
//! TPC-H at SF 0.01, tables in four files, with four partitions per exchange, so every query
//! really shuffles.

#[path = "../../lode-exec/tests/engine/common.rs"]
mod common;

use std::path::Path;
use std::sync::OnceLock;

use common::{repo_root, rows, run_plan_rows};
use datafusion::arrow::array::RecordBatch;
use futures::TryStreamExt;
use lode_dist::{ExchangeKind, JobMetrics, ShuffleLayout, StageGraph, StageOutput};
use lode_exec::{Engine, EngineConfig, TableBindings};

/// TPC-H SF 0.01 with every table but `region` and `nation` in four files: distributed scans
/// keep files whole, so files are what spreads a scan over tasks.
fn tpch_parts() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        lode_datagen::tpch::generate_parts(0.01, 4, dir.path(), |_| {}).expect("generate TPC-H");
        dir
    })
    .path()
}

async fn engine() -> Engine {
    let mut tables = TableBindings::new();
    tables.add_data_dir(tpch_parts()).expect("bind TPC-H");
    let config = EngineConfig {
        target_partitions: 4,
        distributed: true,
        ..EngineConfig::default()
    };
    Engine::new(&tables, config).await.expect("engine")
}

async fn stages_of(engine: &Engine, plan: &lode_plan::DecodedPlan) -> StageGraph {
    let logical = engine
        .logical_plan(plan)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let physical = engine
        .physical_plan(&logical)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    lode_dist::split_into_stages(physical).unwrap_or_else(|e| panic!("{e}"))
}

async fn run_stages(
    engine: &Engine,
    graph: &StageGraph,
) -> lode_dist::Result<(Vec<Vec<String>>, JobMetrics)> {
    let work = tempfile::tempdir().expect("work dir");
    let layout = ShuffleLayout::new(work.path());
    let context = engine.session().task_ctx();
    let (stream, metrics) = lode_dist::run_in_process(graph, "job-1", &layout, context, 4).await?;
    let batches: Vec<RecordBatch> = stream
        .try_collect()
        .await
        .map_err(|e| lode_dist::DistError::Unsupported(e.to_string()))?;
    Ok((rows(&batches), metrics))
}

fn tpch_plan(n: usize) -> (String, lode_plan::DecodedPlan) {
    let path = repo_root().join(format!("plans/tpch/q{n:02}.json"));
    let sql = std::fs::read_to_string(path.with_extension("sql")).expect("query SQL");
    (sql, lode_plan::read_plan_file(&path).expect("plan"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tpch_through_stages_matches_the_local_engine() {
    let engine = engine().await;
    let mut kinds = Vec::new();
    let mut total = JobMetrics::default();
    for n in 1..=22 {
        let (sql, plan) = tpch_plan(n);
        let graph = stages_of(&engine, &plan).await;
        assert!(
            graph.len() >= 2,
            "q{n:02}: expected exchanges, got one stage"
        );
        // Stages start furthest from the result first: every input is further than its reader.
        let heights = graph.heights();
        for stage in graph.stages() {
            for (input, kind) in graph.inputs(stage.id) {
                assert!(
                    heights[input.0] > heights[stage.id.0],
                    "q{n:02}: {heights:?}"
                );
                kinds.push(kind);
            }
        }
        assert_eq!(heights[graph.len() - 1], 0, "q{n:02}: the result's height");
        let (mut ours, metrics) = run_stages(&engine, &graph)
            .await
            .unwrap_or_else(|e| panic!("q{n:02}: {e}\n{}", graph.display_text()));
        let mut local = run_plan_rows(&engine, &plan).await;
        assert!(
            !local.is_empty(),
            "q{n:02}: no rows; the comparison would prove nothing"
        );
        if !sql.to_lowercase().contains("order by") {
            ours.sort();
            local.sort();
        }
        assert_eq!(
            ours,
            local,
            "q{n:02}: rows differ\n{}",
            graph.display_text()
        );
        assert_eq!(metrics.stages, graph.len());
        total.rows_exchanged += metrics.rows_exchanged;
    }
    for kind in [
        ExchangeKind::Repartition,
        ExchangeKind::Merge,
        ExchangeKind::Scalar,
        ExchangeKind::Broadcast,
    ] {
        assert!(
            kinds.contains(&kind),
            "no TPC-H query used a {kind} exchange"
        );
    }
    assert!(total.rows_exchanged > 0);
}

/// Q1 is the classic two-phase aggregate: partial aggregates per scan partition, hashed on the
/// group keys, final aggregates per key, then sorted and merged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aggregate_splits_at_its_repartition_and_its_merge() {
    let engine = engine().await;
    let (_, plan) = tpch_plan(1);
    let graph = stages_of(&engine, &plan).await;
    let text = graph.display_text();
    assert_eq!(graph.len(), 3, "{text}");
    let scan = graph.stages().next().unwrap();
    assert!(
        matches!(&scan.output, StageOutput::Repartitioned(p) if p.partition_count() == 4),
        "{text}"
    );
    assert!(text.contains("AggregateExec: mode=Partial"), "{text}");
    assert!(text.contains("hash(l_returnflag"), "{text}");
    let result = graph.result_stage().unwrap();
    assert_eq!(result.tasks(), 1, "{text}");
    assert_eq!(graph.heights(), vec![2, 1, 0]);
    assert_eq!(
        graph.inputs(result.id),
        vec![(lode_dist::StageId(1), ExchangeKind::Merge)]
    );

    let dot = graph.display_dot();
    assert!(dot.starts_with("digraph stages {"), "{dot}");
    assert_eq!(dot.matches(" -> s").count(), 2, "{dot}");
    assert!(dot.contains("label=\"hash(l_returnflag"), "{dot}");
    assert!(dot.contains("label=\"merge\""), "{dot}");
}

/// A task that fails names its stage and task, and the job stops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_task_fails_the_job_with_its_stage_and_task() {
    let engine = engine().await;
    let plan = engine
        .sql_to_substrait(
            "select n_regionkey, sum(100 / (n_nationkey - n_nationkey)) from nation group by n_regionkey",
        )
        .await
        .unwrap();
    let decoded = lode_plan::DecodedPlan::new(plan, lode_plan::PlanFormat::Json);
    let graph = stages_of(&engine, &decoded).await;
    let error = run_stages(&engine, &graph)
        .await
        .expect_err("division by zero")
        .to_string();
    assert!(error.contains("stage 0 task"), "{error}");
    assert!(error.to_lowercase().contains("divide by zero"), "{error}");
}

/// A Wasm aggregate's partial states cross an exchange as bytes and merge in the final phase;
/// a Wasm scalar function runs inside scan stages. Both must equal the local engine's result.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wasm_functions_and_aggregate_states_cross_stages() {
    let engine = engine().await;
    let modules: Vec<_> = ["geomean", "gcd"]
        .iter()
        .map(|name| {
            let path = repo_root().join(format!("guests/out/{name}.wasm"));
            let bytes = std::fs::read(&path).unwrap_or_else(|e| {
                panic!(
                    "{}: {e}; build the guests with `make guests`",
                    path.display()
                )
            });
            engine.register_module(bytes).expect("module loads")
        })
        .collect();
    let sql = "SELECT l_returnflag, geomean(CAST(l_quantity AS DOUBLE)) AS gm, \
               sum(gcd(l_orderkey, l_partkey)) AS g, count(*) AS n \
               FROM lineitem GROUP BY l_returnflag ORDER BY l_returnflag";
    let plan = lode_plan::DecodedPlan::new(
        engine
            .sql_to_substrait_with(sql, &modules)
            .await
            .expect("plan from SQL"),
        lode_plan::PlanFormat::Json,
    );
    let graph = stages_of(&engine, &plan).await;
    let text = graph.display_text();
    assert!(
        text.contains("geomean") && text.contains("mode=Partial"),
        "{text}"
    );
    let (ours, metrics) = run_stages(&engine, &graph)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    let local = run_plan_rows(&engine, &plan).await;
    assert_eq!(ours.len(), 3, "{ours:?}");
    // Partial states merge in another order than locally: the mean agrees to rounding.
    for (a, b) in ours.iter().zip(&local) {
        assert_eq!((&a[0], &a[2], &a[3]), (&b[0], &b[2], &b[3]));
        let (x, y): (f64, f64) = (a[1].parse().unwrap(), b[1].parse().unwrap());
        assert!((x - y).abs() <= 1e-9 * y.abs(), "{x} vs {y}");
    }
    // Only partial states crossed the exchange: a few rows per scan task, not the 60,175 scanned.
    assert!(metrics.rows_exchanged < 100, "{metrics:?}");
}
