//! The built `lode` binary, as a user runs it: exit codes, formats, errors, output files.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

mod common;

use common::{guest, lode, plan, repo, run};

/// `lode gen tpch --sf 0.001` once per test binary (also tests the generator's CLI).
fn data() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let out = lode()
            .args(["gen", "tpch", "--sf", "0.001", "--out"])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "gen failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
    .path()
}

#[test]
fn gen_writes_every_tpch_table() {
    let mut names: Vec<String> = std::fs::read_dir(data())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "customer", "lineitem", "nation", "orders", "part", "partsupp", "region", "supplier"
        ]
        .map(|t| format!("{t}.parquet"))
    );
}

#[test]
fn gen_rejects_bad_scale_factor() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(lode()
        .args(["gen", "tpch", "--sf=-1", "--out"])
        .arg(dir.path()));
    assert_eq!(code, 2);
    assert!(err.contains("scale factor"), "{err}");
}

#[test]
fn run_prints_a_table_by_default() {
    let (code, out, err) = run(lode()
        .args(["run", &plan("plans/tpch/q01.json"), "--data"])
        .arg(data()));
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("+--------------+"), "{out}");
    assert!(out.contains("| l_returnflag | l_linestatus |"), "{out}");
}

#[test]
fn run_writes_csv_to_a_file_with_table_bindings() {
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("out.csv");
    let (code, stdout, err) = run(lode()
        .args(["run", &plan("plans/tpch/q06.json"), "--format", "csv", "-o"])
        .arg(&out_file)
        .arg("--table")
        .arg(format!(
            "lineitem={}",
            data().join("lineitem.parquet").display()
        )));
    assert_eq!(code, 0, "{err}");
    assert!(stdout.is_empty());
    let csv = std::fs::read_to_string(&out_file).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "revenue");
    assert_eq!(lines.len(), 2, "{csv}");
}

/// `-o /dev/null` writes into the device; writing through a temporary renamed into place
/// replaced `/dev/null` itself with a regular file.
#[cfg(unix)]
#[test]
fn run_writes_into_a_device_without_replacing_it() {
    use std::os::unix::fs::FileTypeExt;
    let null = Path::new("/dev/null");
    assert!(
        std::fs::metadata(null)
            .unwrap()
            .file_type()
            .is_char_device()
    );
    let (code, stdout, err) = run(lode()
        .args(["run", &plan("plans/tpch/q06.json"), "--format", "csv", "-o"])
        .arg(null)
        .arg("--data")
        .arg(data()));
    assert_eq!(code, 0, "{err}");
    assert!(stdout.is_empty());
    assert!(
        std::fs::metadata(null)
            .unwrap()
            .file_type()
            .is_char_device(),
        "/dev/null is no longer a device"
    );
}

#[test]
fn run_json_lines_and_arrow_formats() {
    let (code, out, err) = run(lode()
        .args([
            "run",
            &plan("plans/tpch/q01.json"),
            "--format",
            "json",
            "--data",
        ])
        .arg(data()));
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    for line in lines {
        let row: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(row.get("l_returnflag").is_some(), "{line}");
    }
    let out = lode()
        .args([
            "run",
            &plan("plans/tpch/q01.json"),
            "--format",
            "arrow",
            "--data",
        ])
        .arg(data())
        .output()
        .unwrap();
    assert!(out.status.success());
    let reader = datafusion::arrow::ipc::reader::StreamReader::try_new(
        std::io::Cursor::new(out.stdout),
        None,
    )
    .unwrap();
    assert_eq!(reader.schema().field(0).name(), "l_returnflag");
    let rows: usize = reader.map(|b| b.unwrap().num_rows()).sum();
    assert_eq!(rows, 4);
}

#[test]
fn plan_from_stdin() {
    let bytes = std::fs::read(plan("plans/tpch/q06.json")).unwrap();
    let mut child = lode()
        .args(["run", "-", "--format", "csv", "--data"])
        .arg(data())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), &bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("revenue\n"));
}

#[test]
fn unknown_table_fails_and_leaves_no_output_file() {
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("out.csv");
    let (code, _, err) = run(lode()
        .args(["run", &plan("plans/tpch/q03.json"), "--format", "csv", "-o"])
        .arg(&out_file)
        .arg("--table")
        .arg(format!(
            "lineitem={}",
            data().join("lineitem.parquet").display()
        )));
    assert_eq!(code, 1);
    assert!(
        err.contains("customer") && err.contains("no such table is bound"),
        "{err}"
    );
    assert!(err.contains("q03.json"), "the error names the plan: {err}");
    assert!(!out_file.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no temporary left behind"
    );
}

