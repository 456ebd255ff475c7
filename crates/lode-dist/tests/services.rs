//! The cluster's services as outside clients reach them over loopback gRPC: a Flight SQL client
//! runs a Substrait plan on the coordinator, every Flight service refuses calls that do not
//! carry the cluster's token, and a job's own figures show that compute went to the data.

#[path = "../../lode-exec/tests/engine/common.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use arrow_flight::sql::client::FlightSqlServiceClient;
use arrow_flight::sql::{CommandStatementSubstraitPlan, ProstMessageExt, SubstraitPlan};
use arrow_flight::{FlightDescriptor, Ticket};
use common::{repo_root, rows, run_plan_rows, tpch_dir, tpch_engine};
use datafusion::arrow::array::RecordBatch;
use futures::TryStreamExt;
use lode_dist::{
    Connections, CoordinatorConfig, ExecutorConfig, RunningCoordinator, RunningExecutor, Token,
    start_coordinator, start_executor,
};
use lode_exec::EngineConfig;
use prost::Message;
use tonic::transport::Channel;

const TOKEN: &str = "services-test-token";

struct Cluster {
    coordinator: RunningCoordinator,
    executors: Vec<RunningExecutor>,
    work: tempfile::TempDir,
}

impl Cluster {
    /// Submits `plan` (Substrait bytes) with the cluster's token; the job has finished.
    async fn submit(&self, plan: Vec<u8>) -> lode_dist::Submitted {
        let connections = Connections::new(Token::new(TOKEN).unwrap(), 64 << 20);
        lode_dist::submit(&connections, self.coordinator.address(), plan, 0, |_| {})
            .await
            .unwrap()
    }

    async fn stop(self) {
        for executor in self.executors {
            executor.stop().await;
        }
        self.coordinator.stop().await;
    }
}

/// A cluster whose executors each hold all of TPC-H SF 0.01.
async fn cluster(executors: usize) -> Cluster {
    cluster_over(executors, |_| tpch_dir().to_path_buf()).await
}

/// A cluster whose executor `n` holds the tables of `data(n)`.
async fn cluster_over(executors: usize, data: impl Fn(usize) -> PathBuf) -> Cluster {
    cluster_with(executors, data, CoordinatorConfig::default(), None).await
}

/// [`cluster_over`] with a coordinator configured as `config` but for its address, token and
/// planning engine, and executors bound to `memory_limit` bytes each (if given).
async fn cluster_with(
    executors: usize,
    data: impl Fn(usize) -> PathBuf,
    config: CoordinatorConfig,
    memory_limit: Option<u64>,
) -> Cluster {
    let token = Token::new(TOKEN).unwrap();
    let loopback = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let engine = EngineConfig {
        distributed: true,
        ..EngineConfig::default()
    };
    let coordinator = start_coordinator(CoordinatorConfig {
        listen: loopback,
        token: token.clone(),
        engine: engine.clone(),
        ..config
    })
    .await
    .unwrap();
    let work = tempfile::tempdir().unwrap();
    let executor_engine = EngineConfig {
        memory: lode_exec::MemoryConfig {
            limit: memory_limit,
            spill_dir: Some(work.path().join("spill")),
        },
        ..engine.clone()
    };
    let mut started = Vec::new();
    for n in 0..executors {
        started.push(
            start_executor(ExecutorConfig {
                coordinator: coordinator.address().to_string(),
                listen: loopback,
                advertise: None,
                data: lode_exec::storage::Location::Local(data(n)),
                work: work.path().join(format!("executor-{n}")),
                slots: 2,
                token: token.clone(),
                max_message_bytes: 64 << 20,
                engine: executor_engine.clone(),
                tls: lode_dist::Tls::none(),
            })
            .await
            .unwrap(),
        );
    }
    coordinator
        .wait_for_executors(executors, Duration::from_secs(30))
        .await
        .unwrap();
    Cluster {
        coordinator,
        executors: started,
        work,
    }
}

