//! `lode` against a real S3-compatible server on loopback: moto (PyPI `moto[server]`), which
//! `make test` installs into `out/s3-env` (`LODE_S3_ENV` names another). moto is started with
//! credentials checked (after `tools/s3/seed.py` creates a user, its key, a bucket, and
//! uploads the data), so wrong keys are refused as a cloud would refuse them. Delta and
//! Iceberg tables are written by those projects' own Python packages (`deltalake`,
//! `pyiceberg`, installed beside moto), locally and into the store; clusters of `lode serve`
//! processes read the store as executors.

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

mod common;

use common::{guest, plan, repo, run, start_coordinator, wait_for_line};

/// The Python environment holding moto and boto3.
fn s3_env() -> PathBuf {
    let env = std::env::var_os("LODE_S3_ENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("out/s3-env"));
    assert!(
        env.join("bin/moto_server").exists(),
        "no moto_server in {}: run `make test` (it installs PyPI moto[server] there) or set LODE_S3_ENV",
        env.display()
    );
    env
}

/// TPC-H SF 0.1, generated once per test binary.
fn tpch() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_lode"))
            .args(["gen", "tpch", "--sf", "0.1", "--out"])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "gen: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
    .path()
}

/// A Delta table written by Delta Lake's own Python package (`tools/s3/delta.py`): TPC-H's
/// nation, 10 rows at version 0 and all 25 at version 1, partitioned by `n_regionkey`.
fn delta_nation() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new(s3_env().join("bin/python"))
            .arg(repo().join("tools/s3/delta.py"))
            .arg(tpch().join("nation.parquet"))
            .arg(dir.path().join("nation"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "delta.py: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
    .path()
}

/// An Iceberg table written by PyIceberg (`tools/s3/iceberg.py`) at `location` (a `file://`
/// or, with the server's endpoint and keys, an `s3://` URI): TPC-H's nation, 10 rows in its
/// first snapshot and all 25 in its second, partitioned by `n_regionkey`. Returns the two
/// snapshot ids.
fn write_iceberg_nation(location: &str, server: Option<(&str, &str, &str)>) -> Vec<String> {
    let mut command = Command::new(s3_env().join("bin/python"));
    command
        .arg(repo().join("tools/s3/iceberg.py"))
        .arg(tpch().join("nation.parquet"))
        .arg(location);
    if let Some((endpoint, key, secret)) = server {
        command.args([endpoint, key, secret]);
    }
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "iceberg.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ids: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    ids
}

/// [`write_iceberg_nation`] into a local directory, once per test binary: the directory and
/// the snapshot ids.
fn iceberg_nation() -> &'static (tempfile::TempDir, Vec<String>) {
    static TABLE: OnceLock<(tempfile::TempDir, Vec<String>)> = OnceLock::new();
    TABLE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let location = format!("file://{}", dir.path().join("nation").display());
        let ids = write_iceberg_nation(&location, None);
        (dir, ids)
    })
}

/// A moto server on a free loopback port, seeded with bucket `lode`: `tpch/` (TPC-H SF 0.1),
/// `many/nation/` (1,100 copies of `nation.parquet`, more than one listing page) and
/// `delta/nation/` and `delta-append/nation/` (the Delta table of [`delta_nation`]; tests
/// append only to the second), `modules/gcd.wasm`, and `iceberg/nation/` (the Iceberg table
/// of [`write_iceberg_nation`], written there by PyIceberg; its snapshot ids in `iceberg`).
struct Server {
    child: Child,
    endpoint: String,
    key: String,
    secret: String,
    iceberg: Vec<String>,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Server {
        let env = s3_env();
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("moto.log");
        let child = Command::new(env.join("bin/moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("INITIAL_NO_AUTH_ACTION_COUNT", "3")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let endpoint = format!("http://127.0.0.1:{port}");
        let nation = tpch().join("nation.parquet");
        let out = Command::new(env.join("bin/python"))
            .arg(repo().join("tools/s3/seed.py"))
            .args([&endpoint, "lode"])
            .arg(format!("tpch={}", tpch().display()))
            .arg(format!("delta={}", delta_nation().display()))
            .arg(format!("delta-append={}", delta_nation().display()))
            .arg(format!("modules/gcd.wasm={}", guest("gcd").display()))
            .arg("--copies")
            .arg(format!("many/nation={}:1100", nation.display()))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "seed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let keys = String::from_utf8(out.stdout).unwrap();
        let (key, secret) = keys.trim().split_once(' ').unwrap();
        let iceberg =
            write_iceberg_nation("s3://lode/iceberg/nation", Some((&endpoint, key, secret)));
        Server {
            child,
            endpoint,
            key: key.into(),
            secret: secret.into(),
            iceberg,
            log,
            _dir: dir,
        }
    }

    /// `lode` with this server's endpoint and the seeded user's credentials, and nothing
    /// from the environment the tests run in.
    fn lode(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_lode"));
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("AWS_") {
                command.env_remove(name);
            }
        }
        command
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_ALLOW_HTTP", "true")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", &self.key)
            .env("AWS_SECRET_ACCESS_KEY", &self.secret)
            .env("AWS_CONFIG_FILE", "/nonexistent")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent");
        command
    }