#[test]
fn missing_files_are_exit_2_and_named() {
    let (code, _, err) = run(lode().args(["run", "/nonexistent/plan.json"]));
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/plan.json"), "{err}");
    let (code, _, err) = run(lode().args([
        "run",
        &plan("plans/tpch/q06.json"),
        "--table",
        "lineitem=/nonexistent/l.parquet",
    ]));
    assert_eq!(code, 2);
    assert!(
        err.contains("lineitem") && err.contains("/nonexistent/l.parquet"),
        "{err}"
    );
    let (code, _, err) =
        run(lode().args(["run", &plan("plans/tpch/q06.json"), "--table", "lineitem"]));
    assert_eq!(code, 2);
    assert!(err.contains("NAME=PATH"), "{err}");
}

#[test]
fn malformed_plans_report_where() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("bad.json");
    std::fs::write(
        &json,
        "{\n  \"relations\": [\n    { \"root\": 12 }\n  ]\n}\n",
    )
    .unwrap();
    let (code, _, err) = run(lode().arg("run").arg(&json));
    assert_eq!(code, 2);
    assert!(
        err.contains("bad.json") && err.contains("relations[0].root") && err.contains("line 3"),
        "{err}"
    );
    let pb = dir.path().join("bad.pb");
    std::fs::write(&pb, [0x1a, 0x50, 0x0a]).unwrap();
    let (code, _, err) = run(lode().arg("run").arg(&pb));
    assert_eq!(code, 2);
    assert!(
        err.contains("bad.pb") && err.contains("byte offset 0"),
        "{err}"
    );
}

#[test]
fn validate_exit_codes_and_json_report() {
    let mut all = lode();
    all.arg("validate");
    for n in 1..=22 {
        all.arg(plan(&format!("plans/tpch/q{n:02}.json")));
    }
    let (code, out, _) = run(&mut all);
    assert_eq!(code, 0, "{out}");
    // Every plan's output is typed: q06's one column sums decimal products (the spec's
    // decimal rules: decimal<15,2> * decimal<15,2> is decimal<31,4>; its sum decimal?<38,4>).
    assert!(
        out.contains("q06.json: valid (0 errors, 0 warnings)\n  output: revenue decimal?<38, 4>\n"),
        "{out}"
    );

    let dir = tempfile::tempdir().unwrap();
    let invalid = dir.path().join("invalid.json");
    // Q6 with its function declarations removed: every call's anchor is undeclared.
    let mut q: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(plan("plans/tpch/q06.json")).unwrap())
            .unwrap();
    q["extensions"] = serde_json::json!([]);
    std::fs::write(&invalid, q.to_string()).unwrap();
    let (code, out, _) = run(lode().args(["validate", "--format", "json"]).arg(&invalid));
    assert_eq!(code, 1, "{out}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let d = &report[0]["diagnostics"][0];
    assert_eq!(report[0]["status"], "invalid");
    // Undeclared functions leave the output's type unknown, not its columns.
    assert_eq!(
        report[0]["output"],
        serde_json::json!([{"name": "revenue", "type": null}])
    );
    assert_eq!(d["code"], "L003");
    assert_eq!(d["severity"], "error");
    assert!(
        d["path"]
            .as_str()
            .unwrap()
            .starts_with("relations[0].root.input."),
        "{d}"
    );

    let (code, out, _) = run(lode().args(["validate", "--allow", "L003"]).arg(&invalid));
    assert_eq!(code, 0, "--allow demotes to a warning: {out}");

    let unreadable = dir.path().join("unreadable.pb");
    std::fs::write(&unreadable, [0xff, 0xff]).unwrap();
    let (code, out, _) = run(lode().arg("validate").arg(&invalid).arg(&unreadable));
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("unreadable"), "{out}");

    let (code, _, err) = run(lode().args(["validate", "--deny", "NOPE"]).arg(&invalid));
    assert_eq!(code, 2);
    assert!(err.contains("unknown diagnostic code"), "{err}");
}

/// A service told to listen beyond loopback without a token, or with a token but without
/// TLS, refuses to start and says what to add (docs/security.md).
#[test]
fn serve_beyond_loopback_needs_a_token_and_tls() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "secret\n").unwrap();
    let (code, _, err) = run(lode().args(["serve", "coordinator", "--listen", "0.0.0.0:0"]));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("refusing to listen on 0.0.0.0:0") && err.contains("--token-file"),
        "{err}"
    );
    let (code, _, err) = run(lode()
        .args([
            "serve",
            "coordinator",
            "--listen",
            "0.0.0.0:0",
            "--token-file",
        ])
        .arg(&token));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("in clear") && err.contains("--tls-cert"),
        "{err}"
    );
    let (code, _, err) = run(lode().args([
        "serve",
        "executor",
        "--listen",
        "0.0.0.0:0",
        "--coordinator",
        "http://127.0.0.1:1",
        "--data",
        ".",
    ]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("refusing to listen"), "{err}");
}

