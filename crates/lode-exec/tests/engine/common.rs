//! Shared by the integration tests (lode-dist's include it too): TPC-H data generated once per
//! test binary, and results rendered as rows of strings for comparison.

#![allow(dead_code)] // each test binary uses a different part

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use futures::TryStreamExt;
use lode_exec::{Engine, EngineConfig, TableBindings};

/// The repository root (tests run from the crate directory).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// TPC-H at SF 0.01, generated on first use into a directory that lives as long as the process.
pub fn tpch_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        lode_datagen::tpch::generate(0.01, dir.path(), |_| {}).expect("generate TPC-H");
        dir
    })
    .path()
}

pub async fn tpch_engine() -> Engine {
    let mut tables = TableBindings::new();
    tables.add_data_dir(tpch_dir()).expect("bind TPC-H");
    Engine::new(&tables, EngineConfig::default())
        .await
        .expect("engine")
}

/// A plain DataFusion session over the same TPC-H files: the reference.
pub async fn reference_session() -> SessionContext {
    let ctx = SessionContext::new();
    for table in lode_datagen::tpch::TABLES {
        let path = tpch_dir().join(format!("{table}.parquet"));
        ctx.register_parquet(table, path.to_str().unwrap(), ParquetReadOptions::default())
            .await
            .unwrap();
    }
    ctx
}

pub async fn reference_rows(ctx: &SessionContext, sql: &str) -> Vec<Vec<String>> {
    let batches = ctx
        .sql(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .collect()
        .await
        .unwrap();
    rows(&batches)
}

pub async fn run_plan_rows(engine: &Engine, plan: &lode_plan::DecodedPlan) -> Vec<Vec<String>> {
    let stream = engine.execute(plan).await.unwrap_or_else(|e| panic!("{e}"));
    let batches: Vec<RecordBatch> = stream.try_collect().await.unwrap();
    rows(&batches)
}

/// Every cell formatted as text, row by row.
pub fn rows(batches: &[RecordBatch]) -> Vec<Vec<String>> {
    let options = FormatOptions::default().with_null("NULL");
    let mut out = Vec::new();
    for batch in batches {
        let formatters: Vec<ArrayFormatter> = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).unwrap())
            .collect();
        for row in 0..batch.num_rows() {
            out.push(
                formatters
                    .iter()
                    .map(|f| f.value(row).to_string())
                    .collect(),
            );
        }
    }
    out
}
