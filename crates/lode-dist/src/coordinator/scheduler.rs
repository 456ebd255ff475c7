//! Running one job: plan the Substrait plan over the executors' tables, cut it into stages,
//! and run the stages' tasks on executors, recomputing outputs that were lost with their
//! executor and retrying tasks that failed for infrastructure reasons.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::physical_plan::SendableRecordBatchStream;
use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};
use lode_exec::{Engine, TableBindings};
use lode_plan::DecodedPlan;
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{debug, info, warn};

use super::placement::{reserve_slot, wait_for_placement};
use super::state::{AttemptKey, ExecutorSender, JobResult, Shared, TaskResult};
use crate::catalog::ScanFile;
use crate::codec::{encode_partitioning, encode_plan};
use crate::flight::FlightPieces;
use crate::lock;
use crate::proto;
use crate::shuffle::{PieceId, PieceSource, TaskOutput, resolve_readers};
use crate::split::split_into_stages;
use crate::stage::{Stage, StageGraph, StageId, StageOutput};
use crate::stored::{StoredResult, StoredTable};
use crate::task::files_of_partition;

/// Bytes shared by every task of a stage.
type Encoded = Arc<Vec<u8>>;

/// Why a job ended without a result.
#[derive(Debug, thiserror::Error)]
pub(super) enum JobError {
    #[error("{0}")]
    Plan(String),
    #[error("{stage} task {task} failed: {message}")]
    Task {
        stage: StageId,
        task: usize,
        message: String,
    },
    #[error("{0}")]
    Placement(String),
    #[error("cancelled")]
    Cancelled,
}

impl JobError {
    /// True when the plan was not accepted (it does not validate, convert or cut into
    /// stages): nothing ran.
    pub(super) fn is_rejection(&self) -> bool {
        matches!(self, JobError::Plan(_))
    }
}

/// Plans `plan` over the tables the executors hold now.
pub(super) async fn plan_job(
    shared: &Shared,
    plan: &DecodedPlan,
    partitions: usize,
) -> Result<StageGraph, JobError> {
    let executors: Vec<_> = shared.executor_summaries();
    if executors.is_empty() {
        return Err(JobError::Placement(
            "no executor is attached to the coordinator; start one with `lode serve executor`"
                .into(),
        ));
    }
    let slots: usize = executors.iter().map(|e| e.slots).sum();
    let partitions = if partitions == 0 { slots } else { partitions };
    let ids: Vec<String> = executors.iter().map(|e| e.id.clone()).collect();
    let per_executor = partitions.div_ceil(ids.len()).max(1);
    let tables = lock(&shared.catalog)
        .tables(&ids, per_executor, shared.config.min_scan_range_bytes)
        .map_err(|e| JobError::Placement(e.to_string()))?;

    let mut config = shared.config.engine.clone();
    config.target_partitions = partitions;
    config.distributed = true;
    let plan_error = |e: &dyn std::fmt::Display| JobError::Plan(e.to_string());
    let engine = Engine::new(&TableBindings::new(), config)
        .await
        .map_err(|e| plan_error(&e))?;
    // Scans name the data store; the coordinator plans them but never reads through it.
    engine.session().runtime_env().register_object_store(
        crate::catalog::data_store_url().as_ref(),
        Arc::new(datafusion::object_store::memory::InMemory::new()),
    );
    for (name, table) in tables {
        engine
            .session()
            .register_table(name.as_str(), table)
            .map_err(|e| plan_error(&e))?;
    }
    let stored: Vec<(String, StoredResult)> = lock(&shared.stored)
        .iter()
        .map(|(name, result)| (name.clone(), result.clone()))
        .collect();
    for (name, result) in stored {
        let table = StoredTable::new(result, Arc::new(NotHere));
        engine
            .session()
            .register_table(name.as_str(), Arc::new(table))
            .map_err(|e| plan_error(&e))?;
    }
    let logical = engine
        .logical_plan(plan)
        .await
        .map_err(|e| plan_error(&e))?;
    let physical = engine
        .physical_plan(&logical)
        .await
        .map_err(|e| plan_error(&e))?;
    split_into_stages(physical).map_err(|e| plan_error(&e))
}

