//! Wasm extensions end to end: plans produced from SQL with real guests (`make guests`),
//! encoded, decoded and run; hostile guests fail their query and leave the engine healthy.

use crate::common;

use std::path::PathBuf;
use std::time::Duration;

use datafusion::arrow::array::RecordBatch;
use futures::TryStreamExt;
use lode_exec::{Engine, EngineConfig, TableBindings};
use lode_plan::{DecodedPlan, PlanFormat, decode_plan, encode_plan};
use substrait::proto::Plan;

fn guest(name: &str) -> Vec<u8> {
    let path = common::repo_root()
        .join("guests/out")
        .join(format!("{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; build the guests first with `make guests`",
            path.display()
        )
    })
}

/// A table `comments(id, text, score)` split over three CSV files (so scans have partitions).
fn comments_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("comments");
    std::fs::create_dir(&table).unwrap();
    let rows = [
        (1, "I love this, it is great!", 10.0),
        (2, "terrible and useless", 2.0),
        (3, "not good at all", 3.0),
        (4, "the cat sat on the mat", 5.0),
        (5, "awesome work, thanks", 8.0),
        (6, "very bad", 1.0),
        (7, "meh", 4.0),
        (8, "wonderful", 9.0),
        (9, "boring and slow", 2.5),
    ];
    for (part, chunk) in rows.chunks(3).enumerate() {
        let mut csv = String::from("id,text,score\n");
        for (id, text, score) in chunk {
            csv.push_str(&format!("{id},\"{text}\",{score:.1}\n"));
        }
        std::fs::write(table.join(format!("part{part}.csv")), csv).unwrap();
    }
    dir
}

async fn engine(data: &std::path::Path, limits: lode_wasm::Limits) -> Engine {
    let mut tables = TableBindings::new();
    tables.add_data_dir(data).unwrap();
    let mut config = EngineConfig {
        target_partitions: 3,
        module_cache: None,
        ..EngineConfig::default()
    };
    config.wasm_policy.limits = limits;
    Engine::new(&tables, config).await.unwrap()
}

async fn plan_from_sql(engine: &Engine, sql: &str, modules: &[&str]) -> Plan {
    let loaded: Vec<_> = modules
        .iter()
        .map(|m| engine.register_module(guest(m)).unwrap())
        .collect();
    engine.sql_to_substrait_with(sql, &loaded).await.unwrap()
}

/// Encodes the plan as `format` and decodes it again, as `lode run` would read it.
fn round_trip(plan: &Plan, format: PlanFormat) -> DecodedPlan {
    decode_plan(&encode_plan(plan, format).unwrap()).unwrap()
}

async fn run(engine: &Engine, plan: &DecodedPlan) -> lode_exec::Result<Vec<RecordBatch>> {
    let stream = engine.execute(plan).await?;
    stream
        .try_collect()
        .await
        .map_err(lode_exec::ExecError::datafusion("executing"))
}

#[tokio::test]
async fn sentiment_struct_from_a_plan_carrying_its_module() {
    let data = comments_dir();
    let producer = engine(data.path(), Default::default()).await;
    let sql = "SELECT id, sentiment(text)['compound'] AS c FROM comments ORDER BY id";
    let plan = plan_from_sql(&producer, sql, &["sentiment"]).await;
    // A fresh engine that never saw the module: it comes from the plan.
    let consumer = engine(data.path(), Default::default()).await;
    for format in [PlanFormat::Json, PlanFormat::Binary] {
        let batches = run(&consumer, &round_trip(&plan, format)).await.unwrap();
        let rows = common::rows(&batches);
        assert_eq!(rows.len(), 9);
        let compound: Vec<f64> = rows.iter().map(|r| r[1].parse().unwrap()).collect();
        assert!(compound[0] > 0.5, "{rows:?}");
        assert!(compound[1] < -0.5, "{rows:?}");
        assert!(compound[2] < 0.0, "{rows:?}");
        assert_eq!(compound[3], 0.0, "{rows:?}");
    }
}

