//! Driver guests from `guests/` (build them with `make guests`) on the embedded engine: the
//! example drivers' results against references computed here, the plans they emit, and the
//! limits and errors of `evil-driver`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, Int32Type, Int64Type};
use futures::TryStreamExt;
use lode_driver::{Driver, DriverError, DriverLimits, Session};
use lode_exec::{Engine, EngineConfig, TableBindings};
use lode_plan::{DecodedPlan, PlanFormat};

fn guest(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../guests/out")
        .join(format!("{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; build the guests with `make guests`",
            path.display()
        )
    })
}

async fn engine(tables: &[(&str, &Path)]) -> Arc<Engine> {
    let mut bindings = TableBindings::new();
    for (name, path) in tables {
        bindings.add(name, path).unwrap();
    }
    Arc::new(
        Engine::new(&bindings, EngineConfig::default())
            .await
            .unwrap(),
    )
}

/// A session on `engine` whose progress lines are kept in `log`.
fn session(engine: &Arc<Engine>, limits: DriverLimits, log: &Arc<Mutex<Vec<String>>>) -> Session {
    let log = Arc::clone(log);
    Session {
        planner: Arc::clone(engine),
        target: Some(Arc::new(lode_exec::Embedded::new(Arc::clone(engine)))),
        limits,
        progress: Arc::new(move |line: &str| log.lock().unwrap().push(line.to_string())),
    }
}

fn args(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

async fn drive(
    engine: &Arc<Engine>,
    name: &str,
    pairs: &[(&str, &str)],
    limits: DriverLimits,
) -> (Result<Vec<RecordBatch>, DriverError>, Vec<String>) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let driver = Driver::load(engine.wasm().unwrap(), &guest(name), name).unwrap();
    let outcome = driver
        .run(session(engine, limits, &log), &args(pairs))
        .await;
    let result = match outcome {
        Ok(outcome) => Ok(match outcome.result {
            Some(stream) => stream.try_collect().await.unwrap(),
            None => Vec::new(),
        }),
        Err(e) => Err(e),
    };
    let log = log.lock().unwrap().clone();
    (result, log)
}

/// Points around four centres, from a fixed seed (xorshift, Box-Muller).
fn points(n: usize) -> Vec<(f64, f64)> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let centres = [(0.0, 0.0), (10.0, 10.0), (-8.0, 6.0), (5.0, -7.0)];
    (0..n)
        .map(|i| {
            let (u, v) = (uniform().max(1e-12), uniform());
            let r = (-2.0 * u.ln()).sqrt() * 1.5;
            let (cx, cy) = centres[i % centres.len()];
            (
                cx + r * (std::f64::consts::TAU * v).cos(),
                cy + r * (std::f64::consts::TAU * v).sin(),
            )
        })
        .collect()
}

fn write_points(dir: &Path, points: &[(f64, f64)]) -> PathBuf {
    let path = dir.join("points.csv");
    let mut text = String::from("x,y\n");
    for (x, y) in points {
        // `{:?}` is the shortest text that reads back as the same f64.
        text.push_str(&format!("{x:?},{y:?}\n"));
    }
    std::fs::write(&path, text).unwrap();
    path
}

fn nearest(p: (f64, f64), centroids: &[(f64, f64)]) -> usize {
    let mut best = (0, f64::INFINITY);
    for (i, c) in centroids.iter().enumerate() {
        let d = (p.0 - c.0).powi(2) + (p.1 - c.1).powi(2);
        if d < best.1 {
            best = (i, d);
        }
    }
    best.0
}

/// Lloyd's algorithm as the kmeans driver documents it: the initial centroids are the points
/// at ranks 0, n/k, 2n/k, ... in (x, y) order. Returns each cluster's size and centroid.
fn reference_kmeans(points: &[(f64, f64)], k: usize, tolerance: f64) -> Vec<(i64, f64, f64)> {
    let mut sorted = points.to_vec();
    sorted.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let step = (points.len() / k).max(1);
    let mut centroids: Vec<(f64, f64)> = (0..k).map(|i| sorted[i * step]).collect();
    loop {
        let mut sums = vec![(0.0, 0.0, 0usize); k];
        for &p in points {
            let c = nearest(p, &centroids);
            sums[c] = (sums[c].0 + p.0, sums[c].1 + p.1, sums[c].2 + 1);
        }
        let next: Vec<(f64, f64)> = sums
            .iter()
            .zip(&centroids)
            .map(|(&(sx, sy, n), &old)| {
                if n == 0 {
                    old
                } else {
                    (sx / n as f64, sy / n as f64)
                }
            })
            .collect();
        let moved = centroids
            .iter()
            .zip(&next)
            .map(|(a, b)| (b.0 - a.0).hypot(b.1 - a.1))
            .fold(0.0, f64::max);
        centroids = next;
        if moved <= tolerance {
            break;
        }
    }
    let mut clusters = vec![(0i64, 0.0, 0.0); k];
    for &p in points {
        let c = nearest(p, &centroids);
        clusters[c] = (clusters[c].0 + 1, clusters[c].1 + p.0, clusters[c].2 + p.1);
    }
    clusters
        .into_iter()
        .map(|(n, sx, sy)| (n, sx / n as f64, sy / n as f64))
        .collect()
}