/// Readers are resolved on the coordinator only to be encoded; executors decode them with
/// their own source.
#[derive(Debug)]
struct NotHere;

impl PieceSource for NotHere {
    fn fetch(
        &self,
        _executor: &str,
        piece: &PieceId,
        _schema: SchemaRef,
    ) -> DfResult<SendableRecordBatchStream> {
        Err(DataFusionError::Internal(format!(
            "{piece} is read by executors, not the coordinator"
        )))
    }
}

/// One running job.
pub(super) struct JobRun<'a> {
    pub(super) shared: &'a Shared,
    pub(super) job: String,
    pub(super) graph: StageGraph,
    /// The plan's module table without bytes, sent with every task.
    modules: Vec<lode_plan::ext::WasmModule>,
    pub(super) cancel: watch::Receiver<bool>,
    pub(super) progress: mpsc::Sender<proto::JobEvent>,
    /// By stage, by task: the output of each finished task.
    outputs: HashMap<StageId, Vec<Option<TaskOutput>>>,
    attempts: HashMap<(StageId, usize), u32>,
    /// By stage: [`StageGraph::heights`], the order stages start in.
    heights: Vec<usize>,
    status: proto::JobStatus,
}

impl<'a> JobRun<'a> {
    pub(super) fn new(
        shared: &'a Shared,
        job: String,
        graph: StageGraph,
        modules: Vec<lode_plan::ext::WasmModule>,
        cancel: watch::Receiver<bool>,
        progress: mpsc::Sender<proto::JobEvent>,
    ) -> Self {
        let status = proto::JobStatus {
            stages: graph.stages().count() as u32,
            tasks: graph.stages().map(|s| s.tasks() as u32).sum(),
            ..Default::default()
        };
        JobRun {
            shared,
            job,
            heights: graph.heights(),
            graph,
            modules,
            cancel,
            progress,
            outputs: HashMap::new(),
            attempts: HashMap::new(),
            status,
        }
    }

    pub(super) fn status_snapshot(&self) -> &proto::JobStatus {
        &self.status
    }

    /// Sends the status unless the client is behind: progress never holds a job up.
    fn report_progress(&self) {
        let event = proto::JobEvent {
            kind: Some(proto::job_event::Kind::Progress(proto::JobProgress {
                status: Some(self.status.clone()),
            })),
        };
        let _ = self.progress.try_send(event);
    }

