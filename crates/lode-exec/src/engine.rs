//! The local engine: one DataFusion session with Lode's tables and functions, turning
//! Substrait plans into streams of Arrow batches.

use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use datafusion::execution::SessionState;
use datafusion::execution::context::QueryPlanner;
use datafusion::execution::context::SessionConfig;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::{ExecutionPlanProperties, SendableRecordBatchStream, displayable};
use datafusion::physical_planner::{DefaultPhysicalPlanner, PhysicalPlanner};
use datafusion::prelude::SessionContext;
use datafusion_substrait::extensions::Extensions;
use datafusion_substrait::logical_plan::consumer::from_substrait_plan_with_consumer;
use futures::FutureExt;
use lode_plan::{Analysis, DecodedPlan, Diagnostic, Severity};
use substrait::proto::{Plan, plan_rel};
use tracing::{Instrument, info, info_span, warn};

use crate::consumer::DataFusionSupport;
use crate::consumer::LodeConsumer;
use crate::error::{ExecError, Result};
use crate::lock;
use crate::progress::QueryProgress;
use crate::tables::TableBindings;
use crate::wasm::{PlanModules, WasmRelPlanner};

/// The largest build side (estimated) a distributed plan broadcasts to every task of a join
/// rather than partitioning both sides: each task holds it in memory.
const BROADCAST_JOIN_MAX_BYTES: usize = 32 << 20;
/// The same bound in rows, for inputs whose size in bytes is not estimated.
const BROADCAST_JOIN_MAX_ROWS: usize = 2_000_000;

/// Settings of the local engine.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Partitions each scan and exchange is split into; defaults to the number of cores.
    pub target_partitions: usize,
    /// What Wasm guests may use: capabilities and the most memory and time per call.
    pub wasm_policy: lode_wasm::HostPolicy,
    /// Where compiled Wasm modules are cached; `None` keeps them in memory only.
    pub module_cache: Option<PathBuf>,
    /// The module store, where modules that plans name by hash alone are found
    /// (`lode module add`); `None`: nowhere.
    pub module_store: Option<PathBuf>,
    /// Plan for cutting into stages that run as separate tasks (`lode-dist`): no dynamic
    /// filters, which tie a join to a scan through shared state that does not survive the
    /// cut (a task holding a stale filter from another task's build side drops rows), no
    /// round-robin repartitions, which would be exchanges that only spread rows, scans keep
    /// the file groups they were given (placement depends on them), and hash joins broadcast
    /// a build side of up to 32 MiB or 2 M rows (estimated) instead of partitioning both sides.
    pub distributed: bool,
    /// The most memory this process's queries may hold, and where they spill beyond it.
    pub memory: crate::memory::MemoryConfig,
}

impl Default for EngineConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        EngineConfig {
            target_partitions: cores,
            wasm_policy: lode_wasm::HostPolicy::default(),
            module_cache: lode_wasm::default_cache_dir(),
            module_store: lode_wasm::default_store_dir(),
            distributed: false,
            memory: crate::memory::MemoryConfig::default(),
        }
    }
}

impl EngineConfig {
    /// These settings, granting guests that ask for them these capabilities too.
    pub fn allowing(mut self, capabilities: &[lode_wasm::Capability]) -> Self {
        self.wasm_policy
            .allowed
            .extend(capabilities.iter().copied());
        self
    }
}

/// Runs Substrait plans in this process.
pub struct Engine {
    ctx: SessionContext,
    config: EngineConfig,
    /// Started on the first plan that carries Wasm modules.
    wasm: OnceLock<Arc<lode_wasm::WasmRuntime>>,
    /// Modules the user supplied with `--module`.
    supplied: Mutex<Vec<Arc<lode_wasm::Module>>>,
    /// Where queries spill; removed with the engine, so declared after the session.
    spill: crate::memory::SpillDir,
}

