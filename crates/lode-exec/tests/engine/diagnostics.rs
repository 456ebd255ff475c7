//! Every diagnostic code, driven from `Code::ALL`: `tests/diagnostics/<CODE>.json` is a plan
//! that gets that code from what `lode validate` runs (decoding, then the engine's analysis
//! with the executor's checks, then, for B001, binding to the tables), over the table `people`
//! (`conformance/cases/data/people.csv`). A new code without a plan here fails the test.

use lode_exec::{Engine, EngineConfig, TableBindings};
use lode_plan::{Code, Severity};

use crate::common::repo_root;

async fn engine() -> Engine {
    let mut tables = TableBindings::new();
    tables
        .add(
            "people",
            &repo_root().join("conformance/cases/data/people.csv"),
        )
        .expect("bind people");
    Engine::new(&tables, EngineConfig::default())
        .await
        .expect("engine")
}

/// The codes `lode validate --data` reports for the plan in `bytes`.
async fn codes(engine: &Engine, bytes: &[u8]) -> Vec<Code> {
    let decoded = match lode_plan::decode_plan(bytes) {
        Ok(decoded) => decoded,
        Err(error) => return error.diagnostic().into_iter().map(|d| d.code).collect(),
    };
    let mut codes: Vec<Code> = engine
        .analyze(&decoded)
        .diagnostics
        .into_iter()
        .map(|d| d.code)
        .collect();
    let valid = !codes
        .iter()
        .any(|c| c.default_severity() == Severity::Error);
    if valid && engine.logical_plan(&decoded).await.is_err() {
        codes.push(Code::NotBound);
    }
    codes
}

#[tokio::test]
async fn every_code_has_a_plan_that_gets_it() {
    let engine = engine().await;
    let dir = repo_root().join("crates/lode-exec/tests/diagnostics");
    let mut failures = Vec::new();
    for &code in Code::ALL {
        let path = dir.join(format!("{code}.json"));
        let Ok(bytes) = std::fs::read(&path) else {
            failures.push(format!("{code}: no plan at {}", path.display()));
            continue;
        };
        let got = codes(&engine, &bytes).await;
        if !got.contains(&code) {
            failures.push(format!("{code}: {} gets {got:?}", path.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