#[tokio::test]
async fn kmeans_iterates_to_the_reference_clustering() {
    let dir = tempfile::tempdir().unwrap();
    let data = points(20_000);
    let path = write_points(dir.path(), &data);
    let engine = engine(&[("points", &path)]).await;
    let (result, log) = drive(&engine, "kmeans", &[("k", "4")], DriverLimits::default()).await;
    let batches = result.unwrap();
    let expected = reference_kmeans(&data, 4, 1e-9);

    let mut got = Vec::new();
    for batch in &batches {
        let cluster = batch.column(0).as_primitive::<Int32Type>();
        let count = batch.column(1).as_primitive::<Int64Type>();
        let (x, y) = (
            batch.column(2).as_primitive::<Float64Type>(),
            batch.column(3).as_primitive::<Float64Type>(),
        );
        for row in 0..batch.num_rows() {
            got.push((
                cluster.value(row),
                count.value(row),
                x.value(row),
                y.value(row),
            ));
        }
    }
    assert_eq!(got.len(), 4, "one row per cluster: {got:?}");
    for (i, (cluster, count, x, y)) in got.iter().enumerate() {
        let (n, ex, ey) = expected[i];
        assert_eq!(
            (*cluster as usize, *count),
            (i, n),
            "cluster sizes: {got:?} vs {expected:?}"
        );
        assert!(
            (x - ex).abs() < 1e-9 && (y - ey).abs() < 1e-9,
            "centroid {i}: ({x}, {y}) vs ({ex}, {ey})"
        );
    }
    let iterations = log.iter().filter(|l| l.starts_with("iteration")).count();
    assert!(iterations >= 2, "the driver iterated: {log:?}");
    assert!(
        log.iter()
            .any(|l| l.contains("stored 20000 assigned points")),
        "{log:?}"
    );
    // What it stored was dropped when it ended, so it runs again on the same engine.
    assert!(!engine.session().table_exist("kmeans_assignments").unwrap());
    let (again, _) = drive(&engine, "kmeans", &[("k", "4")], DriverLimits::default()).await;
    assert_eq!(again.unwrap().len(), batches.len());
}

/// Comments as `make demo` generates them, then Spanish and German ones the English lexicon
/// cannot score; returns the CSV of all of them and of the English ones.
fn write_comments(dir: &Path, english: u64, foreign: u64) -> (PathBuf, PathBuf) {
    const FOREIGN: &[&str] = &[
        "el juego es muy bueno y los jugadores son geniales",
        "no me gusta que el autor diga eso por nada",
        "das Spiel ist sehr gut und die Spieler sind toll",
        "der Artikel ist nicht gut aber das Video ist super",
    ];
    let header = "id,score,text\n";
    let (mut all, mut only_english) = (String::from(header), String::from(header));
    for id in 0..english {
        let (score, text) = lode_datagen::comments::comment(7, id);
        let row = format!("{id},{score},{text}\n");
        all.push_str(&row);
        only_english.push_str(&row);
    }
    for i in 0..foreign {
        let text = FOREIGN[i as usize % FOREIGN.len()];
        all.push_str(&format!("{},{},{text}\n", english + i, i % 4096));
    }
    let (all_path, english_path) = (dir.join("comments.csv"), dir.join("english.csv"));
    std::fs::write(&all_path, all).unwrap();
    std::fs::write(&english_path, only_english).unwrap();
    (all_path, english_path)
}

fn float_column(batch: &RecordBatch, name: &str) -> Vec<f64> {
    let column = batch.column_by_name(name).unwrap();
    cast(column, &DataType::Float64)
        .unwrap()
        .as_primitive::<Float64Type>()
        .values()
        .to_vec()
}