impl Engine {
    /// A session with `tables` registered (names lower-cased).
    pub async fn new(tables: &TableBindings, config: EngineConfig) -> Result<Self> {
        let mut session = SessionConfig::new()
            .with_target_partitions(config.target_partitions.max(1))
            .with_information_schema(false);
        session = fit_to_memory(session, &config);
        if config.distributed {
            let optimizer = &mut session.options_mut().optimizer;
            optimizer.enable_dynamic_filter_pushdown = false;
            optimizer.enable_join_dynamic_filter_pushdown = false;
            optimizer.enable_topk_dynamic_filter_pushdown = false;
            optimizer.enable_aggregate_dynamic_filter_pushdown = false;
            // Across stages a round-robin repartition is an exchange: every row written and
            // moved only to spread rows that scans (file groups) and table functions
            // (their own partitions) already spread.
            optimizer.enable_round_robin_repartition = false;
            // A scan task must run where its files are; regrouping files into byte ranges
            // can put ranges of files held by different executors into one task.
            optimizer.repartition_file_scans = false;
            // Across stages a partitioned join writes both of its sides to disk and moves
            // them; a broadcast join moves only its build side and probes in the stage that
            // scans. In one process the partitioned join costs far less, hence the defaults.
            optimizer.hash_join_single_partition_threshold = BROADCAST_JOIN_MAX_BYTES;
            optimizer.hash_join_single_partition_threshold_rows = BROADCAST_JOIN_MAX_ROWS;
        }
        let (runtime, spill) = crate::memory::runtime(&config.memory)?;
        // Wasm table functions and operators plan through Lode's extension planner.
        let state = SessionStateBuilder::new()
            .with_config(session)
            .with_runtime_env(runtime)
            .with_default_features()
            .with_query_planner(Arc::new(LodeQueryPlanner))
            .build();
        let ctx = SessionContext::new_with_state(state);
        crate::functions::register(&ctx);
        crate::consumer::foreign_functions::register(&ctx);
        tables.register(&ctx).await?;
        Ok(Engine {
            ctx,
            config,
            wasm: OnceLock::new(),
            supplied: Mutex::default(),
            spill,
        })
    }

    /// The most memory this engine's queries may hold at once, in bytes.
    pub fn memory_limit(&self) -> u64 {
        self.config.memory.limit_bytes()
    }

    /// `error` told in Lode's terms where it is a lack of memory or spill space (the limit,
    /// the flag that raises it, the spill directory) or an object store's answer (the
    /// object, the setting to change).
    pub fn explain_resources(
        &self,
        error: datafusion::error::DataFusionError,
    ) -> datafusion::error::DataFusionError {
        explain_resources(error, self.memory_limit(), self.spill.path())
    }

    /// The process's Wasm runtime, started on first use.
    pub fn wasm(&self) -> Result<&Arc<lode_wasm::WasmRuntime>> {
        if let Some(runtime) = self.wasm.get() {
            return Ok(runtime);
        }
        let runtime = lode_wasm::WasmRuntime::new(
            self.config.wasm_policy.clone(),
            self.config.module_cache.clone(),
            self.config.module_store.clone(),
        )?;
        Ok(self.wasm.get_or_init(|| runtime))
    }

    /// A session state for one plan: the engine's, plus the plan's Wasm functions under the
    /// names its declarations use (rewritten in `extensions` where two modules share one).
    fn query_state(
        &self,
        plan: &Plan,
        extensions: &mut Extensions,
    ) -> Result<(SessionState, PlanModules)> {
        let mut state = self.ctx.state();
        if !self.uses_modules(plan) {
            return Ok((state, PlanModules::default()));
        }
        let table =
            lode_plan::ext::module_table(plan).map_err(|e| ExecError::Module(e.to_string()))?;
        let modules = self.plan_modules(&table, &self.supplied_modules())?;
        modules.register(plan, extensions, &mut state)?;
        Ok((state, modules))
    }

    /// The modules registered with [`Engine::register_module`], in order.
    pub fn supplied_modules(&self) -> Vec<Arc<lode_wasm::Module>> {
        lock(&self.supplied).clone()
    }