/// With tables, `lode validate` binds the plan's reads as `lode run` would: a declared type
/// no conversion reaches is error B001 there, where without tables the plan is valid.
#[test]
fn validate_with_tables_binds_the_reads() {
    let case: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(plan("conformance/cases/binding_refused.json")).unwrap(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let refused = dir.path().join("refused.json");
    std::fs::write(&refused, case["plan"].to_string()).unwrap();
    let (code, out, _) = run(lode().arg("validate").arg(&refused));
    assert_eq!(code, 0, "without tables nothing is bound: {out}");
    let numbers = format!("numbers={}", plan("conformance/cases/data/numbers.csv"));
    let (code, out, _) = run(lode()
        .arg("validate")
        .arg(&refused)
        .args(["--table", &numbers]));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("error[B001]")
            && out.contains("column `a`")
            && out.contains("declare it as Int64"),
        "{out}"
    );
    let (code, out, _) = run(lode()
        .arg("validate")
        .arg(plan("plans/tpch/q01.json"))
        .arg("--data")
        .arg(data()));
    assert_eq!(code, 0, "{out}");
}

#[test]
fn sql_produces_plans_that_run() {
    let dir = tempfile::tempdir().unwrap();
    let sql = "select r_name, count(*) as nations from region join nation on n_regionkey = r_regionkey group by r_name order by r_name";
    for file in ["q.json", "q.pb"] {
        let path = dir.path().join(file);
        let (code, _, err) = run(lode()
            .args(["sql", sql, "-o"])
            .arg(&path)
            .arg("--data")
            .arg(data()));
        assert_eq!(code, 0, "{err}");
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(
            bytes[0] == b'{',
            file.ends_with(".json"),
            "{file} has the format its name asks for"
        );
        let (code, out, err) = run(lode()
            .arg("run")
            .arg(&path)
            .args(["--format", "csv", "--data"])
            .arg(data()));
        assert_eq!(code, 0, "{err}");
        assert_eq!(
            out.lines().collect::<Vec<_>>(),
            [
                "r_name,nations",
                "AFRICA,5",
                "AMERICA,5",
                "ASIA,5",
                "EUROPE,5",
                "MIDDLE EAST,5"
            ]
        );
    }
    let (code, _, err) = run(lode()
        .args(["sql", "select * from nowhere", "-o"])
        .arg(dir.path().join("x.json"))
        .arg("--data")
        .arg(data()));
    assert_eq!(code, 1);
    assert!(err.contains("nowhere"), "{err}");
    assert!(!dir.path().join("x.json").exists());
}

#[test]
fn explain_shows_logical_and_physical_plans() {
    let (code, out, err) = run(lode()
        .args(["explain", &plan("plans/tpch/q03.json"), "--data"])
        .arg(data()));
    assert_eq!(code, 0, "{err}");
    for section in [
        "== Logical plan ==",
        "== Optimized logical plan ==",
        "== Physical plan",
    ] {
        assert!(out.contains(section), "{out}");
    }
    assert!(out.contains("HashJoinExec"), "{out}");
}

