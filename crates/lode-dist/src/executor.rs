//! An executor: registers with the coordinator with the files of its data directory or
//! object-store prefix, runs the
//! stage tasks it is given, writes their outputs as pieces under its work directory and serves
//! them to other executors with Arrow Flight.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arrow_flight::flight_service_server::FlightServiceServer;
use datafusion::object_store::local::LocalFileSystem;
use lode_exec::storage::{Location, Stores};
use lode_exec::{Engine, EngineConfig, PlanModules, TableBindings};
use lode_plan::ext::{ModuleTable, WasmModule};
use tokio::sync::{Semaphore, mpsc, watch};
use tracing::{Instrument, debug, info, info_span, warn};

use crate::auth::Token;
use crate::catalog::{announce_tables, data_store_url};
use crate::error::{DistError, Result};
use crate::flight::{Connections, PieceServer, is_job_id};
use crate::proto;
use crate::proto::coordinator_client::CoordinatorClient;
use crate::shuffle::ShuffleLayout;

/// How to start an executor.
#[derive(Debug, Clone)]
pub struct ExecutorConfig {
    /// The coordinator's address, `http://host:port` (`https://` when it serves TLS).
    pub coordinator: String,
    /// Where to serve Flight; port 0 picks a free port.
    pub listen: SocketAddr,
    /// The address other executors reach this one at; defaults to `http://<listen>`.
    pub advertise: Option<String>,
    /// The directory, or object-store prefix (`s3://bucket/tpch/`), whose tables this
    /// executor holds. Files in a store are held by every executor announcing them.
    pub data: Location,
    /// Where stage outputs are written; each job's are removed when it ends.
    pub work: PathBuf,
    /// Tasks run at once.
    pub slots: usize,
    /// The token the coordinator and other executors present, and this executor presents
    /// to them.
    pub token: Token,
    /// The largest gRPC message accepted or sent.
    pub max_message_bytes: usize,
    /// Memory bound, spill directory and compile cache of the executor's engine.
    pub engine: EngineConfig,
    /// TLS of the executor's Flight service and of its calls to the coordinator and to
    /// other executors.
    pub tls: crate::Tls,
}

/// A started executor; dropping it does not stop it, [`RunningExecutor::stop`] does.
pub struct RunningExecutor {
    address: String,
    stop: watch::Sender<bool>,
    handle: tokio::task::JoinHandle<()>,
}

impl RunningExecutor {
    /// The Flight address it announced.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Stops serving and detaches from the coordinator.
    pub async fn stop(self) {
        self.stop_within(crate::GRACE).await;
    }

    /// Stops, giving open calls `grace` to finish.
    pub(crate) async fn stop_within(self, grace: std::time::Duration) {
        let _ = self.stop.send(true);
        crate::stop_within(self.handle, grace).await;
    }

    /// Runs until the process ends or the task is aborted.
    pub async fn wait(self) {
        let _ = self.handle.await;
    }
}

/// An executor's state, shared by its connection to the coordinator, its Flight service and
/// its running tasks (`crate::task::run`).
pub(crate) struct Executor {
    pub(crate) address: String,
    pub(crate) config: ExecutorConfig,
    pub(crate) engine: Engine,
    pub(crate) layout: ShuffleLayout,
    pub(crate) connections: Connections,
    slots: Arc<Semaphore>,
    tables: Vec<proto::TableFiles>,
    /// Running jobs' Wasm modules, loaded with their grants, by job.
    job_modules: Mutex<HashMap<String, Arc<PlanModules>>>,
    /// One module fetch at a time, so tasks of one job do not fetch and compile it twice.
    fetching: tokio::sync::Mutex<()>,
}

