//! Wasm extensions in DataFusion: a plan's modules are loaded from its module table, and its
//! Wasm functions become UDFs and UDAFs of that query only.

mod aggregate;
mod exec;
mod pool;
mod relation;
mod remote;
mod scalar;
mod sql;
pub(crate) mod type_names;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::DataFusionError;
use datafusion::execution::SessionState;
use datafusion::execution::memory_pool::MemoryPool;
use datafusion::execution::registry::FunctionRegistry;
use datafusion::logical_expr::{AggregateUDF, ScalarUDF, Signature, TypeSignature, Volatility};
use datafusion_substrait::extensions::Extensions;
use lode_plan::ext::{self, proto};
use lode_wasm::{Capability, FunctionSpec, Kind, Module, WasmRuntime};
use substrait::proto::Plan;
use substrait::proto::extensions::simple_extension_declaration::MappingType;

use crate::error::{ExecError, Result};
pub(crate) use exec::WasmRelPlanner;
pub(crate) use pool::InstancePool;
pub(crate) use relation::{WasmRelNode, WasmRelation};
pub use remote::{WasmFunctionRef, aggregate_function_ref, scalar_function_ref, wasm_relation_of};
pub(crate) use sql::WasmTable;
pub use sql::projected;
pub(crate) use type_names::arrow_type_of;
pub use type_names::substrait_type_name;

/// A module file the user supplied, loaded, with the bytes a produced plan embeds.
pub type LoadedModule = (Arc<Module>, Arc<Vec<u8>>);

/// DataFusion's error for a failure on the Wasm side.
pub(crate) fn to_datafusion<E: std::error::Error + Send + Sync + 'static>(
    error: E,
) -> DataFusionError {
    DataFusionError::External(Box::new(error))
}

/// Fields `arg0`, `arg1`, ... of these types: a call's arguments as the guest binds them.
pub(crate) fn argument_fields(types: &[DataType]) -> Fields {
    types
        .iter()
        .enumerate()
        .map(|(i, t)| Field::new(format!("arg{i}"), t.clone(), true))
        .collect()
}

/// Equality and hashing of a Wasm UDF by what identifies it: its name in the query and its
/// module's hash (DataFusion compares UDFs when it deduplicates expressions).
macro_rules! identity_by_module_and_name {
    ($udf:ty) => {
        impl PartialEq for $udf {
            fn eq(&self, other: &Self) -> bool {
                self.name == other.name
                    && self.pool.module().sha256() == other.pool.module().sha256()
            }
        }

        impl Eq for $udf {}

        impl std::hash::Hash for $udf {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                self.name.hash(state);
                self.pool.module().sha256().hash(state);
            }
        }
    };
}
pub(crate) use identity_by_module_and_name;

/// The DataFusion signature of a Wasm function: its declared signatures, or any arguments
/// (typed by the guest's bind) when it declares none.
pub(crate) fn signature_of(spec: &FunctionSpec) -> Signature {
    let volatility = match spec.volatility {
        lode_wasm::Volatility::Immutable => Volatility::Immutable,
        lode_wasm::Volatility::Stable => Volatility::Stable,
        lode_wasm::Volatility::Volatile => Volatility::Volatile,
    };
    let exact: Vec<TypeSignature> = spec
        .signatures
        .iter()
        .map(|s| TypeSignature::Exact(s.args.clone()))
        .collect();
    match exact.len() {
        0 => Signature::variadic_any(volatility),
        1 => Signature::new(
            exact.into_iter().next().unwrap_or(TypeSignature::Nullary),
            volatility,
        ),
        _ => Signature::one_of(exact, volatility),
    }
}

/// The modules of one plan, loaded and granted, each with its instance pool.
#[derive(Default)]
pub struct PlanModules {
    pools: HashMap<String, Arc<InstancePool>>,
    /// Modules the user supplied (`--module`), by their name, for plans that refer to a
    /// module by name instead of by hash.
    by_name: HashMap<String, String>,
}

