//! Plans the fuzzer found that once crashed the consumer. Each must now fail with an error.

mod common;

use common::*;
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
