//! Where a plan runs. Everything that runs plans (`lode run`, `lode submit`, driver guests,
//! the conformance runner, the benchmarks) runs them through a [`PlanTarget`]: [`Embedded`],
//! the engine in this process, or `lode_dist::ClusterTarget`, a cluster behind a
//! coordinator. A caller cannot tell them apart by their results.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::catalog::TableProvider;
use datafusion::datasource::MemTable;
use datafusion::physical_plan::SendableRecordBatchStream;
use futures::TryStreamExt;
use lode_plan::DecodedPlan;

use crate::{Engine, ExecError, Result};

/// Runs plans and keeps results as tables for later plans.
#[async_trait]
pub trait PlanTarget: Send + Sync {
    /// Validates and runs a plan; its result streams.
    async fn execute(&self, plan: &DecodedPlan) -> Result<SendableRecordBatchStream>;

    /// Runs a plan and keeps its result as table `name`, which later plans read. Returns
    /// its row count.
    async fn store(&self, plan: &DecodedPlan, name: &str) -> Result<u64>;

    /// Drops tables [`PlanTarget::store`] kept.
    async fn drop_stored(&self, names: &[String]) -> Result<()>;
}

/// The engine in this process. Stored tables live in its memory, in its session, so a
/// planner using the same engine sees them at once.
pub struct Embedded {
    engine: Arc<Engine>,
}

impl Embedded {
    /// Plans run in `engine`, in this process.
    pub fn new(engine: Arc<Engine>) -> Self {
        Embedded { engine }
    }
}

#[async_trait]
impl PlanTarget for Embedded {
    async fn execute(&self, plan: &DecodedPlan) -> Result<SendableRecordBatchStream> {
        self.engine.execute(plan).await
    }

    async fn store(&self, plan: &DecodedPlan, name: &str) -> Result<u64> {
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
        self.engine.replace_table(name, Arc::new(table))?;
        Ok(rows)
    }

    async fn drop_stored(&self, names: &[String]) -> Result<()> {
        for name in names {
            self.engine
                .session()
                .deregister_table(name.as_str())
                .map_err(ExecError::datafusion("dropping a stored table failed"))?;
        }
        Ok(())
    }
}

impl Engine {
    /// Registers `table` as `name`, replacing a table of that name: how a stored result
    /// becomes visible to plans (and to a planner that only knows its schema).
    pub fn replace_table(&self, name: &str, table: Arc<dyn TableProvider>) -> Result<()> {
        let session = self.session();
        session
            .deregister_table(name)
            .map_err(ExecError::datafusion("replacing a table failed"))?;
        session
            .register_table(name, table)
            .map_err(ExecError::datafusion("registering a table failed"))?;
        Ok(())
    }
}
