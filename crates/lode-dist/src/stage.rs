//! Stages and the exchanges between them, as a `petgraph` DAG.
//!
//! A stage is a piece of the physical plan that runs as independent tasks, one per output
//! partition of its plan, with no data crossing between tasks. Its inputs are the outputs of
//! earlier stages, read through [`ShuffleReaderExec`](crate::ShuffleReaderExec) leaves; its output
//! is written as pieces (see [`StageOutput`]). An edge of the graph is an exchange: the producing
//! stage's pieces read by the consuming stage.

use std::fmt::{self, Write as _};
use std::sync::Arc;

use datafusion::logical_expr::physical_planning_context::{ScalarSubqueryResults, SubqueryIndex};
use datafusion::physical_plan::{
    ExecutionPlan, ExecutionPlanProperties, Partitioning, displayable,
};
use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

/// A stage's number within its job; stages are numbered children first, so every stage's inputs
/// have smaller numbers and the last stage is the job's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StageId(pub usize);

impl fmt::Display for StageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "stage {}", self.0)
    }
}

/// How a stage task splits what it produces into pieces.
#[derive(Debug, Clone)]
pub enum StageOutput {
    /// By `Partitioning` (hash or round robin): piece `k` of every task is input partition `k`
    /// of the consumer.
    Repartitioned(Partitioning),
    /// One piece per task, the task's whole output: for merges, broadcasts and the result.
    Whole,
}

impl StageOutput {
    /// Pieces each task writes.
    pub fn pieces(&self) -> usize {
        match self {
            StageOutput::Repartitioned(partitioning) => partitioning.partition_count(),
            StageOutput::Whole => 1,
        }
    }
}

/// One stage: the plan its tasks run and how they write their output.
#[derive(Debug, Clone)]
pub struct Stage {
    /// The stage's id, its node in the graph.
    pub id: StageId,
    /// Runs once per task: task `p` executes partition `p`.
    pub plan: Arc<dyn ExecutionPlan>,
    /// How its tasks write their output.
    pub output: StageOutput,
}

impl Stage {
    /// Tasks of the stage: the output partitions of its plan.
    pub fn tasks(&self) -> usize {
        self.plan.output_partitioning().partition_count()
    }
}

/// Why data crosses between two stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExchangeKind {
    /// A hash (or round-robin) repartition: every consumer task reads one piece of every
    /// producer task.
    Repartition,
    /// A merge of all partitions into one (coalesce, sort-preserving merge): consumer
    /// partition `p` is producer task `p`'s output.
    Merge,
    /// The build side of a join that every consumer task reads whole.
    Broadcast,
    /// An uncorrelated scalar subquery: its one value is given to the consumer's expressions.
    Scalar,
}

impl fmt::Display for ExchangeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ExchangeKind::Repartition => "repartition",
            ExchangeKind::Merge => "merge",
            ExchangeKind::Broadcast => "broadcast",
            ExchangeKind::Scalar => "scalar",
        })
    }
}

impl std::str::FromStr for ExchangeKind {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Ok(match name {
            "repartition" => ExchangeKind::Repartition,
            "merge" => ExchangeKind::Merge,
            "broadcast" => ExchangeKind::Broadcast,
            "scalar" => ExchangeKind::Scalar,
            other => return Err(format!("unknown exchange kind `{other}`")),
        })
    }
}

/// A scalar subquery computed by a stage of its own, whose value the expressions of other
/// stages read from DataFusion's shared results slot.
#[derive(Debug, Clone)]
pub struct ScalarSubquery {
    pub stage: StageId,
    pub results: ScalarSubqueryResults,
    pub index: SubqueryIndex,
}

/// The stages of one plan and the exchanges between them.
#[derive(Debug, Clone, Default)]
pub struct StageGraph {
    graph: DiGraph<Stage, ExchangeKind>,
    scalars: Vec<ScalarSubquery>,
}

impl StageGraph {
    /// Adds a stage numbered after every stage so far.
    pub(crate) fn add_stage(
        &mut self,
        plan: Arc<dyn ExecutionPlan>,
        output: StageOutput,
    ) -> StageId {
        let id = StageId(self.graph.node_count());
        let index = self.graph.add_node(Stage { id, plan, output });
        debug_assert_eq!(index.index(), id.0);
        id
    }

    /// Records that `consumer` reads `producer`'s output.
    pub(crate) fn add_exchange(
        &mut self,
        producer: StageId,
        consumer: StageId,
        kind: ExchangeKind,
    ) {
        self.graph
            .add_edge(NodeIndex::new(producer.0), NodeIndex::new(consumer.0), kind);
    }

    pub(crate) fn add_scalar_subquery(&mut self, scalar: ScalarSubquery) {
        self.scalars.push(scalar);
    }

