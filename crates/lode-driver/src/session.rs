//! The `session` interface: plans leave the driver as Substrait and run on its target,
//! within its limits.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use datafusion::arrow::array::{ArrayData, RecordBatch};
use datafusion::physical_plan::SendableRecordBatchStream;
use futures::StreamExt;
use lode_wasm::marshal::{self, GuestBatch};
use prost::Message;
use wasmtime::component::Resource;

use crate::DriverLimits;
use crate::bindings::lode::guest::session::{Host, HostQuery, QueryStatus};
use crate::bindings::{GuestError, Rows};
use crate::planner::{Relation, failure, guest_error, guest_schema};
use crate::query::Query;
use crate::state::DriverState;

type Answer<T> = wasmtime::Result<Result<T, GuestError>>;

impl DriverState {
    /// The relation as a plan to submit, counted against the driver's limits. Exceeding one
    /// stops the driver (`Err`); a plan that cannot be written is the driver's to handle.
    fn submission(
        &mut self,
        relation: &Resource<Relation>,
        what: &str,
    ) -> Answer<(
        substrait::proto::Plan,
        std::sync::Arc<dyn crate::PlanTarget>,
    )> {
        let Some(target) = self.target.clone() else {
            return Ok(Err(failure(
                what,
                "plans do not run while a driver emits its plan (`lode plan`); \
                 use `lode drive` to run the driver",
            )));
        };
        self.plans_run += 1;
        if self.plans_run > self.limits.max_plans {
            return Err(wasmtime::Error::msg(format!(
                "it submitted more than {} plans (the limit; `--max-plans` raises it)",
                self.limits.max_plans
            )));
        }
        let logical = self.relations.get(relation)?.plan.clone();
        let plan = match self.substrait_plan(logical) {
            Ok(plan) => plan,
            Err(e) => return Ok(Err(guest_error(what, e))),
        };
        let size = plan.encoded_len();
        if size > self.limits.max_plan_bytes {
            return Err(wasmtime::Error::msg(format!(
                "plan {} is {size} bytes, over the limit of {} bytes",
                self.plans_run, self.limits.max_plan_bytes
            )));
        }
        tracing::info!(
            plan = self.plans_run,
            bytes = size,
            "driver submits a plan ({what})"
        );
        Ok(Ok((plan, target)))
    }

    async fn execute_relation(&mut self, relation: &Resource<Relation>) -> Answer<Rows> {
        let writing = Instant::now();
        let submission = self.submission(relation, "execute")?;
        self.note_interface(writing);
        let (plan, target) = match submission {
            Ok(submission) => submission,
            Err(e) => return Ok(Err(e)),
        };
        let number = self.plans_run;
        let stream = match target.execute(plan).await {
            Ok(stream) => stream,
            Err(e) => return Ok(Err(guest_error(format!("plan {number}"), e))),
        };
        let mut laying_out = Duration::ZERO;
        let rows = collect(
            stream,
            self.limits,
            number,
            &AtomicU64::new(0),
            &mut laying_out,
        )
        .await;
        self.interface_time += laying_out;
        Ok(rows)
    }

    /// Starts a plan as a task of the host and returns it as a [`Query`] the driver holds.
    fn submit_relation(&mut self, relation: &Resource<Relation>) -> Answer<Resource<Query>> {
        let writing = Instant::now();
        let submission = self.submission(relation, "submit")?;
        self.note_interface(writing);
        let (plan, target) = match submission {
            Ok(submission) => submission,
            Err(e) => return Ok(Err(e)),
        };
        let number = self.plans_run;
        let query = Query::start(number, self.limits, async move {
            target
                .execute(plan)
                .await
                .map_err(|e| guest_error(format!("plan {number}"), e))
        });
        Ok(Ok(self.relations.push(query)?))
    }

