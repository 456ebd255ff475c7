//! The `session` interface: plans leave the driver as Substrait and run on its target,
//! within its limits.

use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use prost::Message;
use wasmtime::component::Resource;

use crate::bindings::lode::guest::session::{Host, HostQuery, QueryStatus};
use crate::bindings::{GuestError, Rows};
use crate::planner::{Relation, failure, guest_error};
use crate::query::Query;
use crate::rows::collect;
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
        lode_plan::DecodedPlan,
        std::sync::Arc<dyn lode_exec::PlanTarget>,
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
        let plan = lode_plan::DecodedPlan::new(plan, lode_plan::PlanFormat::Binary);
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
        let stream = match target.execute(&plan).await {
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
                .execute(&plan)
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
        Ok(match target.store(&plan, name).await {
            Ok(rows) => {
                self.stored.insert(name.to_string());
                Ok(rows)
            }
            Err(e) => Err(guest_error(format!("plan {number}"), e)),
        })
    }
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
