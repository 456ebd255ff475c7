//! Running a stage graph in this process: stage after stage, the tasks of a stage side by
//! side, outputs exchanged through pieces on disk exactly as between executors.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::common::ScalarValue;
use datafusion::error::DataFusionError;
use datafusion::execution::TaskContext;
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use futures::{StreamExt, TryStreamExt};
use tracing::{Instrument, info, info_span};

use crate::error::{DistError, Result};
use crate::shuffle::{
    LocalPieces, PieceId, PieceSource, ShuffleLayout, TaskOutput, resolve_readers,
    write_task_output,
};
use crate::stage::{Stage, StageGraph, StageId};

/// What a finished job did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobMetrics {
    /// Stages the job was cut into.
    pub stages: usize,
    /// Tasks run, recomputed ones included.
    pub tasks: usize,
    /// Rows written by stages other than the result stage: what crossed exchanges.
    pub rows_exchanged: u64,
    /// Bytes that crossed exchanges.
    pub bytes_exchanged: u64,
}

/// Runs `graph` as job `job` with up to `concurrency` tasks at once, writing pieces under
/// `layout`; the result streams the result stage's output in task order.
pub async fn run_in_process(
    graph: &StageGraph,
    job: &str,
    layout: &ShuffleLayout,
    context: Arc<TaskContext>,
    concurrency: usize,
) -> Result<(SendableRecordBatchStream, JobMetrics)> {
    let source: Arc<dyn PieceSource> = Arc::new(LocalPieces::new(layout.clone()));
    let mut outputs: HashMap<StageId, Arc<Vec<TaskOutput>>> = HashMap::new();
    let mut metrics = JobMetrics::default();
    let result = graph
        .result_stage()
        .ok_or_else(|| DistError::Unsupported("the plan has no stages".into()))?;
    // A graph run before left its subqueries' values in DataFusion's shared slots.
    for scalar in graph.scalar_subqueries() {
        scalar.results.clear();
    }
    for stage in graph.stages() {
        let plan = resolve_readers(Arc::clone(&stage.plan), job, &outputs, &source).map_err(
            DistError::datafusion(format!("resolving the inputs of {}", stage.id)),
        )?;
        let stage = Stage {
            plan,
            ..stage.clone()
        };
        let stage_outputs = run_stage(&stage, job, layout, &context, concurrency)
            .instrument(info_span!(
                "stage",
                stage = stage.id.0,
                tasks = stage.tasks()
            ))
            .await?;
        metrics.stages += 1;
        metrics.tasks += stage_outputs.len();
        if stage.id != result.id {
            metrics.rows_exchanged += stage_outputs.iter().map(TaskOutput::rows).sum::<u64>();
            metrics.bytes_exchanged += stage_outputs.iter().map(TaskOutput::bytes).sum::<u64>();
        }
        info!(
            stage = stage.id.0,
            tasks = stage_outputs.len(),
            "stage done"
        );
        for scalar in graph
            .scalar_subqueries()
            .iter()
            .filter(|s| s.stage == stage.id)
        {
            let value = scalar_value(job, &stage, &stage_outputs, &source).await?;
            scalar
                .results
                .set(scalar.index, value)
                .map_err(DistError::datafusion(format!("the value of {}", stage.id)))?;
        }
        outputs.insert(stage.id, Arc::new(stage_outputs));
    }

    let result_outputs = outputs.remove(&result.id).unwrap_or_default();
    let schema = result.plan.schema();
    let batches = read_whole_outputs(job, result.id, &result_outputs, Arc::clone(&schema), source);
    Ok((
        Box::pin(RecordBatchStreamAdapter::new(schema, batches)),
        metrics,
    ))
}

/// The output of every task of a stage that writes one piece per task (the result stage),
/// in task order.
pub(crate) fn read_whole_outputs(
    job: &str,
    stage: StageId,
    outputs: &[TaskOutput],
    schema: datafusion::arrow::datatypes::SchemaRef,
    source: Arc<dyn PieceSource>,
) -> impl futures::Stream<Item = datafusion::error::Result<datafusion::arrow::array::RecordBatch>>
+ Send
+ 'static {
    let pieces: Vec<(String, PieceId)> = outputs
        .iter()
        .filter(|output| output.rows() > 0)
        .map(|output| {
            let piece = PieceId {
                job: job.to_string(),
                stage,
                task: output.task,
                piece: 0,
            };
            (output.executor.clone(), piece)
        })
        .collect();
    futures::stream::iter(pieces)
        .map(move |(executor, piece)| source.fetch(&executor, &piece, Arc::clone(&schema)))
        .try_flatten()
}

/// The one value a scalar subquery's stage produced: NULL of its type for no rows, an error
/// for more than one (DataFusion's semantics).
pub(crate) async fn scalar_value(
    job: &str,
    stage: &Stage,
    outputs: &[TaskOutput],
    source: &Arc<dyn PieceSource>,
) -> Result<ScalarValue> {
    let schema = stage.plan.schema();
    let what = || format!("the scalar subquery of {}", stage.id);
    let rows: u64 = outputs.iter().map(TaskOutput::rows).sum();
    if rows > 1 {
        return Err(DistError::DataFusion {
            context: what(),
            source: DataFusionError::Execution("Scalar subquery returned more than one row".into()),
        });
    }
    let Some(output) = outputs.iter().find(|o| o.rows() == 1) else {
        return ScalarValue::try_from(schema.field(0).data_type())
            .map_err(DistError::datafusion(what()));
    };
    let piece = PieceId {
        job: job.to_string(),
        stage: stage.id,
        task: output.task,
        piece: 0,
    };
    let batches: Vec<_> = source
        .fetch(&output.executor, &piece, Arc::clone(&schema))
        .map_err(DistError::datafusion(what()))?
        .try_collect()
        .await
        .map_err(DistError::datafusion(what()))?;
    let batch =
        batches
            .iter()
            .find(|b| b.num_rows() == 1)
            .ok_or_else(|| DistError::DataFusion {
                context: what(),
                source: DataFusionError::Internal(format!("{piece} holds no row")),
            })?;
    ScalarValue::try_from_array(batch.column(0), 0).map_err(DistError::datafusion(what()))
}

/// Every task of `stage`, up to `concurrency` at once; outputs in task order.
async fn run_stage(
    stage: &Stage,
    job: &str,
    layout: &ShuffleLayout,
    context: &Arc<TaskContext>,
    concurrency: usize,
) -> Result<Vec<TaskOutput>> {
    let mut outputs: Vec<TaskOutput> = futures::stream::iter(0..stage.tasks())
        .map(|task| async move {
            write_task_output(job, stage, task, "local", layout, Arc::clone(context))
                .await
                .map(|(output, _)| output)
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await?;
    outputs.sort_by_key(|output| output.task);
    Ok(outputs)
}
