//! Lode's Substrait producer, the mirror of `crate::consumer`: SQL and logical plans built
//! against an [`Engine`]'s tables to Substrait that any consumer can read.
//!
//! - `relations`: DataFusion's producer, with Wasm table functions and operators as extension
//!   relations;
//! - `modules`: declarations of Wasm functions under their modules' URNs, and the modules'
//!   bytes embedded in the plan;
//! - [`lode_plan::link`]: functions DataFusion declares by bare name linked to the standard
//!   extensions that define them;
//! - `searched_cases`: DataFusion's simple `CASE x WHEN v` written in the searched form other
//!   consumers read.

mod modules;
mod relations;

use datafusion::logical_expr::LogicalPlan;
use substrait::proto::Plan;

pub use modules::embed_supplied_modules;

use crate::{Engine, ExecError, Result};

impl Engine {
    /// SQL to a Substrait plan, against this engine's tables.
    pub async fn sql_to_substrait(&self, sql: &str) -> Result<Plan> {
        self.sql_to_substrait_with(sql, &[]).await
    }

    /// SQL to a Substrait plan whose calls of these modules' functions are declared under the
    /// modules' URNs, with the modules embedded. Register them first with
    /// [`Engine::register_module`].
    pub async fn sql_to_substrait_with(
        &self,
        sql: &str,
        modules: &[crate::LoadedModule],
    ) -> Result<Plan> {
        let logical = self.plan_sql(sql).await?;
        self.to_substrait(logical, modules)
    }

    /// SQL to a Substrait plan of DataFusion's SQL planner, not optimized: what a producer
    /// that plans but does not optimize writes (the producer matrix runs such plans too).
    pub async fn sql_to_unoptimized_substrait(&self, sql: &str) -> Result<Plan> {
        let logical = searched_cases(self.plan_sql(sql).await?)
            .map_err(ExecError::convert("rewriting CASE expressions failed"))?;
        self.produce(&logical, &[])
    }

    /// SQL to DataFusion's logical plan. A call of a function that is neither built in nor
    /// in a registered module says where functions come from, rather than DataFusion's
    /// closest built-in name (which, for a Wasm function, is never the one meant).
    async fn plan_sql(&self, sql: &str) -> Result<LogicalPlan> {
        match self.session().sql(sql).await {
            Ok(frame) => Ok(frame.into_unoptimized_plan()),
            Err(e) => Err(match unknown_function(&e) {
                Some(name) => ExecError::UnknownFunction {
                    hint: self.unknown_function_hint(),
                    name,
                },
                None => ExecError::convert("the SQL does not plan")(e),
            }),
        }
    }

    /// Where the functions SQL may call come from, for [`ExecError::UnknownFunction`].
    fn unknown_function_hint(&self) -> String {
        let modules = self.supplied_modules();
        if modules.is_empty() {
            return "it is not a built-in function and no Wasm module was given; load the \
                    module that defines it with --module FILE.wasm (`lode module inspect \
                    FILE.wasm` lists a module's functions)"
                .to_string();
        }
        let defined: Vec<String> = modules
            .iter()
            .map(|module| {
                let names: Vec<&str> = module.functions().iter().map(|f| f.name.as_str()).collect();
                format!("{} defines {}", module.name(), names.join(", "))
            })
            .collect();
        format!(
            "it is neither a built-in function nor in the modules given ({}); check its name, \
             or add the module that defines it with --module FILE.wasm",
            defined.join("; ")
        )
    }

    /// A logical plan built against this engine's session to an optimized Substrait plan,
    /// declaring and embedding the modules it uses among `modules` (see
    /// [`Engine::sql_to_substrait_with`]).
    pub fn to_substrait(
        &self,
        logical: LogicalPlan,
        modules: &[crate::LoadedModule],
    ) -> Result<Plan> {
        let optimized = self
            .session()
            .state()
            .optimize(&logical)
            .and_then(searched_cases)
            .map_err(ExecError::convert("optimizing the plan failed"))?;
        self.produce(&optimized, modules)
    }

    /// Substrait for a logical plan as it is, with the modules it uses among `modules`.
    fn produce(&self, logical: &LogicalPlan, modules: &[crate::LoadedModule]) -> Result<Plan> {
        let (mut plan, relation_modules) =
            relations::to_substrait_plan(logical, &self.session().state())
                .map_err(ExecError::convert("producing Substrait failed"))?;
        modules::attach_modules(&mut plan, modules, &relation_modules)?;
        lode_plan::link::link_standard_extensions(&mut plan);
        Ok(plan)
    }
}

/// The plan with every simple `CASE x WHEN v THEN r` written as `CASE WHEN x = v THEN r`:
/// DataFusion's producer writes the simple form as an `IfThen` whose first clause holds `x`
/// and no `then`, which no other consumer reads (Substrait's form would be a switch). The
/// two agree on nulls: a null `x` matches no `v` either way.
fn searched_cases(plan: LogicalPlan) -> datafusion::common::Result<LogicalPlan> {
    use datafusion::common::tree_node::{Transformed, TreeNode};
    use datafusion::logical_expr::{Case, Expr};
    plan.transform_up_with_subqueries(|node| {
        node.map_expressions(|expr| {
            expr.transform_up(|e| match e {
                Expr::Case(Case {
                    expr: Some(base),
                    when_then_expr,
                    else_expr,
                }) => {
                    let when_then_expr = when_then_expr
                        .into_iter()
                        .map(|(when, then)| (Box::new(base.as_ref().clone().eq(*when)), then))
                        .collect();
                    Ok(Transformed::yes(Expr::Case(Case {
                        expr: None,
                        when_then_expr,
                        else_expr,
                    })))
                }
                e => Ok(Transformed::no(e)),
            })
        })
    })
    .map(|t| t.data)
}

/// The function name of DataFusion's "Invalid function 'NAME'" planning error.
fn unknown_function(error: &datafusion::error::DataFusionError) -> Option<String> {
    let datafusion::error::DataFusionError::Plan(message) = error.find_root() else {
        return None;
    };
    let rest = message.strip_prefix("Invalid function '")?;
    rest.split_once('\'').map(|(name, _)| name.to_string())
}
