//! `lode-driver`: runs driver guests, Wasm programs that write plans and drive algorithms.
//!
//! A driver implements the `lode:guest/driver` world (`guests/wit/guest.wit`). It builds
//! relations with the host's `planner` (scans, SQL, filters, joins, its own modules' functions
//! and operators) and either returns one as a plan ([`Driver::emit`], `lode plan`) or runs
//! plans one after another with `session.execute` / `session.store` and inspects their results
//! ([`Driver::run`], `lode drive`), against any [`lode_exec::PlanTarget`]: the embedded
//! engine ([`lode_exec::Embedded`]) or a cluster. Plans leave the driver as ordinary Substrait carrying the
//! modules they use, never the driver itself.
//!
//! A driver is sandboxed like any guest (no WASI capability, a memory limit) and bounded by
//! [`DriverLimits`]: its own compute time, how many plans it submits and how large, and how
//! large a result it may receive.

mod bindings;
mod error;
mod planner;
mod query;
mod rows;
mod session;
mod state;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::physical_plan::SendableRecordBatchStream;
use lode_exec::{Engine, ExecError};
use lode_plan::{DecodedPlan, PlanFormat, Severity};
use lode_wasm::{Grant, HostState, Limits, WasmRuntime};
use substrait::proto::Plan;
use wasmtime::component::{Component, HasSelf, Linker, Resource, ResourceTable};
use wasmtime::{Store, Trap, UpdateDeadline};

pub use error::{DriverError, Result};
pub use planner::Relation;

use state::DriverState;

/// Receives the driver's progress lines (`session.log`).
pub type Progress = Arc<dyn Fn(&str) + Send + Sync>;

/// What a driver may use.
#[derive(Debug, Clone, Copy)]
pub struct DriverLimits {
    /// Linear memory the driver may grow to.
    pub memory_bytes: u64,
    /// Time the driver may compute itself, not counting the host's planning and running.
    pub own_time: Duration,
    /// Plans it may submit (`execute` and `store` calls).
    pub max_plans: usize,
    /// Size of one submitted plan, embedded modules included.
    pub max_plan_bytes: usize,
    /// Rows and bytes of one result returned to it (larger ones are errors, not cut short).
    pub max_result_rows: u64,
    /// Bytes of one result returned to it.
    pub max_result_bytes: usize,
}

impl Default for DriverLimits {
    fn default() -> Self {
        DriverLimits {
            memory_bytes: Limits::default().memory_bytes,
            own_time: Duration::from_secs(60),
            max_plans: 10_000,
            max_plan_bytes: 256 << 20,
            max_result_rows: 1_000_000,
            max_result_bytes: 128 << 20,
        }
    }
}

/// Where a driver builds and runs its plans.
pub struct Session {
    /// Plans are built against this engine's tables and functions.
    pub planner: Arc<Engine>,
    /// Where plans run; `None` to only emit.
    pub target: Option<Arc<dyn lode_exec::PlanTarget>>,
    /// What the driver may use.
    pub limits: DriverLimits,
    /// Where the driver's plans report how far they have got.
    pub progress: Progress,
}

/// What [`Driver::run`] did.
pub struct Outcome {
    /// The rows of the relation the driver returned, if it returned one.
    pub result: Option<SendableRecordBatchStream>,
    /// Plans it submitted, the returned relation's not counted.
    pub plans: usize,
    /// Time the driver computed itself, and time the host planned and ran for it.
    pub driver_time: Duration,
    /// Time the host spent planning and running for it.
    pub host_time: Duration,
    /// The part of `host_time` in the host interface rather than in running queries:
    /// building relations, registering modules, writing Substrait, laying out results.
    pub interface_time: Duration,
}

/// A compiled driver component.
pub struct Driver {
    runtime: Arc<WasmRuntime>,
    component: Component,
    name: String,
}

impl Driver {
    /// Compiles a driver (through the runtime's module cache). `name` names it in errors.
    pub fn load(runtime: &Arc<WasmRuntime>, bytes: &[u8], name: &str) -> Result<Self> {
        let (component, _) = runtime
            .compile(bytes, name)
            .map_err(|e| DriverError::Load {
                driver: name.to_string(),
                message: e.to_string(),
            })?;
        Ok(Driver {
            runtime: Arc::clone(runtime),
            component,
            name: name.to_string(),
        })
    }

    /// Calls the driver's `emit` and returns the plan it built, validated.
    pub async fn emit(&self, session: Session, args: &[(String, String)]) -> Result<Plan> {
        let (mut store, driver) = self.instantiate(session).await?;
        let returned = driver.call_emit(&mut store, args).await;
        let relation = self.answer(&mut store, returned)?;
        let plan = self.relation_plan(&mut store, relation)?;
        let decoded = DecodedPlan::new(plan, PlanFormat::Binary);
        let errors: Vec<_> = store
            .data()
            .planner
            .validate(&decoded)
            .into_iter()
            .filter(|d| d.severity == Severity::Error)
            .collect();
        if !errors.is_empty() {
            return Err(ExecError::Invalid(errors).into());
        }
        Ok(decoded.plan)
    }