    /// A plan's modules (its module table and the user's `supplied` modules), loaded with
    /// their grants; their instances' memory is held in this engine's memory pool.
    pub fn plan_modules(
        &self,
        table: &lode_plan::ext::proto::ModuleTable,
        supplied: &[Arc<lode_wasm::Module>],
    ) -> Result<PlanModules> {
        let memory = Arc::clone(&self.ctx.runtime_env().memory_pool);
        PlanModules::load(self.wasm()?, table, supplied, &memory)
    }

    /// Loads the modules `plan` names by hash alone that this host lacks from the shared
    /// module store (`LODE_MODULE_STORE=s3://…`), when one is configured; a module neither
    /// has is reported when the plan's modules load.
    async fn fetch_shared_modules(&self, plan: &Plan) -> Result<()> {
        let Ok(mut table) = lode_plan::ext::module_table(plan) else {
            return Ok(()); // reported when the modules load
        };
        if table.modules.iter().all(|m| !m.component.is_empty()) {
            return Ok(());
        }
        let Some(shared) = crate::storage::SharedModules::configured()? else {
            return Ok(());
        };
        let runtime = self.wasm()?;
        let have = |sha256: &str| matches!(runtime.load_by_hash(sha256), Ok(Some(_)));
        let stores = crate::storage::Stores::default();
        let filled = shared.fill(&stores, &mut table, have).await?;
        for entry in table.modules.iter().filter(|m| filled.contains(&m.sha256)) {
            // Loaded under its hash, the plan's reference finds it.
            runtime.load(&entry.component, Some(&entry.sha256))?;
        }
        Ok(())
    }

    /// Whether the plan may call Wasm functions: it carries or declares modules, or the user
    /// supplied some. An unreadable module table counts, so that loading reports it.
    fn uses_modules(&self, plan: &Plan) -> bool {
        let carries = lode_plan::ext::module_table(plan).map_or(true, |t| !t.modules.is_empty());
        carries
            || !lock(&self.supplied).is_empty()
            || plan
                .extension_urns
                .iter()
                .any(|u| lode_plan::ext::module_of_urn(&u.urn).is_some())
    }

    /// Loads a module file the user supplied (`--module`): its functions become callable in
    /// SQL, and plans may refer to it by hash without embedding it, or by its name.
    pub fn register_module(&self, bytes: Vec<u8>) -> Result<crate::LoadedModule> {
        let module = self.wasm()?.load(&bytes, None)?;
        crate::wasm::register_for_sql(&self.ctx, self.wasm()?, &module)?;
        lock(&self.supplied).push(Arc::clone(&module));
        Ok((module, Arc::new(bytes)))
    }

    /// The DataFusion session plans are converted and run in.
    pub fn session(&self) -> &SessionContext {
        &self.ctx
    }

    /// Structural validation plus the checks only this executor can make: the functions it
    /// has, the plan's Wasm modules among them.
    pub fn validate(&self, plan: &DecodedPlan) -> Vec<Diagnostic> {
        self.analyze(plan).diagnostics
    }

    /// [`Engine::validate`], with the types it derived for the plan's output.
    pub fn analyze(&self, plan: &DecodedPlan) -> Analysis {
        if !self.uses_modules(&plan.plan) {
            // The engine's own state answers; copying it would cost more than validating.
            let state = self.ctx.state_ref();
            let state = state.read();
            return self.analyze_with(plan, &state, &PlanModules::default());
        }
        let mut extensions = Extensions::try_from(&plan.plan.extensions).unwrap_or_default();
        match self.query_state(&plan.plan, &mut extensions) {
            Ok((state, modules)) => self.analyze_with(plan, &state, &modules),
            Err(e) => {
                let mut analysis =
                    self.analyze_with(plan, &self.ctx.state(), &PlanModules::default());
                analysis.diagnostics.push(Diagnostic::new(
                    lode_plan::Code::UnusableModule,
                    lode_plan::PlanPath::root()
                        .field("advanced_extensions")
                        .field("enhancement"),
                    e.to_string(),
                ));
                analysis
            }
        }
    }

    fn analyze_with(
        &self,
        plan: &DecodedPlan,
        state: &SessionState,
        modules: &PlanModules,
    ) -> Analysis {
        let support = DataFusionSupport::new(state, modules, &plan.plan);
        lode_plan::analyze_decoded(plan, Some(&support))
    }