#[tokio::test]
async fn aggregate_state_merges_across_partitions() {
    let data = comments_dir();
    let engine = engine(data.path(), Default::default()).await;
    let sql = "SELECT id % 3 AS g, geomean(score) AS gm FROM comments GROUP BY id % 3 ORDER BY g";
    let plan = round_trip(
        &plan_from_sql(&engine, sql, &["geomean"]).await,
        PlanFormat::Json,
    );
    let rows = common::rows(&run(&engine, &plan).await.unwrap());
    let scores = [10.0, 2.0, 3.0, 5.0, 8.0, 1.0, 4.0, 9.0, 2.5];
    for row in &rows {
        let g: usize = row[0].parse().unwrap();
        let members: Vec<f64> = (1..=9)
            .filter(|id| id % 3 == g)
            .map(|id| scores[id - 1])
            .collect();
        let expected =
            (members.iter().map(|x: &f64| x.ln()).sum::<f64>() / members.len() as f64).exp();
        let actual: f64 = row[1].parse().unwrap();
        assert!(
            (actual - expected).abs() < 1e-9,
            "group {g}: {actual} vs {expected}"
        );
    }
    assert_eq!(rows.len(), 3);

    let whole = round_trip(
        &plan_from_sql(&engine, "SELECT geomean(score) FROM comments", &["geomean"]).await,
        PlanFormat::Binary,
    );
    let rows = common::rows(&run(&engine, &whole).await.unwrap());
    let expected = (scores.iter().map(|x| x.ln()).sum::<f64>() / 9.0).exp();
    assert!((rows[0][0].parse::<f64>().unwrap() - expected).abs() < 1e-9);
}

/// A guest's linear memory is held in the engine's memory pool: under a process bound far
/// below the guest's own cap, a guest that allocates without end is stopped at the bound,
/// with an error naming the flag, and what it held is given back (the next query runs).
#[tokio::test]
async fn guest_memory_counts_against_the_engines_memory_bound() {
    let data = comments_dir();
    let mut tables = TableBindings::new();
    tables.add_data_dir(data.path()).unwrap();
    let mut config = EngineConfig {
        target_partitions: 3,
        module_cache: None,
        ..EngineConfig::default()
    };
    config.memory.limit = Some(48 << 20);
    let engine = Engine::new(&tables, config).await.unwrap();
    let error = evil_error(&engine, "memory_bomb", "id").await;
    assert!(
        error.contains("could not grow within the process's memory bound")
            && error.contains("raise --memory-limit")
            && error.contains("Wasm module 'evil'"),
        "{error}"
    );
    let sql = "SELECT sum(identity(id)) FROM comments";
    let plan = round_trip(
        &plan_from_sql(&engine, sql, &["evil"]).await,
        PlanFormat::Binary,
    );
    let rows = common::rows(&run(&engine, &plan).await.unwrap());
    assert_eq!(rows, vec![vec!["45".to_string()]]);
}

/// Runs `SELECT <function>(id) FROM comments` with the evil guest and returns the error.
async fn evil_error(engine: &Engine, function: &str, column: &str) -> String {
    let sql = format!("SELECT {function}({column}) FROM comments");
    let plan = round_trip(
        &plan_from_sql(engine, &sql, &["evil"]).await,
        PlanFormat::Binary,
    );
    match run(engine, &plan).await {
        Ok(batches) => panic!("{function} succeeded: {:?}", common::rows(&batches)),
        Err(e) => e.to_string(),
    }
}

