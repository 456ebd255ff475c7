//! A cluster of separate `lode` processes on loopback: a coordinator and three executors,
//! each holding two of the three files of every TPC-H table (and the small `reviews` table
//! whole), with a shared token. Each executor starts with an empty Wasm module cache.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc::Receiver;
use std::time::Duration;

mod common;

use common::{guest, lode, repo, start_coordinator, wait_for_line, wait_for_log};

/// The standard output of a command that must succeed.
fn succeeded(command: &mut Command) -> String {
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into()
}

/// TPC-H SF 0.01 in three parts per table, and `reviews` (plans/wasm/reviews.csv), made once
/// per test binary.
fn data() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        succeeded(
            lode()
                .args(["gen", "tpch", "--sf", "0.01", "--parts", "3", "--out"])
                .arg(dir.path()),
        );
        std::fs::copy(
            repo().join("plans/wasm/reviews.csv"),
            dir.path().join("reviews.csv"),
        )
        .unwrap();
        write_points(&dir.path().join("points"));
        dir
    })
    .path()
}

/// `points(x, y)` for the k-means driver: 6,000 points around four centres (a fixed
/// xorshift sequence), in three CSV parts like the TPC-H tables.
fn write_points(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let centres = [(0.0, 0.0), (10.0, 10.0), (-8.0, 6.0), (5.0, -7.0)];
    let mut parts = vec![String::from("x,y\n"); 3];
    for i in 0..6000 {
        let (cx, cy) = centres[i % centres.len()];
        let (x, y) = (cx + 3.0 * (uniform() - 0.5), cy + 3.0 * (uniform() - 0.5));
        parts[i % 3].push_str(&format!("{x:?},{y:?}\n"));
    }
    for (n, part) in parts.iter().enumerate() {
        std::fs::write(dir.join(format!("part-{}.csv", n + 1)), part).unwrap();
    }
}

/// Executor `n`'s data directory: `region` and `nation` whole, and parts `n` and `n+1`
/// (mod 3) of every other table, so each part is on two executors.
fn executor_data(root: &Path, n: usize) -> PathBuf {
    let dir = root.join(format!("data-{n}"));
    for entry in std::fs::read_dir(data()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_owned();
        if path.is_file() {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::hard_link(&path, dir.join(&name)).unwrap();
            continue;
        }
        std::fs::create_dir_all(dir.join(&name)).unwrap();
        for part in [n % 3 + 1, (n + 1) % 3 + 1] {
            for file in std::fs::read_dir(&path).unwrap() {
                let file = file.unwrap().file_name();
                let stem = Path::new(&file).file_stem().unwrap().to_owned();
                if stem == format!("part-{part}").as_str() {
                    std::fs::hard_link(path.join(&file), dir.join(&name).join(&file)).unwrap();
                }
            }
        }
    }
    dir
}

struct Cluster {
    dir: tempfile::TempDir,
    coordinator: Child,
    /// The coordinator's standard error after it started listening.
    coordinator_log: Receiver<String>,
    executors: Vec<Child>,
    /// Each executor's standard error after it registered.
    executor_logs: Vec<Receiver<String>>,
    address: String,
    /// Arguments every client command adds (TLS trust).
    client_args: Vec<OsString>,
}

/// A TLS fixture of `tests/tls` (made by its `make-certs.sh`).
fn tls_file(name: &str) -> OsString {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/tls")
        .join(name)
        .into_os_string()
}

impl Cluster {
    fn token_file(&self) -> PathBuf {
        self.dir.path().join("token")
    }

    /// Where executor `n` keeps the Wasm modules it compiled.
    fn module_cache(&self, n: usize) -> PathBuf {
        self.dir.path().join(format!("modules-{n}"))
    }

    fn start(executors: usize) -> Cluster {
        Cluster::start_with(executors, None, Vec::new(), Vec::new(), &[])
    }

    /// Services presenting the loopback certificate, everyone trusting its authority.
    fn start_tls(executors: usize) -> Cluster {
        let trust = vec!["--tls-ca".into(), tls_file("ca.pem")];
        let mut serve = vec![
            "--tls-cert".into(),
            tls_file("service.pem"),
            "--tls-key".into(),
            tls_file("service.key"),
        ];
        serve.extend(trust.clone());
        Cluster::start_with(executors, None, serve, trust, &[])
    }