/// Starts an executor: serves Flight on `config.listen` and attaches to the coordinator,
/// reattaching whenever the connection drops.
pub async fn start_executor(config: ExecutorConfig) -> Result<RunningExecutor> {
    let (incoming, local) = crate::listen(config.listen).await?;
    let address = config
        .advertise
        .clone()
        .unwrap_or_else(|| format!("{}://{local}", config.tls.scheme()));

    std::fs::create_dir_all(&config.work).map_err(|source| DistError::Io {
        path: config.work.clone(),
        source,
    })?;
    let mut bindings = TableBindings::new();
    bindings.add_data(&config.data, &Stores::default()).await?;
    let engine = Engine::new(&bindings, config.engine.clone()).await?;
    if let Location::Local(dir) = &config.data {
        let store = LocalFileSystem::new_with_prefix(dir)
            .map_err(|e| DistError::Config(format!("data directory {}: {e}", dir.display())))?;
        engine
            .session()
            .runtime_env()
            .register_object_store(data_store_url().as_ref(), Arc::new(store));
    }
    let tables = announce_tables(&config.data, &bindings, engine.session()).await?;

    let layout = ShuffleLayout::new(&config.work);
    let (stop, stopped) = watch::channel(false);
    let pieces = PieceServer::new(layout.clone());
    let flight = FlightServiceServer::new(pieces)
        .max_decoding_message_size(config.max_message_bytes)
        .max_encoding_message_size(config.max_message_bytes);
    let flight =
        tonic::service::interceptor::InterceptedService::new(flight, config.token.require());
    let mut server_stop = stopped.clone();
    let server = config
        .tls
        .server()
        .map_err(|e| DistError::Config(format!("TLS: {e}")))?
        .add_service(flight)
        .serve_with_incoming_shutdown(incoming, async move {
            let _ = server_stop.wait_for(|s| *s).await;
        });

    let executor = Arc::new(Executor {
        address: address.clone(),
        connections: Connections::new(config.token.clone(), config.max_message_bytes)
            .with_tls(config.tls.clone()),
        slots: Arc::new(Semaphore::new(config.slots.max(1))),
        config,
        engine,
        layout,
        tables,
        job_modules: Mutex::default(),
        fetching: tokio::sync::Mutex::new(()),
    });
    info!(address = %address, data = %executor.config.data, "executor serving pieces");
    let attach = Arc::clone(&executor).attach_forever(stopped);
    let handle = tokio::spawn(
        async move {
            let (served, ()) = tokio::join!(server, attach);
            if let Err(e) = served {
                warn!(error = %e, "the Flight server stopped");
            }
        }
        .instrument(info_span!("executor", address = %address)),
    );
    Ok(RunningExecutor {
        address: executor.address.clone(),
        stop,
        handle,
    })
}

impl Executor {
    async fn attach_forever(self: Arc<Self>, mut stopped: watch::Receiver<bool>) {
        let mut backoff = Duration::from_millis(100);
        loop {
            tokio::select! {
                result = Arc::clone(&self).attach_once() => match result {
                    Ok(()) => backoff = Duration::from_millis(100),
                    Err(e) => warn!(coordinator = %self.config.coordinator, error = %e, "not attached to the coordinator; retrying"),
                },
                _ = stopped.wait_for(|s| *s) => return,
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = stopped.wait_for(|s| *s) => return,
            }
            backoff = (backoff * 2).min(Duration::from_secs(2));
        }
    }

    fn coordinator(
        &self,
    ) -> std::result::Result<
        CoordinatorClient<
            tonic::service::interceptor::InterceptedService<
                tonic::transport::Channel,
                crate::auth::SendToken,
            >,
        >,
        tonic::Status,
    > {
        let channel = self.connections.channel(&self.config.coordinator)?;
        Ok(
            CoordinatorClient::with_interceptor(channel, self.config.token.send())
                .max_decoding_message_size(self.config.max_message_bytes)
                .max_encoding_message_size(self.config.max_message_bytes),
        )
    }

