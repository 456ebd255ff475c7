//! Stored results: a job run with `SubmitOptions.store_as` keeps its result pieces on the
//! executors that wrote them, and later plans read them as a table. Nothing moves when the
//! result is stored; a plan that reads it fetches the pieces like any stage output.
//!
//! The scan is a [`StoredTableExec`]: a leaf to the stage planner (it reads no stage of the
//! job it is in), wrapping a reader already resolved to the stored job's pieces.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::datasource::TableType;
use datafusion::error::Result as DfResult;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::Expr;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties, SendableRecordBatchStream,
};

use crate::proto;
use crate::shuffle::{PieceSource, ShuffleReaderExec, TaskOutput};
use crate::stage::StageId;

/// A stored result: the job and stage whose pieces hold it.
#[derive(Debug, Clone)]
pub struct StoredResult {
    pub job: String,
    pub stage: StageId,
    pub schema: SchemaRef,
    pub outputs: Vec<TaskOutput>,
}

/// A stored result as a table of the coordinator's planning session.
#[derive(Debug)]
pub struct StoredTable {
    result: StoredResult,
    source: Arc<dyn PieceSource>,
}

impl StoredTable {
    pub fn new(result: StoredResult, source: Arc<dyn PieceSource>) -> Self {
        StoredTable { result, source }
    }
}

#[async_trait]
impl TableProvider for StoredTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.result.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let reader = ShuffleReaderExec::resolved_whole(
            &self.result.job,
            self.result.stage,
            Arc::clone(&self.result.schema),
            self.result.outputs.clone(),
            Arc::clone(&self.source),
        );
        let scan: Arc<dyn ExecutionPlan> = Arc::new(StoredTableExec { reader });
        lode_exec::projected(scan, projection)
    }
}

/// Reads a stored result: partition `p` is the stored job's task `p` output.
#[derive(Debug)]
pub struct StoredTableExec {
    reader: ShuffleReaderExec,
}

impl StoredTableExec {
    pub(crate) fn to_proto(&self) -> DfResult<proto::ShuffleReader> {
        self.reader.to_proto()
    }

    pub(crate) fn from_proto(
        message: proto::ShuffleReader,
        source: Arc<dyn PieceSource>,
    ) -> DfResult<Self> {
        Ok(StoredTableExec {
            reader: ShuffleReaderExec::from_proto(message, source)?,
        })
    }
}

impl DisplayAs for StoredTableExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "StoredTableExec: {} of {}",
            self.reader.stage(),
            self.reader.job().unwrap_or("?")
        )
    }
}

impl ExecutionPlan for StoredTableExec {
    fn name(&self) -> &str {
        "StoredTableExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.reader.properties()
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
        context: Arc<TaskContext>,
    ) -> DfResult<SendableRecordBatchStream> {
        self.reader.execute(partition, context)
    }
}