impl PlanModules {
    /// Loads every module of a plan's module table. Modules without bytes must already be
    /// loaded in this process or in the runtime's module store. `supplied` modules (the user's
    /// `--module` files) join them, with no capabilities, and may be referred to by name.
    pub fn load(
        runtime: &WasmRuntime,
        table: &proto::ModuleTable,
        supplied: &[Arc<Module>],
        memory: &Arc<dyn MemoryPool>,
    ) -> Result<Self> {
        let mut pools = HashMap::new();
        let mut by_name = HashMap::new();
        for module in supplied {
            by_name.insert(module.name().name.clone(), module.sha256().to_string());
            let grant = runtime.grant(module.name(), &[], None, None)?;
            pools.insert(
                module.sha256().to_string(),
                Arc::new(InstancePool::new(
                    Arc::clone(module),
                    grant,
                    Arc::clone(memory),
                )),
            );
        }
        for (i, entry) in table.modules.iter().enumerate() {
            let where_ = format!("advanced_extensions.enhancement(ModuleTable).modules[{i}]");
            if !ext::is_sha256(&entry.sha256) {
                return Err(ExecError::Module(format!(
                    "{where_}: sha256 '{}' is not 64 lowercase hex digits",
                    entry.sha256
                )));
            }
            let module = if entry.component.is_empty() {
                runtime.load_by_hash(&entry.sha256)?.ok_or_else(|| {
                    let shared = match crate::storage::SharedModules::configured() {
                        Ok(Some(shared)) => format!(" nor in the shared module store {}", shared.url()),
                        _ => String::new(),
                    };
                    ExecError::Module(format!(
                        "{where_}: module {} carries no bytes and is not in this host's module store{}{shared}; \
                         add it with `lode module add FILE.wasm`, or embed it in the plan",
                        entry.sha256,
                        runtime
                            .store()
                            .map(|s| format!(" ({})", s.dir().display()))
                            .unwrap_or_default()
                    ))
                })?
            } else {
                runtime.load(&entry.component, Some(&entry.sha256))?
            };
            let grant = grant_for(runtime, &module, entry)?;
            pools.insert(
                entry.sha256.clone(),
                Arc::new(InstancePool::new(module, grant, Arc::clone(memory))),
            );
        }
        Ok(PlanModules { pools, by_name })
    }

    /// Whether the plan uses no module at all.
    pub fn is_empty(&self) -> bool {
        self.pools.is_empty()
    }

    /// The instance pool of the module a plan refers to: by hash, or by the name of a module
    /// the user supplied.
    pub(crate) fn pool(&self, reference: &str) -> Option<&Arc<InstancePool>> {
        let sha = if ext::is_sha256(reference) {
            reference
        } else {
            self.by_name.get(reference)?
        };
        self.pools.get(sha)
    }

    /// Why `reference` resolves to no module, and how to fix it.
    pub(crate) fn unresolved(&self, reference: &str) -> String {
        if ext::is_sha256(reference) {
            format!(
                "module {reference} is neither in the plan's module table nor supplied with --module"
            )
        } else {
            let mut names: Vec<&str> = self.by_name.keys().map(String::as_str).collect();
            names.sort_unstable();
            format!(
                "module '{reference}' is referred to by name, but no module of that name was supplied with --module (supplied: {})",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            )
        }
    }

    /// Registers the plan's Wasm functions in `state` and points the plan's declarations at
    /// them. A name two modules share gets a qualified registry name, so each call resolves to
    /// its own module.
    pub fn register(
        &self,
        plan: &Plan,
        extensions: &mut Extensions,
        state: &mut SessionState,
    ) -> Result<()> {
        let urns: HashMap<u32, &str> = plan
            .extension_urns
            .iter()
            .map(|u| (u.extension_urn_anchor, u.urn.as_str()))
            .collect();
        let mut taken: HashMap<String, String> = HashMap::new();
        for decl in &plan.extensions {
            let Some(MappingType::ExtensionFunction(f)) = &decl.mapping_type else {
                continue;
            };
            let Some(sha) = urns
                .get(&f.extension_urn_reference)
                .and_then(|u| ext::module_of_urn(u))
            else {
                continue;
            };
            let pool = self.pool(sha).ok_or_else(|| {
                ExecError::Module(format!(
                    "function '{}' (anchor {}) is declared by {}: {}",
                    f.name,
                    f.function_anchor,
                    ext::module_urn(sha),
                    self.unresolved(sha)
                ))
            })?;
            let sha = pool.module().sha256();
            let name = lode_plan::declarations::function_name(&f.name);
            let spec = pool
                .module()
                .functions()
                .iter()
                .find(|s| s.name == name)
                .cloned()
                .ok_or_else(|| {
                    let names: Vec<&str> = pool
                        .module()
                        .functions()
                        .iter()
                        .map(|s| s.name.as_str())
                        .collect();
                    ExecError::Module(format!(
                        "function '{name}' (anchor {}) is not exported by {} (it has: {})",
                        f.function_anchor,
                        pool.module().name(),
                        names.join(", ")
                    ))
                })?;
            let key = match taken.get(name) {
                Some(owner) if owner != sha => format!("{name}@{}", &sha[..12]),
                _ => name.to_string(),
            };
            taken.entry(key.clone()).or_insert_with(|| sha.to_string());
            extensions.functions.insert(f.function_anchor, key.clone());
            match spec.kind {
                Kind::Scalar => {
                    let udf =
                        ScalarUDF::new_from_impl(scalar::WasmScalar::new(key, spec, pool.clone()));
                    state
                        .register_udf(Arc::new(udf))
                        .map_err(ExecError::convert("registering a Wasm function"))?;
                }
                Kind::Aggregate => {
                    let udaf = AggregateUDF::new_from_impl(aggregate::WasmAggregate::new(
                        key,
                        spec,
                        pool.clone(),
                    ));
                    state
                        .register_udaf(Arc::new(udaf))
                        .map_err(ExecError::convert("registering a Wasm aggregate"))?;
                }
                Kind::Table | Kind::Operator => {
                    return Err(ExecError::Module(format!(
                        "'{name}' of {} is a {} and cannot be called as a function",
                        pool.module().name(),
                        lode_wasm::kind_name(spec.kind)
                    )));
                }
            }
        }
        Ok(())
    }
}