    /// Calls the driver's `run` and runs the relation it returns, if any. The tables the
    /// driver stored are dropped at the end, whether it succeeded or not (the returned
    /// relation's result no longer needs them once it is opened).
    pub async fn run(&self, session: Session, args: &[(String, String)]) -> Result<Outcome> {
        let (mut store, driver) = self.instantiate(session).await?;
        let returned = driver.call_run(&mut store, args).await;
        let outcome = self.finish_run(&mut store, returned).await;
        let stored: Vec<String> = store.data().stored.iter().cloned().collect();
        if let Some(target) = store.data().target.clone()
            && !stored.is_empty()
            && let Err(e) = target.drop_stored(&stored).await
        {
            tracing::warn!(error = %e, tables = ?stored, "could not drop the driver's stored tables");
        }
        outcome
    }

    async fn finish_run(
        &self,
        store: &mut Store<DriverState>,
        returned: wasmtime::Result<std::result::Result<Option<Resource<Relation>>, String>>,
    ) -> Result<Outcome> {
        let relation = self.answer(store, returned)?;
        let driver_time = store.data().own_time();
        let plans = store.data().plans_run;
        let result = match relation {
            None => None,
            Some(relation) => {
                let plan = self.relation_plan(store, relation)?;
                let target =
                    store.data().target.clone().ok_or_else(|| {
                        ExecError::Internal("a driver runs without a target".into())
                    })?;
                let plan = DecodedPlan::new(plan, PlanFormat::Binary);
                Some(target.execute(&plan).await?)
            }
        };
        Ok(Outcome {
            result,
            plans,
            driver_time,
            host_time: store.data().host_time,
            interface_time: store.data().interface_time,
        })
    }

    async fn instantiate(
        &self,
        session: Session,
    ) -> Result<(Store<DriverState>, bindings::Driver)> {
        let engine = self.runtime.engine();
        let load_error = |e: wasmtime::Error| DriverError::Load {
            driver: self.name.clone(),
            message: format!("{e:#}"),
        };
        let mut linker = Linker::<DriverState>::new(engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(load_error)?;
        bindings::Driver::add_to_linker::<_, HasSelf<DriverState>>(&mut linker, |s| s)
            .map_err(load_error)?;
        let grant = Grant {
            capabilities: BTreeSet::new(),
            limits: Limits {
                memory_bytes: session.limits.memory_bytes,
                call_timeout: session.limits.own_time,
            },
        };
        let own_time = session.limits.own_time;
        let state = DriverState {
            sandbox: HostState::new(&grant),
            relations: ResourceTable::new(),
            planner: session.planner,
            modules: Vec::new(),
            target: session.target,
            limits: session.limits,
            progress: session.progress,
            stored: BTreeSet::new(),
            plans_run: 0,
            started: Instant::now(),
            host_time: Duration::ZERO,
            interface_time: Duration::ZERO,
        };
        let mut store = Store::new(engine, state);
        store.limiter(|state| state.sandbox.limiter());
        // Every epoch tick while the driver computes: stop it once its own time is used up,
        // else let other tasks run. Time in host calls (planning, queries) is not its own.
        store.epoch_deadline_callback(move |context| {
            let used = context.data().own_time();
            if used > own_time {
                return Err(wasmtime::Error::msg(format!(
                    "it computed for more than {:.1} s of its own time (the limit; \
                     `--driver-timeout` raises it), not counting the plans it ran",
                    own_time.as_secs_f64()
                )));
            }
            Ok(UpdateDeadline::Yield(1))
        });
        store.set_epoch_deadline(1);
        let driver = bindings::Driver::instantiate_async(&mut store, &self.component, &linker)
            .await
            .map_err(|e| DriverError::Load {
                driver: self.name.clone(),
                message: format!("{e:#} (is it a driver, built for the lode:guest/driver world?)"),
            })?;
        Ok((store, driver))
    }

    /// The driver's answer, or why there is none.
    fn answer<T>(
        &self,
        store: &mut Store<DriverState>,
        returned: wasmtime::Result<std::result::Result<T, String>>,
    ) -> Result<T> {
        match returned {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(message)) => Err(DriverError::Failed {
                driver: self.name.clone(),
                message,
            }),
            Err(error) => {
                let state = store.data();
                let message = if state.sandbox.memory_refused() {
                    format!(
                        "it exceeded its memory limit of {} bytes",
                        state.sandbox.memory_limit()
                    )
                } else if let Some(trap) = error.downcast_ref::<Trap>() {
                    format!("it trapped: {trap}")
                } else {
                    error.root_cause().to_string()
                };
                Err(DriverError::Trap {
                    driver: self.name.clone(),
                    message,
                    stderr: state.sandbox.output_tail(),
                })
            }
        }
    }

    /// The Substrait plan of a relation the driver handed back.
    fn relation_plan(
        &self,
        store: &mut Store<DriverState>,
        relation: Resource<Relation>,
    ) -> Result<Plan> {
        let state = store.data_mut();
        let plan = state
            .relations
            .delete(relation)
            .map_err(|e| ExecError::Internal(format!("the driver's relation: {e}")))?
            .plan;
        Ok(state.substrait_plan(plan)?)
    }
}