    /// The requests moto served, as its log lines.
    fn requests(&self) -> Vec<String> {
        let file = std::fs::File::open(&self.log).unwrap();
        BufReader::new(file).lines().map_while(Result::ok).collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The server most tests share.
fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(Server::start)
}

fn local_csv(plan_file: &str) -> String {
    let (code, out, err) = run(server()
        .lode()
        .args(["run", &plan(plan_file), "--format", "csv", "--data"])
        .arg(tpch()));
    assert_eq!(code, 0, "{err}");
    out
}

#[test]
fn tpch_from_the_store_equals_the_local_run() {
    for query in [
        "plans/tpch/q01.json",
        "plans/tpch/q05.json",
        "plans/tpch/q18.json",
    ] {
        let (code, out, err) = run(server().lode().args([
            "run",
            &plan(query),
            "--format",
            "csv",
            "--data",
            "s3://lode/tpch/",
        ]));
        assert_eq!(code, 0, "{query}: {err}");
        assert!(out.lines().count() > 1, "{query}: no rows");
        assert_eq!(out, local_csv(query), "{query}");
    }
}

#[test]
fn a_large_file_is_read_in_ranges_by_several_tasks() {
    let (code, out, err) = run(server().lode().args([
        "run",
        &plan("plans/tpch/q06.json"),
        "--partitions",
        "4",
        "--format",
        "csv",
        "--table",
        "lineitem=s3://lode/tpch/lineitem.parquet",
    ]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, local_csv("plans/tpch/q06.json"));
    let ranged = server()
        .requests()
        .iter()
        .filter(|line| line.contains("GET /lode/tpch/lineitem.parquet") && line.contains(" 206 "))
        .count();
    assert!(ranged >= 4, "{ranged} ranged reads of lineitem.parquet");
}

#[test]
fn a_prefix_of_more_files_than_one_listing_page_is_one_table() {
    let out = sql_csv(
        "SELECT count(*) AS n FROM nation",
        "nation=s3://lode/many/nation/",
    );
    assert_eq!(out, "n\n27500\n", "1,100 files of 25 nations");
}

#[test]
fn a_result_written_to_the_store_reads_back_equal() {
    let query = plan("plans/tpch/q18.json");
    for (output, read_as) in [
        ("s3://lode/results/q18/", "s3://lode/results/q18/"),
        (
            "s3://lode/results/q18.parquet",
            "s3://lode/results/q18.parquet",
        ),
    ] {
        let (code, _, err) =
            run(server()
                .lode()
                .args(["run", &query, "--data", "s3://lode/tpch/", "-o", output]));
        assert_eq!(code, 0, "{output}: {err}");
        let sql = "SELECT count(*) AS n, sum(total_qty) AS q FROM r";
        let back = sql_csv(sql, &format!("r={read_as}"));
        let local = local_csv("plans/tpch/q18.json");
        let rows: Vec<&str> = local.lines().skip(1).collect();
        let quantity: f64 = rows
            .iter()
            .map(|row| row.rsplit(',').next().unwrap().parse::<f64>().unwrap())
            .sum();
        assert_eq!(
            back,
            format!("n,q\n{},{quantity:.2}\n", rows.len()),
            "{output}"
        );
    }
}

/// `lode sql SQL` planned against `table`, then run against it: the CSV it prints.
fn sql_csv(sql: &str, table: &str) -> String {
    let bind = ["--table", table];
    sql_then_run(sql, &bind, &bind).0
}

/// `lode sql SQL SQL_ARGS -o plan.json`, then `lode run plan.json --format csv RUN_ARGS`: the
/// CSV it prints, and the directory holding `plan.json` for further runs.
fn sql_then_run(sql: &str, sql_args: &[&str], run_args: &[&str]) -> (String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let plan_file = dir.path().join("plan.json");
    let (code, _, err) = run(server()
        .lode()
        .args(["sql", sql])
        .args(sql_args)
        .arg("-o")
        .arg(&plan_file));
    assert_eq!(code, 0, "{sql_args:?}: {err}");
    let (code, out, err) = run(server()
        .lode()
        .arg("run")
        .arg(&plan_file)
        .args(["--format", "csv"])
        .args(run_args));
    assert_eq!(code, 0, "{run_args:?}: {err}");
    (out, dir)
}

#[test]
fn delta_tables_read_at_their_latest_and_an_earlier_version_locally_and_from_the_store() {
    let local = delta_nation().join("nation");
    let sql = "SELECT count(*) AS n, sum(n_nationkey) AS k FROM nation";
    let in_region = "SELECT count(*) AS n FROM nation WHERE n_regionkey = 1";
    for location in [
        local.to_string_lossy().into_owned(),
        "s3://lode/delta/nation/".into(),
    ] {
        assert_eq!(
            sql_csv(sql, &format!("nation={location}")),
            "n,k\n25,300\n",
            "{location}"
        );
        assert_eq!(
            sql_csv(sql, &format!("nation={location}#version=0")),
            "n,k\n10,45\n",
            "{location} at version 0"
        );
        assert_eq!(
            sql_csv(in_region, &format!("nation={location}")),
            "n\n5\n",
            "{location}"
        );
    }
}

#[test]
fn iceberg_tables_read_at_their_current_and_an_earlier_snapshot_locally_and_from_the_store() {
    let (dir, local_ids) = iceberg_nation();
    let local = dir.path().join("nation");
    let sql = "SELECT count(*) AS n, sum(n_nationkey) AS k FROM nation";
    let in_region =
        "SELECT count(*) AS n, min(n_nationkey) AS first FROM nation WHERE n_regionkey = 1";
    for (location, ids) in [
        (local.to_string_lossy().into_owned(), local_ids),
        ("s3://lode/iceberg/nation/".to_string(), &server().iceberg),
    ] {
        assert_eq!(
            sql_csv(sql, &format!("nation={location}")),
            "n,k\n25,300\n",
            "{location}"
        );
        assert_eq!(
            sql_csv(sql, &format!("nation={location}#snapshot={}", ids[0])),
            "n,k\n10,45\n",
            "{location} at its first snapshot"
        );
        assert_eq!(
            sql_csv(in_region, &format!("nation={location}")),
            "n,first\n5,1\n",
            "{location}"
        );
    }
}

#[test]
fn an_iceberg_filter_skips_the_files_its_manifests_rule_out() {
    // A table of its own, so that no other test reads its files meanwhile.
    let server = server();
    write_iceberg_nation(
        "s3://lode/iceberg-pruned/nation",
        Some((&server.endpoint, &server.key, &server.secret)),
    );
    let bind = ["--table", "nation=s3://lode/iceberg-pruned/nation/"];
    let (out, _) = sql_then_run(
        "SELECT count(*) AS n FROM nation WHERE n_regionkey = 1",
        &bind,
        &bind,
    );
    assert_eq!(out, "n\n5\n");
    // Region 1's rows are in 2 of the table's 10 files (one per region and snapshot): no
    // other data file is even opened.
    let reads: Vec<String> = server
        .requests()
        .into_iter()
        .filter(|line| line.contains("GET /lode/iceberg-pruned/nation/data/"))
        .collect();
    assert!(!reads.is_empty(), "no data file was read");
    let outside: Vec<&String> = reads
        .iter()
        .filter(|line| !line.contains("n_regionkey=1/") && !line.contains("n_regionkey%3D1/"))
        .collect();
    assert!(
        outside.is_empty(),
        "files of other regions read: {outside:#?}"
    );
}

#[test]
fn delta_and_iceberg_tables_run_on_executors() {
    for prefix in ["s3://lode/delta/", "s3://lode/iceberg/"] {
        let data = ["--data", prefix];
        for sql in [
            "SELECT n_regionkey, count(*) AS n FROM nation GROUP BY n_regionkey ORDER BY 1",
            // Every column, in the table's order, of one partition.
            "SELECT * FROM nation WHERE n_regionkey = 1 ORDER BY n_nationkey",
        ] {
            let (local, plan_dir) = sql_then_run(sql, &data, &data);
            assert!(local.lines().count() == 6, "{prefix}: {sql}: {local}");
            let (code, out, err) = run(server()
                .lode()
                .arg("run")
                .arg(plan_dir.path().join("plan.json"))
                .args(["--executors", "2", "--format", "csv"])
                .args(data));
            assert_eq!(code, 0, "{prefix}: {sql}: {err}");
            assert_eq!(out, local, "{prefix}: {sql}");
        }
    }
}

/// PyIceberg's reading of the table at `location` (newest metadata): rows and key sum.
fn pyiceberg_reads(location: &str) -> String {
    let server = server();
    let mut command = Command::new(s3_env().join("bin/python"));
    command
        .arg(repo().join("tools/s3/iceberg.py"))
        .args(["--read", location]);
    if location.starts_with("s3://") {
        command.args([&server.endpoint, &server.key, &server.secret]);
    }
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "iceberg.py --read: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn a_result_appended_to_an_iceberg_table_is_its_next_snapshot_for_lode_and_pyiceberg() {
    let local = tempfile::tempdir().unwrap();
    let server = server();
    let tables = [
        format!("file://{}", local.path().join("nation").display()),
        "s3://lode/iceberg-append/nation".to_string(),
    ];
    let plan_dir = tempfile::tempdir().unwrap();
    let region_1 = plan_dir.path().join("region-1.json");
    let (code, _, err) = run(server
        .lode()
        .args([
            "sql",
            "SELECT * FROM nation WHERE n_regionkey = 1",
            "--data",
        ])
        .arg(tpch())
        .arg("-o")
        .arg(&region_1));
    assert_eq!(code, 0, "{err}");
    for table in &tables {
        let credentials = (
            server.endpoint.as_str(),
            server.key.as_str(),
            server.secret.as_str(),
        );
        let store = table.starts_with("s3://").then_some(credentials);
        let ids = write_iceberg_nation(table, store);
        let (code, _, err) = run(server
            .lode()
            .arg("run")
            .arg(&region_1)
            .arg("--data")
            .arg(tpch())
            .args(["-o", table]));
        assert_eq!(code, 0, "{table}: {err}");
        assert!(
            err.contains("appended 5 rows to ") && err.contains(" as Iceberg snapshot "),
            "{err}"
        );
        let sql = "SELECT count(*) AS n, sum(n_nationkey) AS k FROM nation";
        assert_eq!(
            sql_csv(sql, &format!("nation={table}")),
            "n,k\n30,347\n",
            "{table}"
        );
        assert_eq!(
            sql_csv(sql, &format!("nation={table}#snapshot={}", ids[1])),
            "n,k\n25,300\n",
            "{table} before the append"
        );
        assert_eq!(pyiceberg_reads(table), "30 347", "{table}");

        // A result that is not the table's columns is refused, and nothing is committed.
        let wrong = plan_dir.path().join("wrong.json");
        let (code, _, err) = run(server
            .lode()
            .args(["sql", "SELECT n_name, n_nationkey FROM nation", "--data"])
            .arg(tpch())
            .arg("-o")
            .arg(&wrong));
        assert_eq!(code, 0, "{err}");
        let (code, _, err) = run(server
            .lode()
            .arg("run")
            .arg(&wrong)
            .arg("--data")
            .arg(tpch())
            .args(["-o", table]));
        assert_eq!(code, 3, "{err}");
        assert!(
            err.contains("the result has 2 columns (n_name, n_nationkey), the table 4 (n_nationkey, n_name, n_regionkey, n_comment)"),
            "{err}"
        );
        assert_eq!(pyiceberg_reads(table), "30 347", "{table}");
    }
}

#[test]
fn a_missing_iceberg_snapshot_or_a_mismatched_time_travel_is_refused() {
    let (dir, ids) = iceberg_nation();
    let local = dir.path().join("nation");
    let plan_dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            format!("nation={}#snapshot=42", local.display()),
            format!(
                "error: table `nation` ({}): #snapshot=42: the table has no such snapshot; its snapshots are {}, {}\n",
                local.display(),
                ids[0],
                ids[1]
            ),
        ),
        (
            format!("nation={}#version=1", local.display()),
            format!(
                "error: table `nation` ({}): #version= reads a version of a Delta table; this is an Iceberg table: use #snapshot=ID\n",
                local.display()
            ),
        ),
        (
            "nation=s3://lode/delta/nation/#snapshot=1".to_string(),
            "error: table `nation` (s3://lode/delta/nation/): #snapshot= reads a snapshot of an Iceberg table; this is a Delta table: use #version=N\n".to_string(),
        ),
    ];
    for (table, expected) in cases {
        let (code, _, err) = run(server()
            .lode()
            .args(["sql", "SELECT 1 FROM nation", "--table", &table, "-o"])
            .arg(plan_dir.path().join("plan.json")));
        assert_eq!(code, 2, "{table}: {err}");
        assert_eq!(err, expected, "{table}");
    }
}