    /// Validates the plan and converts it to a DataFusion logical plan.
    pub async fn logical_plan(&self, plan: &DecodedPlan) -> Result<LogicalPlan> {
        let runnable = &normalized(plan);
        let mut extensions = Extensions::try_from(&runnable.plan.extensions)
            .map_err(ExecError::convert("reading the plan's extensions failed"))?;
        self.fetch_shared_modules(&runnable.plan).await?;
        let (state, modules) = self.query_state(&runnable.plan, &mut extensions)?;
        // The user's plan, not the renamed one: diagnostics point into what they wrote.
        let diagnostics = self.analyze_with(plan, &state, &modules).diagnostics;
        let (errors, others): (Vec<_>, Vec<_>) = diagnostics
            .into_iter()
            .partition(|d| d.severity == Severity::Error);
        for d in &others {
            match d.severity {
                Severity::Warning => warn!(code = %d.code, path = %d.path, "{}", d.message),
                _ => info!(code = %d.code, path = %d.path, "{}", d.message),
            }
        }
        if !errors.is_empty() {
            return Err(ExecError::Invalid(errors));
        }
        convert(&state, &runnable.plan, &extensions, &modules)
            .instrument(info_span!("plan"))
            .await
    }

    /// Runs the plan; the result streams, batch by batch.
    pub async fn execute(&self, plan: &DecodedPlan) -> Result<SendableRecordBatchStream> {
        self.execute_with_progress(plan)
            .await
            .map(|(stream, _)| stream)
    }

    /// [`Engine::execute`], with a handle on the query's figures as it runs (rows and bytes
    /// scanned, bytes spilled).
    pub async fn execute_with_progress(
        &self,
        plan: &DecodedPlan,
    ) -> Result<(SendableRecordBatchStream, QueryProgress)> {
        let logical = self.logical_plan(plan).await?;
        let progress = QueryProgress::default();
        let stream = self.run_logical(logical, &progress).await?;
        Ok((stream, progress))
    }

    /// Runs a logical plan. Where a hash join's build side does not fit in the memory limit
    /// (DataFusion 55's hash join cannot spill it) before the query has produced a row, the
    /// query runs again with sort-merge joins, whose sorts and buffers spill.
    pub async fn execute_logical(&self, logical: LogicalPlan) -> Result<SendableRecordBatchStream> {
        self.run_logical(logical, &QueryProgress::default()).await
    }

    async fn run_logical(
        &self,
        logical: LogicalPlan,
        progress: &QueryProgress,
    ) -> Result<SendableRecordBatchStream> {
        let mut stream = self
            .stream(logical.clone(), self.ctx.state(), progress)
            .await?;
        let first = futures::StreamExt::next(&mut stream).await;
        if let Some(Err(e)) = &first
            && crate::memory::is_hash_join_build_exhausted(e)
        {
            info!(
                memory_limit = %crate::memory::human_bytes(self.memory_limit()),
                "a hash join's build side does not fit in the memory limit; running the query \
                 again with sort-merge joins, which spill"
            );
            let mut state = self.ctx.state();
            let options = state.config_mut().options_mut();
            options.optimizer.prefer_hash_join = false;
            // DataFusion plans sort-merge joins only over two partitions or more.
            options.execution.target_partitions = options.execution.target_partitions.max(2);
            let again = self.stream(logical, state, progress).await?;
            return Ok(self.explaining_resources(again));
        }
        let schema = stream.schema();
        let whole = futures::StreamExt::chain(futures::stream::iter(first), stream);
        Ok(self.explaining_resources(Box::pin(
            datafusion::physical_plan::stream::RecordBatchStreamAdapter::new(schema, whole),
        )))
    }

    async fn stream(
        &self,
        logical: LogicalPlan,
        state: SessionState,
        progress: &QueryProgress,
    ) -> Result<SendableRecordBatchStream> {
        let physical = state
            .create_physical_plan(&logical)
            .instrument(info_span!("execute"))
            .await
            .map_err(ExecError::convert("planning the query failed"))?;
        progress.running(Arc::clone(&physical));
        datafusion::physical_plan::execute_stream(physical, state.task_ctx())
            .map_err(ExecError::convert("planning the query failed"))
    }