#[test]
fn explain_dag_shows_stages_as_text_and_dot() {
    let q05 = plan("plans/tpch/q05.json");
    let (code, out, err) = run(lode()
        .args(["explain", &q05, "--dag", "--partitions", "3", "--data"])
        .arg(data()));
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("Stage 0 ("), "{out}");
    assert!(out.contains("-> whole output to the result"), "{out}");
    assert!(out.contains("ShuffleReaderExec: stage"), "{out}");
    assert!(out.contains("into 3 pieces"), "{out}");

    let (code, dot, err) = run(lode()
        .args(["explain", &q05, "--dag", "--format", "dot", "--data"])
        .arg(data()));
    assert_eq!(code, 0, "{err}");
    assert!(
        dot.starts_with("digraph stages {") && dot.trim_end().ends_with('}'),
        "{dot}"
    );
    let stages = out.lines().filter(|l| l.starts_with("Stage ")).count();
    assert_eq!(dot.matches("[label=\"Stage ").count(), stages, "{dot}");

    let (code, _, err) = run(lode().args(["explain", &q05, "--format", "dot"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--dag"), "{err}");
}

/// Mutated plans through the real binary: any exit but a panic (101) or a signal.
#[test]
fn mutated_plans_through_the_binary_never_crash() {
    let dir = tempfile::tempdir().unwrap();
    let seed = std::fs::read(plan("plans/tpch/q03.json")).unwrap();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let path = dir.path().join("m.json");
    for i in 0..150 {
        let mut bytes = seed.clone();
        for _ in 0..=(next() % 3) {
            let at = (next() as usize) % bytes.len();
            bytes[at] = match i % 3 {
                0 => b"0123456789"[(next() % 10) as usize],
                1 => next() as u8,
                _ => b' ',
            };
        }
        std::fs::write(&path, &bytes).unwrap();
        let validate = run(lode().arg("validate").arg(&path));
        let execute = run(lode()
            .arg("run")
            .arg(&path)
            .args(["--format", "csv", "--data"])
            .arg(data()));
        for (sub, (code, _, err)) in [("validate", validate), ("run", execute)] {
            assert!(
                matches!(code, 0..=2),
                "lode {sub} exited {code} on mutant {i}: {err}"
            );
            assert!(
                !err.contains("panicked"),
                "lode {sub} panicked on mutant {i}: {err}"
            );
        }
    }
}

#[test]
fn hand_written_wasm_plans_run_with_supplied_modules() {
    let reviews = format!("reviews={}", plan("plans/wasm/reviews.csv"));
    let (code, out, err) = run(lode()
        .args([
            "run",
            &plan("plans/wasm/word_count.json"),
            "--format",
            "csv",
        ])
        .args(["--table", &reviews, "--module"])
        .arg(guest("word-count")));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "word,n\nthe,8\nand,4\nis,3\nit,3\na,2\n");

    let (code, out, err) = run(lode()
        .args([
            "run",
            &plan("plans/wasm/top_reviews.json"),
            "--format",
            "csv",
        ])
        .args(["--table", &reviews, "--module"])
        .arg(guest("top-k")));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 7, "{out}");
    assert!(
        out.contains("kettle,\"Brilliant kettle, boils fast and looks great\",5.0,1"),
        "{out}"
    );

    // Without the module the plan names, the error says how to supply it.
    let (code, _, err) = run(lode()
        .args(["run", &plan("plans/wasm/top_reviews.json")])
        .args(["--table", &reviews]));
    assert_eq!(code, 1);
    assert!(
        err.contains("module 'top-k' is referred to by name") && err.contains("--module"),
        "{err}"
    );

    // Validation loads supplied modules too, and says when one is missing.
    let (code, out, _) = run(lode()
        .args(["validate", &plan("plans/wasm/loan_risk.json"), "--module"])
        .arg(guest("loan-risk")));
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = run(lode().args(["validate", &plan("plans/wasm/loan_risk.json")]));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("error[M005]") && out.contains("--module"),
        "{out}"
    );
}

