//! Running a task on an executor: decode its stage plan, run its partition, write the output
//! as pieces and report how it went.

use std::sync::Arc;

use lode_exec::storage::count_store_reads;
use tokio::sync::OwnedSemaphorePermit;
use tracing::{Instrument, info_span, warn};

use crate::codec::{LodeCodec, decode_partitioning, decode_plan};
use crate::error::DistError;
use crate::executor::Executor;
use crate::flight::{FlightPieces, PieceFetchError, is_job_id};
use crate::proto;
use crate::shuffle::{PieceSource, context_like, write_task_output};
use crate::stage::{Stage, StageId, StageOutput};

impl Executor {
    /// Runs `run` in `_slot`, which it holds until done.
    pub(crate) async fn run_task(
        &self,
        run: proto::RunTask,
        _slot: OwnedSemaphorePermit,
    ) -> proto::TaskReport {
        let key = run.task.clone().unwrap_or_default();
        let span = info_span!("task", job = %key.job, stage = key.stage, task = key.task, attempt = key.attempt);
        let outcome = async {
            if !is_job_id(&key.job) {
                return Err(DistError::Config(format!("`{}` is not a job id", key.job)));
            }
            let pieces = Arc::new(FlightPieces::new(
                self.address.clone(),
                self.layout.clone(),
                self.connections.clone(),
            ));
            let modules = self.modules_of(&key.job, run.modules).await?;
            let codec =
                LodeCodec::for_executor(Arc::clone(&pieces) as Arc<dyn PieceSource>, modules);
            // The plan's scans bind their stores as it is decoded: decoded in a context whose
            // stores count what they return, what the task reads from object stores is known.
            let session = self.engine.session().task_ctx();
            let (runtime, store_reads) = count_store_reads(&session.runtime_env());
            let context = Arc::new(context_like(
                &session,
                session.task_id(),
                session.session_config().clone(),
                runtime,
            ));
            let what = format!("decoding stage {} for task {}", key.stage, key.task);
            let plan = decode_plan(&run.plan, &context, &codec)
                .map_err(DistError::datafusion(what.clone()))?;
            let plan = lode_exec::restore_arrow_streams(plan, &context.runtime_env())
                .await
                .map_err(DistError::datafusion(what.clone()))?;
            let output = if run.output_partitioning.is_empty() {
                StageOutput::Whole
            } else {
                StageOutput::Repartitioned(
                    decode_partitioning(&run.output_partitioning, &context, &codec, &plan.schema())
                        .map_err(DistError::datafusion(what))?,
                )
            };
            let stage = Stage {
                id: StageId(key.stage as usize),
                plan,
                output,
            };
            let (output, figures) = write_task_output(
                &key.job,
                &stage,
                key.task as usize,
                &self.address,
                &self.layout,
                context,
            )
            .await
            .map_err(|e| match e {
                DistError::DataFusion { context, source } => DistError::DataFusion {
                    context,
                    source: self.engine.explain_resources(source),
                },
                other => other,
            })?;
            let figures = (figures.spilled_bytes, store_reads.bytes());
            Ok((output, pieces.bytes_fetched_remote(), figures))
        }
        .instrument(span)
        .await;
        let outcome = match outcome {
            Ok((output, fetched, (spilled, read))) => {
                proto::task_report::Outcome::Done(proto::TaskDone {
                    pieces: output.pieces.iter().map(proto::PieceStats::from).collect(),
                    bytes_fetched_remote: fetched,
                    spilled_bytes: spilled,
                    bytes_read_from_stores: read,
                })
            }
            Err(error) => {
                let unreachable = unreachable_executor(&error);
                let retryable = unreachable.is_some() || matches!(error, DistError::Io { .. });
                warn!(job = %key.job, stage = key.stage, task = key.task, retryable, error = %error, "task failed");
                // The coordinator names the stage and task: the message says only what
                // went wrong, so the user reads it once.
                let message = match &error {
                    DistError::DataFusion { source, .. } => lode_exec::error_message(source),
                    other => other.to_string(),
                };
                proto::task_report::Outcome::Failed(proto::TaskFailed {
                    message,
                    retryable,
                    unreachable_executor: unreachable.unwrap_or_default(),
                })
            }
        };
        proto::TaskReport {
            task: Some(key),
            outcome: Some(outcome),
        }
    }
}

/// The executor whose pieces could not be read, when that is why `error` happened.
fn unreachable_executor(error: &DistError) -> Option<String> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        if let Some(fetch) = current.downcast_ref::<PieceFetchError>() {
            return Some(fetch.executor.clone());
        }
        cause = current.source();
    }
    None
}