#[test]
fn a_delta_table_under_a_data_prefix_is_found_by_its_log() {
    let data = ["--data", "s3://lode/delta/"];
    let (out, _) = sql_then_run("SELECT count(*) AS n FROM nation", &data, &data);
    assert_eq!(out, "n\n25\n");
}

#[test]
fn a_result_appended_to_a_delta_table_is_its_next_version() {
    let local = tempfile::tempdir().unwrap();
    let copy = local.path().join("nation");
    let copied = Command::new("cp")
        .arg("-r")
        .arg(delta_nation().join("nation"))
        .arg(&copy)
        .status()
        .unwrap();
    assert!(copied.success());
    let region = "SELECT * FROM nation WHERE n_regionkey = 1";
    let count = "SELECT count(*) AS n FROM nation";
    for table in [
        copy.to_string_lossy().into_owned(),
        "s3://lode/delta-append/nation/".into(),
    ] {
        let binding = format!("nation={table}");
        let dir = tempfile::tempdir().unwrap();
        let plan_file = dir.path().join("region.json");
        let (code, _, err) = run(server()
            .lode()
            .args(["sql", region, "--table", &binding, "-o"])
            .arg(&plan_file));
        assert_eq!(code, 0, "{err}");
        let (code, _, err) = run(server()
            .lode()
            .arg("run")
            .arg(&plan_file)
            .args(["--table", &binding, "-o", &table]));
        assert_eq!(code, 0, "{table}: {err}");
        assert_eq!(
            err,
            format!("appended 5 rows to {table} as Delta version 2\n")
        );
        assert_eq!(sql_csv(count, &binding), "n\n30\n", "{table}");
        assert_eq!(
            sql_csv(count, &format!("{binding}#version=1")),
            "n\n25\n",
            "{table}"
        );
        let (code, _, err) = run(server()
            .lode()
            .arg("run")
            .arg(&plan_file)
            .args(["--table", &binding, "--format", "csv", "-o", &table]));
        assert_eq!(code, 2, "{err}");
        assert_eq!(
            err,
            format!(
                "error: -o {table} is a Delta table: a result is appended to it as Parquet; drop --format\n"
            )
        );
    }
}

