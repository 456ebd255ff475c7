//! All 22 TPC-H plans in `plans/tpch/` return what DataFusion's SQL returns on the same data,
//! in the same order where the query orders.

use crate::common::*;

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
    let bytes = lode_plan::encode_plan(&json.plan, lode_plan::PlanFormat::Binary).unwrap();
    let binary = lode_plan::decode_plan(&bytes).unwrap();
    assert_eq!(binary.format, lode_plan::PlanFormat::Binary);
    assert_eq!(
        run_plan_rows(&engine, &json).await,
        run_plan_rows(&engine, &binary).await
    );
}

/// Plans written by `lode sql` say which extension defines each function: every declaration
/// resolves to a declared URN, standard ones where the standard extensions define the name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_plans_declare_standard_urns() {
    use substrait::proto::extensions::simple_extension_declaration::MappingType;
    let engine = tpch_engine().await;
    let plan = engine
        .sql_to_substrait("select l_returnflag, sum(l_extendedprice * (1 - l_discount)), count(*) from lineitem where l_shipdate <= date '1998-09-02' group by 1")
        .await
        .unwrap();
    let urn_of = |anchor: u32| {
        plan.extension_urns
            .iter()
            .find(|u| u.extension_urn_anchor == anchor)
            .map(|u| u.urn.as_str())
    };
    let mut seen = std::collections::BTreeMap::new();
    for decl in &plan.extensions {
        if let Some(MappingType::ExtensionFunction(f)) = &decl.mapping_type {
            seen.insert(
                f.name.clone(),
                urn_of(f.extension_urn_reference)
                    .expect("declared URN")
                    .to_string(),
            );
        }
    }
    assert_eq!(seen["lte"], "extension:io.substrait:functions_comparison");
    assert_eq!(
        seen["count"],
        "extension:io.substrait:functions_aggregate_generic"
    );
    assert_eq!(
        seen["sum"], "extension:io.substrait:functions_arithmetic_decimal",
        "sum of a decimal"
    );
    assert_eq!(
        seen["multiply"],
        "extension:io.substrait:functions_arithmetic_decimal"
    );
    // The committed TPC-H plans were written the same way.
    for n in 1..=22 {
        let path = repo_root().join(format!("plans/tpch/q{n:02}.json"));
        let decoded = lode_plan::read_plan_file(&path).unwrap();
        let diagnostics = engine.validate(&decoded);
        assert!(diagnostics.is_empty(), "q{n:02}: {diagnostics:?}");
        assert!(
            !decoded.plan.extension_urns.is_empty(),
            "q{n:02} declares no URNs"
        );
    }
}