#[test]
fn sql_table_functions_embed_their_module() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("loans.json");
    let (code, _, err) = run(lode()
        .args([
            "sql",
            "SELECT count(*) AS n, max(id) AS last FROM random_loans(300000, 9)",
            "--module",
        ])
        .arg(guest("loan-risk"))
        .arg("-o")
        .arg(&path));
    assert_eq!(code, 0, "{err}");
    // The plan carries the module: no --module needed to run it.
    let (code, out, err) = run(lode().arg("run").arg(&path).args(["--format", "csv"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "n,last\n300000,299999\n");
}

#[test]
fn flagship_demo_pipeline_on_a_small_discussion() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(lode()
        .args(["gen", "comments", "--rows", "3000", "--out"])
        .arg(dir.path()));
    assert_eq!(code, 0, "{err}");
    let plan_path = dir.path().join("plans/polarization.json");
    let (code, _, err) = run(lode()
        .args([
            "sql",
            "--file",
            &plan("plans/demo/polarization.sql"),
            "--data",
        ])
        .arg(dir.path())
        .arg("--module")
        .arg(guest("sentiment"))
        .arg("-o")
        .arg(&plan_path));
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(lode().arg("validate").arg(&plan_path));
    assert_eq!(code, 0, "{out}{err}");
    let chart = dir.path().join("chart.svg");
    let (code, first, err) = run(lode()
        .arg("run")
        .arg(&plan_path)
        .arg("--data")
        .arg(dir.path())
        .args([
            "--format",
            "csv",
            "--chart-x",
            "bucket",
            "--chart-y",
            "polarization",
            "--chart",
        ])
        .arg(&chart));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("trend: polarization = "), "{err}");
    let svg = std::fs::read_to_string(&chart).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("<polyline"),
        "{svg}"
    );
    // Polarization rises with the vote score: the trend's slope is positive.
    assert!(err.contains(" + "), "{err}");
    let (code, second, err) = run(lode()
        .arg("run")
        .arg(&plan_path)
        .arg("--data")
        .arg(dir.path())
        .args(["--format", "csv"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(first, second, "the same plan gives the same numbers");
    assert!(
        first.starts_with("bucket,comments,mean_sentiment,polarization\n0,"),
        "{first}"
    );

    let (code, _, err) = run(lode()
        .arg("run")
        .arg(&plan_path)
        .arg("--data")
        .arg(dir.path())
        .args(["--chart-y", "nope", "--chart"])
        .arg(dir.path().join("bad.svg")));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no column 'nope'"), "{err}");
}

/// A small corpus in the spec's `.test` format: scalar and aggregate cases, an option, an
/// expected error, an unsigned UDT, a lambda, a case Lode gets wrong and a line that does not
/// parse. Its extension YAMLs are the bundled ones, except `unsigned_integers`, written here.
fn small_corpus() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let tests = root.path().join("function-tests");
    std::fs::create_dir_all(tests.join("arithmetic")).unwrap();
    std::fs::create_dir_all(tests.join("list")).unwrap();
    std::fs::create_dir_all(root.path().join("extensions")).unwrap();
    std::fs::write(
        tests.join("arithmetic/add.test"),
        "### SUBSTRAIT_SCALAR_TEST: v1.0\n\
         ### SUBSTRAIT_INCLUDE: extension:io.substrait:functions_arithmetic\n\
         \n\
         # basic: examples\n\
         add(120::i8, 5::i8) = 125::i8\n\
         add(120::i8, 10::i8) [overflow:ERROR] = <!ERROR>\n\
         add(120::i8, 10::i8) [overflow:SATURATE] = 127::i8\n\
         # wrong: an expectation no consumer meets\n\
         add(1::i8, 1::i8) = 3::i8\n\
         add(1::i8, 1::i8 = 2::i8\n",
    )
    .unwrap();
    std::fs::write(
        tests.join("arithmetic/sum.test"),
        "### SUBSTRAIT_AGGREGATE_TEST: v1.0\n\
         ### SUBSTRAIT_INCLUDE: extension:io.substrait:functions_arithmetic\n\
         \n\
         sum((1, 2, Null, 4)::i64) = 7::i64?\n\
         ((20), (-3)) max(col0::i32) = 20::i32?\n",
    )
    .unwrap();
    std::fs::write(
        tests.join("arithmetic/unsigned.test"),
        "### SUBSTRAIT_SCALAR_TEST: v1.0\n\
         ### SUBSTRAIT_INCLUDE: extension:io.substrait:unsigned_integers\n\
         \n\
         add(('200')::u!u8, ('50')::u!u8) = ('250')::u!u8\n",
    )
    .unwrap();
    std::fs::write(
        root.path().join("extensions/unsigned_integers.yaml"),
        "urn: extension:io.substrait:unsigned_integers\n\
         types:\n  - name: u8\n    structure:\n      value: string\n\
         scalar_functions:\n  - name: add\n    impls:\n      - args:\n          - value: u!u8\n          - value: u!u8\n        return: u!u8\n",
    )
    .unwrap();
    std::fs::write(
        tests.join("list/transform.test"),
        "### SUBSTRAIT_SCALAR_TEST: v1.0\n\
         ### SUBSTRAIT_INCLUDE: extension:io.substrait:functions_list\n\
         ### SUBSTRAIT_DEPENDENCY: extension:io.substrait:functions_arithmetic\n\
         \n\
         transform([1, 2, Null]::list<i32?>, (x -> multiply(x, 2::i32))::func<i32? -> i32?>) = [2, 4, Null]::list<i32?>\n",
    )
    .unwrap();
    root
}

#[test]
fn conformance_functions_runs_a_corpus_and_holds_a_baseline() {
    let corpus = small_corpus();
    let tests = corpus.path().join("function-tests");
    let (code, stdout, stderr) = run(lode()
        .args(["conformance", "functions", "--format", "json", "--corpus"])
        .arg(&tests));
    assert_eq!(code, 0, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let totals = &report["totals"];
    assert_eq!(totals["cases"], 9, "{stdout}");
    assert_eq!(totals["passed"], 7, "{stdout}");
    assert_eq!(totals["failed"], 1, "{stdout}");
    assert_eq!(totals["unsupported"], 1, "{stdout}");
    let add = &report["groups"][0]["files"][0];
    assert_eq!(add["path"], "arithmetic/add.test");
    let wrong = &add["cases"][3];
    assert_eq!(wrong["line"], 9);
    assert_eq!(wrong["status"], "fail");
    assert!(
        wrong["reason"]
            .as_str()
            .unwrap()
            .contains("got 2, expected 3"),
        "{wrong}"
    );

    let baseline = corpus.path().join("baseline.json");
    let (code, _, stderr) = run(lode()
        .args([
            "conformance",
            "functions",
            "--summary",
            "--update-baseline",
            "--corpus",
        ])
        .arg(&tests)
        .arg("--baseline")
        .arg(&baseline));
    assert_eq!(code, 0, "{stderr}");
    std::fs::write(&baseline, r#"{"passed": 8, "cases": 9}"#).unwrap();
    let (code, stdout, stderr) = run(lode()
        .args(["conformance", "functions", "--corpus"])
        .arg(&tests)
        .arg("--baseline")
        .arg(&baseline));
    assert_eq!(code, 1, "below the baseline fails: {stderr}");
    assert!(stderr.contains("fewer than the 8 recorded"), "{stderr}");
    assert!(stdout.contains("arithmetic/add.test:9: FAIL"), "{stdout}");

    let (code, _, stderr) =
        run(lode().args(["conformance", "functions", "--corpus", "/nonexistent"]));
    assert_eq!(code, 2);
    assert!(stderr.contains("/nonexistent"), "{stderr}");
}

#[test]
fn conformance_plans_pass_and_name_what_fails() {
    let (code, stdout, stderr) = run(lode()
        .args(["conformance", "plans"])
        .arg(repo().join("conformance/cases")));
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.trim_end().ends_with("passed, 0 failed"), "{stdout}");

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("wrong.json"),
        r#"{"about": "a wrong expectation", "plan": {"relations": [{"root": {"input":
            {"read": {"baseSchema": {"names": ["a"], "struct": {"types": [{"i64": {}}]}},
                      "virtualTable": {"expressions": [{"fields": [{"literal": {"i64": "1"}}]}]}}},
            "names": ["a"]}}]},
           "expect": {"csv": "a\n2\n"}}"#,
    )
    .unwrap();
    let (code, stdout, _) = run(lode().args(["conformance", "plans"]).arg(dir.path()));
    assert_eq!(code, 1);
    assert!(
        stdout.contains("FAIL wrong - a wrong expectation"),
        "{stdout}"
    );
    assert!(stdout.contains("--- got\n    a\n    1"), "{stdout}");
}