async fn flight_sql(address: &str, token: Option<&str>) -> FlightSqlServiceClient<Channel> {
    let channel = Channel::from_shared(address.to_string())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = FlightSqlServiceClient::new(channel);
    if let Some(token) = token {
        client.set_token(token.to_string());
    }
    client
}

/// `GetFlightInfo(CommandStatementSubstraitPlan)` as a Flight SQL client sends it.
async fn substrait_flight_info(
    client: &mut FlightSqlServiceClient<Channel>,
    token: &str,
    plan: Vec<u8>,
) -> Result<arrow_flight::FlightInfo, tonic::Status> {
    let command = CommandStatementSubstraitPlan {
        plan: Some(SubstraitPlan {
            plan: plan.into(),
            version: "0.85.0".into(),
        }),
        transaction_id: None,
    };
    let mut request =
        tonic::Request::new(FlightDescriptor::new_cmd(command.as_any().encode_to_vec()));
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    client
        .inner_mut()
        .get_flight_info(request)
        .await
        .map(|r| r.into_inner())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flight_sql_client_runs_a_substrait_plan_on_the_cluster() {
    let cluster = cluster(2).await;
    let address = cluster.coordinator.address().to_string();
    let plan = lode_plan::read_plan_file(&repo_root().join("plans/tpch/q03.json")).unwrap();
    let mut client = flight_sql(&address, Some(TOKEN)).await;
    let info = substrait_flight_info(&mut client, TOKEN, plan.plan.encode_to_vec())
        .await
        .unwrap();
    assert!(!info.endpoint.is_empty(), "{info:?}");
    let mut batches: Vec<RecordBatch> = Vec::new();
    for endpoint in info.endpoint {
        let ticket = endpoint.ticket.expect("an endpoint carries a ticket");
        let stream = client.do_get(ticket).await.unwrap();
        batches.extend(stream.try_collect::<Vec<_>>().await.unwrap());
    }
    let expected = run_plan_rows(&tpch_engine().await, &plan).await;
    assert_eq!(rows(&batches), expected);
    assert_eq!(expected.len(), 10);

    // A wrong token gets nothing, not even the plan run.
    let error = substrait_flight_info(&mut client, "wrong", plan.plan.encode_to_vec())
        .await
        .unwrap_err();
    assert_eq!(error.code(), tonic::Code::Unauthenticated, "{error}");
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn executors_serve_stage_outputs_only_with_the_token() {
    let cluster = cluster(1).await;
    let address = cluster.executors[0].address().to_string();
    // A piece ticket of a job that does not exist: the token is checked before the ticket.
    for token in [None, Some("wrong")] {
        let mut client = flight_sql(&address, token).await;
        let error = match client.do_get(Ticket::new("anything")).await {
            Ok(_) => panic!("the executor answered a call with token {token:?}"),
            Err(e) => e.to_string(),
        };
        assert!(error.contains("bearer token"), "token {token:?}: {error}");
    }
    let mut client = flight_sql(&address, Some(TOKEN)).await;
    let error = match client.do_get(Ticket::new("anything")).await {
        Ok(_) => panic!("a ticket that is not Lode's was accepted"),
        Err(e) => e.to_string(),
    };
    assert!(!error.contains("bearer token"), "{error}");
    cluster.stop().await;
}

/// Every file in `dir`, recursively, with its size.
fn file_sizes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            if path.is_dir() {
                file_sizes(&path)
            } else {
                std::fs::metadata(&path).unwrap().len()
            }
        })
        .sum()
}