    /// One attachment: register, then run tasks until the stream ends.
    async fn attach_once(self: Arc<Self>) -> std::result::Result<(), tonic::Status> {
        let mut client = self.coordinator()?;
        let (up, up_rx) = mpsc::channel::<proto::ExecutorMessage>(64);
        let register = proto::ExecutorMessage {
            kind: Some(proto::executor_message::Kind::Register(proto::Register {
                flight_address: self.address.clone(),
                slots: self.config.slots as u32,
                tables: self.tables.clone(),
            })),
        };
        let _ = up.send(register).await;
        let outgoing = futures::stream::unfold(up_rx, |mut rx| async move {
            rx.recv().await.map(|message| (message, rx))
        });
        let mut incoming = client.attach(outgoing).await?.into_inner();
        let Some(proto::CoordinatorMessage {
            kind: Some(proto::coordinator_message::Kind::Registered(registered)),
        }) = incoming.message().await?
        else {
            return Err(tonic::Status::internal(
                "the coordinator did not confirm registration",
            ));
        };
        info!(executor = %registered.executor_id, "registered with the coordinator");
        let interval = Duration::from_millis(registered.heartbeat_interval_ms.max(50));
        let heartbeat = {
            let up = up.clone();
            let slots = Arc::clone(&self.slots);
            let total = self.config.slots;
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(interval).await;
                    let running = total.saturating_sub(slots.available_permits()) as u32;
                    let beat = proto::ExecutorMessage {
                        kind: Some(proto::executor_message::Kind::Heartbeat(proto::Heartbeat {
                            running_tasks: running,
                        })),
                    };
                    if up.send(beat).await.is_err() {
                        return;
                    }
                }
            })
        };
        // Tasks take slots in the order they came: the coordinator sends the most urgent
        // first, and tasks spawned at once would be polled in any order.
        let (queue, mut queued) = mpsc::unbounded_channel::<proto::RunTask>();
        let dispatcher = {
            let executor = Arc::clone(&self);
            let up = up.clone();
            tokio::spawn(async move {
                while let Some(task) = queued.recv().await {
                    let Ok(slot) = Arc::clone(&executor.slots).acquire_owned().await else {
                        return; // shutting down
                    };
                    let executor = Arc::clone(&executor);
                    let up = up.clone();
                    tokio::spawn(async move {
                        let report = executor.run_task(task, slot).await;
                        let _ = up
                            .send(proto::ExecutorMessage {
                                kind: Some(proto::executor_message::Kind::Report(report)),
                            })
                            .await;
                    });
                }
            })
        };
        let result = async {
            while let Some(message) = incoming.message().await? {
                match message.kind {
                    Some(proto::coordinator_message::Kind::Run(task)) => {
                        // The dispatcher ends only when this loop has.
                        let _ = queue.send(task);
                    }
                    Some(proto::coordinator_message::Kind::JobEnded(ended)) => {
                        self.remove_job(&ended.job).await;
                    }
                    Some(proto::coordinator_message::Kind::Registered(_)) | None => {}
                }
            }
            Ok(())
        }
        .await;
        heartbeat.abort();
        dispatcher.abort();
        result
    }

    async fn remove_job(&self, job: &str) {
        crate::lock(&self.job_modules).remove(job);
        if !is_job_id(job) {
            return;
        }
        let dir = self.layout.job_dir(job);
        match tokio::fs::remove_dir_all(&dir).await {
            Ok(()) => debug!(job, "removed the job's stage outputs"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                warn!(job, dir = %dir.display(), error = %e, "cannot remove the job's stage outputs")
            }
        }
    }
}

impl Executor {
    /// `job`'s modules, loaded with the grants its plan asks for: modules come from this
    /// executor's runtime (memory, then its module store), others are fetched from the
    /// coordinator once and checked against their sha256.
    pub(crate) async fn modules_of(
        &self,
        job: &str,
        entries: Vec<WasmModule>,
    ) -> Result<Arc<PlanModules>> {
        if entries.is_empty() {
            return Ok(Arc::new(PlanModules::default()));
        }
        if let Some(modules) = crate::lock(&self.job_modules).get(job) {
            return Ok(Arc::clone(modules));
        }
        let runtime = Arc::clone(self.engine.wasm()?);
        {
            let _one_at_a_time = self.fetching.lock().await;
            for entry in &entries {
                if runtime
                    .load_by_hash(&entry.sha256)
                    .map_err(lode_exec::ExecError::from)?
                    .is_some()
                {
                    continue;
                }
                let bytes = self.fetch_module(&entry.sha256).await?;
                let sha256 = entry.sha256.clone();
                let runtime = Arc::clone(&runtime);
                // Compiling takes a core for a while: off the async workers.
                tokio::task::spawn_blocking(move || runtime.load(&bytes, Some(&sha256)))
                    .await
                    .map_err(|e| DistError::Config(format!("compiling a module: {e}")))?
                    .map_err(lode_exec::ExecError::from)?;
            }
        }
        let table = ModuleTable { modules: entries };
        let modules = Arc::new(self.engine.plan_modules(&table, &[])?);
        crate::lock(&self.job_modules).insert(job.to_string(), Arc::clone(&modules));
        Ok(modules)
    }

    async fn fetch_module(&self, sha256: &str) -> Result<Vec<u8>> {
        let remote = |status: tonic::Status| DistError::Remote {
            address: self.config.coordinator.clone(),
            message: format!("fetching Wasm module {sha256}: {}", status.message()),
        };
        let mut client = self.coordinator().map_err(remote)?;
        let request = proto::FetchModuleRequest {
            sha256: sha256.to_string(),
        };
        let mut chunks = client
            .fetch_module(request)
            .await
            .map_err(remote)?
            .into_inner();
        let mut bytes = Vec::new();
        while let Some(chunk) = chunks.message().await.map_err(remote)? {
            bytes.extend(chunk.data);
        }
        info!(
            module = sha256,
            bytes = bytes.len(),
            "fetched a Wasm module from the coordinator"
        );
        Ok(bytes)
    }
}