#[test]
fn a_delta_version_that_does_not_exist_or_a_version_of_plain_files_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let plan_file = dir.path().join("plan.json");
    let local = delta_nation().join("nation");
    let cases = [
        (
            format!("nation={}#version=7", local.display()),
            format!(
                "error: table `nation` ({}): Delta table version 7 does not exist; the latest is 1\n",
                local.display()
            ),
        ),
        (
            "nation=s3://lode/many/nation/#version=1".to_string(),
            "error: table `nation` (s3://lode/many/nation/): #version= reads a version of a Delta table, and this is not one (no _delta_log)\n".to_string(),
        ),
    ];
    for (table, expected) in cases {
        let (code, _, err) = run(server()
            .lode()
            .args(["sql", "SELECT 1 FROM nation", "--table", &table, "-o"])
            .arg(&plan_file));
        assert_eq!(code, 2, "{table}: {err}");
        assert_eq!(err, expected, "{table}");
    }
}

#[test]
fn generated_data_and_modules_come_from_the_store() {
    let local = tempfile::tempdir().unwrap();
    for out in [
        local.path().to_string_lossy().into_owned(),
        "s3://lode/gen/".into(),
    ] {
        let (code, _, err) = run(server()
            .lode()
            .args(["gen", "tpch", "--sf", "0.01", "--parts", "2", "--out", &out]));
        assert_eq!(code, 0, "{out}: {err}");
    }
    let query = |data: &str| {
        let (code, out, err) = run(server().lode().args([
            "run",
            &plan("plans/tpch/q03.json"),
            "--format",
            "csv",
            "--data",
            data,
        ]));
        assert_eq!(code, 0, "{data}: {err}");
        out
    };
    assert_eq!(
        query("s3://lode/gen/"),
        query(&local.path().to_string_lossy())
    );

    let sql = "SELECT sum(gcd(n_nationkey, 6)) AS g FROM nation";
    let data = ["--data", "s3://lode/tpch/"];
    let module = ["--module", "s3://lode/modules/gcd.wasm"];
    let (out, dir) = sql_then_run(sql, &[&module[..], &data[..]].concat(), &data);
    let plan_file = dir.path().join("plan.json");
    // gcd(k, 6) over nation keys 0..24: 6 for 0, 6, 12, 18, 24; 3 for 3, 9, 15, 21; 2 for the
    // other evens; 1 for the rest.
    assert_eq!(out, "g\n66\n");
    let (code, _, err) = run(server()
        .lode()
        .arg("run")
        .arg(&plan_file)
        .args(data)
        .args(["--module", "s3://lode/modules/nope.wasm"]));
    assert_eq!(code, 2, "{err}");
    assert_eq!(
        err,
        "error: s3://lode/modules/nope.wasm: no object `modules/nope.wasm` in the store\n"
    );
}

