//! Plans in `plans/foreign/` reproduce what other producers write; each must run and return
//! what the equivalent SQL returns on the same data.

use crate::common::*;
use lode_plan::{Code, Severity};

async fn check(plan_file: &str, sql: &str) {
    let path = repo_root().join("plans/foreign").join(plan_file);
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("@DATA@", tpch_dir().to_str().unwrap());
    let plan = lode_plan::decode_plan(text.as_bytes()).unwrap();
    let engine = tpch_engine().await;
    let errors: Vec<_> = engine
        .validate(&plan)
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{plan_file}: {errors:?}");
    let mut ours = run_plan_rows(&engine, &plan).await;
    let mut expected = reference_rows(&reference_session().await, sql).await;
    assert!(
        !expected.is_empty(),
        "{plan_file}: the reference returned no rows"
    );
    ours.sort();
    expected.sort();
    assert_eq!(ours, expected, "{plan_file}");
}

#[tokio::test]
async fn upper_case_table_and_column_names() {
    check(
        "upper_case_names.json",
        "select n_name from nation where n_regionkey = 1",
    )
    .await;
}

#[tokio::test]
async fn varchar_literal() {
    check(
        "varchar_literal.json",
        "select n_nationkey from nation where n_name = 'BRAZIL'",
    )
    .await;
}

#[tokio::test]
async fn reference_rel_shared_subtree() {
    check("reference_rel.json", "select * from region where r_regionkey < 2 union all select * from region where r_regionkey < 2").await;
}

#[tokio::test]
async fn enum_typed_function_argument() {
    check(
        "enum_argument.json",
        "select extract(year from o_orderdate), count(*) from orders group by 1",
    )
    .await;
}

#[tokio::test]
async fn aggregate_without_output_type() {
    check(
        "aggregate_without_output_type.json",
        "select n_regionkey, count(n_nationkey), max(n_nationkey) from nation group by 1",
    )
    .await;
}

#[tokio::test]
async fn local_files_read() {
    check(
        "local_files.json",
        "select n_name from nation where n_regionkey = 4",
    )
    .await;
}

#[tokio::test]
async fn pre_urn_plan_with_extension_uris() {
    check(
        "legacy_extension_uris.json",
        "select n_name from nation where n_regionkey = 3",
    )
    .await;
    let path = repo_root().join("plans/foreign/legacy_extension_uris.json");
    let plan = lode_plan::read_plan_file(&path).unwrap();
    assert_eq!(
        plan.plan.extension_urns[0].urn,
        "extension:io.substrait:functions_comparison"
    );
    let diagnostics = lode_plan::validate_decoded(&plan, None);
    assert!(
        diagnostics
            .iter()
            .any(|d| d.code == Code::LegacyExtensionUri),
        "{diagnostics:?}"
    );
}

#[tokio::test]
async fn duckdb_project_without_emit_outputs_its_expressions() {
    check(
        "duckdb_project_without_emit.json",
        "select n_regionkey, n_name from nation",
    )
    .await;
    assert_dialect_hook(
        "duckdb_project_without_emit.json",
        "project-emits-expressions-only",
    );
}

#[tokio::test]
async fn read_filter_holds_for_every_row() {
    check(
        "read_filter.json",
        "select n_name from nation where n_regionkey = 1",
    )
    .await;
}

#[tokio::test]
async fn legacy_join_type_name() {
    check(
        "legacy_join_type_name.json",
        "select n_name from nation where n_regionkey in (select r_regionkey from region where r_regionkey < 2)",
    )
    .await;
    assert_dialect_hook("legacy_join_type_name.json", "legacy-join-type-names");
}

#[tokio::test]
async fn ibis_decimal_output_types_come_from_the_extension() {
    check(
        "ibis_decimal_output_type.json",
        "select o_totalprice * o_totalprice from orders where o_orderkey = 1",
    )
    .await;
    assert_dialect_hook(
        "ibis_decimal_output_type.json",
        "decimal-types-from-the-extension",
    );
}

