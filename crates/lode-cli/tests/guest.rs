//! A guest author's first hour, as they live it: `lode guest new` and `lode guest build` for
//! every language and kind, the examples run through `lode sql` / `lode plan` and `lode run`,
//! and the errors that must point the right way (their exact text).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

mod common;

use common::{guest, lode, repo, run};

/// Runs `lode` in `dir`, expecting success; its stdout.
fn lode_in(dir: &Path, args: &[&str]) -> String {
    let (code, out, err) = run(lode().args(args).current_dir(dir));
    assert_eq!(code, 0, "lode {args:?} in {}: {err}", dir.display());
    out
}

/// One directory for every project of this test binary, and one cargo target directory the
/// Rust projects share, so the SDK's dependencies build once.
fn workspace() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("a temporary directory"))
        .path()
}

/// `lode guest new NAME --lang LANG --kind KIND`, then `lode guest build`: the project's
/// directory and what the build printed.
fn new_and_build(name: &str, lang: &str, kind: &str) -> (PathBuf, String) {
    let out = lode_in(
        workspace(),
        &["guest", "new", name, "--lang", lang, "--kind", kind],
    );
    assert!(out.contains("lode guest build"), "{out}");
    let dir = workspace().join(name);
    let (code, out, err) = run(lode()
        .args(["guest", "build"])
        .arg(&dir)
        .env("CARGO_TARGET_DIR", workspace().join("target")));
    assert_eq!(code, 0, "lode guest build {name}: {err}");
    let wasm = dir.join(format!("{name}.wasm"));
    assert!(out.starts_with(&format!("{} (", wasm.display())), "{out}");
    (dir, out)
}

/// `lode sql QUERY --module NAME.wasm` then `lode run` in `dir`, as CSV.
fn sql_then_run(dir: &Path, module: &str, query: &str) -> String {
    lode_in(dir, &["sql", query, "--module", module, "-o", "plan.json"]);
    lode_in(dir, &["run", "plan.json", "--format", "csv"])
}