#[test]
fn drivers_emit_plans_and_drive_iterations() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("lines.csv"),
        "line\nto be or not to be\nthat is the question\n",
    )
    .unwrap();
    let wc = dir.path().join("wc.pb");

    // A driver writes the plan; it is an ordinary plan after that.
    let (code, _, err) = run(lode()
        .arg("plan")
        .arg(guest("wordcount-driver"))
        .args(["--arg", "top=2", "-o"])
        .arg(&wc));
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(lode().arg("validate").arg(&wc));
    assert_eq!(code, 0, "{out}{err}");
    let (code, planned, err) = run(lode()
        .arg("run")
        .arg(&wc)
        .args(["--format", "csv", "--data"])
        .arg(dir.path()));
    assert_eq!(code, 0, "{err}");
    assert_eq!(planned, "word,n\nbe,2\nto,2\n");
    let (code, driven, err) = run(lode()
        .arg("drive")
        .arg(guest("wordcount-driver"))
        .args(["--arg", "top=2", "--format", "csv", "--data"])
        .arg(dir.path()));
    assert_eq!((code, driven.as_str()), (0, planned.as_str()), "{err}");

    // An iterating driver: progress lines, then its result.
    let mut points = String::from("x,y\n");
    for i in 0..200 {
        let (cx, cy) = if i % 2 == 0 { (0.0, 0.0) } else { (20.0, 20.0) };
        points.push_str(&format!(
            "{},{}\n",
            cx + (i % 7) as f64 * 0.1,
            cy + (i % 5) as f64 * 0.1
        ));
    }
    std::fs::write(dir.path().join("points.csv"), points).unwrap();
    let (code, out, err) = run(lode()
        .arg("drive")
        .arg(guest("kmeans"))
        .args(["--arg", "k=2", "--format", "csv", "--data"])
        .arg(dir.path()));
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("driver: iteration 1:") && err.contains("plans run"),
        "{err}"
    );
    let rows: Vec<&str> = out.lines().collect();
    assert_eq!(rows[0], "cluster,points,x,y", "{out}");
    // Two well-separated groups of 100: the centroids are the groups' means.
    let mean = |parity: usize, modulus: usize| {
        (0..200)
            .filter(|i| i % 2 == parity)
            .map(|i| (i % modulus) as f64 * 0.1)
            .sum::<f64>()
            / 100.0
    };
    for (row, (parity, offset)) in rows[1..].iter().zip([(0, 0.0), (1, 20.0)]) {
        let fields: Vec<f64> = row.split(',').map(|f| f.parse().unwrap()).collect();
        let expected = [
            parity as f64,
            100.0,
            offset + mean(parity, 7),
            offset + mean(parity, 5),
        ];
        assert!(
            fields
                .iter()
                .zip(expected)
                .all(|(a, b)| (a - b).abs() < 1e-9),
            "{row} vs {expected:?}"
        );
    }
    // The same driver on a coordinator and two executors in this process: the same clusters.
    let (code, on_cluster, err) = run(lode()
        .arg("drive")
        .arg(guest("kmeans"))
        .args([
            "--arg",
            "k=2",
            "--format",
            "csv",
            "--executors",
            "2",
            "--data",
        ])
        .arg(dir.path()));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.lines().count(),
        on_cluster.lines().count(),
        "{on_cluster}"
    );
    for (local, cluster) in out.lines().zip(on_cluster.lines()).skip(1) {
        let parse = |row: &str| -> Vec<String> { row.split(',').map(str::to_string).collect() };
        let (local, cluster) = (parse(local), parse(cluster));
        assert_eq!(local[..2], cluster[..2], "cluster and size");
        for (a, b) in local[2..].iter().zip(&cluster[2..]) {
            let (a, b): (f64, f64) = (a.parse().unwrap(), b.parse().unwrap());
            assert!((a - b).abs() < 1e-9, "{out} vs {on_cluster}");
        }
    }
    // Misuse: a module that is no driver (1), an argument without `=` (2), an emit-less driver (1).
    let (code, _, err) = run(lode().arg("drive").arg(guest("gcd")));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("is it a driver"), "{err}");
    let (code, _, err) = run(lode()
        .arg("drive")
        .arg(guest("kmeans"))
        .args(["--arg", "k"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--arg k: expected KEY=VALUE"), "{err}");
    let (code, _, err) = run(lode().arg("plan").arg(guest("kmeans")).args(["-o", "-"]));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("use `lode drive`"), "{err}");
}

#[test]
fn module_inspect_names_the_world() {
    let (code, out, err) = run(lode().args(["module", "inspect"]).arg(guest("gcd")));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("world lode:guest/extension") && out.contains("name: \"gcd\""),
        "{out}"
    );
    let (code, out, err) = run(lode().args(["module", "inspect"]).arg(guest("kmeans")));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("world lode:guest/driver")
            && out.contains("exports: [emit, run]")
            && out.contains("lode:guest/planner@0.1.0"),
        "{out}"
    );
    let (code, _, err) = run(lode()
        .args(["module", "inspect"])
        .arg(plan("plans/wasm/reviews.csv")));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("not WebAssembly"), "{err}");
}

