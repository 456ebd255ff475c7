//! The leaf that reads an earlier stage's output.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::TaskContext;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties, SendableRecordBatchStream,
};
use futures::{StreamExt, TryStreamExt};

use datafusion::physical_expr::{EquivalenceProperties, Partitioning};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};

use super::{PieceId, PieceSource, PieceStats, TaskOutput};
use crate::proto;
use crate::stage::{ExchangeKind, StageId};

/// Reads the pieces an earlier stage wrote. Partition `p` reads, for a repartition, piece `p`
/// of every task of that stage; for a merge or broadcast, task `p`'s whole output.
///
/// A stage's plan holds unresolved readers; before a task runs, [`resolve_readers`] gives each
/// the outputs of the tasks it reads and the source to fetch them from.
#[derive(Debug)]
pub struct ShuffleReaderExec {
    stage: StageId,
    kind: ExchangeKind,
    /// Those of the operator the reader replaces, so operators above plan the same.
    properties: Arc<PlanProperties>,
    input: Option<ResolvedInput>,
}

#[derive(Debug, Clone)]
struct ResolvedInput {
    job: String,
    /// Indexed by task number.
    outputs: Arc<Vec<TaskOutput>>,
    source: Arc<dyn PieceSource>,
}

impl ShuffleReaderExec {
    /// A reader of stage `stage`'s output, standing for an exchange of `kind` with
    /// `properties`; it reads nothing until resolved with the stage's task outputs.
    pub fn new(stage: StageId, kind: ExchangeKind, properties: Arc<PlanProperties>) -> Self {
        ShuffleReaderExec {
            stage,
            kind,
            properties,
            input: None,
        }
    }

    /// The stage this reader reads.
    pub fn stage(&self) -> StageId {
        self.stage
    }

    /// The job whose stage it reads, once resolved.
    pub fn job(&self) -> Option<&str> {
        self.input.as_ref().map(|input| input.job.as_str())
    }

    /// A reader of every task output of `job`'s `stage`, partition `p` reading task `p`'s:
    /// resolved from the start, for a stored result that later jobs read.
    pub fn resolved_whole(
        job: &str,
        stage: StageId,
        schema: SchemaRef,
        outputs: Vec<TaskOutput>,
        source: Arc<dyn PieceSource>,
    ) -> Self {
        let properties = PlanProperties::new(
            EquivalenceProperties::new(schema),
            Partitioning::UnknownPartitioning(outputs.len().max(1)),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        ShuffleReaderExec {
            stage,
            kind: ExchangeKind::Merge,
            properties: Arc::new(properties),
            input: Some(ResolvedInput {
                job: job.to_string(),
                outputs: Arc::new(outputs),
                source,
            }),
        }
    }

    /// The kind of exchange the reader stands for.
    pub fn kind(&self) -> ExchangeKind {
        self.kind
    }

    /// The pieces partition `partition` reads, with the executors holding them; empty pieces
    /// are skipped.
    fn pieces(&self, input: &ResolvedInput, partition: usize) -> DfResult<Vec<(String, PieceId)>> {
        let piece = |output: &TaskOutput, piece: usize| {
            let id = PieceId {
                job: input.job.clone(),
                stage: self.stage,
                task: output.task,
                piece,
            };
            (output.executor.clone(), id)
        };
        let nonempty = |output: &&TaskOutput, piece: usize| {
            output.pieces.get(piece).is_some_and(|p| p.rows > 0)
        };
        Ok(match self.kind {
            ExchangeKind::Repartition => input
                .outputs
                .iter()
                .filter(|o| nonempty(o, partition))
                .map(|o| piece(o, partition))
                .collect(),
            ExchangeKind::Merge | ExchangeKind::Broadcast | ExchangeKind::Scalar => {
                let output = input.outputs.get(partition).ok_or_else(|| {
                    DataFusionError::Internal(format!(
                        "{} has {} task outputs; partition {partition} was asked for",
                        self.stage,
                        input.outputs.len()
                    ))
                })?;
                std::iter::once(output)
                    .filter(|o| nonempty(o, 0))
                    .map(|o| piece(o, 0))
                    .collect()
            }
        })
    }
}

impl DisplayAs for ShuffleReaderExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "ShuffleReaderExec: {} ({}), {} partitions",
            self.stage,
            self.kind,
            self.properties.output_partitioning().partition_count()
        )
    }
}