#[test]
fn wrong_credentials_name_the_bucket_and_the_settings_and_no_secret() {
    let wrong_secret = "wrongSecretThatMustNotBePrinted";
    let (code, out, err) = run(server()
        .lode()
        .env("AWS_SECRET_ACCESS_KEY", wrong_secret)
        .args([
            "run",
            &plan("plans/tpch/q06.json"),
            "--data",
            "s3://lode/tpch/",
        ]));
    assert_eq!(code, 2, "{err}");
    assert!(err.starts_with("error: s3://lode/tpch/: the store refused the credentials: check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"), "{err}");
    for secret in [wrong_secret, server().secret.as_str()] {
        assert!(!err.contains(secret) && !out.contains(secret), "{err}");
    }
}

#[test]
fn a_missing_object_bucket_or_scheme_is_named() {
    let cases = [
        (
            "lineitem=s3://lode/tpch/nope.parquet",
            "error: s3://lode/tpch/nope.parquet: no object `tpch/nope.parquet` in the store",
        ),
        (
            "lineitem=s3://no-such-bucket/tpch/",
            "error: s3://no-such-bucket/tpch/: the bucket does not exist",
        ),
        (
            "lineitem=s3://lode/empty/",
            "error: table `lineitem` (s3://lode/empty/): directory holds no .parquet, .csv or .arrow files, no Delta log (_delta_log/) and no Iceberg metadata (metadata/*.metadata.json)",
        ),
        (
            "lineitem=hdfs://namenode/lineitem.parquet",
            "error: hdfs://namenode/lineitem.parquet: unknown scheme `hdfs://`; Lode reads local paths and s3://, gs://, az://, abfs://, abfss://, http:// or https:// URLs",
        ),
    ];
    for (table, expected) in cases {
        let (code, _, err) =
            run(server()
                .lode()
                .args(["run", &plan("plans/tpch/q06.json"), "--table", table]));
        assert_eq!(code, 2, "{table}: {err}");
        assert!(err.starts_with(expected), "{table}: {err}");
    }
}