#[test]
fn c_python_and_javascript_guests_give_the_rust_guests_results() {
    let dir = tempfile::tempdir().unwrap();
    let numbers = format!("numbers={}", plan("conformance/cases/data/numbers.csv"));
    let sql = "SELECT a, b, gcd(a, b) AS g, noop(a) AS n FROM numbers ORDER BY b";
    let modules = ["gcd", "gcd-c", "gcd-python", "gcd-js"];
    let results = csv_with_each_module(dir.path(), &modules, sql, &numbers);
    assert_eq!(
        results[0],
        "a,b,g,n\n,3,,\n17,5,1,17\n0,7,7,0\n12,18,6,12\n100,75,25,100\n"
    );
    for (module, result) in modules.iter().zip(&results).skip(1) {
        assert_eq!(&results[0], result, "{module} differs from the Rust guest");
    }

    // sentiment: strings in, a struct of floats out; the same floats to the last bit.
    let reviews = format!("reviews={}", plan("plans/wasm/reviews.csv"));
    let sql = "SELECT id, s['positive'] AS p, s['negative'] AS n, s['neutral'] AS u, \
               s['compound'] AS c FROM (SELECT id, sentiment(text) AS s FROM reviews) ORDER BY id";
    let modules = ["sentiment", "sentiment-python", "sentiment-js"];
    let results = csv_with_each_module(dir.path(), &modules, sql, &reviews);
    assert_eq!(results[0].lines().count(), 13, "{}", results[0]);
    assert!(
        results[0].contains("\n1,0.5412844036697247,0.0,0.4587155963302752,0.8359758677591163\n"),
        "{}",
        results[0]
    );
    for (module, result) in modules.iter().zip(&results).skip(1) {
        assert_eq!(&results[0], result, "{module} differs from the Rust guest");
    }
}

/// The CSV result of `sql` over `table` (NAME=PATH) with each module's functions, through
/// `lode sql` and `lode run`.
fn csv_with_each_module(dir: &Path, modules: &[&str], sql: &str, table: &str) -> Vec<String> {
    modules
        .iter()
        .map(|module| {
            let plan_file = dir.join(format!("{module}.json"));
            let (code, _, err) = run(lode()
                .args(["sql", sql, "--table", table, "--module"])
                .arg(guest(module))
                .arg("-o")
                .arg(&plan_file));
            assert_eq!(code, 0, "{module}: {err}");
            let (code, out, err) = run(lode()
                .arg("run")
                .arg(&plan_file)
                .args(["--table", table, "--format", "csv"]));
            assert_eq!(code, 0, "{module}: {err}");
            out
        })
        .collect()
}

