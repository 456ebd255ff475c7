//! What the coordinator knows: attached executors, the files they hold, tasks awaiting their
//! reports, finished jobs' results awaiting their readers.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use datafusion::arrow::datatypes::SchemaRef;
use tokio::sync::{Notify, mpsc, oneshot, watch};
use tonic::Status;
use tracing::{info, warn};

use super::CoordinatorConfig;
use crate::catalog::Catalog;
use crate::flight::Connections;
use crate::lock;
use crate::proto;
use crate::shuffle::TaskOutput;
use crate::stage::StageId;
use crate::stored::StoredResult;

pub(super) type ExecutorSender = mpsc::Sender<Result<proto::CoordinatorMessage, Status>>;

/// An attached executor, as `RunningCoordinator::executors` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutorSummary {
    /// The id it attached with.
    pub id: String,
    /// Where its Flight service listens.
    pub address: String,
    /// Tasks it runs at once.
    pub slots: usize,
    /// Tasks running on it now.
    pub running: usize,
}

pub(super) struct ExecutorHandle {
    pub(super) summary: ExecutorSummary,
    pub(super) sender: ExecutorSender,
    pub(super) last_seen: Instant,
}

/// How a dispatched task ended.
#[derive(Debug)]
pub(super) enum TaskResult {
    Done {
        output: TaskOutput,
        bytes_fetched_remote: u64,
        spilled_bytes: u64,
        bytes_read_from_stores: u64,
    },
    Failed {
        message: String,
        retryable: bool,
        unreachable_executor: Option<String>,
    },
    /// The executor running it was lost.
    Lost { executor: String },
}

/// A task attempt, as reports name it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct AttemptKey {
    pub(super) job: String,
    pub(super) stage: u32,
    pub(super) task: u32,
    pub(super) attempt: u32,
}

impl From<&proto::TaskKey> for AttemptKey {
    fn from(key: &proto::TaskKey) -> Self {
        AttemptKey {
            job: key.job.clone(),
            stage: key.stage,
            task: key.task,
            attempt: key.attempt,
        }
    }
}

/// A finished job's result, until a client reads it.
#[derive(Debug, Clone)]
pub(super) struct JobResult {
    pub(super) stage: StageId,
    pub(super) schema: SchemaRef,
    pub(super) outputs: Vec<TaskOutput>,
    pub(super) status: proto::JobStatus,
}

/// Module bytes by sha256.
type ModuleBytes = HashMap<String, Arc<Vec<u8>>>;

pub(super) struct Shared {
    pub(super) config: CoordinatorConfig,
    pub(super) connections: Connections,
    pub(super) executors: Mutex<BTreeMap<String, ExecutorHandle>>,
    pub(super) catalog: Mutex<Catalog>,
    /// Attempts sent to executors, with the executor running each.
    pub(super) pending: Mutex<HashMap<AttemptKey, (String, oneshot::Sender<TaskResult>)>>,
    /// Finished jobs' results until a client reads them, with when each job finished.
    pub(super) results: Mutex<HashMap<String, (JobResult, Instant)>>,
    /// Running jobs' cancel switches.
    pub(super) jobs: Mutex<HashMap<String, watch::Sender<bool>>>,
    /// Running jobs' Wasm module bytes, by job: what executors fetch.
    modules: Mutex<HashMap<String, ModuleBytes>>,
    /// Results kept as tables (`SubmitOptions.store_as`), by table name; their jobs' pieces
    /// stay on the executors until dropped.
    pub(super) stored: Mutex<BTreeMap<String, StoredResult>>,
    pub(super) executors_changed: Notify,
    next_id: AtomicU64,
    /// Distinguishes this coordinator's job ids from an earlier one's on the same executors.
    epoch: u64,
}