#[tokio::test]
async fn sentiment_report_equals_the_demo_query_and_fits_its_trend() {
    let dir = tempfile::tempdir().unwrap();
    let (comments, english) = write_comments(dir.path(), 6_000, 400);
    let engine = engine(&[("comments", &comments), ("english", &english)]).await;
    let (result, log) = drive(&engine, "sentiment-report", &[], DriverLimits::default()).await;
    let report = datafusion::arrow::compute::concat_batches(
        &result.as_ref().unwrap()[0].schema(),
        result.as_ref().unwrap(),
    )
    .unwrap();

    // The reference: the demo's own SQL over the English comments, on the same engine.
    engine.register_module(guest("sentiment")).unwrap();
    let demo = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plans/demo/polarization.sql"),
    )
    .unwrap()
    .replace("FROM comments", "FROM english");
    let frame = engine.session().sql(&demo).await.unwrap();
    let expected = datafusion::arrow::compute::concat_batches(
        &Arc::new(frame.schema().as_arrow().clone()),
        &frame.collect().await.unwrap(),
    )
    .unwrap();
    for column in ["bucket", "comments", "mean_sentiment", "polarization"] {
        assert_eq!(
            float_column(&report, column),
            float_column(&expected, column),
            "column {column}"
        );
    }

    // The trend: least squares of polarization over bucket, computed here.
    let (x, y) = (
        float_column(&expected, "bucket"),
        float_column(&expected, "polarization"),
    );
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let slope = x
        .iter()
        .zip(&y)
        .map(|(a, b)| (a - mx) * (b - my))
        .sum::<f64>()
        / x.iter().map(|a| (a - mx).powi(2)).sum::<f64>();
    let intercept = my - slope * mx;
    assert!(slope > 0.0, "popular comments are more polarized: {slope}");
    for (bucket, trend) in x.iter().zip(float_column(&report, "trend")) {
        let want = intercept + slope * bucket;
        assert!(
            (trend - want).abs() <= 1e-6,
            "trend at {bucket}: {trend} vs {want}"
        );
    }

    let log = log.join("\n");
    assert!(log.contains(" comments in en\n"), "{log}");
    assert!(
        log.contains("languages: 200 comments in de (left out"),
        "{log}"
    );
    assert!(
        log.contains("languages: 200 comments in es (left out"),
        "{log}"
    );
    assert!(log.contains("score: 6000 comments scored"), "{log}");
    assert!(log.contains("trend: polarization = "), "{log}");

    // Too few comments it can score: refused, saying why.
    let (refused, _) = drive(
        &engine,
        "sentiment-report",
        &[("min-scored", "0.99")],
        DriverLimits::default(),
    )
    .await;
    let message = refused.unwrap_err().to_string();
    assert!(
        message.contains("only 6000 of 6400 comments are in English or unrecognised"),
        "{message}"
    );
}

#[tokio::test]
async fn wordcount_driver_emits_a_plan_carrying_only_its_module() {
    let dir = tempfile::tempdir().unwrap();
    let lines = dir.path().join("lines.csv");
    std::fs::write(
        &lines,
        "line\nthe quick brown fox\nThe lazy dog; the fox\n\nfox\n",
    )
    .unwrap();

    // Emitting needs no tables: the driver declares the one it reads.
    let planner = engine(&[]).await;
    let driver = Driver::load(
        planner.wasm().unwrap(),
        &guest("wordcount-driver"),
        "wordcount-driver",
    )
    .unwrap();
    let emitting = Session {
        planner: Arc::clone(&planner),
        target: None,
        limits: DriverLimits::default(),
        progress: Arc::new(|_: &str| {}),
    };
    let plan = driver.emit(emitting, &args(&[("top", "3")])).await.unwrap();

    let table = lode_plan::ext::module_table(&plan).unwrap();
    let carried: Vec<&str> = table.modules.iter().map(|m| m.sha256.as_str()).collect();
    assert_eq!(
        carried,
        [lode_wasm::sha256_hex(&guest("word-count"))],
        "exactly the word-count module"
    );

    // An ordinary plan from here on: a fresh engine that never saw the driver runs it.
    let runner = engine(&[("lines", &lines)]).await;
    let decoded = DecodedPlan::new(plan, PlanFormat::Binary);
    let batches: Vec<RecordBatch> = runner
        .execute(&decoded)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let mut rows = Vec::new();
    for batch in &batches {
        let words = strings(batch.column(0));
        let counts = batch.column(1).as_primitive::<Int64Type>();
        rows.extend(words.into_iter().zip(counts.values().iter().copied()));
    }
    assert_eq!(
        rows,
        [
            ("fox".to_string(), 3),
            ("the".to_string(), 3),
            ("brown".to_string(), 1)
        ]
    );
}

