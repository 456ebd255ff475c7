//! Running one stage task and writing its output as pieces.

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::ipc::writer::StreamWriter;
use datafusion::execution::TaskContext;
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::physical_plan::execution_plan::reset_plan_states;
use datafusion::physical_plan::metrics::Time;
use datafusion::physical_plan::repartition::BatchPartitioner;
use datafusion::prelude::SessionConfig;
use futures::StreamExt;
use tokio::sync::mpsc;
use tracing::debug;

use super::{PieceId, PieceStats, ShuffleLayout, TaskOutput};
use crate::error::{DistError, Result};
use crate::stage::{Stage, StageOutput};

/// Runs task `task` of `stage` (its plan's partition `task`, readers already resolved) and
/// writes the output under `layout`, one file per non-empty piece. Each file is written under
/// a temporary name and renamed when complete, so a piece that exists is whole. Returns the
/// output and the task's figures (rows and bytes scanned, bytes spilled).
pub async fn write_task_output(
    job: &str,
    stage: &Stage,
    task: usize,
    executor: &str,
    layout: &ShuffleLayout,
    context: Arc<TaskContext>,
) -> Result<(TaskOutput, lode_exec::Progress)> {
    let what = || format!("{} task {task}", stage.id);
    // A fresh copy: operators that share state between partitions of one instance (a join's
    // build side, a repartition's channels) must not carry it from another task.
    let plan = reset_plan_states(Arc::clone(&stage.plan)).map_err(DistError::datafusion(what()))?;
    let mut batches = plan
        .execute(task, task_context(&context, job, stage, task))
        .map_err(DistError::datafusion(what()))?;
    let mut partitioner = match &stage.output {
        StageOutput::Repartitioned(partitioning) => Some(
            BatchPartitioner::try_new(partitioning.clone(), Time::new(), task, stage.tasks())
                .map_err(DistError::datafusion(what()))?,
        ),
        StageOutput::Whole => None,
    };

    let piece_paths: Vec<PathBuf> = (0..stage.output.pieces())
        .map(|piece| {
            layout.path(&PieceId {
                job: job.to_string(),
                stage: stage.id,
                task,
                piece,
            })
        })
        .collect();
    let (sender, receiver) = mpsc::channel::<(usize, RecordBatch)>(4);
    let schema = plan.schema();
    let writer = tokio::task::spawn_blocking(move || write_pieces(receiver, piece_paths, schema));

    'batches: while let Some(batch) = batches.next().await {
        let batch = batch.map_err(DistError::datafusion(what()))?;
        let split: Vec<(usize, RecordBatch)> = match partitioner.as_mut() {
            Some(partitioner) => partitioner
                .partition_iter(batch)
                .and_then(|pieces| pieces.collect())
                .map_err(DistError::datafusion(what()))?,
            None => vec![(0, batch)],
        };
        for piece in split {
            if sender.send(piece).await.is_err() {
                // The writer stopped on an error, which awaiting it reports.
                break 'batches;
            }
        }
    }
    drop(sender);
    let pieces = writer.await.map_err(|e| DistError::Io {
        path: layout.task_dir(job, stage.id, task),
        source: std::io::Error::other(e),
    })??;
    let output = TaskOutput {
        stage: stage.id,
        task,
        executor: executor.to_string(),
        pieces,
    };
    debug!(
        stage = stage.id.0,
        task,
        rows = output.rows(),
        bytes = output.bytes(),
        "task output written"
    );
    Ok((output, lode_exec::Progress::of_plan(plan.as_ref())))
}

/// The context a task runs in: the session's, with sibling partitions of a scan no longer
/// stealing each other's files. Stealing is correct within one instance of a plan, where the
/// siblings share a queue; a task runs one partition of its own instance, which would then
/// read every file of the scan.
fn task_context(context: &TaskContext, job: &str, stage: &Stage, task: usize) -> Arc<TaskContext> {
    let mut config = context.session_config().clone();
    config
        .options_mut()
        .execution
        .enable_file_stream_work_stealing = false;
    let task_id = Some(format!("{job}/{}/{task}", stage.id.0));
    Arc::new(context_like(
        context,
        task_id,
        config,
        context.runtime_env(),
    ))
}

/// A context with `context`'s functions and session, and the given task id, configuration
/// and runtime (DataFusion's `TaskContext` cannot be cloned and changed).
pub(crate) fn context_like(
    context: &TaskContext,
    task_id: Option<String>,
    config: SessionConfig,
    runtime: Arc<RuntimeEnv>,
) -> TaskContext {
    TaskContext::new(
        task_id,
        context.session_id(),
        config,
        context.scalar_functions().clone(),
        context.higher_order_functions().clone(),
        context.aggregate_functions().clone(),
        context.window_functions().clone(),
        runtime,
    )
}

/// Writes each received batch to its piece's file, creating files on first use.
fn write_pieces(
    mut receiver: mpsc::Receiver<(usize, RecordBatch)>,
    paths: Vec<PathBuf>,
    schema: SchemaRef,
) -> Result<Vec<PieceStats>> {
    let mut writers: Vec<Option<StreamWriter<BufWriter<File>>>> =
        paths.iter().map(|_| None).collect();
    let mut stats = vec![PieceStats::default(); paths.len()];
    let io = |path: &PathBuf| {
        let path = path.clone();
        move |source| DistError::Io { path, source }
    };
    let arrow = |path: &PathBuf| {
        let path = path.clone();
        move |e: datafusion::arrow::error::ArrowError| DistError::Io {
            path,
            source: std::io::Error::other(e),
        }
    };
    while let Some((piece, batch)) = receiver.blocking_recv() {
        if batch.num_rows() == 0 {
            continue;
        }
        let path = &paths[piece];
        let writer = match &mut writers[piece] {
            Some(writer) => writer,
            slot => {
                let dir = path.parent().unwrap_or(path);
                std::fs::create_dir_all(dir).map_err(io(path))?;
                let file = File::create(temporary(path)).map_err(io(path))?;
                slot.insert(
                    StreamWriter::try_new(BufWriter::new(file), &schema).map_err(arrow(path))?,
                )
            }
        };
        let batch = crate::batches::compact_views(batch).map_err(arrow(path))?;
        writer.write(&batch).map_err(arrow(path))?;
        stats[piece].rows += batch.num_rows() as u64;
    }
    for (piece, writer) in writers.into_iter().enumerate() {
        let Some(mut writer) = writer else { continue };
        let path = &paths[piece];
        writer.finish().map_err(arrow(path))?;
        let file = writer.into_inner().map_err(arrow(path))?;
        // Flushed, not synced: a piece lost with its machine is recomputed from the DAG.
        file.into_inner().map_err(|e| DistError::Io {
            path: path.clone(),
            source: e.into_error(),
        })?;
        std::fs::rename(temporary(path), path).map_err(io(path))?;
        stats[piece].bytes = std::fs::metadata(path).map_err(io(path))?.len();
    }
    Ok(stats)
}

fn temporary(path: &std::path::Path) -> PathBuf {
    path.with_extension("arrow.partial")
}