    async fn store_relation(&mut self, relation: &Resource<Relation>, name: &str) -> Answer<u64> {
        let location = format!("store `{name}`");
        let message = if !lode_exec::is_plain_table_name(name) {
            Some(format!(
                "`{name}` is not a table name a plan can read: use lower-case letters, digits and _"
            ))
        } else if !self.stored.contains(name)
            && self.planner.session().table_exist(name).unwrap_or(false)
        {
            Some(format!(
                "`{name}` is one of the engine's tables; store under another name"
            ))
        } else {
            None
        };
        if let Some(message) = message {
            return Ok(Err(failure(location, message)));
        }
        let writing = Instant::now();
        let submission = self.submission(relation, &location)?;
        self.note_interface(writing);
        let (plan, target) = match submission {
            Ok(submission) => submission,
            Err(e) => return Ok(Err(e)),
        };
        let number = self.plans_run;
        Ok(match target.store(plan, name).await {
            Ok(rows) => {
                self.stored.insert(name.to_string());
                Ok(rows)
            }
            Err(e) => Err(guest_error(format!("plan {number}"), e)),
        })
    }
}

/// A result read into rows for the driver, counting them in `seen` as they come and the time
/// spent laying them out for the driver in `laying_out`. A result over the driver's limits is
/// an error telling it to store the result instead.
pub(crate) async fn collect(
    mut stream: SendableRecordBatchStream,
    limits: DriverLimits,
    number: usize,
    seen: &AtomicU64,
    laying_out: &mut Duration,
) -> Result<Rows, GuestError> {
    let schema = guest_schema(&stream.schema())?;
    let (mut rows, mut bytes) = (0u64, 0usize);
    let mut batches = Vec::new();
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(|e| {
            let e = lode_exec::ExecError::datafusion("running the plan failed")(e);
            guest_error(format!("plan {number}"), e)
        })?;
        rows += batch.num_rows() as u64;
        bytes += batch.get_array_memory_size();
        seen.store(rows, Ordering::Relaxed);
        if rows > limits.max_result_rows || bytes > limits.max_result_bytes {
            return Err(failure(
                format!("plan {number}"),
                format!(
                    "the result is larger than a driver may receive ({} rows or {} bytes); \
                     store it with `session.store` and read what you need of it",
                    limits.max_result_rows, limits.max_result_bytes
                ),
            ));
        }
        let started = Instant::now();
        batches.push(to_guest(&batch)?);
        *laying_out += started.elapsed();
    }
    Ok(Rows { schema, batches })
}

/// A result batch laid out for the driver, view types as their plain equivalents.
fn to_guest(batch: &RecordBatch) -> Result<lode_wasm::wit::Batch, GuestError> {
    let malformed = |e: marshal::MarshalError| failure("result", e.to_string());
    let columns: Vec<ArrayData> = batch
        .columns()
        .iter()
        .map(|c| marshal::to_guest_array(c).map(|a| a.to_data()))
        .collect::<Result<_, _>>()
        .map_err(malformed)?;
    Ok(GuestBatch::new(batch.num_rows(), &columns)
        .map_err(malformed)?
        .into_owned_wit())
}

impl Host for DriverState {
    async fn execute(&mut self, plan: Resource<Relation>) -> Answer<Rows> {
        let started = Instant::now();
        let answer = self.execute_relation(&plan).await;
        self.charge(started);
        answer
    }

    async fn store(&mut self, plan: Resource<Relation>, name: String) -> Answer<u64> {
        let started = Instant::now();
        let answer = self.store_relation(&plan, &name).await;
        self.charge(started);
        answer
    }

    async fn submit(&mut self, plan: Resource<Relation>) -> Answer<Resource<Query>> {
        let started = Instant::now();
        let answer = self.submit_relation(&plan);
        self.charge(started);
        answer
    }

    async fn log(&mut self, message: String) -> wasmtime::Result<()> {
        (self.progress)(&message);
        Ok(())
    }
}

impl HostQuery for DriverState {
    async fn status(&mut self, query: Resource<Query>) -> wasmtime::Result<QueryStatus> {
        Ok(self.relations.get(&query)?.status())
    }

    async fn cancel(&mut self, query: Resource<Query>) -> wasmtime::Result<()> {
        self.relations.get_mut(&query)?.cancel();
        Ok(())
    }

    async fn wait(&mut self, query: Resource<Query>) -> Answer<Rows> {
        let started = Instant::now();
        let answer = self.relations.get_mut(&query)?.wait().await;
        self.charge(started);
        Ok(answer)
    }

    async fn drop(&mut self, query: Resource<Query>) -> wasmtime::Result<()> {
        // Dropping the query aborts its task, if it still runs.
        self.relations.delete(query)?;
        Ok(())
    }
}
