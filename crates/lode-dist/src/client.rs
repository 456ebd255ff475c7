//! Submitting plans to a coordinator and reading their results: what `lode submit` and
//! `lode run --executors` use.

use std::sync::Arc;

use arrow_flight::Ticket;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::error::DataFusionError;
use datafusion::physical_plan::SendableRecordBatchStream;

use crate::error::{DistError, Result};
use crate::flight::Connections;
use crate::proto;
use crate::proto::coordinator_client::CoordinatorClient;

/// A finished job: its figures, and its result as it streams from the cluster.
pub struct Submitted {
    /// The job's id.
    pub job: String,
    /// Its stages, tasks and bytes, as the coordinator reports them.
    pub status: proto::JobStatus,
    /// The result's rows.
    pub batches: SendableRecordBatchStream,
}

/// Sends `plan` (a Substrait plan, binary or JSON) to the coordinator at `coordinator`, calls
/// `progress` with each status it reports, and returns the result once the job finished.
pub async fn submit(
    connections: &Connections,
    coordinator: &str,
    plan: Vec<u8>,
    partitions: u32,
    progress: impl FnMut(&proto::JobStatus),
) -> Result<Submitted> {
    submit_with(connections, coordinator, plan, partitions, |_| {}, progress).await
}

/// [`submit`], also calling `accepted` with the job's id once the coordinator accepted it
/// (for [`cancel`]).
pub async fn submit_with(
    connections: &Connections,
    coordinator: &str,
    plan: Vec<u8>,
    partitions: u32,
    accepted: impl FnOnce(&proto::JobAccepted),
    progress: impl FnMut(&proto::JobStatus),
) -> Result<Submitted> {
    let options = proto::SubmitOptions {
        partitions,
        store_as: String::new(),
    };
    let (job, finished) = run(connections, coordinator, plan, options, accepted, progress).await?;
    let schema = crate::codec::decode_schema(&finished.schema)
        .map_err(DistError::datafusion("the result's schema"))?;
    let address = coordinator.to_string();
    let batches = connections
        .do_get(
            coordinator,
            Ticket::new(finished.ticket),
            schema,
            Arc::default(),
            move |message| {
                DataFusionError::Execution(format!("reading the result from {address}: {message}"))
            },
        )
        .map_err(DistError::datafusion("reading the result"))?;
    Ok(Submitted {
        job,
        status: finished.status.unwrap_or_default(),
        batches,
    })
}

/// A result kept on the executors as a table ([`store`]).
#[derive(Debug, Clone)]
pub struct Stored {
    /// Rows stored.
    pub rows: u64,
    /// The stored table's schema.
    pub schema: SchemaRef,
    /// The storing job's status.
    pub status: proto::JobStatus,
}

/// Runs `plan` like [`submit`], but keeps its result on the executors that computed it as
/// table `name`, which later plans read, until [`drop_tables`]. Nothing is sent back but its
/// row count and schema.
pub async fn store(
    connections: &Connections,
    coordinator: &str,
    plan: Vec<u8>,
    name: &str,
    progress: impl FnMut(&proto::JobStatus),
) -> Result<Stored> {
    let options = proto::SubmitOptions {
        partitions: 0,
        store_as: name.to_string(),
    };
    let (_, finished) = run(connections, coordinator, plan, options, |_| {}, progress).await?;
    Ok(Stored {
        rows: finished.result_rows,
        schema: crate::codec::decode_schema(&finished.schema)
            .map_err(DistError::datafusion("the result's schema"))?,
        status: finished.status.unwrap_or_default(),
    })
}

/// The tables plans may read on the cluster, with their schemas: the executors' data and
/// the stored results (`true`).
pub async fn tables(
    connections: &Connections,
    coordinator: &str,
) -> Result<Vec<(String, SchemaRef, bool)>> {
    let mut client = client(connections, coordinator)?;
    let reply = client
        .tables(proto::TablesRequest {})
        .await
        .map_err(remote(coordinator))?
        .into_inner();
    reply
        .tables
        .into_iter()
        .map(|table| {
            let schema = crate::codec::decode_schema(&table.schema)
                .map_err(DistError::datafusion("a table's schema"))?;
            Ok((table.name, schema, table.stored))
        })
        .collect()
}

