//! Queries a driver submits and goes on (`session.submit`): each runs as a task of the host,
//! which the driver watches (`status`), stops (`cancel`) or waits for (`wait`). Dropping one
//! stops it too, so a driver that ends leaves nothing running.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use datafusion::physical_plan::SendableRecordBatchStream;
use tokio::task::JoinHandle;

use crate::DriverLimits;
use crate::bindings::lode::guest::session::{QueryState, QueryStatus};
use crate::bindings::{GuestError, Rows};
use crate::planner::failure;
use crate::rows::collect;

/// What the task reports while it runs.
struct Progress {
    rows: AtomicU64,
    state: Mutex<QueryState>,
}

pub struct Query {
    /// The plan's number in the driver's session, for errors.
    number: usize,
    submitted: Instant,
    progress: Arc<Progress>,
    /// `None` once waited for.
    task: Option<JoinHandle<Result<Rows, GuestError>>>,
}

impl Query {
    /// Starts `planned` (which plans the query and opens its result) and reads the result
    /// into rows, as `execute` does, on a task of its own.
    pub(crate) fn start(
        number: usize,
        limits: DriverLimits,
        planned: impl Future<Output = Result<SendableRecordBatchStream, GuestError>> + Send + 'static,
    ) -> Query {
        let progress = Arc::new(Progress {
            rows: AtomicU64::new(0),
            state: Mutex::new(QueryState::Running),
        });
        let reported = Arc::clone(&progress);
        let task = tokio::spawn(async move {
            let result = match planned.await {
                Ok(stream) => {
                    let mut laying_out = std::time::Duration::ZERO;
                    collect(stream, limits, number, &reported.rows, &mut laying_out).await
                }
                Err(e) => Err(e),
            };
            let mut state = lock(&reported.state);
            if *state == QueryState::Running {
                *state = if result.is_ok() {
                    QueryState::Finished
                } else {
                    QueryState::Failed
                };
            }
            result
        });
        Query {
            number,
            submitted: Instant::now(),
            progress,
            task: Some(task),
        }
    }

    pub(crate) fn status(&self) -> QueryStatus {
        QueryStatus {
            state: *lock(&self.progress.state),
            rows: self.progress.rows.load(Ordering::Relaxed),
            elapsed_ms: u64::try_from(self.submitted.elapsed().as_millis()).unwrap_or(u64::MAX),
        }
    }

    pub(crate) fn cancel(&mut self) {
        let mut state = lock(&self.progress.state);
        if *state == QueryState::Running {
            *state = QueryState::Cancelled;
            if let Some(task) = &self.task {
                task.abort();
            }
            tracing::info!(plan = self.number, "the driver cancelled a query");
        }
    }

    pub(crate) async fn wait(&mut self) -> Result<Rows, GuestError> {
        let location = format!("plan {}", self.number);
        let Some(task) = self.task.take() else {
            return Err(failure(location, "this query was already waited for"));
        };
        if *lock(&self.progress.state) == QueryState::Cancelled {
            return Err(failure(location, "cancelled by the driver"));
        }
        match task.await {
            Ok(result) => result,
            Err(e) if e.is_cancelled() => Err(failure(location, "cancelled by the driver")),
            Err(e) => Err(failure(location, format!("the query's task failed: {e}"))),
        }
    }
}

impl Drop for Query {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