impl ExecutionPlan for ShuffleReaderExec {
    fn name(&self) -> &str {
        "ShuffleReaderExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        Vec::new()
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> DfResult<TreeNodeRecursion>,
    ) -> DfResult<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        _children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn execute(
        &self,
        partition: usize,
        _context: Arc<TaskContext>,
    ) -> DfResult<SendableRecordBatchStream> {
        let Some(input) = &self.input else {
            return Err(DataFusionError::Internal(format!(
                "the reader of {} ran before the stage's task outputs were given to it",
                self.stage
            )));
        };
        let schema = self.schema();
        let source = Arc::clone(&input.source);
        let pieces = self.pieces(input, partition)?;
        let piece_schema = Arc::clone(&schema);
        let batches = futures::stream::iter(pieces)
            .map(move |(executor, piece)| {
                source.fetch(&executor, &piece, Arc::clone(&piece_schema))
            })
            .try_flatten();
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, batches)))
    }
}

/// `plan` with every reader given the outputs of the stage it reads (from `outputs`) and the
/// source to fetch pieces from. A reader whose stage has no outputs is an error: the scheduler
/// runs a stage only once the stages it reads are done.
pub fn resolve_readers(
    plan: Arc<dyn ExecutionPlan>,
    job: &str,
    outputs: &HashMap<StageId, Arc<Vec<TaskOutput>>>,
    source: &Arc<dyn PieceSource>,
) -> DfResult<Arc<dyn ExecutionPlan>> {
    plan.transform_up(|node| {
        let Some(reader) = node.downcast_ref::<ShuffleReaderExec>() else {
            return Ok(Transformed::no(node));
        };
        let stage_outputs = outputs.get(&reader.stage).ok_or_else(|| {
            DataFusionError::Internal(format!("{} has not finished", reader.stage))
        })?;
        let resolved = ShuffleReaderExec {
            stage: reader.stage,
            kind: reader.kind,
            properties: Arc::clone(&reader.properties),
            input: Some(ResolvedInput {
                job: job.to_string(),
                outputs: Arc::clone(stage_outputs),
                source: Arc::clone(source),
            }),
        };
        Ok(Transformed::yes(
            Arc::new(resolved) as Arc<dyn ExecutionPlan>
        ))
    })
    .map(|t| t.data)
}

impl ShuffleReaderExec {
    /// This reader, resolved, as a wire message.
    pub(crate) fn to_proto(&self) -> DfResult<proto::ShuffleReader> {
        let input = self.input.as_ref().ok_or_else(|| {
            DataFusionError::Internal(format!(
                "the reader of {} was sent before its inputs were resolved",
                self.stage
            ))
        })?;
        let outputs = input
            .outputs
            .iter()
            .map(|output| proto::TaskOutput {
                task: output.task as u32,
                executor: output.executor.clone(),
                pieces: output.pieces.iter().map(proto::PieceStats::from).collect(),
            })
            .collect();
        Ok(proto::ShuffleReader {
            stage: self.stage.0 as u32,
            kind: self.kind.to_string(),
            partitions: self.properties.output_partitioning().partition_count() as u32,
            schema: crate::codec::encode_schema(&self.schema())?,
            job: input.job.clone(),
            outputs,
        })
    }

    /// A resolved reader from its wire message, fetching through `source`. Operators above it
    /// are already planned, so it keeps only its schema and partition count.
    pub(crate) fn from_proto(
        message: proto::ShuffleReader,
        source: Arc<dyn PieceSource>,
    ) -> DfResult<Self> {
        let kind = message
            .kind
            .parse::<ExchangeKind>()
            .map_err(DataFusionError::Internal)?;
        let schema = crate::codec::decode_schema(&message.schema)?;
        let properties = PlanProperties::new(
            EquivalenceProperties::new(schema),
            Partitioning::UnknownPartitioning(message.partitions as usize),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        let outputs = message
            .outputs
            .into_iter()
            .map(|output| TaskOutput {
                stage: StageId(message.stage as usize),
                task: output.task as usize,
                executor: output.executor,
                pieces: output.pieces.iter().map(PieceStats::from).collect(),
            })
            .collect();
        Ok(ShuffleReaderExec {
            stage: StageId(message.stage as usize),
            kind,
            properties: Arc::new(properties),
            input: Some(ResolvedInput {
                job: message.job,
                outputs: Arc::new(outputs),
                source,
            }),
        })
    }
}
