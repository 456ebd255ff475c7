//! The coordinator: tracks executors and the files they hold, plans submitted Substrait plans
//! into stage graphs, schedules their tasks onto executors near the data, recovers from lost
//! executors, and serves results with Arrow Flight (also to Flight SQL clients).

mod placement;
mod scheduler;
mod service;
mod state;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use arrow_flight::flight_service_server::FlightServiceServer;
use lode_exec::EngineConfig;
use tokio::sync::watch;
use tonic::service::interceptor::InterceptedService;
use tracing::{info, warn};

use crate::auth::Token;
use crate::error::{DistError, Result};
use crate::proto::coordinator_server::CoordinatorServer;

pub use state::ExecutorSummary;

use service::{CoordinatorFlight, CoordinatorService};
use state::Shared;

/// How to run a coordinator.
#[derive(Debug, Clone)]
pub struct CoordinatorConfig {
    /// Where to serve; port 0 picks a free port.
    pub listen: SocketAddr,
    /// The token executors and clients must present.
    pub token: Token,
    /// The largest gRPC message accepted or sent; plans and modules stream in smaller chunks.
    pub max_message_bytes: usize,
    /// How often executors send heartbeats.
    pub heartbeat_interval: Duration,
    /// An executor silent this long is lost.
    pub executor_timeout: Duration,
    /// How long a task waits for an executor that can run it before its job fails.
    pub placement_timeout: Duration,
    /// Attempts of a task that fails for infrastructure reasons.
    pub max_task_attempts: u32,
    /// Planning settings (target partitions default to the executors' slots together).
    pub engine: EngineConfig,
    /// The smallest byte range a scan task reads of a Parquet file that several tasks share;
    /// a file smaller than two such ranges is read whole by one task.
    pub min_scan_range_bytes: u64,
    /// How long a finished job's result waits for its client; then its pieces are deleted.
    pub result_ttl: Duration,
    /// TLS of the coordinator's services and of its calls to executors.
    pub tls: crate::Tls,
}

impl Default for CoordinatorConfig {
    fn default() -> Self {
        CoordinatorConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            token: Token::none(),
            max_message_bytes: 64 << 20,
            heartbeat_interval: Duration::from_millis(500),
            executor_timeout: Duration::from_secs(5),
            placement_timeout: Duration::from_secs(10),
            max_task_attempts: 4,
            engine: EngineConfig::default(),
            min_scan_range_bytes: 10 << 20,
            result_ttl: Duration::from_secs(600),
            tls: crate::Tls::none(),
        }
    }
}

/// A started coordinator.
pub struct RunningCoordinator {
    address: String,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    handle: tokio::task::JoinHandle<()>,
}

impl RunningCoordinator {
    /// The address clients and executors connect to, `http://host:port`.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The executors attached now.
    pub fn executors(&self) -> Vec<ExecutorSummary> {
        self.shared.executor_summaries()
    }

    /// Waits until `count` executors are attached, for at most `timeout`.
    pub async fn wait_for_executors(&self, count: usize, timeout: Duration) -> Result<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let changed = self.shared.executors_changed.notified();
            let attached = self.shared.executor_summaries().len();
            if attached >= count {
                return Ok(());
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return Err(DistError::Config(format!(
                    "{attached} of {count} executors attached within {timeout:?}"
                )));
            }
        }
    }

    /// Stops, giving open calls a short grace to finish.
    pub async fn stop(self) {
        self.stop_within(crate::GRACE).await;
    }

    /// Stops, giving open calls `grace` to finish.
    pub(crate) async fn stop_within(self, grace: std::time::Duration) {
        let _ = self.stop.send(true);
        crate::stop_within(self.handle, grace).await;
    }

    /// Waits until the coordinator stops by itself.
    pub async fn wait(self) {
        let _ = self.handle.await;
    }
}

/// Starts a coordinator serving its own API and Arrow Flight (SQL) on one port.
pub async fn start_coordinator(config: CoordinatorConfig) -> Result<RunningCoordinator> {
    let (incoming, local) = crate::listen(config.listen).await?;
    let address = format!("{}://{local}", config.tls.scheme());
    let shared = Arc::new(Shared::new(config.clone()));
    let (stop, stopped) = watch::channel(false);

    let api = CoordinatorServer::new(CoordinatorService::new(Arc::clone(&shared)))
        .max_decoding_message_size(config.max_message_bytes)
        .max_encoding_message_size(config.max_message_bytes);
    let flight = FlightServiceServer::new(CoordinatorFlight::new(Arc::clone(&shared)))
        .max_decoding_message_size(config.max_message_bytes)
        .max_encoding_message_size(config.max_message_bytes);
    let mut server_stop = stopped.clone();
    let server = config
        .tls
        .server()
        .map_err(|e| DistError::Config(format!("TLS: {e}")))?
        .add_service(InterceptedService::new(api, config.token.require()))
        .add_service(InterceptedService::new(flight, config.token.require()))
        .serve_with_incoming_shutdown(incoming, async move {
            let _ = server_stop.wait_for(|s| *s).await;
        });
    let monitor = Arc::clone(&shared).watch_heartbeats(stopped);
    info!(address = %address, "coordinator listening");
    let handle = tokio::spawn(async move {
        let (served, ()) = tokio::join!(server, monitor);
        if let Err(e) = served {
            warn!(error = %e, "the coordinator's server stopped");
        }
    });
    Ok(RunningCoordinator {
        address,
        shared,
        stop,
        handle,
    })
}