    /// Runs every stage, each as soon as all its inputs are complete, so independent stages
    /// share the executors; the result stage's outputs stay on the executors for the reader.
    pub(super) async fn run(mut self) -> Result<JobResult, JobError> {
        for scalar in self.graph.scalar_subqueries() {
            scalar.results.clear();
        }
        let result = self
            .graph
            .result_stage()
            .map(|s| (s.id, s.plan.schema()))
            .ok_or_else(|| JobError::Plan("the plan has no stages".into()))?;
        let mut running = FuturesUnordered::new();
        let mut in_flight: HashSet<(StageId, usize)> = HashSet::new();
        let mut completed: HashSet<StageId> = HashSet::new();
        loop {
            for (stage, tasks) in self.runnable(result.0, &in_flight) {
                // A task starts when an executor holding its files has a free slot, so that
                // the most urgent task takes the next slot; the loop comes back whenever a
                // task ends. With nothing running it is sent anyway, to wait for placement.
                let mut placed = Vec::new();
                for task in tasks {
                    let files = files_of_partition(&stage.plan, task);
                    let slot = reserve_slot(self.shared, &files, true);
                    if slot.is_some() || (running.is_empty() && placed.is_empty()) {
                        placed.push((task, files, slot));
                    }
                }
                if placed.is_empty() {
                    continue;
                }
                if completed.contains(&stage.id) {
                    info!(job = %self.job, stage = stage.id.0, tasks = placed.len(), "recomputing lost stage outputs");
                }
                let (plan, partitioning) = self.encode_stage(&stage)?;
                for (task, files, slot) in placed {
                    let attempt = self.attempts.entry((stage.id, task)).or_insert(0);
                    *attempt += 1;
                    let attempt = *attempt;
                    in_flight.insert((stage.id, task));
                    let stage_id = stage.id;
                    let sent = TaskToSend {
                        stage: stage_id,
                        task,
                        attempt,
                        plan: plan.clone(),
                        partitioning: partitioning.clone(),
                        files,
                        slot,
                    };
                    running.push(self.attempt(sent).map(move |outcome| (stage_id, outcome)));
                }
            }
            let Some((stage_id, (task, scanned, outcome))) = running.next().await else {
                break;
            };
            in_flight.remove(&(stage_id, task));
            let failure = match outcome? {
                TaskResult::Done {
                    output,
                    bytes_fetched_remote,
                    spilled_bytes,
                    bytes_read_from_stores,
                } => {
                    self.count_spill(&output.executor, spilled_bytes);
                    self.status.tasks_done += 1;
                    self.status.bytes_scanned += scanned;
                    self.status.rows_written += output.rows();
                    self.status.bytes_written += output.bytes();
                    self.status.bytes_moved += bytes_fetched_remote;
                    self.status.bytes_read_from_stores += bytes_read_from_stores;
                    let tasks = self.graph.stage(stage_id).map_or(0, Stage::tasks);
                    let slots = self
                        .outputs
                        .entry(stage_id)
                        .or_insert_with(|| vec![None; tasks]);
                    slots[task] = Some(output);
                    if self
                        .missing_outputs(stage_id, &self.live_executors())
                        .is_empty()
                        && completed.insert(stage_id)
                    {
                        self.status.stages_done += 1;
                        self.set_scalar_values(stage_id).await?;
                    }
                    self.report_progress();
                    continue;
                }
                TaskResult::Failed {
                    message,
                    retryable,
                    unreachable_executor,
                } => {
                    if !retryable {
                        return Err(JobError::Task {
                            stage: stage_id,
                            task,
                            message,
                        });
                    }
                    warn!(job = %self.job, stage = stage_id.0, task, %message, "task failed; it runs again");
                    if let Some(address) = unreachable_executor {
                        self.forget_outputs_at(&address);
                    }
                    message
                }
                TaskResult::Lost { executor } => {
                    warn!(job = %self.job, stage = stage_id.0, task, %executor, "the task's executor was lost; it runs again");
                    format!("executor {executor} was lost")
                }
            };
            // The task's output is missing, so the next round starts it again (after any
            // input it needs is recomputed).
            let attempts = self.attempts.get(&(stage_id, task)).copied().unwrap_or(0);
            if attempts >= self.shared.config.max_task_attempts {
                return Err(JobError::Task {
                    stage: stage_id,
                    task,
                    message: format!("{failure} (gave up after {attempts} attempts)"),
                });
            }
            self.status.retries += 1;
        }
        if !self
            .missing_outputs(result.0, &self.live_executors())
            .is_empty()
        {
            return Err(JobError::Plan(format!(
                "{} has tasks without output and nothing left to run",
                result.0
            )));
        }
        let outputs = self.take_outputs(result.0);
        Ok(JobResult {
            stage: result.0,
            schema: result.1,
            outputs,
            status: self.status,
        })
    }

    fn take_outputs(&mut self, stage: StageId) -> Vec<TaskOutput> {
        self.outputs
            .remove(&stage)
            .unwrap_or_default()
            .into_iter()
            .flatten()
            .collect()
    }