#[tokio::test]
async fn duckdb_untyped_null_literal() {
    check(
        "duckdb_untyped_null.json",
        "select n_name, cast(null as bigint) from nation",
    )
    .await;
    assert_dialect_hook("duckdb_untyped_null.json", "untyped-null-literal");
}

#[tokio::test]
async fn duckdb_function_without_extension_and_constant_or_null() {
    check(
        "duckdb_function_without_extension.json",
        "select case when n_regionkey is null then null else n_nationkey end from nation where n_nationkey < 3",
    )
    .await;
    assert_dialect_hook(
        "duckdb_function_without_extension.json",
        "functions-without-extension",
    );
}

#[tokio::test]
async fn datafusion_if_then_with_base() {
    check(
        "if_then_with_base.json",
        "select n_name, case n_regionkey when 0 then 'AFRICA' when 1 then 'AMERICA' else 'ELSEWHERE' end from nation",
    )
    .await;
    assert_dialect_hook("if_then_with_base.json", "if-then-with-base");
}

#[tokio::test]
async fn datafusion_null_type_without_extension() {
    check(
        "datafusion_null_type.json",
        "select n_name, case when n_regionkey = 1 then n_nationkey else null end from nation where n_nationkey < 10 \
         union all select n_name, null from nation where n_nationkey >= 20",
    )
    .await;
    assert_dialect_hook("datafusion_null_type.json", "null-type-without-extension");
}

#[tokio::test]
async fn datafusion_grouping_call_over_grouping_id_after_keys() {
    check(
        "datafusion_grouping_call.json",
        "select n_regionkey, sum(n_nationkey), rank() over (partition by grouping(n_regionkey) order by sum(n_nationkey)) \
         from nation group by rollup(n_regionkey)",
    )
    .await;
    assert_dialect_hook("datafusion_grouping_call.json", "grouping-id-after-keys");
}

/// `lode validate` names the dialect hook a run applies (D003), so "valid" means "runs as
/// the producer meant".
fn assert_dialect_hook(file: &str, hook: &str) {
    let plan = lode_plan::read_plan_file(&repo_root().join("plans/foreign").join(file)).unwrap();
    let diagnostics = lode_plan::validate_decoded(&plan, None);
    assert!(
        diagnostics
            .iter()
            .any(|d| d.code == Code::DialectHook && d.message.contains(hook)),
        "{file}: no D003 for {hook}: {diagnostics:?}"
    );
}

/// DataFusion's stock consumer accepts a read's filter but only prunes with it: every
/// nation comes back, not the five of region 1.
#[tokio::test]
async fn stock_datafusion_consumer_ignores_read_filters() {
    let engine = tpch_engine().await;
    let plan =
        lode_plan::read_plan_file(&repo_root().join("plans/foreign/read_filter.json")).unwrap();
    let stock = datafusion_substrait::logical_plan::consumer::from_substrait_plan(
        &engine.session().state(),
        &plan.plan,
    )
    .await
    .unwrap();
    let rows = engine.execute_logical(stock).await.unwrap();
    let batches: Vec<_> = futures::TryStreamExt::try_collect(rows).await.unwrap();
    let count: usize = batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(
        count, 25,
        "the stock consumer now filters; the hook may be retired"
    );
}

/// Without Lode's hooks the same plans fail in DataFusion's stock consumer: the tests above
/// exercise the hooks, not behaviour DataFusion already had.
#[tokio::test]
async fn stock_datafusion_consumer_rejects_the_quirks() {
    let engine = tpch_engine().await;
    for file in [
        "upper_case_names.json",
        "varchar_literal.json",
        "reference_rel.json",
        "enum_argument.json",
        "local_files.json",
        "duckdb_project_without_emit.json",
    ] {
        let path = repo_root().join("plans/foreign").join(file);
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("@DATA@", tpch_dir().to_str().unwrap());
        let plan = lode_plan::decode_plan(text.as_bytes()).unwrap();
        let stock = datafusion_substrait::logical_plan::consumer::from_substrait_plan(
            &engine.session().state(),
            &plan.plan,
        )
        .await;
        assert!(
            stock.is_err(),
            "{file}: DataFusion's own consumer accepted it; the hook is not needed"
        );
    }
}
