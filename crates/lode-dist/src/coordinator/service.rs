//! The coordinator's RPCs: its own API (executors attach, clients submit) and Arrow Flight
//! (results by ticket; Flight SQL clients submit Substrait plans).

use std::pin::Pin;
use std::sync::Arc;

use arrow_flight::flight_service_server::FlightService;
use arrow_flight::sql::server::FlightSqlService;
use arrow_flight::sql::{Any, CommandStatementSubstraitPlan, SqlInfo};
use arrow_flight::{FlightDescriptor, FlightEndpoint, FlightInfo, Ticket};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use futures::{Stream, StreamExt};
use tokio::sync::{mpsc, watch};
use tonic::{Request, Response, Status, Streaming};
use tracing::{Instrument, debug, info, info_span, warn};

use super::scheduler::{JobError, JobRun, plan_job};
use super::state::{JobResult, Shared};
use crate::codec::encode_schema;
use crate::flight::{FlightPieces, decode_ticket, encode_ticket, flight_stream};
use crate::lock;
use crate::proto;
use crate::proto::coordinator_server::Coordinator;
use crate::shuffle::{PieceSource, TaskOutput};
use crate::stored::StoredResult;

type EventStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// Events of a channel as a response stream.
fn channel_stream<T: Send + 'static>(
    receiver: mpsc::Receiver<Result<T, Status>>,
) -> EventStream<T> {
    Box::pin(futures::stream::unfold(receiver, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }))
}

pub(super) struct CoordinatorService {
    shared: Arc<Shared>,
}

impl CoordinatorService {
    pub(super) fn new(shared: Arc<Shared>) -> Self {
        CoordinatorService { shared }
    }
}

#[tonic::async_trait]
impl Coordinator for CoordinatorService {
    type AttachStream = EventStream<proto::CoordinatorMessage>;
    type SubmitStream = EventStream<proto::JobEvent>;
    type FetchModuleStream = EventStream<proto::Chunk>;

    async fn attach(
        &self,
        request: Request<Streaming<proto::ExecutorMessage>>,
    ) -> Result<Response<Self::AttachStream>, Status> {
        let mut inbound = request.into_inner();
        let Some(proto::ExecutorMessage {
            kind: Some(proto::executor_message::Kind::Register(register)),
        }) = inbound.message().await?
        else {
            return Err(Status::invalid_argument(
                "an executor's first message must be Register",
            ));
        };
        let (sender, receiver) = mpsc::channel(256);
        let id = self.shared.add_executor(&register, sender.clone())?;
        let registered = proto::CoordinatorMessage {
            kind: Some(proto::coordinator_message::Kind::Registered(
                proto::Registered {
                    executor_id: id.clone(),
                    heartbeat_interval_ms: self.shared.config.heartbeat_interval.as_millis() as u64,
                },
            )),
        };
        let _ = sender.send(Ok(registered)).await;
        let shared = Arc::clone(&self.shared);
        tokio::spawn(async move {
            let why = loop {
                match inbound.message().await {
                    Ok(Some(message)) => {
                        shared.heard_from(&id);
                        match message.kind {
                            Some(proto::executor_message::Kind::Report(report)) => {
                                shared.report(&id, report)
                            }
                            Some(proto::executor_message::Kind::Heartbeat(_)) => {}
                            Some(proto::executor_message::Kind::Register(_)) | None => {}
                        }
                    }
                    Ok(None) => break "it detached".to_string(),
                    Err(status) => break format!("its connection failed: {}", status.message()),
                }
            };
            shared.lose_executor(&id, &why);
        });
        Ok(Response::new(channel_stream(receiver)))
    }

    async fn submit(
        &self,
        request: Request<Streaming<proto::SubmitRequest>>,
    ) -> Result<Response<Self::SubmitStream>, Status> {
        let mut inbound = request.into_inner();
        let mut plan = Vec::new();
        let mut partitions = 0;
        let mut store_as = None;
        while let Some(message) = inbound.message().await? {
            match message.kind {
                Some(proto::submit_request::Kind::Options(options)) => {
                    partitions = options.partitions;
                    store_as = Some(options.store_as).filter(|name| !name.is_empty());
                }
                Some(proto::submit_request::Kind::PlanChunk(chunk)) => plan.extend(chunk),
                None => {}
            }
        }
        let (events, receiver) = mpsc::channel(64);
        let job = self.shared.next_id("job");
        let shared = Arc::clone(&self.shared);
        tokio::spawn(
            async move {
                let event = run_job(
                    &shared,
                    job,
                    &plan,
                    partitions,
                    store_as.as_deref(),
                    events.clone(),
                )
                .await;
                let _ = events.send(Ok(event)).await;
            }
            .instrument(info_span!("job")),
        );
        Ok(Response::new(channel_stream(receiver)))
    }