    /// Services started with `service_args` added, clients with `client_args`; every
    /// executor holds `data`, or else its part of the test data ([`executor_data`]);
    /// executor `n` gets the variables `(n, name, value)` of `executor_env`.
    fn start_with(
        executors: usize,
        data: Option<&Path>,
        service_args: Vec<OsString>,
        client_args: Vec<OsString>,
        executor_env: &[(usize, &str, &str)],
    ) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("token"), "s3cret-token\n").unwrap();
        let (coordinator, address, coordinator_log) = start_coordinator(
            lode()
                .args([
                    "serve",
                    "coordinator",
                    "--listen",
                    "127.0.0.1:0",
                    "--placement-timeout",
                    "5",
                ])
                .arg("--token-file")
                .arg(dir.path().join("token"))
                .args(&service_args),
        );
        let mut cluster = Cluster {
            dir,
            coordinator,
            coordinator_log,
            executors: Vec::new(),
            executor_logs: Vec::new(),
            address,
            client_args,
        };
        for n in 0..executors {
            let data = match data {
                Some(data) => data.to_path_buf(),
                None => executor_data(cluster.dir.path(), n),
            };
            let mut executor = lode()
                .args([
                    "serve",
                    "executor",
                    "--slots",
                    "2",
                    "--coordinator",
                    &cluster.address,
                ])
                .arg("--data")
                .arg(&data)
                .arg("--token-file")
                .arg(cluster.token_file())
                .args(&service_args)
                .env("LODE_CACHE_DIR", cluster.module_cache(n))
                .envs(
                    executor_env
                        .iter()
                        .filter(|(of, _, _)| *of == n)
                        .map(|(_, name, value)| (name, value)),
                )
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let (_, log) = wait_for_line(
                executor.stderr.take().unwrap(),
                "registered with the coordinator",
            );
            cluster.executors.push(executor);
            cluster.executor_logs.push(log);
        }
        cluster
    }

    fn submit(&self, plan: &Path) -> (bool, String, String) {
        self.submit_with_modules(plan, &[])
    }

    fn submit_with_modules(&self, plan: &Path, modules: &[PathBuf]) -> (bool, String, String) {
        let out = self.submit_command(plan, modules).output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into(),
            String::from_utf8_lossy(&out.stderr).into(),
        )
    }

    fn submit_command(&self, plan: &Path, modules: &[PathBuf]) -> Command {
        let mut submit = lode();
        submit
            .arg("submit")
            .arg(plan)
            .args(["--coordinator", &self.address, "--format", "csv"])
            .arg("--token-file")
            .arg(self.token_file())
            .args(&self.client_args);
        for module in modules {
            submit.arg("--module").arg(module);
        }
        submit
    }

    /// Submits `plan`, kills executor 0 (SIGKILL) when it logs `marker`, and checks that the
    /// job still succeeds, equal to a local run.
    fn kill_during(&mut self, plan: &Path, modules: &[PathBuf], marker: &str) {
        let submit = self
            .submit_command(plan, modules)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        self.wait_for_executor(0, marker);
        self.executors[0].kill().unwrap();
        self.executors[0].wait().unwrap();
        let out = submit.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert_eq!(
            normalized(&String::from_utf8_lossy(&out.stdout)),
            normalized(&local_with_modules(plan, modules))
        );
    }

    /// Waits up to a minute for executor `n` to log a line containing `marker`.
    fn wait_for_executor(&self, n: usize, marker: &str) {
        wait_for_log(&self.executor_logs[n], &format!("executor {n}"), marker);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for child in self.executors.iter_mut().chain([&mut self.coordinator]) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// CSV rows with numbers rounded to 9 significant digits (sums add up in another order on a
/// cluster), sorted (ties in ORDER BY may come in either order).
fn normalized(csv: &str) -> Vec<String> {
    let mut rows: Vec<String> = csv
        .lines()
        .map(|line| {
            line.split(',')
                .map(|field| match field.parse::<f64>() {
                    Ok(v) if field.contains('.') => format!("{v:.8e}"),
                    _ => field.to_string(),
                })
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect();
    rows.sort();
    rows
}

fn local(plan: &Path) -> String {
    local_with_modules(plan, &[])
}

fn local_with_modules(plan: &Path, modules: &[PathBuf]) -> String {
    let mut run = lode();
    run.arg("run")
        .arg(plan)
        .arg("--data")
        .arg(data())
        .args(["--format", "csv"]);
    for module in modules {
        run.arg("--module").arg(module);
    }
    succeeded(&mut run)
}

#[test]
fn tpch_through_three_executor_processes_equals_local() {
    let cluster = Cluster::start(3);
    for q in 1..=22 {
        let plan = repo().join(format!("plans/tpch/q{q:02}.json"));
        let (ok, stdout, stderr) = cluster.submit(&plan);
        assert!(ok, "q{q:02} failed on the cluster: {stderr}");
        let expected = local(&plan);
        assert!(
            expected.lines().count() > 1 || q == 15 || q == 20,
            "q{q:02} local result is empty"
        );
        assert_eq!(normalized(&stdout), normalized(&expected), "q{q:02}");
    }
}

#[test]
fn every_service_rejects_calls_without_the_right_token() {
    let cluster = Cluster::start(1);
    let plan = repo().join("plans/tpch/q06.json");
    let wrong = cluster.dir.path().join("wrong");
    std::fs::write(&wrong, "not-the-token").unwrap();
    for token in [None, Some(&wrong)] {
        let mut submit = lode();
        submit
            .arg("submit")
            .arg(&plan)
            .args(["--coordinator", &cluster.address]);
        if let Some(token) = token {
            submit.arg("--token-file").arg(token);
        }
        let out = submit.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(stderr.contains("bearer token"), "token {token:?}: {stderr}");
    }
    let (ok, stdout, stderr) = cluster.submit(&plan);
    assert!(ok, "{stderr}");
    assert!(stdout.lines().count() == 2, "{stdout}");
}

/// With TLS every service serves https:// only: executors register and move pieces through
/// TLS, a client trusting the cluster's authority gets the local result, and a client that
/// trusts no authority, another authority, or speaks plain HTTP/2 gets nothing.
#[test]
fn a_cluster_with_tls_serves_clients_that_trust_its_authority_only() {
    let cluster = Cluster::start_tls(2);
    assert!(
        cluster.address.starts_with("https://"),
        "{}",
        cluster.address
    );
    // A join: pieces move between the executors as well as to the coordinator.
    let plan = repo().join("plans/tpch/q03.json");
    let (ok, stdout, stderr) = cluster.submit(&plan);
    assert!(ok, "{stderr}");
    assert_eq!(normalized(&stdout), normalized(&local(&plan)));

    let plain = cluster.address.replacen("https://", "http://", 1);
    let refusals: [(&str, &str, Vec<OsString>); 3] = [
        ("no authority", &cluster.address, Vec::new()),
        (
            "another authority",
            &cluster.address,
            vec!["--tls-ca".into(), tls_file("other-ca.pem")],
        ),
        ("plain HTTP/2", &plain, Vec::new()),
    ];
    for (case, address, args) in refusals {
        let out = lode()
            .arg("submit")
            .arg(&plan)
            .args(["--coordinator", address])
            .arg("--token-file")
            .arg(cluster.token_file())
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{case}: {stderr}");
        assert!(out.stdout.is_empty(), "{case}");
        let names = match case {
            "another authority" => "UnknownIssuer",
            _ => "--tls-ca",
        };
        assert!(stderr.contains(names), "{case}: {stderr}");
    }

    // A key that is not PEM stops the service before it listens, naming the file.
    let out = lode()
        .args([
            "serve",
            "coordinator",
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
        ])
        .arg(tls_file("service.pem"))
        .arg("--tls-key")
        .arg(tls_file("make-certs.sh"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("make-certs.sh") && stderr.contains("not PEM"),
        "{stderr}"
    );
}

/// `lode conformance plans --target` runs Lode's plan cases on a cluster whose executors hold
/// the tables `lode conformance tables` wrote, and they pass there as in process.
#[test]
fn the_plan_conformance_cases_pass_on_a_cluster() {
    let cases = repo().join("conformance/cases");
    for module in ["loan-risk", "geomean", "top-k", "word-count"] {
        guest(module);
    }
    let tables = tempfile::tempdir().unwrap();
    succeeded(
        lode()
            .args(["conformance", "tables"])
            .arg(&cases)
            .arg("--out")
            .arg(tables.path()),
    );
    let cluster = Cluster::start_with(2, Some(tables.path()), Vec::new(), Vec::new(), &[]);
    let out = lode()
        .args(["conformance", "plans"])
        .arg(&cases)
        .args(["--target", &cluster.address, "--format", "json"])
        .arg("--token-file")
        .arg(cluster.token_file())
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let failures: Vec<(&str, &str)> = report
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|case| Some((case["case"].as_str()?, case.get("failure")?.as_str()?)))
        .collect();
    // `local_files` names files on the client's machine, which no executor holds: the one
    // case a cluster cannot run, refused with the reason.
    assert!(
        matches!(failures.as_slice(), [("quirk_local_files", why)] if why.contains("no attached executor holds")),
        "{failures:#?}"
    );
    let cases = std::fs::read_dir(repo().join("conformance/cases"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "json"))
        })
        .count();
    assert_eq!(report.as_array().unwrap().len(), cases, "every case ran");
}

#[test]
fn run_with_executors_equals_local_run() {
    let plan = repo().join("plans/tpch/q05.json");
    let distributed = succeeded(
        lode()
            .arg("run")
            .arg(&plan)
            .arg("--data")
            .arg(data())
            .args(["--executors", "3", "--format", "csv"]),
    );
    assert_eq!(normalized(&distributed), normalized(&local(&plan)));
}

#[test]
fn a_job_fails_with_a_reason_when_every_executor_is_gone() {
    let mut cluster = Cluster::start(1);
    for mut executor in cluster.executors.drain(..) {
        executor.kill().unwrap();
        executor.wait().unwrap();
    }
    let started = std::time::Instant::now();
    let (ok, _, stderr) = cluster.submit(&repo().join("plans/tpch/q01.json"));
    assert!(!ok);
    assert!(stderr.contains("no executor"), "{stderr}");
    assert!(
        started.elapsed().as_secs() < 30,
        "took {:?}",
        started.elapsed()
    );
}

/// Wasm scalar functions, aggregates (partial states merged across an exchange), a table
/// function and operators (one fed by a hash exchange) run inside the executors' stages, equal
/// to a local run. Plans from SQL embed their modules; hand-written plans name theirs, and
/// `lode submit --module` embeds the file. Executors fetch the modules from the coordinator.
#[test]
fn wasm_functions_and_operators_run_on_executors_that_fetch_the_modules() {
    let cluster = Cluster::start(3);
    let from_sql = cluster.dir.path().join("wasm-sql.json");
    succeeded(
        lode()
            .args([
                "sql",
                "SELECT l_returnflag, geomean(CAST(l_quantity AS DOUBLE)) AS gm, \
                 sum(gcd(l_orderkey, l_partkey)) AS g, count(*) AS n \
                 FROM lineitem GROUP BY l_returnflag ORDER BY l_returnflag",
            ])
            .arg("--data")
            .arg(data())
            .arg("--module")
            .arg(guest("geomean"))
            .arg("--module")
            .arg(guest("gcd"))
            .arg("-o")
            .arg(&from_sql),
    );
    let cases = [
        (from_sql, None),
        (repo().join("plans/wasm/top_reviews.json"), Some("top-k")),
        (
            repo().join("plans/wasm/word_count.json"),
            Some("word-count"),
        ),
        (repo().join("plans/wasm/loan_risk.json"), Some("loan-risk")),
    ];
    for (plan, module) in cases {
        let modules: Vec<PathBuf> = module.map(guest).into_iter().collect();
        let (ok, stdout, stderr) = cluster.submit_with_modules(&plan, &modules);
        assert!(ok, "{} failed on the cluster: {stderr}", plan.display());
        let expected = local_with_modules(&plan, &modules);
        assert!(expected.lines().count() > 2, "{expected}");
        assert_eq!(
            normalized(&stdout),
            normalized(&expected),
            "{}",
            plan.display()
        );
    }
    let fetched = (0..3)
        .filter(|n| {
            std::fs::read_dir(cluster.module_cache(*n)).is_ok_and(|mut d| d.next().is_some())
        })
        .count();
    assert!(fetched >= 2, "only {fetched} executors compiled a module");
}

/// An executor killed (SIGKILL) while it runs a task of the job: the job still succeeds, equal
/// to a local run. Its running task is retried elsewhere, and outputs it held are computed
/// again from the files the other executors hold (each part is on two executors).
#[test]
fn a_job_survives_an_executor_killed_in_the_middle() {
    let mut cluster = Cluster::start(3);
    let plan = repo().join("plans/wasm/loan_risk.json");
    // An executor fetches a job's module when its first task of that job starts.
    cluster.kill_during(&plan, &[guest("loan-risk")], "fetched a Wasm module");
}

/// An executor killed (SIGKILL) while another executor reads a piece of its output: the
/// reader's task fails naming it, its outputs are computed again on the others, and the job
/// succeeds, equal to a local run. Executor 0 serves every piece 3 s late (fault injection,
/// `LODE_FAULT_PIECE_DELAY_MS`), so the kill lands inside the read: the first piece it
/// serves is a shuffle read of q03's join, long before the result is read.
#[test]
fn a_job_survives_an_executor_killed_while_its_pieces_are_read() {
    let mut cluster = Cluster::start_with(
        3,
        None,
        Vec::new(),
        Vec::new(),
        &[(0, "LODE_FAULT_PIECE_DELAY_MS", "3000")],
    );
    let plan = repo().join("plans/tpch/q03.json");
    cluster.kill_during(&plan, &[], "fault injection: serving a piece");
    // The reader's task failed on the lost piece and ran again, and the outputs the killed
    // executor held were computed again (in either order: the executor's own connection may
    // tell the coordinator first).
    let (mut retried, mut recomputed) = (false, false);
    while !(retried && recomputed) {
        let line = cluster
            .coordinator_log
            .recv_timeout(Duration::from_secs(60))
            .expect("the coordinator logs the retry and the recomputation");
        retried |= line.contains("task failed; it runs again");
        recomputed |= line.contains("recomputing lost stage outputs");
    }
}

#[test]
fn a_driver_runs_its_plans_on_the_cluster_as_on_the_embedded_engine() {
    let cluster = Cluster::start(3);
    let drive = |place: &[&std::ffi::OsStr]| {
        succeeded(
            lode()
                .arg("drive")
                .arg(guest("kmeans"))
                .args(["--arg", "k=4", "--format", "csv"])
                .args(place),
        )
    };
    let expected = drive(&["--data".as_ref(), data().as_os_str()]);
    let token = cluster.token_file();
    let on_cluster = drive(&[
        "--coordinator".as_ref(),
        cluster.address.as_ref(),
        "--token-file".as_ref(),
        token.as_os_str(),
    ]);
    assert_eq!(expected.lines().count(), 5, "{expected}");
    assert_eq!(normalized(&on_cluster), normalized(&expected));
    // The assignments it stored stayed on the executors and are dropped when it ends.
    let line = wait_for_log(
        &cluster.coordinator_log,
        "the coordinator",
        "stored results dropped",
    );
    assert!(line.contains("dropped=1"), "{line}");
}

#[test]
fn a_job_is_cancelled_by_its_id() {
    let cluster = Cluster::start(1);
    let dir = tempfile::tempdir().unwrap();
    // `spin` loops until the guest's 30 s call limit: the job runs until cancelled.
    let plan = dir.path().join("spin.json");
    succeeded(
        lode()
            .args([
                "sql",
                "SELECT sum(spin(CAST(n_nationkey AS BIGINT))) AS s FROM nation",
                "--data",
            ])
            .arg(data())
            .arg("--module")
            .arg(guest("evil"))
            .arg("-o")
            .arg(&plan),
    );
    let started = std::time::Instant::now();
    let mut submit = cluster
        .submit_command(&plan, &[])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (line, rest) = wait_for_line(submit.stderr.take().unwrap(), "accepted");
    let job = line.split(' ').nth(1).unwrap().to_string();
    let cancel = || {
        lode()
            .args([
                "cancel",
                &job,
                "--coordinator",
                &cluster.address,
                "--token-file",
            ])
            .arg(cluster.token_file())
            .output()
            .unwrap()
    };
    let out = cancel();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!submit.wait().unwrap().success());
    let failure: Vec<String> = rest.iter().collect();
    assert!(
        failure.iter().any(|l| l.contains("cancelled")),
        "{failure:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "the job ended at the guest's time limit, not when cancelled: {:?}",
        started.elapsed()
    );
    // It is over: cancelling again says so.
    let out = cancel();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not running"));
}
