//! Cutting a physical plan into stages at its exchange boundaries.
//!
//! Boundaries, as in Ballista:
//! - a `RepartitionExec` (hash or round robin): its input becomes a stage whose tasks write one
//!   piece per output partition; the repartition itself becomes a reader of those pieces;
//! - a `CoalescePartitionsExec` or `SortPreservingMergeExec`: its input becomes a stage writing
//!   each task's whole output; the merge stays in the consuming stage, over a reader;
//! - the build side of a join that collects it whole (`CollectLeft` hash joins, cross joins,
//!   nested-loop joins): a stage of its own, read whole by every task of the join's stage, so
//!   the build side is computed once, where its data is, and not once per task.
//!
//! - an uncorrelated scalar subquery: a stage of its own, run before every stage whose
//!   expressions use its value.
//!
//! Every other operator stays inside its stage, which is only correct if executing one
//! partition of a fresh copy of the stage's plan computes exactly that partition. The
//! operators that share work across partitions of one instance are the boundaries above, an
//! order-preserving repartition, which is refused rather than run wrongly, and joins that emit
//! build-side rows once every probe partition is done (left, full, semi, anti and mark joins
//! that collect their left side): a task sees one probe partition, so such a join would wait
//! for the others forever or emit too much. Before cutting, those joins are made partitioned
//! (both sides hashed on the join keys) or, without keys, given one probe partition.

use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::JoinType;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::physical_expr::scalar_subquery::ScalarSubqueryExpr;
use datafusion::physical_plan::coalesce_partitions::CoalescePartitionsExec;
use datafusion::physical_plan::joins::{
    CrossJoinExec, HashJoinExec, NestedLoopJoinExec, PartitionMode,
};
use datafusion::physical_plan::repartition::RepartitionExec;
use datafusion::physical_plan::scalar_subquery::ScalarSubqueryExec;
use datafusion::physical_plan::sorts::sort_preserving_merge::SortPreservingMergeExec;
use datafusion::physical_plan::{
    ExecutionPlan, ExecutionPlanProperties, Partitioning, replace_children_if_necessary,
};

use crate::error::{DistError, Result};
use crate::shuffle::ShuffleReaderExec;
use crate::stage::{ExchangeKind, ScalarSubquery, StageGraph, StageId, StageOutput};

/// Cuts `plan` into stages; the last stage produces the plan's result.
pub fn split_into_stages(plan: Arc<dyn ExecutionPlan>) -> Result<StageGraph> {
    let plan = plan
        .transform_up(without_shared_probe_state)
        .map_err(DistError::datafusion("rewriting joins for stages"))?
        .data;
    let mut splitter = Splitter::default();
    let root = splitter.split(plan)?;
    let result = splitter.graph.add_stage(root, StageOutput::Whole);
    splitter.connect(result);
    let mut graph = splitter.graph;
    connect_scalar_subqueries(&mut graph)?;
    Ok(graph)
}

/// Adds an exchange from each scalar subquery's stage to every stage whose expressions read it.
fn connect_scalar_subqueries(graph: &mut StageGraph) -> Result<()> {
    let mut uses = Vec::new();
    for stage in graph.stages() {
        for (index, scalar) in graph.scalar_subqueries().iter().enumerate() {
            if uses_scalar(&stage.plan, scalar)? {
                uses.push((index, stage.id));
            }
        }
    }
    for (index, consumer) in uses {
        let producer = graph.scalar_subqueries()[index].stage;
        graph.add_exchange(producer, consumer, ExchangeKind::Scalar);
    }
    Ok(())
}

/// Whether any expression of `plan` (within its stage) reads `scalar`'s slot.
fn uses_scalar(plan: &Arc<dyn ExecutionPlan>, scalar: &ScalarSubquery) -> Result<bool> {
    let mut found = false;
    plan.apply(|node| {
        node.apply_expressions(&mut |expr| {
            expr.apply(|e| {
                // Equal readers share the results container and the slot.
                let reads = e.downcast_ref::<ScalarSubqueryExpr>().is_some_and(|read| {
                    let slot = ScalarSubqueryExpr::new(
                        DataType::Null,
                        true,
                        scalar.index,
                        scalar.results.clone(),
                    );
                    *read == slot
                });
                if reads {
                    found = true;
                    return Ok(TreeNodeRecursion::Stop);
                }
                Ok(TreeNodeRecursion::Continue)
            })
        })
    })
    .map_err(DistError::datafusion("looking for scalar subqueries"))?;
    Ok(found)
}