/// `lineitem` split in two, each half on one executor only: an aggregation scans every file
/// once, where it lies, and only partial aggregate states and the result cross the network.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aggregation_moves_partial_states_not_the_table() {
    let parts = tempfile::tempdir().unwrap();
    lode_datagen::tpch::generate_parts(0.01, 2, parts.path(), |_| {}).unwrap();
    let homes = tempfile::tempdir().unwrap();
    for n in 0..2 {
        let home = homes.path().join(format!("executor-{n}/lineitem"));
        std::fs::create_dir_all(&home).unwrap();
        let file = format!("part-{}.parquet", n + 1);
        std::fs::hard_link(parts.path().join("lineitem").join(&file), home.join(&file)).unwrap();
    }
    let cluster = cluster_over(2, |n| homes.path().join(format!("executor-{n}"))).await;
    let plan = lode_plan::read_plan_file(&repo_root().join("plans/tpch/q01.json")).unwrap();
    let submitted = cluster.submit(plan.plan.encode_to_vec()).await;
    let status = submitted.status;
    let batches: Vec<RecordBatch> = submitted.batches.try_collect().await.unwrap();
    assert_eq!(
        rows(&batches),
        run_plan_rows(&tpch_engine().await, &plan).await
    );
    let lineitem = file_sizes(&parts.path().join("lineitem"));
    assert_eq!(status.bytes_scanned, lineitem, "{status:?}");
    assert!(
        status.bytes_moved * 100 < status.bytes_scanned,
        "moved {} of {} bytes scanned: {status:?}",
        status.bytes_moved,
        status.bytes_scanned
    );
    cluster.stop().await;
}

/// One Parquet file of 200,000 rows in row groups of 10,000, `id` 0.. and `key` = id % 7.
fn write_events(dir: &Path) -> u64 {
    use datafusion::arrow::array::Int64Array;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::parquet::arrow::ArrowWriter;
    use datafusion::parquet::file::properties::WriterProperties;

    let schema = std::sync::Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("key", DataType::Int64, false),
    ]));
    let path = dir.join("events.parquet");
    let properties = WriterProperties::builder()
        .set_max_row_group_row_count(Some(10_000))
        .build();
    let file = std::fs::File::create(&path).unwrap();
    let mut writer = ArrowWriter::try_new(file, schema.clone(), Some(properties)).unwrap();
    for chunk in 0..20i64 {
        let ids: Vec<i64> = (chunk * 10_000..(chunk + 1) * 10_000).collect();
        let keys: Vec<i64> = ids.iter().map(|id| id % 7).collect();
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                std::sync::Arc::new(Int64Array::from(ids)),
                std::sync::Arc::new(Int64Array::from(keys)),
            ],
        )
        .unwrap();
        writer.write(&batch).unwrap();
    }
    writer.close().unwrap();
    std::fs::metadata(&path).unwrap().len()
}

/// Both executors hold the same single Parquet file: every task slot reads a byte range of
/// it, every row is read exactly once, and the file's statistics reach the planner.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parquet_file_both_executors_hold_is_read_in_ranges_by_every_slot() {
    let data = tempfile::tempdir().unwrap();
    let size = write_events(data.path());
    let config = CoordinatorConfig {
        min_scan_range_bytes: 16 << 10,
        ..CoordinatorConfig::default()
    };
    let cluster = cluster_with(2, |_| data.path().to_path_buf(), config, None).await;
    let mut tables = lode_exec::TableBindings::new();
    tables.add_data_dir(data.path()).unwrap();
    let planner = lode_exec::Engine::new(&tables, EngineConfig::default())
        .await
        .unwrap();
    let run = |sql: &'static str| {
        let (planner, cluster) = (&planner, &cluster);
        async move {
            let plan = planner.sql_to_substrait(sql).await.unwrap();
            let submitted = cluster.submit(plan.encode_to_vec()).await;
            let status = submitted.status;
            let batches: Vec<RecordBatch> = submitted.batches.try_collect().await.unwrap();
            (rows(&batches), status)
        }
    };

    // Two executors of two slots each: four scan tasks, each writing one partial sum (a
    // count would come from the files' statistics, without a scan).
    let (summed, status) = run("SELECT sum(id) AS total FROM events").await;
    assert_eq!(summed, vec![vec![(0..200_000i64).sum::<i64>().to_string()]]);
    assert_eq!(status.rows_written, 4 + 1, "{status:?}");
    assert_eq!(status.bytes_scanned, size, "{status:?}");

    // The executors announce each file's statistics, so the coordinator's planner answers a
    // count from them, as a local planner does, without scanning.
    let (counted, status) = run("SELECT count(*) AS n FROM events").await;
    assert_eq!(counted, vec![vec!["200000".to_string()]]);
    assert_eq!(status.bytes_scanned, 0, "{status:?}");

    let (grouped, _) =
        run("SELECT key, count(*) AS n, sum(id) AS total FROM events GROUP BY key ORDER BY key")
            .await;
    let expected: Vec<Vec<String>> = (0..7i64)
        .map(|key| {
            let ids = (0..200_000i64).filter(|id| id % 7 == key);
            let (n, total) = ids.fold((0i64, 0i64), |(n, t), id| (n + 1, t + id));
            vec![key.to_string(), n.to_string(), total.to_string()]
        })
        .collect();
    assert_eq!(grouped, expected);
    cluster.stop().await;
}