    async fn cancel(
        &self,
        request: Request<proto::CancelRequest>,
    ) -> Result<Response<proto::CancelReply>, Status> {
        let job = request.into_inner().job;
        let cancelled = lock(&self.shared.jobs)
            .get(&job)
            .is_some_and(|switch| switch.send(true).is_ok());
        Ok(Response::new(proto::CancelReply { cancelled }))
    }

    async fn tables(
        &self,
        _request: Request<proto::TablesRequest>,
    ) -> Result<Response<proto::TablesReply>, Status> {
        let encode = |name: &str, schema: &SchemaRef, stored: bool| {
            encode_schema(schema)
                .map(|schema| proto::TableSchema {
                    name: name.to_string(),
                    schema,
                    stored,
                })
                .map_err(|e| Status::internal(format!("the schema of table {name}: {e}")))
        };
        let mut tables = Vec::new();
        for (name, schema) in lock(&self.shared.catalog).schemas() {
            tables.push(encode(&name, &schema, false)?);
        }
        for (name, result) in lock(&self.shared.stored).iter() {
            tables.push(encode(name, &result.schema, true)?);
        }
        Ok(Response::new(proto::TablesReply { tables }))
    }

    async fn drop_tables(
        &self,
        request: Request<proto::DropTablesRequest>,
    ) -> Result<Response<proto::DropTablesReply>, Status> {
        let names = request.into_inner().names;
        let dropped = self.shared.drop_stored(&names) as u32;
        info!(dropped, "stored results dropped");
        Ok(Response::new(proto::DropTablesReply { dropped }))
    }

    async fn fetch_module(
        &self,
        request: Request<proto::FetchModuleRequest>,
    ) -> Result<Response<Self::FetchModuleStream>, Status> {
        let sha256 = request.into_inner().sha256;
        let bytes = self.shared.module_bytes(&sha256).ok_or_else(|| {
            Status::not_found(format!(
                "no running job carries module {sha256}; a plan must embed the bytes of its modules to run on a cluster"
            ))
        })?;
        let chunks: Vec<Result<proto::Chunk, Status>> = bytes
            .chunks(crate::CHUNK_BYTES)
            .map(|chunk| {
                Ok(proto::Chunk {
                    data: chunk.to_vec(),
                })
            })
            .collect();
        Ok(Response::new(Box::pin(futures::stream::iter(chunks))))
    }
}

/// Whether a result may be stored as table `name`: a name plans can read, not one of the
/// executors' data tables.
fn check_store_name(shared: &Shared, name: &str) -> std::result::Result<(), String> {
    if !lode_exec::is_plain_table_name(name) {
        return Err(format!(
            "store_as `{name}` is not a table name a plan can read: use lower-case letters, digits and _"
        ));
    }
    if lock(&shared.catalog).has_table(name) {
        return Err(format!(
            "store_as `{name}` is a table of the executors' data; store under another name"
        ));
    }
    Ok(())
}

/// Plans and runs one job, forwarding progress to `events`; returns the final event.
/// Fills in, from the shared module store (`LODE_MODULE_STORE=s3://…`), the bytes of the
/// modules `table` names by hash alone that this coordinator's own store lacks, so that it
/// can serve them to executors; whether it filled any.
async fn shared_modules(
    shared: &Shared,
    table: &mut lode_plan::ext::ModuleTable,
) -> lode_exec::Result<bool> {
    if table.modules.iter().all(|m| !m.component.is_empty()) {
        return Ok(false);
    }
    let Some(store) = lode_exec::storage::SharedModules::configured()? else {
        return Ok(false);
    };
    let local = shared
        .config
        .engine
        .module_store
        .clone()
        .map(lode_wasm::ModuleStore::new);
    let have = |sha256: &str| {
        local
            .as_ref()
            .is_some_and(|l| matches!(l.get(sha256), Ok(Some(_))))
    };
    let stores = lode_exec::storage::Stores::default();
    let filled = store.fill(&stores, table, have).await?;
    Ok(!filled.is_empty())
}

