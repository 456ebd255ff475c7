//! Wasm functions and relations of a physical plan, described for another process that holds
//! the same modules (an executor of a cluster) and rebuilt there.
//!
//! A description names a module by sha256 and a function by name; the rebuilding process looks
//! them up in its own [`PlanModules`], so code never travels inside a plan, only hashes.
//! Relations are bound again against the guest, which checks that the output it binds is the
//! one the describing process planned with.

use std::sync::Arc;

use datafusion::common::{Result, plan_datafusion_err};
use datafusion::logical_expr::{AggregateUDF, ScalarUDF};
use datafusion::physical_plan::ExecutionPlan;
use lode_plan::ext::WasmRel;
use lode_wasm::{FunctionSpec, Kind};

use super::aggregate::WasmAggregate;
use super::exec::{WasmOperatorExec, WasmTableExec};
use super::relation::WasmRelation;
use super::scalar::WasmScalar;
use super::{InstancePool, PlanModules};

/// A Wasm scalar or aggregate function: which module, which of its functions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WasmFunctionRef {
    /// The module's sha256 (hex).
    pub module: String,
    /// The function's name in the module.
    pub function: String,
}

/// The Wasm function behind `udf`, if it is one.
pub fn scalar_function_ref(udf: &ScalarUDF) -> Option<WasmFunctionRef> {
    let wasm = udf.inner().downcast_ref::<WasmScalar>()?;
    Some(function_ref(wasm.pool(), wasm.spec()))
}

/// The Wasm aggregate behind `udaf`, if it is one.
pub fn aggregate_function_ref(udaf: &AggregateUDF) -> Option<WasmFunctionRef> {
    let wasm = udaf.inner().downcast_ref::<WasmAggregate>()?;
    Some(function_ref(wasm.pool(), wasm.spec()))
}

fn function_ref(pool: &InstancePool, spec: &FunctionSpec) -> WasmFunctionRef {
    WasmFunctionRef {
        module: pool.module().sha256().to_string(),
        function: spec.name.clone(),
    }
}

/// The `WasmRel` a Wasm table function or operator node was planned from, if `plan` is one.
pub fn wasm_relation_of(plan: &dyn ExecutionPlan) -> Option<Result<WasmRel>> {
    if let Some(table) = plan.downcast_ref::<WasmTableExec>() {
        return Some(table.relation().to_wasm_rel());
    }
    plan.downcast_ref::<WasmOperatorExec>()
        .map(|operator| operator.relation().to_wasm_rel())
}

impl PlanModules {
    /// Scalar function `reference` under the name `name` the plan calls it by.
    pub fn scalar_function(
        &self,
        name: &str,
        reference: &WasmFunctionRef,
    ) -> Result<Arc<ScalarUDF>> {
        let (pool, spec) = self.function(reference, Kind::Scalar)?;
        Ok(Arc::new(ScalarUDF::new_from_impl(WasmScalar::new(
            name.to_string(),
            spec,
            pool,
        ))))
    }

    /// Aggregate `reference` under the name `name` the plan calls it by.
    pub fn aggregate_function(
        &self,
        name: &str,
        reference: &WasmFunctionRef,
    ) -> Result<Arc<AggregateUDF>> {
        let (pool, spec) = self.function(reference, Kind::Aggregate)?;
        Ok(Arc::new(AggregateUDF::new_from_impl(WasmAggregate::new(
            name.to_string(),
            spec,
            pool,
        ))))
    }

    /// The physical node of a Wasm table function (no `inputs`) or operator, bound again.
    pub fn relation_plan(
        &self,
        rel: &WasmRel,
        inputs: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let pool = self.pool(&rel.module).ok_or_else(|| {
            plan_datafusion_err!("WasmRel '{}': {}", rel.name, self.unresolved(&rel.module))
        })?;
        let schemas: Vec<_> = inputs.iter().map(|i| i.schema()).collect();
        let relation = Arc::new(WasmRelation::from_wasm_rel(
            Arc::clone(pool),
            rel,
            &schemas,
            "a stage plan",
        )?);
        Ok(if inputs.is_empty() {
            Arc::new(WasmTableExec::new(relation))
        } else {
            Arc::new(WasmOperatorExec::new(relation, inputs))
        })
    }

    fn function(
        &self,
        reference: &WasmFunctionRef,
        kind: Kind,
    ) -> Result<(Arc<InstancePool>, FunctionSpec)> {
        let pool = self.pool(&reference.module).ok_or_else(|| {
            plan_datafusion_err!(
                "function '{}': {}",
                reference.function,
                self.unresolved(&reference.module)
            )
        })?;
        let spec = pool
            .module()
            .function(&reference.function, kind)
            .map_err(super::to_datafusion)?
            .clone();
        Ok((Arc::clone(pool), spec))
    }
}
