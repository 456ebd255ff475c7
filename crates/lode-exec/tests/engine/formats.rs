//! Tables in every supported format and layout: CSV with a header, Arrow IPC, Parquet, a
//! directory of files; names matched case-insensitively; clashing names rejected.

use std::fs::File;
use std::path::Path;

use crate::common::*;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::csv;
use datafusion::arrow::ipc::writer::FileWriter;
use datafusion::parquet::arrow::ArrowWriter;
use lode_exec::{Engine, EngineConfig, ExecError, TableBindings};

async fn read_table(table: &str) -> Vec<RecordBatch> {
    reference_session()
        .await
        .sql(&format!("select * from {table}"))
        .await
        .unwrap()
        .collect()
        .await
        .unwrap()
}

fn write_csv(path: &Path, batches: &[RecordBatch]) {
    let mut writer = csv::WriterBuilder::new()
        .with_header(true)
        .build(File::create(path).unwrap());
    batches.iter().for_each(|b| writer.write(b).unwrap());
}

fn write_arrow(path: &Path, batches: &[RecordBatch]) {
    let mut writer =
        FileWriter::try_new(File::create(path).unwrap(), &batches[0].schema()).unwrap();
    batches.iter().for_each(|b| writer.write(b).unwrap());
    writer.finish().unwrap();
}

fn write_parquet(path: &Path, batches: &[RecordBatch]) {
    let mut writer =
        ArrowWriter::try_new(File::create(path).unwrap(), batches[0].schema(), None).unwrap();
    batches.iter().for_each(|b| writer.write(b).unwrap());
    writer.close().unwrap();
}

#[tokio::test]
async fn csv_arrow_and_directory_tables_answer_like_parquet() {
    let dir = tempfile::tempdir().unwrap();
    let nation = read_table("nation").await;
    let region = read_table("region").await;
    let orders = read_table("orders").await;
    write_csv(&dir.path().join("Nation.csv"), &nation); // mixed case: still table `nation`
    write_arrow(&dir.path().join("region.arrow"), &region);
    // A directory table: the orders split over two Parquet files.
    std::fs::create_dir(dir.path().join("orders")).unwrap();
    let half = orders.len() / 2;
    write_parquet(
        &dir.path().join("orders/part-0.parquet"),
        &orders[..half.max(1)],
    );
    write_parquet(
        &dir.path().join("orders/part-1.parquet"),
        &orders[half.max(1)..],
    );

    let mut tables = TableBindings::new();
    tables.add_data_dir(dir.path()).unwrap();
    assert_eq!(tables.names(), ["nation", "orders", "region"]);
    let engine = Engine::new(&tables, EngineConfig::default()).await.unwrap();
    let sql = "select r_name, count(distinct n_nationkey) as nations, count(o_orderkey) as orders \
               from region join nation on n_regionkey = r_regionkey \
               join orders on o_custkey % 25 = n_nationkey group by r_name order by r_name";
    let plan = engine.sql_to_substrait(sql).await.unwrap();
    let bytes = lode_plan::encode_plan(&plan, lode_plan::PlanFormat::Binary).unwrap();
    let decoded = lode_plan::decode_plan(&bytes).unwrap();
    let ours = run_plan_rows(&engine, &decoded).await;
    let expected = reference_rows(&reference_session().await, sql).await;
    assert_eq!(ours.len(), 5);
    assert_eq!(ours, expected);
}

#[test]
fn names_differing_only_in_case_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("nation.csv"), "a\n1\n").unwrap();
    std::fs::write(dir.path().join("NATION.csv"), "a\n2\n").unwrap();
    let mut tables = TableBindings::new();
    match tables.add_data_dir(dir.path()) {
        Err(ExecError::Table { message, .. }) => {
            assert!(message.contains("case-insensitive"), "{message}")
        }
        other => panic!("expected a clash, got {other:?}"),
    }
}

#[test]
fn unusable_bindings_say_why() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "hello").unwrap();
    let mut tables = TableBindings::new();
    let err = tables.add("t", &text).unwrap_err().to_string();
    assert!(
        err.contains("notes.txt") && err.contains("unknown file type"),
        "{err}"
    );
    let mixed = dir.path().join("mixed");
    std::fs::create_dir(&mixed).unwrap();
    std::fs::write(mixed.join("a.csv"), "a\n1\n").unwrap();
    std::fs::write(mixed.join("b.parquet"), "x").unwrap();
    let err = tables.add("m", &mixed).unwrap_err().to_string();
    assert!(err.contains("mixes file formats"), "{err}");
    let err = tables
        .add("e", &dir.path().join("nope"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("no such file or directory"), "{err}");
}