#[test]
fn a_store_stopped_mid_query_fails_clearly_and_leaves_no_output() {
    let mut server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("q18.csv");
    let mut query = server
        .lode()
        .args([
            "run",
            &plan("plans/tpch/q18.json"),
            "--data",
            "s3://lode/tpch/",
            "-v",
            "-o",
        ])
        .arg(&output)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Stop the store once the plan is converted (its tables bound), as the query starts.
    let (converted, started) = std::sync::mpsc::channel();
    let stderr = query.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("plan converted") {
                let _ = converted.send(());
            }
            lines.push(line);
        }
        lines.join("\n")
    });
    started
        .recv_timeout(Duration::from_secs(60))
        .expect("the plan was never converted");
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = query.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the query hung after the store stopped"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let err = reader.join().unwrap();
    assert_eq!(status.code(), Some(3), "{err}");
    assert!(
        err.contains("cannot reach the store: check its endpoint (AWS_ENDPOINT_URL)"),
        "{err}"
    );
    assert!(
        !output.exists(),
        "a partial result was left at {}",
        output.display()
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "temporary files left"
    );
}

/// `lode serve` processes with the server's credentials: a coordinator (logging the tasks it
/// sends) and executors each started with `--data s3://lode/tpch/`; killed when dropped.
struct StoreCluster {
    address: String,
    coordinator_log: Receiver<String>,
    children: Vec<Child>,
    /// Where the processes keep their files, removed when they are gone.
    machine: Machine,
}

