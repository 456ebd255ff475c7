//! A cluster as a [`PlanTarget`]: each plan a job on its coordinator.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::datasource::MemTable;
use datafusion::physical_plan::SendableRecordBatchStream;
use lode_exec::{Engine, ExecError, PlanTarget};
use lode_plan::DecodedPlan;
use prost::Message;

use crate::flight::Connections;
use crate::proto;

/// Hears about each job a [`ClusterTarget`] runs. Every method has a default that ignores it.
pub trait JobObserver: Send + Sync {
    /// The coordinator accepted a job: its id (for [`crate::cancel`]), stages and tasks.
    fn accepted(&self, _event: &proto::JobAccepted) {}

    /// The job's figures, each time the coordinator reports them.
    fn progress(&self, _status: &proto::JobStatus) {}

    /// The job finished; its result now streams to the caller.
    fn finished(&self, _job: &str, _status: &proto::JobStatus) {}
}

/// Ignores every job event.
struct Unobserved;

impl JobObserver for Unobserved {}

/// A cluster behind a coordinator. A stored result stays on the executors that computed
/// it; a planner in this process (see [`ClusterTarget::declaring_stored_in`]) learns its
/// schema.
pub struct ClusterTarget {
    connections: Connections,
    coordinator: String,
    partitions: u32,
    observer: Arc<dyn JobObserver>,
    planner: Option<Arc<Engine>>,
}

impl ClusterTarget {
    /// Plans run on the coordinator at `coordinator`, with the coordinator's default number
    /// of partitions per exchange.
    pub fn new(connections: Connections, coordinator: impl Into<String>) -> Self {
        ClusterTarget {
            connections,
            coordinator: coordinator.into(),
            partitions: 0,
            observer: Arc::new(Unobserved),
            planner: None,
        }
    }

    /// Partitions per exchange; 0 lets the coordinator choose (one per task slot).
    pub fn with_partitions(mut self, partitions: u32) -> Self {
        self.partitions = partitions;
        self
    }

    /// Reports each job's events to `observer`.
    pub fn observed_by(mut self, observer: Arc<dyn JobObserver>) -> Self {
        self.observer = observer;
        self
    }

    /// Declares each stored result in `planner` as a table known by its schema only (its
    /// rows stay on the cluster), and forgets it when it is dropped: for a driver that plans
    /// here and runs there.
    pub fn declaring_stored_in(mut self, planner: Arc<Engine>) -> Self {
        self.planner = Some(planner);
        self
    }

    /// Declares in the planner (see [`ClusterTarget::declaring_stored_in`]) every table the
    /// cluster's executors hold, by its schema. Results other sessions stored are left out:
    /// they are not this planner's to read or replace.
    pub async fn declare_cluster_tables(&self) -> crate::Result<()> {
        let Some(planner) = &self.planner else {
            return Ok(());
        };
        for (name, schema, stored) in crate::tables(&self.connections, &self.coordinator).await? {
            if !stored {
                declare_table(planner, &name, schema)?;
            }
        }
        Ok(())
    }

    /// The coordinator's address.
    pub fn coordinator(&self) -> &str {
        &self.coordinator
    }
}

#[async_trait]
impl PlanTarget for ClusterTarget {
    async fn execute(&self, plan: &DecodedPlan) -> Result<SendableRecordBatchStream, ExecError> {
        let observer = &self.observer;
        let submitted = crate::submit_with(
            &self.connections,
            &self.coordinator,
            plan.plan.encode_to_vec(),
            self.partitions,
            |event| observer.accepted(event),
            |status| observer.progress(status),
        )
        .await?;
        observer.finished(&submitted.job, &submitted.status);
        Ok(submitted.batches)
    }

    async fn store(&self, plan: &DecodedPlan, name: &str) -> Result<u64, ExecError> {
        let observer = &self.observer;
        let stored = crate::store(
            &self.connections,
            &self.coordinator,
            plan.plan.encode_to_vec(),
            name,
            |status| observer.progress(status),
        )
        .await?;
        if let Some(planner) = &self.planner {
            declare_table(planner, name, stored.schema)?;
        }
        tracing::info!(
            table = name,
            rows = stored.rows,
            "result stored on the cluster's executors"
        );
        Ok(stored.rows)
    }

    async fn drop_stored(&self, names: &[String]) -> Result<(), ExecError> {
        if let Some(planner) = &self.planner {
            for name in names {
                planner
                    .session()
                    .deregister_table(name.as_str())
                    .map_err(ExecError::datafusion("forgetting a stored table"))?;
            }
        }
        crate::drop_tables(&self.connections, &self.coordinator, names.to_vec()).await?;
        Ok(())
    }
}

/// A table `planner` knows by its schema only: its rows are on the cluster.
fn declare_table(planner: &Engine, name: &str, schema: SchemaRef) -> Result<(), ExecError> {
    let table = MemTable::try_new(schema, vec![Vec::new()])
        .map_err(ExecError::datafusion("declaring a cluster table"))?;
    planner.replace_table(name, Arc::new(table))
}