    /// The tasks to start now, the stages furthest from the result first: the missing
    /// outputs of every stage the result still needs whose inputs are all complete, less the
    /// tasks already running. A stage is needed when its output is incomplete (never
    /// computed, or lost with an executor) and a needed stage reads it; complete stages' lost
    /// inputs are not recomputed.
    fn runnable(
        &self,
        result: StageId,
        running: &HashSet<(StageId, usize)>,
    ) -> Vec<(Stage, Vec<usize>)> {
        let live = self.live_executors();
        let mut needed = HashSet::new();
        let mut visit = vec![result];
        while let Some(id) = visit.pop() {
            if self.missing_outputs(id, &live).is_empty() || !needed.insert(id) {
                continue;
            }
            visit.extend(self.graph.inputs(id).into_iter().map(|(input, _)| input));
        }
        let mut needed: Vec<StageId> = needed.into_iter().collect();
        // Executors run the tasks they are sent in order: the stages with the longest way to
        // the result go first, so that a small build side is not queued behind a large scan
        // that is read only later (TPC-H Q21).
        needed.sort_by_key(|id| (std::cmp::Reverse(self.heights[id.0]), *id));
        needed
            .into_iter()
            .filter(|&id| {
                self.graph
                    .inputs(id)
                    .iter()
                    .all(|(input, _)| self.missing_outputs(*input, &live).is_empty())
            })
            .filter_map(|id| {
                let tasks: Vec<usize> = self
                    .missing_outputs(id, &live)
                    .into_iter()
                    .filter(|&task| !running.contains(&(id, task)))
                    .collect();
                let stage = self.graph.stage(id)?.clone();
                (!tasks.is_empty()).then_some((stage, tasks))
            })
            .collect()
    }

    /// Adds what a task spilled to its executor's figure in the job's status.
    fn count_spill(&mut self, executor: &str, bytes: u64) {
        if bytes == 0 {
            return;
        }
        match self
            .status
            .spilled
            .iter_mut()
            .find(|s| s.executor == executor)
        {
            Some(spill) => spill.bytes += bytes,
            None => self.status.spilled.push(proto::ExecutorSpill {
                executor: executor.to_string(),
                bytes,
            }),
        }
    }

    fn live_executors(&self) -> HashSet<String> {
        self.shared
            .executor_summaries()
            .into_iter()
            .map(|e| e.address)
            .collect()
    }

    /// Tasks of `stage` whose outputs are gone: never run, or held by an executor not in
    /// `live`.
    fn missing_outputs(&self, stage: StageId, live: &HashSet<String>) -> Vec<usize> {
        let Some(outputs) = self.outputs.get(&stage) else {
            let tasks = self.graph.stage(stage).map_or(0, Stage::tasks);
            return (0..tasks).collect();
        };
        outputs
            .iter()
            .enumerate()
            .filter(|(_, o)| o.as_ref().is_none_or(|o| !live.contains(&o.executor)))
            .map(|(task, _)| task)
            .collect()
    }

    fn forget_outputs_at(&mut self, address: &str) {
        for outputs in self.outputs.values_mut() {
            for output in outputs.iter_mut() {
                if output.as_ref().is_some_and(|o| o.executor == address) {
                    *output = None;
                }
            }
        }
    }

    /// The stage's plan and output partitioning as executors receive them.
    fn encode_stage(&self, stage: &Stage) -> Result<(Encoded, Encoded), JobError> {
        let outputs: HashMap<StageId, Arc<Vec<TaskOutput>>> = self
            .outputs
            .iter()
            .map(|(id, outputs)| (*id, Arc::new(outputs.iter().flatten().cloned().collect())))
            .collect();
        let source: Arc<dyn PieceSource> = Arc::new(NotHere);
        let fail = |e: DataFusionError| JobError::Plan(format!("sending {}: {e}", stage.id));
        let plan =
            resolve_readers(Arc::clone(&stage.plan), &self.job, &outputs, &source).map_err(fail)?;
        let plan = encode_plan(&plan).map_err(fail)?;
        let partitioning = match &stage.output {
            StageOutput::Repartitioned(partitioning) => {
                encode_partitioning(partitioning).map_err(fail)?
            }
            StageOutput::Whole => Vec::new(),
        };
        Ok((Arc::new(plan), Arc::new(partitioning)))
    }