/// The capabilities and limits a module entry asks for, as the host grants them.
fn grant_for(
    runtime: &WasmRuntime,
    module: &Module,
    entry: &proto::WasmModule,
) -> Result<lode_wasm::Grant> {
    let mut requested = Vec::new();
    for raw in &entry.capabilities {
        match proto::Capability::try_from(*raw) {
            Ok(proto::Capability::Clocks) => requested.push(Capability::Clocks),
            Ok(proto::Capability::Random) => requested.push(Capability::Random),
            Ok(proto::Capability::Unspecified) | Err(_) => {
                return Err(ExecError::Module(format!(
                    "{} asks for unknown capability {raw}; Lode knows clocks (1) and random (2)",
                    module.name()
                )));
            }
        }
    }
    let limits = entry.limits.unwrap_or_default();
    let memory = (limits.memory_bytes > 0).then_some(limits.memory_bytes);
    let timeout =
        (limits.call_timeout_ms > 0).then(|| Duration::from_millis(limits.call_timeout_ms));
    Ok(runtime.grant(module.name(), &requested, memory, timeout)?)
}

/// A logical plan that runs operator `name` of `module` over `inputs` (input 0 first). Rows
/// with equal `partition_by` columns (names in input 0) reach the same operator instance.
pub(crate) fn operator_plan(
    runtime: &WasmRuntime,
    module: &Arc<Module>,
    name: &str,
    inputs: Vec<datafusion::logical_expr::LogicalPlan>,
    config: String,
    partition_by: &[String],
    memory: &Arc<dyn MemoryPool>,
) -> Result<datafusion::logical_expr::LogicalPlan> {
    let grant = runtime.grant(module.name(), &[], None, None)?;
    let pool = Arc::new(InstancePool::new(module.clone(), grant, Arc::clone(memory)));
    let schemas: Vec<_> = inputs.iter().map(|p| p.schema().inner().clone()).collect();
    let distribution = match (partition_by, schemas.first()) {
        ([], _) | (_, None) => relation::InputDistribution::Any,
        (columns, Some(first)) => relation::InputDistribution::Hash(
            columns
                .iter()
                .map(|c| {
                    first.index_of(c).map_err(|_| {
                        ExecError::Module(format!(
                            "operator '{name}': partition column '{c}' is not a column of its input ({})",
                            first.fields().iter().map(|f| f.name().as_str()).collect::<Vec<_>>().join(", ")
                        ))
                    })
                })
                .collect::<Result<_>>()?,
        ),
    };
    let relation = WasmRelation::operator(pool, name, &schemas, config, distribution)
        .map_err(ExecError::convert("binding the operator failed"))?;
    let node = WasmRelNode::new(Arc::new(relation), inputs)
        .map_err(ExecError::convert("binding the operator failed"))?;
    Ok(datafusion::logical_expr::LogicalPlan::Extension(
        datafusion::logical_expr::Extension {
            node: Arc::new(node),
        },
    ))
}

/// Registers a module's scalar, aggregate and table functions in `ctx` under their own names,
/// for planning SQL that calls them.
pub(crate) fn register_for_sql(
    ctx: &datafusion::prelude::SessionContext,
    runtime: &WasmRuntime,
    module: &Arc<Module>,
) -> Result<()> {
    let grant = runtime.grant(module.name(), &[], None, None)?;
    let memory = Arc::clone(&ctx.runtime_env().memory_pool);
    let pool = Arc::new(InstancePool::new(module.clone(), grant, memory));
    for spec in module.functions() {
        match spec.kind {
            Kind::Scalar => ctx.register_udf(ScalarUDF::new_from_impl(scalar::WasmScalar::new(
                spec.name.clone(),
                spec.clone(),
                pool.clone(),
            ))),
            Kind::Aggregate => ctx.register_udaf(AggregateUDF::new_from_impl(
                aggregate::WasmAggregate::new(spec.name.clone(), spec.clone(), pool.clone()),
            )),
            Kind::Table => ctx.register_udtf(
                &spec.name,
                Arc::new(sql::WasmTableFunction {
                    pool: pool.clone(),
                    name: spec.name.clone(),
                }),
            ),
            // Operators are relations over inputs, which SQL has no call syntax for; plans
            // use them through `ExtensionSingleRel` / `ExtensionMultiRel`.
            Kind::Operator => {}
        }
    }
    Ok(())
}