    /// `stream` with its failures for lack of memory, spill space or storage told in Lode's
    /// terms.
    fn explaining_resources(&self, stream: SendableRecordBatchStream) -> SendableRecordBatchStream {
        let limit = self.memory_limit();
        let spill = self.spill.path().to_path_buf();
        let schema = stream.schema();
        let explained = futures::StreamExt::map(stream, move |batch| {
            batch.map_err(|e| explain_resources(e, limit, &spill))
        });
        Box::pin(
            datafusion::physical_plan::stream::RecordBatchStreamAdapter::new(schema, explained),
        )
    }

    /// The optimized physical plan of a logical plan, ready to run or to cut into stages.
    pub async fn physical_plan(&self, logical: &LogicalPlan) -> Result<Arc<dyn ExecutionPlan>> {
        self.ctx
            .state()
            .create_physical_plan(logical)
            .await
            .map_err(ExecError::convert("physical planning failed"))
    }

    /// The plan as DataFusion sees it: logical, optimized logical and physical.
    pub async fn explain(&self, plan: &DecodedPlan) -> Result<String> {
        let logical = self.logical_plan(plan).await?;
        let optimized = self
            .ctx
            .state()
            .optimize(&logical)
            .map_err(ExecError::convert("optimizing the plan failed"))?;
        let physical = self.physical_plan(&logical).await?;
        Ok(format!(
            "== Logical plan ==\n{}\n\n== Optimized logical plan ==\n{}\n\n== Physical plan ({} partitions) ==\n{}",
            logical.display_indent_schema(),
            optimized.display_indent(),
            physical.output_partitioning().partition_count(),
            displayable(physical.as_ref()).indent(true)
        ))
    }

    /// Operator `name` of a registered module over `inputs`, as a logical plan node that
    /// [`Engine::to_substrait`] writes as a Wasm extension relation. Rows with equal
    /// `partition_by` columns (of input 0) reach the same operator instance.
    pub fn wasm_operator(
        &self,
        module: &Arc<lode_wasm::Module>,
        name: &str,
        inputs: Vec<LogicalPlan>,
        config: String,
        partition_by: &[String],
    ) -> Result<LogicalPlan> {
        crate::wasm::operator_plan(
            self.wasm()?,
            module,
            name,
            inputs,
            config,
            partition_by,
            &self.ctx.runtime_env().memory_pool,
        )
    }
}

/// The memory a partition's operators need to work in DataFusion's full batches of 8192 rows.
/// A bound with less per partition runs fewer partitions; one with less for even one
/// partition also makes smaller batches.
const FULL_PARTITION_MEMORY: u64 = 64 << 20;
/// The smallest batch a tight bound makes.
const MIN_BATCH_ROWS: u64 = 1024;

/// Work units sized to the memory bound: fewer partitions at once and smaller batches where
/// the bound is small. Operators that cannot spill (the merge of sorted runs, a batch in
/// flight on each edge) hold whole batches, and a sort reserves room up front to merge its
/// spill files (DataFusion's default, 10 MB, is more than a small bound holds): with a bound of
/// little memory per partition, both shrink with it.
fn fit_to_memory(mut session: SessionConfig, config: &EngineConfig) -> SessionConfig {
    let limit = config.memory.limit_bytes();
    let mut partitions = config.target_partitions.max(1) as u64;
    // Each partition's spilling operators share the pool evenly; a share smaller than a few
    // batches cannot hold the one batch an operator must take before it can spill.
    if limit / partitions < FULL_PARTITION_MEMORY {
        partitions = (limit / FULL_PARTITION_MEMORY).max(1);
        session = session.with_target_partitions(usize::try_from(partitions).unwrap_or(1));
    }
    let per_partition = limit / partitions;
    let merge_reserve = (per_partition / 16).min(10 << 20);
    session.options_mut().execution.sort_spill_reservation_bytes =
        usize::try_from(merge_reserve).unwrap_or(usize::MAX);
    if per_partition < FULL_PARTITION_MEMORY {
        let rows = (session.batch_size() as u64 * per_partition / FULL_PARTITION_MEMORY)
            .max(MIN_BATCH_ROWS);
        session = session.with_batch_size(usize::try_from(rows).unwrap_or(1024));
        // A string view array keeps every buffer its views point into, and an operator that
        // takes rows from it (a repartition) passes them all on: each small batch then counts
        // as megabytes against the bound. Plain strings are copied compactly.
        session
            .options_mut()
            .execution
            .parquet
            .schema_force_view_types = false;
    }
    session
}