#[derive(Default)]
struct Splitter {
    graph: StageGraph,
    /// Stages cut off below the stage being built, with how it reads them.
    pending: Vec<(StageId, ExchangeKind)>,
}

impl Splitter {
    /// `plan` with every boundary below and at it replaced by a reader of a new stage.
    fn split(&mut self, plan: Arc<dyn ExecutionPlan>) -> Result<Arc<dyn ExecutionPlan>> {
        if let Some(subqueries) = plan.downcast_ref::<ScalarSubqueryExec>() {
            // Subqueries first, so their stages come before every stage that reads them.
            for link in subqueries.subqueries() {
                let subquery = self.split(Arc::clone(&link.plan))?;
                // Its consumers are found by their expressions, not by a reader.
                let stage = self.cut(subquery, StageOutput::Whole, None);
                self.graph.add_scalar_subquery(ScalarSubquery {
                    stage,
                    results: subqueries.results().clone(),
                    index: link.index,
                });
            }
            return self.split(Arc::clone(subqueries.input()));
        }
        let children = plan
            .children()
            .into_iter()
            .map(|child| self.split(Arc::clone(child)))
            .collect::<Result<Vec<_>>>()?;
        let plan = replace_children_if_necessary(plan, children).map_err(DistError::datafusion(
            "rebuilding the plan around its stages",
        ))?;

        if let Some(repartition) = plan.downcast_ref::<RepartitionExec>() {
            if repartition.preserve_order() {
                return Err(DistError::Unsupported(format!(
                    "an order-preserving repartition ({}) would lose its order between stages",
                    repartition.partitioning()
                )));
            }
            let input = Arc::clone(repartition.input());
            let output = StageOutput::Repartitioned(repartition.partitioning().clone());
            let stage = self.cut(input, output, Some(ExchangeKind::Repartition));
            return Ok(Arc::new(ShuffleReaderExec::new(
                stage,
                ExchangeKind::Repartition,
                plan.properties().clone(),
            )));
        }

        let merges = plan.is::<CoalescePartitionsExec>() || plan.is::<SortPreservingMergeExec>();
        if merges && !is_reader(plan.children()[0]) {
            return self.cut_child(plan, 0, ExchangeKind::Merge);
        }

        if collects_left(plan.as_ref()) && !reads_stage_output(plan.children()[0]) {
            return self.cut_child(plan, 0, ExchangeKind::Broadcast);
        }
        Ok(plan)
    }

    /// `plan` with child `index` made a stage of its own that `plan` reads whole.
    fn cut_child(
        &mut self,
        plan: Arc<dyn ExecutionPlan>,
        index: usize,
        kind: ExchangeKind,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let mut children: Vec<_> = plan.children().into_iter().cloned().collect();
        let child = Arc::clone(&children[index]);
        let properties = child.properties().clone();
        let stage = self.cut(child, StageOutput::Whole, Some(kind));
        children[index] = Arc::new(ShuffleReaderExec::new(stage, kind, properties));
        replace_children_if_necessary(plan, children).map_err(DistError::datafusion(
            "rebuilding the plan around its stages",
        ))
    }

    /// Makes `plan` a stage; the stages it reads are the ones cut before it whose readers are
    /// inside `plan`. `read_as` is how the stage's consumer will read it, through a reader not
    /// yet placed; `None` when its consumers are found otherwise.
    fn cut(
        &mut self,
        plan: Arc<dyn ExecutionPlan>,
        output: StageOutput,
        read_as: Option<ExchangeKind>,
    ) -> StageId {
        let readers = readers_in(&plan);
        let stage = self.graph.add_stage(plan, output);
        self.pending.retain(|(input, how)| {
            if readers.contains(input) {
                self.graph.add_exchange(*input, stage, *how);
                false
            } else {
                true
            }
        });
        if let Some(kind) = read_as {
            self.pending.push((stage, kind));
        }
        stage
    }

    /// Connects the result stage to every stage still waiting for a consumer.
    fn connect(&mut self, result: StageId) {
        for (input, how) in std::mem::take(&mut self.pending) {
            self.graph.add_exchange(input, result, how);
        }
    }
}

