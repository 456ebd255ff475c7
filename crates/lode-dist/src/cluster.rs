//! A whole cluster in this process: a coordinator and executors on loopback ports, talking
//! gRPC and Flight exactly as separate processes do (`lode run --executors N`).

use std::time::Duration;

use lode_exec::EngineConfig;
use lode_exec::storage::Location;

use crate::auth::Token;
use crate::coordinator::{CoordinatorConfig, RunningCoordinator, start_coordinator};
use crate::error::{DistError, Result};
use crate::executor::{ExecutorConfig, RunningExecutor, start_executor};
use crate::flight::Connections;

/// A coordinator and its executors, stopped (and their work directories removed) on
/// [`LocalCluster::stop`].
pub struct LocalCluster {
    coordinator: RunningCoordinator,
    executors: Vec<RunningExecutor>,
    connections: Connections,
    _work: tempfile::TempDir,
}

impl LocalCluster {
    /// Starts a coordinator and `executors` executors that each hold every table of `data`
    /// (a directory or object-store prefix), with `slots` task slots each; all calls carry a
    /// fresh random token.
    pub async fn start(
        executors: usize,
        data: &Location,
        slots: usize,
        engine: EngineConfig,
    ) -> Result<Self> {
        let token = Token::random()?;
        let loopback = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        let config = CoordinatorConfig {
            listen: loopback,
            token: token.clone(),
            engine: engine.clone(),
            ..CoordinatorConfig::default()
        };
        let max_message_bytes = config.max_message_bytes;
        let coordinator = start_coordinator(config).await?;
        let work = tempfile::Builder::new()
            .prefix("lode-cluster-")
            .tempdir()
            .map_err(|source| DistError::Io {
                path: std::env::temp_dir(),
                source,
            })?;
        // Each executor reads its data's file footers and builds an engine: the
        // executors start side by side, on the runtime's threads.
        let starting: Vec<_> = (0..executors.max(1))
            .map(|n| {
                tokio::spawn(start_executor(ExecutorConfig {
                    coordinator: coordinator.address().to_string(),
                    listen: loopback,
                    advertise: None,
                    data: data.clone(),
                    work: work.path().join(format!("executor-{n}")),
                    slots,
                    token: token.clone(),
                    max_message_bytes,
                    engine: engine.clone(),
                    tls: crate::Tls::none(),
                }))
            })
            .collect();
        let mut started = Vec::with_capacity(starting.len());
        for start in starting {
            let executor = start
                .await
                .map_err(|e| DistError::Config(format!("an executor did not start: {e}")))??;
            started.push(executor);
        }
        coordinator
            .wait_for_executors(started.len(), Duration::from_secs(30))
            .await?;
        Ok(LocalCluster {
            coordinator,
            executors: started,
            connections: Connections::new(token, max_message_bytes),
            _work: work,
        })
    }

    /// The coordinator's address.
    pub fn address(&self) -> &str {
        self.coordinator.address()
    }

    /// Client connections carrying the cluster's token.
    pub fn connections(&self) -> &Connections {
        &self.connections
    }

    /// Stops every service at once, without a grace period. A local cluster is stopped when
    /// its work is done (`lode run --executors` has read its result), so no call is left to
    /// finish, while the services' connections to each other would hold a graceful shutdown
    /// for all of its grace; the stage outputs go with the work directory.
    pub async fn stop(self) {
        let grace = Duration::ZERO;
        let executors = self.executors.into_iter().map(|e| e.stop_within(grace));
        tokio::join!(
            futures::future::join_all(executors),
            self.coordinator.stop_within(grace)
        );
    }
}