#[test]
fn rust_scalar_from_new_to_a_cluster() {
    let (dir, built) = new_and_build("haversine-km", "rust", "scalar");
    assert!(
        built.contains("scalar haversine_km(lat1 fp64, lon1 fp64, lat2 fp64, lon2 fp64) -> fp64"),
        "{built}"
    );
    let out = sql_then_run(
        &dir,
        "haversine-km.wasm",
        "SELECT haversine_km(52.52, 13.405, 48.8566, 2.3522) AS km",
    );
    assert!(out.starts_with("km\n877.46"), "{out}");
    // Its own test runs natively, as the README says.
    let (code, out, err) = run(Command::new("cargo")
        .args(["test", "--quiet"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", workspace().join("target")));
    assert_eq!(code, 0, "cargo test in the new project: {out}{err}");
    assert!(out.contains("2 passed"), "{out}");
    // A cluster of two executors fetches the module from the plan.
    let data = workspace().join("points");
    std::fs::create_dir_all(&data).expect("a data directory");
    std::fs::write(
        data.join("trips.csv"),
        "lat1,lon1,lat2,lon2\n52.52,13.405,48.8566,2.3522\n0.0,0.0,0.0,1.0\n",
    )
    .expect("a table");
    let data = data.to_string_lossy().into_owned();
    lode_in(
        &dir,
        &[
            "sql",
            "SELECT round(haversine_km(lat1, lon1, lat2, lon2), 3) AS km FROM trips ORDER BY km",
            "--data",
            &data,
            "--module",
            "haversine-km.wasm",
            "-o",
            "trips.json",
        ],
    );
    let out = lode_in(
        &dir,
        &[
            "run",
            "trips.json",
            "--data",
            &data,
            "--executors",
            "2",
            "--format",
            "csv",
        ],
    );
    assert_eq!(out, "km\n111.195\n877.465\n");
}

#[test]
fn rust_aggregate_table_operator_and_driver() {
    let (dir, built) = new_and_build("rms", "rust", "aggregate");
    assert!(built.contains("aggregate rms(x fp64) -> fp64"), "{built}");
    let out = sql_then_run(
        &dir,
        "rms.wasm",
        "SELECT rms(x) AS r FROM (VALUES (3.0), (4.0), (NULL)) AS t(x)",
    );
    assert_eq!(out, format!("r\n{}\n", (12.5f64).sqrt()));

    let (dir, built) = new_and_build("squares", "rust", "table");
    assert!(built.contains("table squares"), "{built}");
    let out = sql_then_run(
        &dir,
        "squares.wasm",
        "SELECT sum(square) AS total, count(*) AS n FROM squares(250001)",
    );
    // sum of i^2 for i < n is (n-1) n (2n-1) / 6, over three partitions.
    assert_eq!(out, "total,n\n5208364583375000,250001\n");

    let (dir, built) = new_and_build("histogram", "rust", "operator");
    assert!(built.contains("operator histogram"), "{built}");
    lode_in(
        &dir,
        &[
            "validate",
            "example-plan.json",
            "--module",
            "histogram.wasm",
        ],
    );
    let out = lode_in(
        &dir,
        &[
            "run",
            "example-plan.json",
            "--module",
            "histogram.wasm",
            "--table",
            "numbers=numbers.csv",
            "--format",
            "csv",
        ],
    );
    assert_eq!(out, "bucket,count\n0,4\n5,5\n10,5\n15,5\n20,1\n");

    let (dir, built) = new_and_build("above-mean", "rust", "driver");
    assert!(built.contains("a driver"), "{built}");
    lode_in(&dir, &["plan", "above-mean.wasm", "-o", "plan.json"]);
    let out = lode_in(
        &dir,
        &[
            "run",
            "plan.json",
            "--table",
            "numbers=numbers.csv",
            "--format",
            "csv",
        ],
    );
    assert_eq!(out, "n,total\n20,210\n");
    let out = lode_in(
        &dir,
        &[
            "drive",
            "above-mean.wasm",
            "--table",
            "numbers=numbers.csv",
            "--format",
            "csv",
        ],
    );
    assert_eq!(out, "x\n11\n12\n13\n14\n15\n16\n17\n18\n19\n20\n");
}

#[test]
fn python_scalar_and_aggregate_give_the_rust_answers() {
    let (dir, built) = new_and_build("haversine-py", "python", "scalar");
    assert!(
        built.contains("scalar haversine_py(lat1 fp64, lon1 fp64, lat2 fp64, lon2 fp64) -> fp64"),
        "{built}"
    );
    let out = sql_then_run(
        &dir,
        "haversine-py.wasm",
        "SELECT haversine_py(52.52, 13.405, 48.8566, 2.3522) AS km, haversine_py(NULL, 0.0, 0.0, 0.0) AS none",
    );
    assert!(out.starts_with("km,none\n877.46"), "{out}");
    let (code, _, err) = run(Command::new("python3")
        .args(["-m", "unittest"])
        .current_dir(&dir));
    assert_eq!(code, 0, "the Python project's tests: {err}");
    assert!(err.contains("Ran 2 tests"), "{err}");

    let (dir, built) = new_and_build("rms-py", "python", "aggregate");
    assert!(
        built.contains("aggregate rms_py(x fp64) -> fp64"),
        "{built}"
    );
    let out = sql_then_run(
        &dir,
        "rms-py.wasm",
        "SELECT g, rms_py(x) AS r FROM (VALUES (1, 3.0), (1, 4.0), (2, NULL), (2, 2.0)) AS t(g, x) GROUP BY g ORDER BY g",
    );
    assert_eq!(out, format!("g,r\n1,{}\n2,2.0\n", (12.5f64).sqrt()));
}

#[test]
fn javascript_scalar_runs_with_its_test() {
    let (dir, built) = new_and_build("haversine-js", "js", "scalar");
    assert!(
        built.contains("scalar haversine_js(lat1 fp64, lon1 fp64, lat2 fp64, lon2 fp64) -> fp64"),
        "{built}"
    );
    let out = sql_then_run(
        &dir,
        "haversine-js.wasm",
        "SELECT haversine_js(52.52, 13.405, 48.8566, 2.3522) AS km, haversine_js(NULL, 0.0, 0.0, 0.0) AS none",
    );
    assert!(out.starts_with("km,none\n877.46"), "{out}");
    let (code, out, err) = run(Command::new("npm").args(["test"]).current_dir(&dir));
    assert_eq!(code, 0, "npm test: {out}{err}");
    assert!(out.contains("# pass 2"), "{out}");
}

#[test]
fn c_scalar_runs_with_its_test() {
    let (dir, built) = new_and_build("haversine-c", "c", "scalar");
    assert!(
        built.contains("scalar haversine_c(lat1 fp64, lon1 fp64, lat2 fp64, lon2 fp64) -> fp64"),
        "{built}"
    );
    let out = sql_then_run(
        &dir,
        "haversine-c.wasm",
        "SELECT haversine_c(52.52, 13.405, 48.8566, 2.3522) AS km, haversine_c(NULL, 0.0, 0.0, 0.0) AS none",
    );
    assert!(out.starts_with("km,none\n877.46"), "{out}");
    let (code, out, err) = run(Command::new("sh")
        .args([
            "-c",
            "cc test_logic.c logic.c -lm -o test_logic && ./test_logic",
        ])
        .current_dir(&dir));
    assert_eq!(code, 0, "the C project's test: {out}{err}");
    assert_eq!(out.matches("ok: ").count(), 2, "{out}");
}

#[test]
fn guest_new_refuses_what_it_cannot_make() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (code, _, err) = run(lode()
        .args(["guest", "new", "Bad Name"])
        .current_dir(dir.path()));
    assert_eq!(code, 2);
    assert_eq!(
        err,
        "error: guest name 'Bad Name': use lower-case letters, digits, '-' and '_', starting \
         with a letter (it names the project and, with '-' as '_', its SQL function)\n"
    );
    let (code, _, err) = run(lode()
        .args(["guest", "new", "gen", "--lang", "python", "--kind", "table"])
        .current_dir(dir.path()));
    assert_eq!(code, 2);
    assert!(err.contains("--lang python --kind table"), "{err}");
    let (code, _, err) = run(lode()
        .args(["guest", "new", "agg", "--lang", "c", "--kind", "aggregate"])
        .current_dir(dir.path()));
    assert_eq!(code, 2);
    assert!(
        err.contains("--lang c --kind aggregate: `lode guest new` writes C scalar functions"),
        "{err}"
    );
    std::fs::create_dir(dir.path().join("taken")).expect("a directory");
    std::fs::write(dir.path().join("taken/file"), "").expect("a file");
    let (code, _, err) = run(lode()
        .args(["guest", "new", "taken"])
        .current_dir(dir.path()));
    assert_eq!(code, 2);
    assert_eq!(
        err,
        "error: taken already exists and is not empty: choose another NAME or --dir\n"
    );
    let (code, _, err) = run(lode().args(["guest", "build"]).current_dir(dir.path()));
    assert_eq!(code, 2);
    assert!(err.contains("is not a guest project"), "{err}");
}

#[test]
fn an_unknown_function_without_modules_suggests_module() {
    let (code, _, err) =
        run(lode().args(["sql", "SELECT haversine_km(1.0, 2.0, 3.0, 4.0)", "-o", "-"]));
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "error: unknown function 'haversine_km': it is not a built-in function and no Wasm \
         module was given; load the module that defines it with --module FILE.wasm (`lode \
         module inspect FILE.wasm` lists a module's functions)\n"
    );
    let (code, _, err) = run(lode()
        .args(["sql", "SELECT gdc(1, 2)", "-o", "-", "--module"])
        .arg(guest("gcd")));
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "error: unknown function 'gdc': it is neither a built-in function nor in the modules \
         given (module 'gcd' defines gcd, noop); check its name, or add the module that \
         defines it with --module FILE.wasm\n"
            .replace(
                "module 'gcd'",
                &format!("module 'gcd' ({})", short_sha(&guest("gcd")))
            )
    );
}