#[tokio::test]
async fn hostile_guests_fail_their_query_and_the_engine_lives_on() {
    let data = comments_dir();
    let limits = lode_wasm::Limits {
        memory_bytes: 64 << 20,
        call_timeout: Duration::from_millis(300),
    };
    let engine = engine(data.path(), limits).await;
    let cases = [
        ("spin", "id", "ran longer than its 0.3s limit"),
        (
            "memory_bomb",
            "id",
            "exceeded its memory limit of 67108864 bytes",
        ),
        (
            "trap_mid_batch",
            "id",
            "deliberate panic in the middle of a batch",
        ),
        ("wrong_length", "id", "has 1 rows, the batch says 3"),
        ("malformed", "id", "returned malformed data"),
        (
            "fail_on_negative",
            "id * 0 - 4",
            "at row 0 of its batch: negative input (arguments: -4)",
        ),
    ];
    for (function, column, expected) in cases {
        let error = evil_error(&engine, function, column).await;
        assert!(error.contains("module 'evil'"), "{function}: {error}");
        assert!(
            error.contains(&format!("function '{function}'")),
            "{function}: {error}"
        );
        assert!(
            error.contains(expected),
            "{function}: expected '{expected}' in: {error}"
        );
        // The same engine, and the same module, still run the next query.
        let sql = "SELECT sum(identity(id)) FROM comments";
        let plan = round_trip(
            &plan_from_sql(&engine, sql, &["evil"]).await,
            PlanFormat::Binary,
        );
        assert_eq!(
            common::rows(&run(&engine, &plan).await.unwrap()),
            vec![vec!["45".to_string()]]
        );
    }
}

fn with_module_table(
    plan: &Plan,
    edit: impl FnOnce(&mut lode_plan::ext::WasmModule),
) -> DecodedPlan {
    let mut plan = plan.clone();
    let mut table = lode_plan::ext::module_table(&plan).unwrap();
    edit(&mut table.modules[0]);
    lode_plan::ext::set_module_table(&mut plan, &table);
    round_trip(&plan, PlanFormat::Binary)
}

#[tokio::test]
async fn bad_module_tables_are_rejected_with_reasons() {
    let data = comments_dir();
    let producer = engine(data.path(), Default::default()).await;
    let plan = plan_from_sql(&producer, "SELECT gcd(id, 6) FROM comments", &["gcd"]).await;
    let consumer = engine(data.path(), Default::default()).await;

    let tampered = with_module_table(&plan, |m| m.component[100] ^= 0xff);
    let error = run(&consumer, &tampered).await.unwrap_err().to_string();
    assert!(error.contains("module bytes hash to sha256"), "{error}");

    let stripped = with_module_table(&plan, |m| m.component.clear());
    let error = run(&consumer, &stripped).await.unwrap_err().to_string();
    assert!(
        error.contains("carries no bytes and is not in this host's module store"),
        "{error}"
    );

    let not_wasm = with_module_table(&plan, |m| {
        m.component = b"not a component".to_vec();
        m.sha256 = lode_wasm::sha256_hex(&m.component);
    });
    let error = run(&consumer, &not_wasm).await.unwrap_err().to_string();
    assert!(
        error.contains("is not a valid WebAssembly component"),
        "{error}"
    );

    let greedy = with_module_table(&plan, |m| {
        m.capabilities = vec![lode_plan::ext::proto::Capability::Clocks as i32]
    });
    let error = run(&consumer, &greedy).await.unwrap_err().to_string();
    assert!(error.contains("asks for capability 'clocks'"), "{error}");

    // The untouched plan runs.
    let rows = common::rows(
        &run(&consumer, &round_trip(&plan, PlanFormat::Binary))
            .await
            .unwrap(),
    );
    assert_eq!(rows.len(), 9);
}

#[test]
fn guests_are_built() {
    for name in [
        "gcd",
        "sentiment",
        "geomean",
        "evil",
        "word-count",
        "top-k",
        "loan-risk",
    ] {
        let path: PathBuf = common::repo_root()
            .join("guests/out")
            .join(format!("{name}.wasm"));
        assert!(
            path.exists(),
            "{} missing: run `make guests`",
            path.display()
        );
    }
}

/// An engine with `plans/wasm/reviews.csv` bound as `reviews` and `modules` supplied, as
/// `lode run --table reviews=... --module ...` sets it up.
async fn reviews_engine(modules: &[&str], partitions: usize) -> Engine {
    let mut tables = TableBindings::new();
    tables
        .add(
            "reviews",
            &common::repo_root().join("plans/wasm/reviews.csv"),
        )
        .unwrap();
    let config = EngineConfig {
        target_partitions: partitions,
        module_cache: None,
        ..EngineConfig::default()
    };
    let engine = Engine::new(&tables, config).await.unwrap();
    for m in modules {
        engine.register_module(guest(m)).unwrap();
    }
    engine
}

