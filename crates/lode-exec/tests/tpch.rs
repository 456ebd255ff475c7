//! All 22 TPC-H plans in `plans/tpch/` return what DataFusion's SQL returns on the same data,
//! in the same order where the query orders.

mod common;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tpch_plans_match_datafusion_sql() {
    let engine = tpch_engine().await;
    let reference = reference_session().await;
    let plans_dir = repo_root().join("plans/tpch");
    let mut checked = 0;
    for n in 1..=22 {
        let name = format!("q{n:02}");
        let sql = std::fs::read_to_string(plans_dir.join(format!("{name}.sql"))).unwrap();
        let plan = lode_plan::read_plan_file(&plans_dir.join(format!("{name}.json"))).unwrap();
        let ours = run_plan_rows(&engine, &plan).await;
        let expected = reference_rows(&reference, &sql).await;
        assert!(
            !expected.is_empty(),
            "{name}: the reference returned no rows; the comparison would prove nothing"
        );
        // Every TPC-H query with an ORDER BY orders on a key that makes its order total here,
        // so ordered results must match row for row.
        if sql.to_lowercase().contains("order by") {
            assert_eq!(ours, expected, "{name}: rows differ (ordered)");
        } else {
            let (mut a, mut b) = (ours, expected);
            a.sort();
            b.sort();
            assert_eq!(a, b, "{name}: rows differ");
        }
        checked += 1;
    }
    assert_eq!(checked, 22);
}

/// The committed JSON plans, round-tripped through binary protobuf, still run the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_and_json_plans_agree() {
    let engine = tpch_engine().await;
    let path = repo_root().join("plans/tpch/q03.json");
    let json = lode_plan::read_plan_file(&path).unwrap();
    let bytes = lode_plan::encode_plan(&json.plan, lode_plan::PlanFormat::Binary);
    let binary = lode_plan::decode_plan(&bytes).unwrap();
    assert_eq!(binary.format, lode_plan::PlanFormat::Binary);
    assert_eq!(
        run_plan_rows(&engine, &json).await,
        run_plan_rows(&engine, &binary).await
    );
}