    /// Sends one attempt of a task to its executor (or, without one, to an executor that
    /// holds its files once one does) and awaits the report.
    fn attempt(
        &self,
        sent: TaskToSend,
    ) -> impl Future<Output = (usize, u64, Result<TaskResult, JobError>)> + use<'a> {
        let shared = self.shared;
        let TaskToSend {
            stage: stage_id,
            task,
            attempt,
            plan,
            partitioning,
            files,
            slot,
        } = sent;
        let scanned: u64 = files
            .iter()
            .map(|f| crate::catalog::bytes_to_read(&f.file))
            .sum();
        let job = self.job.clone();
        let modules = self.modules.clone();
        let mut cancel = self.cancel.clone();
        async move {
            let result = async {
                let (executor, sender) = match slot {
                    Some(slot) => slot,
                    None => wait_for_placement(shared, &files, stage_id, task)
                        .await
                        .map_err(JobError::Placement)?,
                };
                let key = proto::TaskKey {
                    job: job.clone(),
                    stage: stage_id.0 as u32,
                    task: task as u32,
                    attempt,
                };
                let (reply, replied) = oneshot::channel();
                lock(&shared.pending).insert(AttemptKey::from(&key), (executor.clone(), reply));
                let run = proto::CoordinatorMessage {
                    kind: Some(proto::coordinator_message::Kind::Run(proto::RunTask {
                        task: Some(key.clone()),
                        plan: plan.to_vec(),
                        output_partitioning: partitioning.to_vec(),
                        modules,
                    })),
                };
                let reads = files.iter().map(ScanFile::to_string).collect::<Vec<_>>();
                debug!(job = %job, stage = stage_id.0, task, attempt, %executor, ?reads, "task sent");
                if sender.send(Ok(run)).await.is_err() {
                    shared.lose_executor(&executor, "its connection closed");
                }
                tokio::select! {
                    result = replied => Ok(result.unwrap_or(TaskResult::Lost { executor })),
                    _ = cancel.wait_for(|c| *c) => {
                        lock(&shared.pending).remove(&AttemptKey::from(&key));
                        Err(JobError::Cancelled)
                    }
                }
            }
            .await;
            (task, scanned, result)
        }
    }

    /// Computes the values of the scalar subqueries `stage` computes, for later stages'
    /// plans, which carry them as literals.
    async fn set_scalar_values(&mut self, stage_id: StageId) -> Result<(), JobError> {
        let scalars: Vec<_> = self
            .graph
            .scalar_subqueries()
            .iter()
            .filter(|s| s.stage == stage_id)
            .cloned()
            .collect();
        let Some(stage) = self.graph.stage(stage_id).cloned() else {
            return Ok(());
        };
        if scalars.is_empty() {
            return Ok(());
        }
        let outputs = self.take_outputs(stage.id);
        let source: Arc<dyn PieceSource> =
            Arc::new(FlightPieces::remote(self.shared.connections.clone()));
        let value = crate::job::scalar_value(&self.job, &stage, &outputs, &source)
            .await
            .map_err(|e| JobError::Task {
                stage: stage.id,
                task: 0,
                message: e.to_string(),
            })?;
        for scalar in scalars {
            scalar
                .results
                .set(scalar.index, value.clone())
                .map_err(|e| JobError::Plan(e.to_string()))?;
        }
        // Kept for the graph's bookkeeping; the value itself now travels as a literal.
        self.outputs
            .insert(stage.id, outputs.into_iter().map(Some).collect());
        Ok(())
    }
}

/// One attempt of a task, ready to send.
struct TaskToSend {
    stage: StageId,
    task: usize,
    attempt: u32,
    plan: Encoded,
    partitioning: Encoded,
    /// The data files its scans read.
    files: Vec<ScanFile>,
    /// The executor whose slot it has, if it has one.
    slot: Option<(String, ExecutorSender)>,
}