impl StoreCluster {
    fn start(executors: usize) -> StoreCluster {
        StoreCluster::start_on(executors, Machine::new())
    }

    /// A cluster whose processes all run on `machine`.
    fn start_on(executors: usize, machine: Machine) -> StoreCluster {
        let (coordinator, address, coordinator_log) = start_coordinator(
            machine
                .lode()
                .env("RUST_LOG", "info,lode_dist=debug")
                // SF 0.1's lineitem (19 MB) in two ranges.
                .args(["serve", "coordinator", "--listen", "127.0.0.1:0"])
                .args(["--scan-range-mib", "4"]),
        );
        let mut cluster = StoreCluster {
            address,
            coordinator_log,
            children: vec![coordinator],
            machine,
        };
        for _ in 0..executors {
            let mut executor = cluster
                .machine
                .lode()
                .args(["serve", "executor", "--slots", "2", "--coordinator"])
                .arg(&cluster.address)
                .args(["--data", "s3://lode/tpch/"])
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let stderr = executor.stderr.take().unwrap();
            cluster.children.push(executor);
            wait_for_line(stderr, "registered with the coordinator");
        }
        cluster
    }

    /// Submits `query`; its CSV, and the coordinator's log lines of the job.
    fn submit(&self, query: &str) -> (String, Vec<String>) {
        let (code, out, err) = run(server().lode().args([
            "submit",
            &plan(query),
            "--format",
            "csv",
            "--coordinator",
            &self.address,
        ]));
        assert_eq!(code, 0, "{query}: {err}");
        let mut lines = Vec::new();
        loop {
            let line = self
                .coordinator_log
                .recv_timeout(Duration::from_secs(60))
                .expect("the coordinator did not log the job's end");
            let finished = line.contains("job finished");
            lines.push(line);
            if finished {
                return (out, lines);
            }
        }
    }
}