impl Shared {
    pub(super) fn new(config: CoordinatorConfig) -> Self {
        let epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() % 1_000_000);
        Shared {
            connections: Connections::new(config.token.clone(), config.max_message_bytes)
                .with_tls(config.tls.clone()),
            config,
            executors: Mutex::default(),
            catalog: Mutex::default(),
            pending: Mutex::default(),
            results: Mutex::default(),
            stored: Mutex::default(),
            jobs: Mutex::default(),
            modules: Mutex::default(),
            executors_changed: Notify::new(),
            next_id: AtomicU64::new(1),
            epoch,
        }
    }

    /// A fresh id: lower-case letters, digits and dashes only, as executors require of ids
    /// that name directories.
    pub(super) fn next_id(&self, kind: &str) -> String {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        format!("{kind}-{}-{n}", self.epoch)
    }

    pub(super) fn executor_summaries(&self) -> Vec<ExecutorSummary> {
        lock(&self.executors)
            .values()
            .map(|e| e.summary.clone())
            .collect()
    }

    /// Adds an executor and its files; fails if its tables contradict the others'.
    pub(super) fn add_executor(
        &self,
        register: &proto::Register,
        sender: ExecutorSender,
    ) -> Result<String, Status> {
        let id = self.next_id("executor");
        lock(&self.catalog)
            .add_executor(&id, &register.tables)
            .map_err(|e| Status::failed_precondition(e.to_string()))?;
        let files: usize = register.tables.iter().map(|t| t.files.len()).sum();
        lock(&self.executors).insert(
            id.clone(),
            ExecutorHandle {
                summary: ExecutorSummary {
                    id: id.clone(),
                    address: register.flight_address.clone(),
                    slots: register.slots.max(1) as usize,
                    running: 0,
                },
                sender,
                last_seen: Instant::now(),
            },
        );
        info!(executor = %id, address = %register.flight_address, tables = register.tables.len(), files, "executor attached");
        self.executors_changed.notify_waiters();
        Ok(id)
    }

    pub(super) fn heard_from(&self, executor: &str) {
        if let Some(handle) = lock(&self.executors).get_mut(executor) {
            handle.last_seen = Instant::now();
        }
    }

    /// Forgets `executor`: its files are no longer placed on, and every task it was running
    /// ends as lost (the scheduler runs it elsewhere).
    pub(super) fn lose_executor(&self, executor: &str, why: &str) {
        let Some(handle) = lock(&self.executors).remove(executor) else {
            return;
        };
        warn!(executor, address = %handle.summary.address, why, "executor lost");
        lock(&self.catalog).remove_executor(executor);
        let lost: Vec<AttemptKey> = lock(&self.pending)
            .iter()
            .filter(|(_, (runner, _))| runner == executor)
            .map(|(key, _)| key.clone())
            .collect();
        for key in lost {
            if let Some((_, reply)) = lock(&self.pending).remove(&key) {
                let _ = reply.send(TaskResult::Lost {
                    executor: handle.summary.address.clone(),
                });
            }
        }
        self.executors_changed.notify_waiters();
    }

    /// Passes an executor's report to the task awaiting it.
    pub(super) fn report(&self, executor: &str, report: proto::TaskReport) {
        // Every task sent reports once, also one given up on: its slot is free again.
        if let Some(handle) = lock(&self.executors).get_mut(executor) {
            handle.summary.running = handle.summary.running.saturating_sub(1);
        }
        let Some(key) = report.task.as_ref().map(AttemptKey::from) else {
            return;
        };
        let Some((_, reply)) = lock(&self.pending).remove(&key) else {
            return; // an attempt given up on (its job failed or was cancelled)
        };
        let address = lock(&self.executors)
            .get(executor)
            .map(|e| e.summary.address.clone())
            .unwrap_or_default();
        let result = match report.outcome {
            Some(proto::task_report::Outcome::Done(done)) => TaskResult::Done {
                output: TaskOutput {
                    stage: StageId(key.stage as usize),
                    task: key.task as usize,
                    executor: address,
                    pieces: done
                        .pieces
                        .iter()
                        .map(crate::shuffle::PieceStats::from)
                        .collect(),
                },
                bytes_fetched_remote: done.bytes_fetched_remote,
                spilled_bytes: done.spilled_bytes,
                bytes_read_from_stores: done.bytes_read_from_stores,
            },
            Some(proto::task_report::Outcome::Failed(failed)) => TaskResult::Failed {
                message: failed.message,
                retryable: failed.retryable,
                unreachable_executor: Some(failed.unreachable_executor).filter(|e| !e.is_empty()),
            },
            None => TaskResult::Failed {
                message: "the executor sent an empty report".into(),
                retryable: true,
                unreachable_executor: None,
            },
        };
        let _ = reply.send(result);
    }

    /// Keeps the bytes of `job`'s modules for executors until the guard drops; returns the
    /// module table's entries without their bytes, as tasks carry them. A module the plan
    /// names by hash alone comes from the coordinator's module store, when it has it (when
    /// not, planning fails naming it).
    pub(super) fn hold_modules(
        &self,
        job: &str,
        table: lode_plan::ext::ModuleTable,
    ) -> (HeldModules<'_>, Vec<lode_plan::ext::WasmModule>) {
        let store = self
            .config
            .engine
            .module_store
            .clone()
            .map(lode_wasm::ModuleStore::new);
        let mut bytes = HashMap::new();
        let mut entries = Vec::with_capacity(table.modules.len());
        for mut entry in table.modules {
            let mut component = std::mem::take(&mut entry.component);
            if component.is_empty()
                && let Some(store) = &store
            {
                match store.get(&entry.sha256) {
                    Ok(stored) => component = stored.unwrap_or_default(),
                    Err(e) => warn!(job, error = %e, "module store"),
                }
            }
            if !component.is_empty() {
                bytes.insert(entry.sha256.clone(), Arc::new(component));
            }
            entries.push(entry);
        }
        lock(&self.modules).insert(job.to_string(), bytes);
        let held = HeldModules {
            shared: self,
            job: job.to_string(),
        };
        (held, entries)
    }

    /// The bytes of module `sha256` if a running job carries it.
    pub(super) fn module_bytes(&self, sha256: &str) -> Option<Arc<Vec<u8>>> {
        lock(&self.modules)
            .values()
            .find_map(|modules| modules.get(sha256).cloned())
    }

    /// Keeps `result` as table `name`, replacing (and deleting the pieces of) an earlier one.
    pub(super) fn store_result(&self, name: &str, result: StoredResult) {
        let replaced = lock(&self.stored).insert(name.to_string(), result);
        if let Some(old) = replaced {
            self.end_job(&old.job);
        }
    }

    /// Drops stored results; returns how many there were.
    pub(super) fn drop_stored(&self, names: &[String]) -> usize {
        let dropped: Vec<StoredResult> = {
            let mut stored = lock(&self.stored);
            names
                .iter()
                .filter_map(|name| stored.remove(name))
                .collect()
        };
        for result in &dropped {
            self.end_job(&result.job);
        }
        dropped.len()
    }

    /// Tells every executor that `job` is over, so they delete its stage outputs.
    pub(super) fn end_job(&self, job: &str) {
        lock(&self.jobs).remove(job);
        let senders: Vec<ExecutorSender> = lock(&self.executors)
            .values()
            .map(|e| e.sender.clone())
            .collect();
        for sender in senders {
            let message = proto::CoordinatorMessage {
                kind: Some(proto::coordinator_message::Kind::JobEnded(
                    proto::JobEnded {
                        job: job.to_string(),
                    },
                )),
            };
            let _ = sender.try_send(Ok(message));
        }
    }

    /// Ends the jobs whose results no client read within `result_ttl`: their pieces would
    /// otherwise fill the executors' disks for as long as the coordinator runs.
    fn expire_unread_results(&self) {
        let ttl = self.config.result_ttl;
        let expired: Vec<String> = {
            let mut results = lock(&self.results);
            let expired: Vec<String> = results
                .iter()
                .filter(|(_, (_, finished))| finished.elapsed() > ttl)
                .map(|(job, _)| job.clone())
                .collect();
            for job in &expired {
                results.remove(job);
            }
            expired
        };
        for job in expired {
            warn!(
                job,
                ttl_seconds = ttl.as_secs_f64(),
                "result not read in time; its pieces are deleted"
            );
            self.end_job(&job);
        }
    }

    /// Loses executors whose heartbeats stopped, and expires unread results, until
    /// `stopped`.
    pub(super) async fn watch_heartbeats(
        self: std::sync::Arc<Self>,
        mut stopped: watch::Receiver<bool>,
    ) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(self.config.heartbeat_interval) => {}
                _ = stopped.wait_for(|s| *s) => return,
            }
            let silent: Vec<String> = lock(&self.executors)
                .iter()
                .filter(|(_, e)| e.last_seen.elapsed() > self.config.executor_timeout)
                .map(|(id, _)| id.clone())
                .collect();
            for executor in silent {
                self.lose_executor(&executor, "no heartbeat");
            }
            self.expire_unread_results();
        }
    }
}

/// A job's module bytes, offered to executors while this lives.
pub(super) struct HeldModules<'a> {
    shared: &'a Shared,
    job: String,
}

impl Drop for HeldModules<'_> {
    fn drop(&mut self) {
        lock(&self.shared.modules).remove(&self.job);
    }
}