fn hand_written(name: &str) -> DecodedPlan {
    let path = common::repo_root().join("plans/wasm").join(name);
    decode_plan(&std::fs::read(&path).unwrap()).unwrap()
}

#[tokio::test]
async fn table_function_partitions_cover_every_row_once() {
    let data = comments_dir();
    let producer = engine(data.path(), Default::default()).await;
    // 600 001 rows: three partitions of the guest's 250 000, the last one short.
    let sql = "SELECT count(*), count(DISTINCT id), min(id), max(id), sum(credit_score) \
               FROM random_loans(600001, 3)";
    let plan = plan_from_sql(&producer, sql, &["loan-risk"]).await;
    let mut sums = Vec::new();
    for partitions in [1, 3] {
        let mut tables = TableBindings::new();
        tables.add_data_dir(data.path()).unwrap();
        let config = EngineConfig {
            target_partitions: partitions,
            module_cache: None,
            ..EngineConfig::default()
        };
        let consumer = Engine::new(&tables, config).await.unwrap();
        let rows = common::rows(
            &run(&consumer, &round_trip(&plan, PlanFormat::Json))
                .await
                .unwrap(),
        );
        assert_eq!(rows[0][..4], ["600001", "600001", "0", "600000"]);
        sums.push(rows[0][4].clone());
    }
    assert_eq!(
        sums[0], sums[1],
        "the table does not depend on partitioning"
    );
}

#[tokio::test]
async fn table_function_arguments_are_checked_by_the_guest() {
    let data = comments_dir();
    let engine = engine(data.path(), Default::default()).await;
    engine.register_module(guest("loan-risk")).unwrap();
    let error = engine
        .sql_to_substrait("SELECT * FROM random_loans('many', 1)")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("random_loans(rows i64, seed i64) was called with (string, i64)"),
        "{error}"
    );
    let error = engine
        .sql_to_substrait("SELECT * FROM random_loans(10, random())")
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("must be a literal"), "{error}");
}

#[tokio::test]
async fn flat_map_operator_feeds_an_aggregate() {
    let engine = reviews_engine(&["word-count"], 3).await;
    let rows = common::rows(
        &run(&engine, &hand_written("word_count.json"))
            .await
            .unwrap(),
    );
    assert_eq!(
        rows,
        [
            ["the", "8"],
            ["and", "4"],
            ["is", "3"],
            ["it", "3"],
            ["a", "2"]
        ]
    );
}

#[tokio::test]
async fn hashed_operator_keeps_the_top_k_of_each_group() {
    for partitions in [1, 2, 4] {
        let engine = reviews_engine(&["top-k"], partitions).await;
        let rows = common::rows(
            &run(&engine, &hand_written("top_reviews.json"))
                .await
                .unwrap(),
        );
        let got: Vec<(String, String)> = rows
            .iter()
            .map(|r| (r[0].clone(), r[2].clone() + "/" + &r[3]))
            .collect();
        assert_eq!(
            got,
            [
                ("blender", "5.0/1"),
                ("blender", "4.0/2"),
                ("kettle", "5.0/1"),
                ("kettle", "4.0/2"),
                ("toaster", "5.0/1"),
                ("toaster", "4.0/2"),
            ]
            .map(|(p, s)| (p.to_string(), s.to_string())),
            "{partitions} partitions"
        );
    }
}

#[tokio::test]
async fn aggregate_and_scalar_by_module_name_in_a_hand_written_plan() {
    let engine = reviews_engine(&["loan-risk"], 2).await;
    let rows = common::rows(&run(&engine, &hand_written("loan_risk.json")).await.unwrap());
    let bands: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(bands, ["300", "400", "500", "600", "700", "800"]);
    let loans: u64 = rows.iter().map(|r| r[1].parse::<u64>().unwrap()).sum();
    assert_eq!(loans, 1_000_000);
    let risks: Vec<f64> = rows.iter().map(|r| r[2].parse().unwrap()).collect();
    assert!(
        risks.windows(2).all(|w| w[0] > w[1]),
        "risk falls as credit rises: {risks:?}"
    );
}

