//! The store data of one driver: its sandbox, the relations it holds, where its plans are
//! planned and run, and what it has used of its limits.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::logical_expr::LogicalPlan;
use lode_exec::{Engine, ExecError, LoadedModule, PlanTarget};
use lode_wasm::HostState;
use substrait::proto::Plan;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtxView, WasiView};

use crate::{DriverLimits, Progress};

pub(crate) struct DriverState {
    /// WASI with nothing granted, the memory limiter and the captured output.
    pub(crate) sandbox: HostState,
    pub(crate) relations: ResourceTable,
    /// Plans are built against this engine's session: its tables, the stored tables, the
    /// registered modules' functions.
    pub(crate) planner: Arc<Engine>,
    /// Modules the driver registered, with their bytes (plans embed those they use).
    pub(crate) modules: Vec<LoadedModule>,
    /// Where plans run; `None` while a driver only emits a plan.
    pub(crate) target: Option<Arc<dyn PlanTarget>>,
    pub(crate) limits: DriverLimits,
    pub(crate) progress: Progress,
    /// Tables the driver stored (it may replace those, not the engine's own).
    pub(crate) stored: BTreeSet<String>,
    pub(crate) plans_run: usize,
    pub(crate) started: Instant,
    /// Time spent in the host on the driver's behalf (planning, running plans), which its
    /// own time limit does not count.
    pub(crate) host_time: Duration,
    /// The part of `host_time` spent in the host interface itself rather than in running
    /// queries: building relations, registering modules, writing Substrait, laying results
    /// out for the driver.
    pub(crate) interface_time: Duration,
}

impl DriverState {
    /// Counts time since `started` as the host's.
    pub(crate) fn charge(&mut self, started: Instant) {
        self.host_time += started.elapsed();
    }

    /// Counts time since `started` as the host interface's (not part of `host_time` by itself:
    /// the call it happens in charges that).
    pub(crate) fn note_interface(&mut self, started: Instant) {
        self.interface_time += started.elapsed();
    }

    /// Counts a whole host call since `started` as the interface's.
    pub(crate) fn charge_interface(&mut self, started: Instant) {
        let elapsed = started.elapsed();
        self.host_time += elapsed;
        self.interface_time += elapsed;
    }

    /// The driver's own time so far.
    pub(crate) fn own_time(&self) -> Duration {
        self.started.elapsed().saturating_sub(self.host_time)
    }

    /// A relation as the Substrait plan that leaves the driver.
    pub(crate) fn substrait_plan(&self, plan: LogicalPlan) -> Result<Plan, ExecError> {
        self.planner.to_substrait(plan, &self.modules)
    }
}

impl WasiView for DriverState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        self.sandbox.ctx()
    }
}