async fn run_job(
    shared: &Shared,
    job: String,
    plan: &[u8],
    partitions: u32,
    store_as: Option<&str>,
    events: mpsc::Sender<Result<proto::JobEvent, Status>>,
) -> proto::JobEvent {
    let failed = |reason: String| proto::JobEvent {
        kind: Some(proto::job_event::Kind::Failed(proto::JobFailed {
            reason,
            rejected: false,
        })),
    };
    let rejected = |reason: String| proto::JobEvent {
        kind: Some(proto::job_event::Kind::Failed(proto::JobFailed {
            reason,
            rejected: true,
        })),
    };
    if let Some(name) = store_as
        && let Err(reason) = check_store_name(shared, name)
    {
        return rejected(reason);
    }
    let mut decoded = match lode_plan::decode_plan(plan) {
        Ok(decoded) => decoded,
        Err(e) => return rejected(format!("the plan cannot be read: {e}")),
    };
    let mut table = match lode_plan::ext::module_table(&decoded.plan) {
        Ok(table) => table,
        Err(e) => return rejected(format!("the plan's module table: {e}")),
    };
    match shared_modules(shared, &mut table).await {
        // The plan carries them from here: planning and the executors see their bytes.
        Ok(true) => lode_plan::ext::set_module_table(&mut decoded.plan, &table),
        Ok(false) => {}
        Err(e) => return failed(e.to_string()),
    }
    let (_held, modules) = shared.hold_modules(&job, table);
    let graph = match plan_job(shared, &decoded, partitions as usize).await {
        Ok(graph) => graph,
        Err(e) if e.is_rejection() => return rejected(e.to_string()),
        Err(e) => return failed(e.to_string()),
    };
    debug!(job = %job, "stages:\n{}", graph.display_text());
    let (cancel, cancelled) = watch::channel(false);
    lock(&shared.jobs).insert(job.clone(), cancel.clone());
    let (progress, mut progress_events) = mpsc::channel::<proto::JobEvent>(64);
    let run = JobRun::new(shared, job.clone(), graph, modules, cancelled, progress);
    let accepted = proto::JobEvent {
        kind: Some(proto::job_event::Kind::Accepted(proto::JobAccepted {
            job: job.clone(),
            stages: run.status_snapshot().stages,
            tasks: run.status_snapshot().tasks,
        })),
    };
    info!(job = %job, stages = run.status_snapshot().stages, tasks = run.status_snapshot().tasks, "job accepted");
    let _ = events.send(Ok(accepted)).await;
    // Progress goes to the client as it comes; a client that went away cancels the job.
    let forward_events = events.clone();
    let forwarder = tokio::spawn(async move {
        loop {
            tokio::select! {
                event = progress_events.recv() => match event {
                    Some(event) => { let _ = forward_events.try_send(Ok(event)); }
                    None => return,
                },
                _ = forward_events.closed() => {
                    let _ = cancel.send(true);
                    return;
                }
            }
        }
    });
    let outcome = run.run().await;
    forwarder.abort();
    match outcome {
        Ok(result) => {
            info!(
                job = %job,
                rows = result.status.rows_written,
                bytes_scanned = result.status.bytes_scanned,
                bytes_read_from_stores = result.status.bytes_read_from_stores,
                bytes_moved = result.status.bytes_moved,
                "job finished"
            );
            let result_rows = result.outputs.iter().map(TaskOutput::rows).sum();
            let mut finished = proto::JobFinished {
                status: Some(result.status.clone()),
                ticket: Vec::new(),
                schema: encode_schema(&result.schema).unwrap_or_default(),
                result_rows,
            };
            lock(&shared.jobs).remove(&job);
            match store_as {
                Some(name) => {
                    info!(job = %job, table = name, rows = result_rows, "result stored on the executors");
                    let stored = StoredResult {
                        job,
                        stage: result.stage,
                        schema: result.schema,
                        outputs: result.outputs,
                    };
                    shared.store_result(name, stored);
                }
                None => {
                    finished.ticket = encode_ticket(proto::Ticket {
                        kind: Some(proto::ticket::Kind::Result(proto::ResultTicket {
                            job: job.clone(),
                        })),
                    })
                    .ticket
                    .to_vec();
                    lock(&shared.results).insert(job, (result, std::time::Instant::now()));
                }
            }
            proto::JobEvent {
                kind: Some(proto::job_event::Kind::Finished(finished)),
            }
        }
        Err(error) => {
            if !matches!(error, JobError::Cancelled) {
                warn!(job = %job, error = %error, "job failed");
            }
            shared.end_job(&job);
            failed(format!("job {job}: {error}"))
        }
    }
}

