//! # lode-dist
//!
//! Distributed execution, after Ballista: a DataFusion physical plan is cut at its exchange
//! boundaries into stages ([`split_into_stages`]), which form a DAG ([`StageGraph`]). Each
//! stage runs as tasks, one per partition; a task writes its output as pieces
//! ([`write_task_output`]) that the next stage's [`ShuffleReaderExec`] leaves read back.
//!
//! [`run_in_process`] runs a whole graph in this process through pieces on disk, the same
//! exchange executors use between machines.
//!
//! A cluster is a coordinator ([`start_coordinator`]) and executors ([`start_executor`]):
//! executors announce the files of their data directories, the coordinator plans submitted
//! plans ([`submit`]) over those files, sends each task to an executor holding its files,
//! and executors exchange stage outputs with Arrow Flight. All wire types are in
//! `proto/lode/v1/cluster.proto`. [`LocalCluster`] runs one in a process.

mod auth;
mod batches;
mod catalog;
mod client;
mod cluster;
pub mod codec;
mod coordinator;
mod error;
mod executor;
mod flight;
mod job;
pub mod proto;
mod shuffle;
mod split;
mod stage;
mod stored;
mod target;
mod task;
mod tls;

pub use auth::Token;
pub use client::{Stored, Submitted, cancel, drop_tables, store, submit, submit_with, tables};
pub use cluster::LocalCluster;
pub use coordinator::{CoordinatorConfig, ExecutorSummary, RunningCoordinator, start_coordinator};
pub use error::{DistError, Result};
pub use executor::{ExecutorConfig, RunningExecutor, start_executor};
pub use flight::Connections;
pub use job::{JobMetrics, run_in_process};
pub use shuffle::{
    LocalPieces, PieceId, PieceSource, PieceStats, ShuffleLayout, ShuffleReaderExec, TaskOutput,
    resolve_readers, write_task_output,
};
pub use split::split_into_stages;
pub use stage::{ExchangeKind, Stage, StageGraph, StageId, StageOutput};
pub use target::{ClusterTarget, JobObserver};
pub use tls::Tls;

/// Locks `m`, also after a panic elsewhere poisoned it: the data it guards stays consistent
/// (every writer finishes its update before anything can panic).
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Plans and modules travel in chunks of this size, under any message limit.
pub(crate) const CHUNK_BYTES: usize = 1 << 20;

/// How long a stopping service lets open calls finish before it drops them.
pub(crate) const GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// Waits for a service's task to finish its graceful shutdown, aborting it after `grace`
/// (a client that keeps a call open must not keep a service alive).
pub(crate) async fn stop_within(
    mut handle: tokio::task::JoinHandle<()>,
    grace: std::time::Duration,
) {
    if tokio::time::timeout(grace, &mut handle).await.is_err() {
        handle.abort();
        let _ = handle.await;
    }
}

/// Listens on `address` (port 0 picks a free port); returns its incoming connections
/// (TCP_NODELAY set on each) and where it listens.
pub(crate) async fn listen(
    address: std::net::SocketAddr,
) -> Result<(tonic::transport::server::TcpIncoming, std::net::SocketAddr)> {
    let failed = |e: std::io::Error| DistError::Config(format!("cannot listen on {address}: {e}"));
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(failed)?;
    let local = listener.local_addr().map_err(failed)?;
    // Without TCP_NODELAY a small reply waits for the peer's delayed ACK (~40 ms on Linux):
    // tonic sets it only on sockets it binds itself, not on a listener handed to it.
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    Ok((incoming, local))
}