/// The plan with standard aggregates DataFusion knows by other names renamed, before anything
/// looks its functions up (see `functions::normalize_aggregates`).
fn normalized(plan: &DecodedPlan) -> std::borrow::Cow<'_, DecodedPlan> {
    match crate::functions::normalize_aggregates(&plan.plan) {
        Some(renamed) => std::borrow::Cow::Owned(DecodedPlan {
            plan: renamed,
            format: plan.format,
            upgraded_uris: plan.upgraded_uris.clone(),
            decode_hooks: plan.decode_hooks.clone(),
        }),
        None => std::borrow::Cow::Borrowed(plan),
    }
}

/// DataFusion's physical planner with Lode's extension planners.
#[derive(Debug, Default)]
struct LodeQueryPlanner;

#[async_trait::async_trait]
impl QueryPlanner for LodeQueryPlanner {
    async fn create_physical_plan(
        &self,
        logical_plan: &LogicalPlan,
        session: &dyn datafusion::catalog::Session,
    ) -> datafusion::common::Result<Arc<dyn ExecutionPlan>> {
        DefaultPhysicalPlanner::with_extension_planners(vec![Arc::new(WasmRelPlanner)])
            .create_physical_plan(logical_plan, session)
            .await
    }
}

/// Converts the output relation of `plan` (its root, or its only relation) with Lode's consumer.
pub async fn to_logical_plan(state: &SessionState, plan: &Plan) -> Result<LogicalPlan> {
    let extensions = Extensions::try_from(&plan.extensions)
        .map_err(ExecError::convert("reading the plan's extensions failed"))?;
    convert(state, plan, &extensions, &PlanModules::default()).await
}

async fn convert(
    state: &SessionState,
    plan: &Plan,
    extensions: &Extensions,
    modules: &PlanModules,
) -> Result<LogicalPlan> {
    let output = plan
        .relations
        .iter()
        .find(|r| matches!(r.rel_type, Some(plan_rel::RelType::Root(_))))
        .or_else(|| (plan.relations.len() == 1).then(|| &plan.relations[0]));
    let Some(output) = output else {
        return Err(ExecError::Invalid(lode_plan::validate_plan(plan, None)));
    };
    // DataFusion's plan-level conversion takes one relation; shared subtrees stay reachable
    // through the consumer, which holds the whole plan.
    let single = Plan {
        relations: vec![output.clone()],
        ..Default::default()
    };
    let consumer = LodeConsumer::new(plan, extensions, state, modules);
    let converted = AssertUnwindSafe(from_substrait_plan_with_consumer(&consumer, &single))
        .catch_unwind()
        .await;
    match converted {
        Ok(result) => {
            let logical = result.map_err(ExecError::convert(
                "the plan cannot be converted for execution",
            ))?;
            info!(fields = logical.schema().fields().len(), "plan converted");
            Ok(logical)
        }
        // The validator rejects the inputs known to panic inside datafusion-substrait; this
        // keeps any it does not know of from taking the process down.
        Err(panic) => Err(ExecError::Internal(format!(
            "the Substrait consumer crashed on this plan: {}; please report it with the plan",
            panic_message(&panic)
        ))),
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// See [`Engine::explain_resources`].
fn explain_resources(
    error: datafusion::error::DataFusionError,
    limit: u64,
    spill: &std::path::Path,
) -> datafusion::error::DataFusionError {
    crate::storage::messages::explain(crate::memory::explain(error, limit, spill))
}