#[tokio::test]
async fn approximate_distinct_merges_sketches_across_partitions() {
    let data = comments_dir();
    let engine = engine(data.path(), Default::default()).await;
    let sql =
        "SELECT approx_distinct(text), approx_distinct(CAST(id % 4 AS VARCHAR)) FROM comments";
    let plan = plan_from_sql(&engine, sql, &["word-count"]).await;
    let rows = common::rows(
        &run(&engine, &round_trip(&plan, PlanFormat::Binary))
            .await
            .unwrap(),
    );
    assert_eq!(rows, [["9", "4"]]);
}

#[tokio::test]
async fn relation_plans_that_do_not_match_their_guest_are_rejected() {
    let engine = reviews_engine(&["top-k"], 2).await;
    let original =
        std::fs::read_to_string(common::repo_root().join("plans/wasm/top_reviews.json")).unwrap();
    let cases = [
        (
            "\"name\": \"rank\"",
            "\"name\": \"place\"",
            "but the guest binds",
        ),
        ("k=2,", "k=0,", "k must be an integer"),
        (
            "\"module\": \"top-k\"",
            "\"module\": \"top-j\"",
            "no module of that name was supplied",
        ),
        ("\"name\": \"top_k\"", "\"name\": \"bottom_k\"", "bottom_k"),
    ];
    for (from, to, needle) in cases {
        assert!(original.contains(from), "{from}");
        let plan = decode_plan(original.replacen(from, to, 1).as_bytes()).unwrap();
        let error = run(&engine, &plan).await.unwrap_err().to_string();
        assert!(error.contains(needle), "{to}: {error}");
    }
    let mut plan: serde_json::Value = serde_json::from_str(&original).unwrap();
    plan["relations"][0]["root"]["input"]["sort"]["input"]["extensionSingle"]["detail"]["distribution"]
        ["fields"] = serde_json::json!([9]);
    let plan = decode_plan(plan.to_string().as_bytes()).unwrap();
    let error = run(&engine, &plan).await.unwrap_err().to_string();
    assert!(error.contains("field 9 is out of range"), "{error}");
}

#[tokio::test]
async fn hostile_operators_and_outputs_fail_and_the_engine_lives_on() {
    let data = comments_dir();
    let limits = lode_wasm::Limits {
        memory_bytes: 128 << 20,
        ..Default::default()
    };
    let engine = engine(data.path(), limits).await;
    let error = evil_error(&engine, "oversized", "id").await;
    assert!(
        error.contains("module 'evil'") && error.contains("oversized"),
        "{error}"
    );
    assert!(error.contains("memory"), "{error}");

    // The same engine runs the next query.
    let plan = plan_from_sql(&engine, "SELECT identity(id) FROM comments", &["evil"]).await;
    assert_eq!(
        run(&engine, &round_trip(&plan, PlanFormat::Json))
            .await
            .unwrap()
            .len(),
        3
    );

    // An operator that binds an i64 output but emits strings.
    let engine = reviews_engine(&["evil"], 2).await;
    let mut plan: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(common::repo_root().join("plans/wasm/top_reviews.json")).unwrap(),
    )
    .unwrap();
    let mut operator = plan["relations"][0]["root"]["input"]["sort"]["input"].take();
    operator["extensionSingle"]["detail"] = serde_json::json!({
        "@type": "type.googleapis.com/lode.ext.v1.WasmRel",
        "module": "evil",
        "name": "mislabeled"
    });
    plan["relations"][0]["root"] = serde_json::json!({"input": operator, "names": ["x"]});
    let plan = decode_plan(plan.to_string().as_bytes()).unwrap();
    let error = run(&engine, &plan).await.unwrap_err().to_string();
    assert!(
        error.contains("module 'evil'") && error.contains("mislabeled"),
        "{error}"
    );
}