impl Drop for StoreCluster {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A machine of its own: `lode` with empty module stores and caches (its home, data and
/// cache directories are fresh), and the server's credentials.
struct Machine {
    home: tempfile::TempDir,
    shared_modules: Option<String>,
}

impl Machine {
    fn new() -> Machine {
        Machine {
            home: tempfile::tempdir().unwrap(),
            shared_modules: None,
        }
    }

    /// A machine configured with the shared module store `url`.
    fn sharing_modules(url: &str) -> Machine {
        Machine {
            shared_modules: Some(url.to_string()),
            ..Machine::new()
        }
    }

    fn lode(&self) -> Command {
        let mut command = server().lode();
        let home = self.home.path();
        command
            .env("HOME", home)
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_CACHE_HOME", home.join("cache"))
            .env_remove("LODE_CACHE_DIR");
        match &self.shared_modules {
            Some(url) => command.env("LODE_MODULE_STORE", url),
            None => command.env_remove("LODE_MODULE_STORE"),
        };
        command
    }
}

#[test]
fn a_module_added_to_a_shared_store_runs_on_machines_and_clusters_that_never_saw_it() {
    let store = "s3://lode/shared-modules/";
    let adder = Machine::sharing_modules(store);
    let (code, added, err) = run(adder.lode().args(["module", "add"]).arg(guest("gcd")));
    assert_eq!(code, 0, "{err}");
    let sha256 = added.split_whitespace().next().unwrap().to_string();
    assert!(
        err.contains(&format!("added to the shared module store {store}")),
        "{err}"
    );
    let (code, listed, err) = run(Machine::sharing_modules(store)
        .lode()
        .args(["module", "list"]));
    assert_eq!(code, 0, "{err}");
    assert!(listed.starts_with(&format!("{sha256}  gcd (")), "{listed}");

    // A plan naming the module by its hash alone.
    let dir = tempfile::tempdir().unwrap();
    let plan_file = dir.path().join("plan.json");
    let (code, _, err) = run(adder
        .lode()
        .args([
            "sql",
            "SELECT sum(gcd(n_nationkey, 6)) AS g FROM nation",
            "--by-hash",
        ])
        .args(["--data", "s3://lode/tpch/", "--module"])
        .arg(guest("gcd"))
        .arg("-o")
        .arg(&plan_file));
    assert_eq!(code, 0, "{err}");
    assert!(
        std::fs::metadata(&plan_file).unwrap().len() < 64 << 10,
        "the plan embeds the module"
    );

    let elsewhere = Machine::sharing_modules(store);
    let (code, out, err) = run(elsewhere.lode().arg("run").arg(&plan_file).args([
        "--format",
        "csv",
        "--data",
        "s3://lode/tpch/",
    ]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "g\n66\n");

    let cluster = StoreCluster::start_on(2, Machine::sharing_modules(store));
    let (code, out, err) = run(server().lode().arg("submit").arg(&plan_file).args([
        "--format",
        "csv",
        "--coordinator",
        &cluster.address,
    ]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "g\n66\n");

    // Without the shared store, a machine that never added it cannot run the plan.
    let (code, _, err) = run(Machine::new()
        .lode()
        .arg("run")
        .arg(&plan_file)
        .args(["--data", "s3://lode/tpch/"]));
    assert_ne!(code, 0);
    assert!(
        err.contains(&format!(
            "module {sha256} carries no bytes and is not in this host's module store"
        )),
        "{err}"
    );
}

/// The value of `name=` in a log line.
fn field<'l>(line: &'l str, name: &str) -> &'l str {
    let start = line
        .find(&format!("{name}="))
        .unwrap_or_else(|| panic!("no {name}= in {line}"))
        + name.len()
        + 1;
    line[start..].split(' ').next().unwrap()
}

#[test]
fn executors_on_a_store_prefix_share_its_files_and_count_what_they_read_from_it() {
    let cluster = StoreCluster::start(2);
    for query in ["plans/tpch/q05.json", "plans/tpch/q18.json"] {
        let (out, _) = cluster.submit(query);
        assert_eq!(out, local_csv(query), "{query}");
    }
    // q06 scans lineitem alone: its ranges run on both executors, and what they read from
    // the store is the columns q06 needs, less than the file.
    let (out, log) = cluster.submit("plans/tpch/q06.json");
    assert_eq!(out, local_csv("plans/tpch/q06.json"));
    let executors: std::collections::BTreeSet<&str> = log
        .iter()
        .filter(|line| {
            line.contains("task sent") && line.contains("s3://lode/tpch/lineitem.parquet")
        })
        .map(|line| field(line, "executor"))
        .collect();
    assert_eq!(
        executors.len(),
        2,
        "lineitem was read by {executors:?}: {log:#?}"
    );
    let finished = log.last().unwrap();
    let read: u64 = field(finished, "bytes_read_from_stores").parse().unwrap();
    let file = std::fs::metadata(tpch().join("lineitem.parquet"))
        .unwrap()
        .len();
    assert!(
        read > 0 && read < file / 2,
        "read {read} of {file} bytes: {finished}"
    );

    // A cluster's result written back to the store reads back equal.
    let (code, _, err) = run(server().lode().args([
        "submit",
        &plan("plans/tpch/q18.json"),
        "--coordinator",
        &cluster.address,
        "-o",
        "s3://lode/results/from-cluster/",
    ]));
    assert_eq!(code, 0, "{err}");
    let back = sql_csv(
        "SELECT count(*) AS n FROM r",
        "r=s3://lode/results/from-cluster/",
    );
    let rows = local_csv("plans/tpch/q18.json").lines().count() - 1;
    assert_eq!(back, format!("n\n{rows}\n"));
}

#[test]
fn run_with_executors_reads_a_store_prefix() {
    let (code, out, err) = run(server().lode().args([
        "run",
        &plan("plans/tpch/q03.json"),
        "--executors",
        "2",
        "--format",
        "csv",
        "--data",
        "s3://lode/tpch/",
    ]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, local_csv("plans/tpch/q03.json"));
}