#[test]
fn plans_name_modules_by_hash_through_the_module_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let in_store =
        |cmd: &mut Command| -> (i32, String, String) { run(cmd.env("LODE_MODULE_STORE", &store)) };
    let numbers = format!("numbers={}", plan("conformance/cases/data/numbers.csv"));
    let sql = "SELECT a, b, gcd(a, b) AS g FROM numbers ORDER BY b";
    let sha256 = {
        let bytes = std::fs::read(guest("gcd-c")).unwrap();
        lode_wasm::sha256_hex(&bytes)
    };

    let (code, out, err) = in_store(lode().args(["module", "add"]).arg(guest("gcd-c")));
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with(&format!("{sha256}  gcd-c (")), "{out}");
    let (code, out, _) = in_store(lode().args(["module", "list"]));
    assert_eq!(code, 0);
    assert!(out.contains(&format!("{sha256}  gcd-c (")), "{out}");
    // Only modules a plan can use: a driver is refused.
    let (code, _, err) = in_store(lode().args(["module", "add"]).arg(guest("kmeans")));
    assert_eq!(code, 1);
    assert!(err.contains("implements lode:guest/driver"), "{err}");

    let (embedded, by_hash) = (
        dir.path().join("embedded.json"),
        dir.path().join("by-hash.json"),
    );
    for (plan_file, extra) in [(&embedded, None), (&by_hash, Some("--by-hash"))] {
        let (code, _, err) = in_store(
            lode()
                .args(["sql", sql, "--table", &numbers, "--module"])
                .arg(guest("gcd-c"))
                .args(extra)
                .arg("-o")
                .arg(plan_file),
        );
        assert_eq!(code, 0, "{err}");
    }
    let size = |p: &Path| std::fs::metadata(p).unwrap().len();
    assert!(
        size(&by_hash) < 16_000 && size(&embedded) > 200_000,
        "by hash {} bytes, embedded {} bytes",
        size(&by_hash),
        size(&embedded)
    );
    let text = std::fs::read_to_string(&by_hash).unwrap();
    assert!(text.contains(&sha256), "the plan names the module");

    // Without --module: the module comes from the store, with the embedded plan's result.
    let results: Vec<String> = [&embedded, &by_hash]
        .iter()
        .map(|p| {
            let (code, out, err) = in_store(
                lode()
                    .arg("run")
                    .arg(p)
                    .args(["--table", &numbers, "--format", "csv"]),
            );
            assert_eq!(code, 0, "{err}");
            out
        })
        .collect();
    assert_eq!(
        results[0],
        "a,b,g\n,3,\n17,5,1\n0,7,7\n12,18,6\n100,75,25\n"
    );
    assert_eq!(results[0], results[1]);
    // Distributed: the coordinator serves the stored module to the executors.
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::copy(
        plan("conformance/cases/data/numbers.csv"),
        data.join("numbers.csv"),
    )
    .unwrap();
    let (code, out, err) = in_store(
        lode()
            .arg("run")
            .arg(&by_hash)
            .arg("--data")
            .arg(&data)
            .args(["--executors", "2", "--format", "csv"]),
    );
    assert_eq!((code, out.as_str()), (0, results[0].as_str()), "{err}");

    // A host whose store lacks it says so, and how to fix it.
    let (code, _, err) = run(lode()
        .env("LODE_MODULE_STORE", dir.path().join("empty"))
        .arg("run")
        .arg(&by_hash)
        .args(["--table", &numbers]));
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!(
            "module {sha256} carries no bytes and is not in this host's module store"
        )) && err.contains("lode module add"),
        "{err}"
    );
}

#[test]
fn generated_points_feed_the_kmeans_driver() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(lode()
        .args([
            "gen",
            "points",
            "--rows",
            "20000",
            "--clusters",
            "4",
            "--out",
        ])
        .arg(dir.path()));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("points: 20000 rows in 4 clusters"), "{err}");
    let (code, out, err) = run(lode()
        .arg("drive")
        .arg(guest("kmeans"))
        .args(["--arg", "k=4", "--format", "csv", "--data"])
        .arg(dir.path()));
    assert_eq!(code, 0, "{err}");
    let sizes: Vec<u64> = out
        .lines()
        .skip(1)
        .map(|row| row.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    assert_eq!(sizes.len(), 4, "{out}");
    assert_eq!(sizes.iter().sum::<u64>(), 20000, "{out}");
    let (code, _, err) = run(lode()
        .args(["gen", "points", "--clusters", "0", "--out"])
        .arg(dir.path()));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--clusters must be at least 1"), "{err}");
}