/// Asks the coordinator to cancel `job`; false when it is not running there (finished,
/// failed, or unknown).
pub async fn cancel(connections: &Connections, coordinator: &str, job: &str) -> Result<bool> {
    let mut client = client(connections, coordinator)?;
    let reply = client
        .cancel(proto::CancelRequest {
            job: job.to_string(),
        })
        .await
        .map_err(remote(coordinator))?
        .into_inner();
    Ok(reply.cancelled)
}

/// Drops stored results; returns how many the coordinator had.
pub async fn drop_tables(
    connections: &Connections,
    coordinator: &str,
    names: Vec<String>,
) -> Result<u32> {
    let mut client = client(connections, coordinator)?;
    let reply = client
        .drop_tables(proto::DropTablesRequest { names })
        .await
        .map_err(remote(coordinator))?
        .into_inner();
    Ok(reply.dropped)
}

fn remote(coordinator: &str) -> impl Fn(tonic::Status) -> DistError + '_ {
    move |e: tonic::Status| {
        let mut message = e.message().to_string();
        // A TLS service answers plain HTTP/2 with bytes h2 cannot parse, or drops the
        // connection: the call fails in the transport, or is cancelled when the connection
        // goes first (which one depends on timing).
        if coordinator.starts_with("http://")
            && (message.contains("http2 error")
                || message.contains("transport error")
                || message.contains("operation was canceled")
                || e.code() == tonic::Code::Cancelled)
        {
            message.push_str(
                " (if the coordinator serves TLS, use its https:// address with --tls-ca)",
            );
        }
        DistError::Remote {
            address: coordinator.to_string(),
            message,
        }
    }
}

type Client = CoordinatorClient<
    tonic::service::interceptor::InterceptedService<
        tonic::transport::Channel,
        crate::auth::SendToken,
    >,
>;

fn client(connections: &Connections, coordinator: &str) -> Result<Client> {
    let channel = connections
        .channel(coordinator)
        .map_err(remote(coordinator))?;
    Ok(
        CoordinatorClient::with_interceptor(channel, connections.token().send())
            .max_decoding_message_size(connections.max_message_bytes())
            .max_encoding_message_size(connections.max_message_bytes()),
    )
}

/// Submits `plan` with `options` and follows the job to its end: the job id and how it
/// finished, or why it failed.
async fn run(
    connections: &Connections,
    coordinator: &str,
    plan: Vec<u8>,
    options: proto::SubmitOptions,
    accepted: impl FnOnce(&proto::JobAccepted),
    mut progress: impl FnMut(&proto::JobStatus),
) -> Result<(String, proto::JobFinished)> {
    let mut accepted = Some(accepted);
    let unreachable = remote(coordinator);
    let mut client = client(connections, coordinator)?;
    let mut requests = vec![proto::SubmitRequest {
        kind: Some(proto::submit_request::Kind::Options(options)),
    }];
    requests.extend(
        plan.chunks(crate::CHUNK_BYTES)
            .map(|chunk| proto::SubmitRequest {
                kind: Some(proto::submit_request::Kind::PlanChunk(chunk.to_vec())),
            }),
    );
    let mut events = client
        .submit(futures::stream::iter(requests))
        .await
        .map_err(&unreachable)?
        .into_inner();
    let mut job = String::new();
    while let Some(event) = events.message().await.map_err(&unreachable)? {
        match event.kind {
            Some(proto::job_event::Kind::Accepted(event)) => {
                if let Some(accepted) = accepted.take() {
                    accepted(&event);
                }
                progress(&proto::JobStatus {
                    stages: event.stages,
                    tasks: event.tasks,
                    ..Default::default()
                });
                job = event.job;
            }
            Some(proto::job_event::Kind::Progress(update)) => {
                if let Some(status) = update.status {
                    progress(&status);
                }
            }
            Some(proto::job_event::Kind::Finished(finished)) => return Ok((job, finished)),
            Some(proto::job_event::Kind::Failed(failed)) if failed.rejected => {
                return Err(DistError::JobRejected(failed.reason));
            }
            Some(proto::job_event::Kind::Failed(failed)) => {
                return Err(DistError::JobFailed(failed.reason));
            }
            None => {}
        }
    }
    Err(DistError::Remote {
        address: coordinator.to_string(),
        message: "the coordinator ended the job's stream without a result".into(),
    })
}