fn short_sha(wasm: &Path) -> String {
    let (_, out, _) = run(lode().args(["module", "inspect"]).arg(wasm));
    let urn = out
        .lines()
        .find_map(|l| l.strip_prefix("urn: extension:lode.wasm:"))
        .expect("the module's URN");
    urn[..12].to_string()
}

#[test]
fn unreadable_modules_exit_2_and_say_what_they_are() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let corrupt = dir.path().join("corrupt.wasm");
    std::fs::write(&corrupt, b"\0asm\x0d\0\x01\0garbage").expect("a file");
    let (code, _, err) = run(lode()
        .args(["sql", "SELECT 1", "-o", "-", "--module"])
        .arg(&corrupt));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.starts_with(&format!("error: --module {}: ", corrupt.display())),
        "{err}"
    );

    let core = dir.path().join("core.wasm");
    std::fs::write(&core, b"\0asm\x01\0\0\0").expect("a file");
    let (code, _, err) = run(lode()
        .args(["sql", "SELECT 1", "-o", "-", "--module"])
        .arg(&core));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(
            "is not a valid WebAssembly component: this is a core WebAssembly module, \
                      not a component: build Rust guests for wasm32-wasip2 (`lode guest build`, \
                      or `cargo build --target wasm32-wasip2`), or wrap a core module with \
                      `wasm-tools component new`"
        ),
        "{err}"
    );
}

