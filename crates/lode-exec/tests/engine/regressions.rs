//! Plans the fuzzer found that once crashed the consumer. Each must now fail with an error.

use crate::common::*;
use futures::StreamExt;

/// Q18 with a read's projection mask shortened and an emit index changed: a field reference
/// then pointed past DataFusion's input schema, which DataFusion indexes unchecked.
#[tokio::test]
async fn q18_with_shrunk_projection_mask_fails_cleanly() {
    let path =
        repo_root().join("crates/lode-exec/tests/regressions/q18-shrunk-projection-mask.json");
    let plan = lode_plan::read_plan_file(&path).unwrap();
    let engine = tpch_engine().await;
    let result = match engine.execute(&plan).await {
        Err(e) => Err(e.to_string()),
        Ok(mut stream) => {
            let mut outcome = Ok(());
            while let Some(batch) = stream.next().await {
                if let Err(e) = batch {
                    outcome = Err(e.to_string());
                }
            }
            outcome
        }
    };
    let error = result.expect_err("the plan is broken; it must not run");
    assert!(error.contains("out of range"), "{error}");
    assert!(
        !error.contains("crashed"),
        "caught by a check, not by the panic guard: {error}"
    );
}

/// A `variance(SAMPLE, x)` call declared under the largest anchor: renaming it to DataFusion's
/// `var_samp` needs a new anchor past u32::MAX, which overflowed. The call now stays as written
/// and the plan fails with an error naming the function.
#[tokio::test]
async fn aggregate_rename_with_no_free_anchor_fails_cleanly() {
    let text = r#"{
      "extensionUrns": [{"extensionUrnAnchor": 1, "urn": "extension:io.substrait:functions_arithmetic"}],
      "extensions": [{"extensionFunction": {"extensionUrnReference": 1, "functionAnchor": 4294967295, "name": "variance:req_fp64"}}],
      "relations": [{"root": {"names": ["v"], "input": {"aggregate": {
        "input": {"read": {"baseSchema": {"names": ["x"], "struct": {"types": [{"fp64": {}}]}},
                           "virtualTable": {"expressions": [{"fields": [{"literal": {"fp64": 1.0}}]}]}}},
        "measures": [{"measure": {"functionReference": 4294967295, "phase": "AGGREGATION_PHASE_INITIAL_TO_RESULT",
          "arguments": [{"enum": "SAMPLE"}, {"value": {"selection": {"directReference": {"structField": {}}, "rootReference": {}}}}]}}]
      }}}}]
    }"#;
    let plan = lode_plan::decode_plan(text.as_bytes()).unwrap();
    let engine = tpch_engine().await;
    assert!(
        !engine.validate(&plan).is_empty(),
        "the unrenamed variance is reported"
    );
    let error = match engine.execute(&plan).await {
        Err(e) => e.to_string(),
        Ok(_) => panic!("a variance DataFusion cannot resolve must not run"),
    };
    assert!(error.contains("variance"), "{error}");
}
