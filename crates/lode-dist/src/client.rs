//! Submitting plans to a coordinator and reading their results: what `lode submit` and
//! `lode run --executors` use.

use std::sync::Arc;

use arrow_flight::Ticket;
use datafusion::error::DataFusionError;
use datafusion::physical_plan::SendableRecordBatchStream;

use crate::error::{DistError, Result};
use crate::flight::Connections;
use crate::proto;
use crate::proto::coordinator_client::CoordinatorClient;

/// A finished job: its figures, and its result as it streams from the cluster.
pub struct Submitted {
    pub job: String,
    pub status: proto::JobStatus,
    pub batches: SendableRecordBatchStream,
}

/// Sends `plan` (a Substrait plan, binary or JSON) to the coordinator at `coordinator`, calls
/// `progress` with each status it reports, and returns the result once the job finished.
pub async fn submit(
    connections: &Connections,
    coordinator: &str,
    plan: Vec<u8>,
    partitions: u32,
    mut progress: impl FnMut(&proto::JobStatus),
) -> Result<Submitted> {
    let unreachable = |e: tonic::Status| DistError::Remote {
        address: coordinator.to_string(),
        message: e.message().to_string(),
    };
    let channel = connections.channel(coordinator).map_err(unreachable)?;
    let mut client = CoordinatorClient::with_interceptor(channel, connections.token().send())
        .max_decoding_message_size(connections.max_message_bytes())
        .max_encoding_message_size(connections.max_message_bytes());
    let mut requests = vec![proto::SubmitRequest {
        kind: Some(proto::submit_request::Kind::Options(proto::SubmitOptions {
            partitions,
        })),
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
        .map_err(unreachable)?
        .into_inner();
    let mut job = String::new();
    while let Some(event) = events.message().await.map_err(unreachable)? {
        match event.kind {
            Some(proto::job_event::Kind::Accepted(accepted)) => {
                job = accepted.job;
                progress(&proto::JobStatus {
                    stages: accepted.stages,
                    tasks: accepted.tasks,
                    ..Default::default()
                });
            }
            Some(proto::job_event::Kind::Progress(update)) => {
                if let Some(status) = update.status {
                    progress(&status);
                }
            }
            Some(proto::job_event::Kind::Finished(finished)) => {
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
                            DataFusionError::Execution(format!(
                                "reading the result from {address}: {message}"
                            ))
                        },
                    )
                    .map_err(DistError::datafusion("reading the result"))?;
                return Ok(Submitted {
                    job,
                    status: finished.status.unwrap_or_default(),
                    batches,
                });
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