/// `join` rewritten so that one task's probe partition is all the probe side it must see, when
/// it emits build-side rows after its probe side ends; any other node as it is.
fn without_shared_probe_state(
    node: Arc<dyn ExecutionPlan>,
) -> datafusion::error::Result<Transformed<Arc<dyn ExecutionPlan>>> {
    let probe_partitions =
        |right: &Arc<dyn ExecutionPlan>| right.output_partitioning().partition_count();
    if let Some(join) = node.downcast_ref::<HashJoinExec>() {
        let collects = *join.partition_mode() == PartitionMode::CollectLeft;
        let partitions = probe_partitions(join.right());
        if !collects || partitions < 2 || !need_produce_result_in_final(*join.join_type()) {
            return Ok(Transformed::no(node));
        }
        if join.null_aware {
            // A null-aware anti join must see every probe row for a NULL; keep it whole.
            return coalesce_probe_side(node);
        }
        let (left_keys, right_keys): (Vec<_>, Vec<_>) = join.on().iter().cloned().unzip();
        let build = match join.left().downcast_ref::<CoalescePartitionsExec>() {
            Some(coalesce) => Arc::clone(coalesce.input()),
            None => Arc::clone(join.left()),
        };
        let left = RepartitionExec::try_new(build, Partitioning::Hash(left_keys, partitions))?;
        let right = RepartitionExec::try_new(
            Arc::clone(join.right()),
            Partitioning::Hash(right_keys, partitions),
        )?;
        let partitioned = join
            .builder()
            .with_new_children(vec![Arc::new(left), Arc::new(right)])?
            .with_partition_mode(PartitionMode::Partitioned)
            .recompute_properties()
            .build_exec()?;
        return Ok(Transformed::yes(partitioned));
    }
    if let Some(join) = node.downcast_ref::<NestedLoopJoinExec>()
        && probe_partitions(join.right()) > 1
        && need_produce_result_in_final(*join.join_type())
    {
        return coalesce_probe_side(node);
    }
    Ok(Transformed::no(node))
}

/// A join whose probe side (right) is merged into one partition.
fn coalesce_probe_side(
    join: Arc<dyn ExecutionPlan>,
) -> datafusion::error::Result<Transformed<Arc<dyn ExecutionPlan>>> {
    let left = Arc::clone(join.children()[0]);
    let right = Arc::new(CoalescePartitionsExec::new(Arc::clone(join.children()[1])));
    Ok(Transformed::yes(replace_children_if_necessary(
        join,
        vec![left, right],
    )?))
}

/// Join types that emit rows of the build side once the probe side is exhausted (DataFusion's
/// `need_produce_result_in_final`, which is not public).
fn need_produce_result_in_final(join_type: JoinType) -> bool {
    matches!(
        join_type,
        JoinType::Left
            | JoinType::LeftAnti
            | JoinType::LeftSemi
            | JoinType::LeftMark
            | JoinType::Full
    )
}

/// The stages read by the readers in `plan`, not looking into other stages.
fn readers_in(plan: &Arc<dyn ExecutionPlan>) -> Vec<StageId> {
    match plan.downcast_ref::<ShuffleReaderExec>() {
        Some(reader) => vec![reader.stage()],
        None => plan.children().into_iter().flat_map(readers_in).collect(),
    }
}

fn is_reader(plan: &Arc<dyn ExecutionPlan>) -> bool {
    plan.is::<ShuffleReaderExec>()
}

/// A reader, or a merge of a reader: already another stage's output, cheap to read whole.
fn reads_stage_output(plan: &Arc<dyn ExecutionPlan>) -> bool {
    let merges = plan.is::<CoalescePartitionsExec>() || plan.is::<SortPreservingMergeExec>();
    is_reader(plan) || (merges && is_reader(plan.children()[0]))
}

/// Joins that build their left input whole in every partition.
fn collects_left(plan: &dyn ExecutionPlan) -> bool {
    if let Some(join) = plan.downcast_ref::<HashJoinExec>() {
        return *join.partition_mode() == PartitionMode::CollectLeft;
    }
    plan.is::<CrossJoinExec>() || plan.is::<NestedLoopJoinExec>()
}