    /// Scalar subqueries computed by stages, in stage order.
    pub fn scalar_subqueries(&self) -> &[ScalarSubquery] {
        &self.scalars
    }

    /// The stage numbered `id`.
    pub fn stage(&self, id: StageId) -> Option<&Stage> {
        self.graph.node_weight(NodeIndex::new(id.0))
    }

    /// Every stage, inputs before the stages that read them.
    pub fn stages(&self) -> impl Iterator<Item = &Stage> {
        self.graph.node_weights()
    }

    /// The stage whose output is the job's result.
    pub fn result_stage(&self) -> Option<&Stage> {
        self.graph.node_weights().last()
    }

    /// The stages `id` reads, with how.
    pub fn inputs(&self, id: StageId) -> Vec<(StageId, ExchangeKind)> {
        let mut inputs: Vec<_> = self
            .graph
            .edges_directed(NodeIndex::new(id.0), Direction::Incoming)
            .map(|e| (StageId(e.source().index()), *e.weight()))
            .collect();
        inputs.sort_by_key(|(stage, _)| *stage);
        inputs
    }

    /// The stages that read `id`'s output; none for the result stage. Only a scalar
    /// subquery's stage has several.
    pub fn consumers(&self, id: StageId) -> Vec<StageId> {
        let mut consumers: Vec<_> = self
            .graph
            .edges_directed(NodeIndex::new(id.0), Direction::Outgoing)
            .map(|e| StageId(e.target().index()))
            .collect();
        consumers.sort();
        consumers
    }

    /// By stage: the most exchanges on a path from it to the result (0 for the result).
    pub fn heights(&self) -> Vec<usize> {
        let mut heights = vec![0; self.len()];
        // Stages are numbered inputs first, so consumers are done before their inputs.
        for id in (0..self.len()).rev() {
            heights[id] = self
                .consumers(StageId(id))
                .iter()
                .map(|consumer| heights[consumer.0] + 1)
                .max()
                .unwrap_or(0);
        }
        heights
    }

    /// Number of stages.
    pub fn len(&self) -> usize {
        self.graph.node_count()
    }

    /// Whether there is no stage.
    pub fn is_empty(&self) -> bool {
        self.graph.node_count() == 0
    }

    /// Every stage with its task count, output, inputs and operators, as indented text.
    pub fn display_text(&self) -> String {
        let mut out = String::new();
        for stage in self.stages() {
            let consumers = self.consumers(stage.id);
            let consumer = if consumers.is_empty() {
                "the result".to_string()
            } else {
                let names: Vec<String> = consumers.iter().map(StageId::to_string).collect();
                names.join(", ")
            };
            let _ = writeln!(
                out,
                "{} ({} {}) -> {} to {consumer}",
                capitalized(&stage.id.to_string()),
                stage.tasks(),
                plural(stage.tasks(), "task"),
                describe_output(&stage.output),
            );
            for line in displayable(stage.plan.as_ref())
                .indent(false)
                .to_string()
                .lines()
            {
                let _ = writeln!(out, "    {line}");
            }
        }
        out
    }

    /// The graph in Graphviz DOT: a box per stage listing its operators, an edge per exchange.
    pub fn display_dot(&self) -> String {
        let mut out = String::from(
            "digraph stages {\n  rankdir=BT;\n  node [shape=box, fontname=\"monospace\"];\n",
        );
        for stage in self.stages() {
            let mut label = format!(
                "{} ({} {})\\l",
                capitalized(&stage.id.to_string()),
                stage.tasks(),
                plural(stage.tasks(), "task")
            );
            for line in displayable(stage.plan.as_ref())
                .indent(false)
                .to_string()
                .lines()
            {
                let operator = line.split(':').next().unwrap_or(line);
                let _ = write!(label, "{}\\l", dot_escape(operator));
            }
            let _ = writeln!(out, "  s{} [label=\"{label}\"];", stage.id.0);
        }
        for edge in self.graph.edge_references() {
            let label = match &self.graph[edge.source()].output {
                output @ StageOutput::Repartitioned(_) => describe_output(output),
                StageOutput::Whole => edge.weight().to_string(),
            };
            let _ = writeln!(
                out,
                "  s{} -> s{} [label=\"{}\"];",
                edge.source().index(),
                edge.target().index(),
                dot_escape(&label),
            );
        }
        out.push_str("}\n");
        out
    }
}

fn describe_output(output: &StageOutput) -> String {
    match output {
        StageOutput::Repartitioned(Partitioning::Hash(keys, n)) => {
            let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
            format!("hash({}) into {n} {}", keys.join(", "), plural(*n, "piece"))
        }
        StageOutput::Repartitioned(partitioning) => {
            format!("{partitioning} ({} pieces)", partitioning.partition_count())
        }
        StageOutput::Whole => "whole output".to_string(),
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        word.to_string()
    } else {
        format!("{word}s")
    }
}

fn dot_escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}