/// A result nobody reads is deleted after the coordinator's result time limit: the
/// executors' disks keep nothing of the job, and a reader who comes too late is told why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unread_result_expires_and_its_pieces_are_deleted() {
    let config = CoordinatorConfig {
        result_ttl: Duration::from_millis(300),
        heartbeat_interval: Duration::from_millis(100),
        ..CoordinatorConfig::default()
    };
    let cluster = cluster_with(2, |_| tpch_dir().to_path_buf(), config, None).await;
    let plan = lode_plan::read_plan_file(&repo_root().join("plans/tpch/q06.json")).unwrap();
    let submitted = cluster.submit(plan.plan.encode_to_vec()).await;
    let job_dirs: Vec<PathBuf> = (0..2)
        .map(|n| {
            cluster
                .work
                .path()
                .join(format!("executor-{n}"))
                .join(&submitted.job)
        })
        .collect();
    assert!(
        job_dirs.iter().any(|dir| dir.exists()),
        "the result's pieces are on no executor: {job_dirs:?}"
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while job_dirs.iter().any(|dir| dir.exists()) {
        assert!(
            std::time::Instant::now() < deadline,
            "the unread result's pieces are still there after 10 s: {job_dirs:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let error = submitted
        .batches
        .try_collect::<Vec<RecordBatch>>()
        .await
        .expect_err("an expired result was read");
    assert!(error.to_string().contains("--result-ttl"), "{error}");
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_executor_under_a_memory_bound_spills_and_the_job_says_how_much() {
    let data = tempfile::tempdir().unwrap();
    lode_datagen::tpch::generate(0.1, data.path(), |_| {}).unwrap();
    let cluster = cluster_with(
        1,
        |_| data.path().to_path_buf(),
        CoordinatorConfig::default(),
        Some(40 << 20),
    )
    .await;
    let engine = {
        let mut tables = lode_exec::TableBindings::new();
        tables.add_data_dir(data.path()).unwrap();
        lode_exec::Engine::new(&tables, EngineConfig::default())
            .await
            .unwrap()
    };
    let plan = engine
        .sql_to_substrait("SELECT * FROM lineitem ORDER BY l_comment, l_orderkey, l_linenumber")
        .await
        .unwrap();
    let submitted = cluster.submit(plan.encode_to_vec()).await;
    let status = submitted.status;
    let batches: Vec<RecordBatch> = submitted.batches.try_collect().await.unwrap();
    assert_eq!(
        batches.iter().map(RecordBatch::num_rows).sum::<usize>(),
        600_572
    );
    let [spill] = status.spilled.as_slice() else {
        panic!("one executor spilled: {status:?}");
    };
    assert_eq!(spill.executor, cluster.executors[0].address());
    assert!(spill.bytes > 40 << 20, "{status:?}");
    let spill_dir = cluster.work.path().join("spill");
    cluster.stop().await;
    assert_eq!(
        std::fs::read_dir(&spill_dir).map_or(0, |d| d.count()),
        0,
        "the executor's spill directory outlives it"
    );
}