#[test]
fn validate_knows_wasm_signatures() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let numbers = format!(
        "numbers={}",
        repo().join("conformance/cases/data/numbers.csv").display()
    );
    let gcd = guest("gcd");
    // A plan whose gcd call takes strings: DataFusion's SQL planner coerces nothing here, so
    // the plan says gcd(string, i64), which the module does not take.
    let plan = dir.path().join("gcd.json");
    let (code, _, err) = run(lode()
        .args([
            "sql",
            "SELECT gcd(a, b) AS g FROM numbers",
            "--table",
            &numbers,
            "--module",
        ])
        .arg(&gcd)
        .arg("-o")
        .arg(&plan));
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&plan).expect("the plan");
    let (code, out, _) = run(lode().args(["validate", "--format", "json"]).arg(&plan));
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("\"type\": \"i64?\""),
        "the call's type is derived: {out}"
    );
    // The same plan with the first argument read as a string.
    let edited = text.replacen("\"i64\": {", "\"string\": {", 1);
    std::fs::write(&plan, edited).expect("the edited plan");
    let (code, out, _) = run(lode().args(["validate"]).arg(&plan));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("error[M006]") && out.contains("its signatures are (a i64, b i64) -> i64"),
        "{out}"
    );
}

#[test]
fn a_guest_error_on_a_cluster_is_reported_once() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::copy(
        repo().join("conformance/cases/data/numbers.csv"),
        dir.path().join("numbers.csv"),
    )
    .expect("a table");
    let data = dir.path().to_string_lossy().into_owned();
    let plan = dir.path().join("p.json");
    let (code, _, err) = run(lode()
        .args([
            "sql",
            "SELECT geomean(CAST(a AS DOUBLE) - 50.0) AS g FROM numbers",
            "--data",
            &data,
            "--module",
        ])
        .arg(guest("geomean"))
        .arg("-o")
        .arg(&plan));
    assert_eq!(code, 0, "{err}");
    let failure = "module 'geomean' (0f62d4090d50), function 'geomean' at row 0 of its batch: \
                   geomean needs positive values, got -38";
    let failure = failure.replace("0f62d4090d50", &short_sha(&guest("geomean")));
    let (code, _, err) = run(lode().arg("run").arg(&plan).args(["--data", &data]));
    assert_eq!(code, 3);
    assert_eq!(
        err,
        format!("error: {}: the query failed: {failure}\n", plan.display())
    );
    let (code, _, err) =
        run(lode()
            .arg("run")
            .arg(&plan)
            .args(["--data", &data, "--executors", "2"]));
    assert_eq!(code, 3);
    let (head, tail) = err
        .split_once(": stage 0 task 0 failed: ")
        .expect("the failed task");
    assert!(
        head.starts_with(&format!("error: {}: job job-", plan.display())),
        "{err}"
    );
    assert_eq!(tail, format!("{failure}\n"), "{err}");
}
