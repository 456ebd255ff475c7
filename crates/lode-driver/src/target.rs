//! Where a driver's plans run: the embedded engine here, a cluster elsewhere. A driver cannot
//! tell them apart.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::catalog::TableProvider;
use datafusion::datasource::MemTable;
use datafusion::physical_plan::SendableRecordBatchStream;
use futures::TryStreamExt;
use lode_exec::{Engine, ExecError};
use lode_plan::{DecodedPlan, PlanFormat};
use substrait::proto::Plan;

/// Runs the plans a driver submits.
#[async_trait]
pub trait PlanTarget: Send + Sync {
    /// Validates and runs a plan; its result streams.
    async fn execute(&self, plan: Plan) -> Result<SendableRecordBatchStream, ExecError>;

    /// Runs a plan and keeps its result as table `name`, which later plans read (and the
    /// driver's planner sees). Returns its row count.
    async fn store(&self, plan: Plan, name: &str) -> Result<u64, ExecError>;

    /// Drops tables the driver stored; called when it ends.
    async fn drop_stored(&self, names: &[String]) -> Result<(), ExecError>;
}

/// The engine in this process. Stored tables live in its memory, in its session, so the
/// planner (the same engine) sees them at once.
pub struct LocalTarget {
    engine: Arc<Engine>,
}

impl LocalTarget {
    pub fn new(engine: Arc<Engine>) -> Self {
        LocalTarget { engine }
    }
}

#[async_trait]
impl PlanTarget for LocalTarget {
    async fn execute(&self, plan: Plan) -> Result<SendableRecordBatchStream, ExecError> {
        let decoded = DecodedPlan::new(plan, PlanFormat::Binary);
        self.engine.execute(&decoded).await
    }

    async fn store(&self, plan: Plan, name: &str) -> Result<u64, ExecError> {
        let stream = self.execute(plan).await?;
        let schema = stream.schema();
        let batches: Vec<_> = stream
            .try_collect()
            .await
            .map_err(ExecError::datafusion("running the plan failed"))?;
        let rows = batches.iter().map(|b| b.num_rows() as u64).sum();
        // Batches dealt round-robin into one partition per core, so later scans of the table
        // run in parallel.
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut partitions = vec![Vec::new(); cores.min(batches.len()).max(1)];
        let count = partitions.len();
        for (i, batch) in batches.into_iter().enumerate() {
            partitions[i % count].push(batch);
        }
        let table = MemTable::try_new(schema, partitions)
            .map_err(ExecError::datafusion("storing the result failed"))?;
        replace_table(&self.engine, name, Arc::new(table))?;
        Ok(rows)
    }

    async fn drop_stored(&self, names: &[String]) -> Result<(), ExecError> {
        for name in names {
            self.engine
                .session()
                .deregister_table(name.as_str())
                .map_err(ExecError::datafusion("dropping a stored table failed"))?;
        }
        Ok(())
    }
}

/// Registers `table` as `name` in `engine`'s session, replacing a table of that name: how a
/// target makes a stored result visible to the driver's planner.
pub fn replace_table(
    engine: &Engine,
    name: &str,
    table: Arc<dyn TableProvider>,
) -> Result<(), ExecError> {
    let session = engine.session();
    session
        .deregister_table(name)
        .map_err(ExecError::datafusion("replacing a table failed"))?;
    session
        .register_table(name, table)
        .map_err(ExecError::datafusion("registering a table failed"))?;
    Ok(())
}