/// A string column's values, whatever its Arrow string type.
fn strings(column: &ArrayRef) -> Vec<String> {
    let column = cast(column, &DataType::Utf8).unwrap();
    let column = column.as_string::<i32>();
    (0..column.len())
        .map(|i| column.value(i).to_string())
        .collect()
}

/// The one-row `outcome` a driver returns after handling an error.
fn outcome(result: Result<Vec<RecordBatch>, DriverError>) -> String {
    strings(result.unwrap()[0].column(0)).remove(0)
}

#[tokio::test]
async fn errors_of_the_plans_a_driver_submits_are_values_it_handles() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_points(dir.path(), &points(100));
    let engine = engine(&[("points", &path)]).await;

    let (result, _) = drive(
        &engine,
        "evil-driver",
        &[("case", "failing-query")],
        DriverLimits::default(),
    )
    .await;
    let text = outcome(result);
    assert!(
        text.starts_with("handled: plan 1:") && text.contains("Cannot cast string 'one'"),
        "{text}"
    );

    // A plan that decodes but does not validate: the validator's code and plan path.
    let invalid = r#"{"relations":[{"root":{"input":{"project":{"expressions":[{"selection":{"directReference":{"structField":{"field":3}},"rootReference":{}}}],"input":{"read":{"baseSchema":{"names":["x"],"struct":{"types":[{"fp64":{"nullability":"NULLABILITY_REQUIRED"}}]}},"namedTable":{"names":["points"]}}}}},"names":["x","y"]}}]}"#;
    let (result, _) = drive(
        &engine,
        "evil-driver",
        &[("case", "substrait"), ("plan", invalid)],
        DriverLimits::default(),
    )
    .await;
    let text = outcome(result);
    assert!(
        text.starts_with("relations[0].root.input.project.expressions[0]")
            && text.contains("[E001]")
            && text.contains("out of range"),
        "{text}"
    );

    let small = DriverLimits {
        max_result_rows: 10,
        ..DriverLimits::default()
    };
    let (result, _) = drive(&engine, "evil-driver", &[("case", "huge-result")], small).await;
    let text = outcome(result);
    assert!(
        text.contains("larger than a driver may receive (10 rows"),
        "{text}"
    );
}

#[tokio::test]
async fn submitted_queries_report_their_status_and_cancel() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_points(dir.path(), &points(100));
    let engine = engine(&[("points", &path)]).await;
    let started = std::time::Instant::now();
    let (result, _) = drive(
        &engine,
        "evil-driver",
        &[("case", "submit")],
        DriverLimits::default(),
    )
    .await;
    let text = outcome(result);
    assert_eq!(
        text,
        "endless: QueryState::Running 0 rows, then QueryState::Cancelled 0 rows, \
         wait: plan 1: cancelled by the driver; small: n = [100], QueryState::Finished 1 rows, \
         wait again: plan 2: this query was already waited for"
    );
    // The endless query (ten billion rows) stopped when cancelled.
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
}

/// How a misbehaving driver was stopped.
async fn stopped(case: &str, limits: DriverLimits) -> String {
    let engine = engine(&[]).await;
    let (result, _) = drive(&engine, "evil-driver", &[("case", case)], limits).await;
    match result {
        Err(e @ DriverError::Trap { .. }) => e.to_string(),
        other => panic!(
            "case {case}: expected the driver to be stopped, got {:?}",
            other.map(|b| b.len())
        ),
    }
}

#[tokio::test]
async fn misbehaving_drivers_are_stopped_with_the_reason() {
    let limits = DriverLimits {
        own_time: Duration::from_secs(1),
        max_plans: 5,
        memory_bytes: 64 << 20,
        ..DriverLimits::default()
    };
    let spin = stopped("spin", limits).await;
    assert!(spin.contains("more than 1.0 s of its own time"), "{spin}");
    let flood = stopped("flood", limits).await;
    assert!(flood.contains("submitted more than 5 plans"), "{flood}");
    let hoard = stopped("hoard", limits).await;
    assert!(hoard.contains("memory limit of 67108864 bytes"), "{hoard}");
    let panic = stopped("panic", limits).await;
    assert!(
        panic.contains("trapped") && panic.contains("evil-driver: deliberate panic"),
        "{panic}"
    );
}

#[tokio::test]
async fn a_module_that_is_not_a_driver_is_refused_at_load() {
    let engine = engine(&[]).await;
    let driver = Driver::load(engine.wasm().unwrap(), &guest("gcd"), "gcd").unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let error = driver
        .run(session(&engine, DriverLimits::default(), &log), &[])
        .await
        .err()
        .expect("gcd is not a driver");
    let text = error.to_string();
    assert!(text.contains("lode:guest/driver"), "{text}");
}