/// The coordinator's Flight service: results by ticket, and Flight SQL's Substrait plans.
pub(super) struct CoordinatorFlight {
    shared: Arc<Shared>,
}

impl CoordinatorFlight {
    pub(super) fn new(shared: Arc<Shared>) -> Self {
        CoordinatorFlight { shared }
    }
}

#[tonic::async_trait]
impl FlightSqlService for CoordinatorFlight {
    type FlightService = CoordinatorFlight;

    async fn get_flight_info_substrait_plan(
        &self,
        query: CommandStatementSubstraitPlan,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let plan = query
            .plan
            .ok_or_else(|| Status::invalid_argument("the command carries no Substrait plan"))?;
        let (events, mut receiver) = mpsc::channel(64);
        let job = self.shared.next_id("job");
        let shared = Arc::clone(&self.shared);
        let plan = plan.plan.to_vec();
        let run = tokio::spawn(
            async move { run_job(&shared, job, &plan, 0, None, events).await }
                .instrument(info_span!("flight-sql job")),
        );
        // Drain progress so the job never waits on this caller.
        let drain = tokio::spawn(async move { while receiver.recv().await.is_some() {} });
        let event = run
            .await
            .map_err(|e| Status::internal(format!("the job's task failed: {e}")))?;
        drain.abort();
        match event.kind {
            Some(proto::job_event::Kind::Finished(finished)) => {
                let schema = crate::codec::decode_schema(&finished.schema)
                    .map_err(|e| Status::internal(e.to_string()))?;
                let endpoint = FlightEndpoint::new().with_ticket(Ticket::new(finished.ticket));
                let rows = finished.status.map_or(-1, |s| s.rows_written as i64);
                let info = FlightInfo::new()
                    .try_with_schema(&schema)
                    .map_err(|e| Status::internal(e.to_string()))?
                    .with_endpoint(endpoint)
                    .with_descriptor(request.into_inner())
                    .with_total_records(rows);
                Ok(Response::new(info))
            }
            // A plan not accepted is the client's argument; a query that failed while running
            // was aborted (the same distinction as `lode run`'s exit codes 1 and 3).
            Some(proto::job_event::Kind::Failed(failed)) if failed.rejected => {
                Err(Status::invalid_argument(failed.reason))
            }
            Some(proto::job_event::Kind::Failed(failed)) => Err(Status::aborted(failed.reason)),
            _ => Err(Status::internal("the job ended without a result")),
        }
    }

    async fn do_get_fallback(
        &self,
        _request: Request<Ticket>,
        message: Any,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let proto::ticket::Kind::Result(ticket) = decode_ticket(&message)? else {
            return Err(Status::invalid_argument(
                "the coordinator serves results; pieces are read from executors",
            ));
        };
        let (result, _) = lock(&self.shared.results)
            .remove(&ticket.job)
            .ok_or_else(|| {
                Status::not_found(format!(
                    "no result for job `{}` (unknown, already read, or not read within the \
                     coordinator's result time limit, --result-ttl)",
                    ticket.job
                ))
            })?;
        let batches = result_batches(Arc::clone(&self.shared), ticket.job, result);
        let schema = batches.schema();
        Ok(Response::new(flight_stream(batches, Some(schema))))
    }

    async fn register_sql_info(&self, _id: i32, _result: &SqlInfo) {}
}

/// A finished job's result, task by task, read from the executors holding it; the job's
/// stage outputs are deleted once it has been read.
fn result_batches(
    shared: Arc<Shared>,
    job: String,
    result: JobResult,
) -> datafusion::physical_plan::SendableRecordBatchStream {
    let source: Arc<dyn PieceSource> = Arc::new(FlightPieces::remote(shared.connections.clone()));
    let schema = Arc::clone(&result.schema);
    let batches = crate::job::read_whole_outputs(
        &job,
        result.stage,
        &result.outputs,
        Arc::clone(&schema),
        source,
    );
    let ended = futures::stream::once(async move {
        shared.end_job(&job);
        None
    })
    .filter_map(futures::future::ready);
    Box::pin(RecordBatchStreamAdapter::new(schema, batches.chain(ended)))
}
