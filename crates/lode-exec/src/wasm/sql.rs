//! Wasm table functions in SQL (`SELECT * FROM words('a b c')`); `crate::producer` writes
//! them into Substrait as extension relations.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::{Result, plan_err};
use datafusion::logical_expr::{Expr, TableType};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::expressions::Column;
use datafusion::physical_plan::projection::ProjectionExec;

use super::InstancePool;
use super::exec::WasmTableExec;
use super::relation::{WasmRelation, argument_value, arguments_batch};

/// A module's table function, callable in SQL's FROM with literal arguments.
#[derive(Debug)]
pub(crate) struct WasmTableFunction {
    pub pool: Arc<InstancePool>,
    pub name: String,
}

impl TableFunctionImpl for WasmTableFunction {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let mut values = Vec::with_capacity(args.exprs().len());
        for (i, expr) in args.exprs().iter().enumerate() {
            let literal = match expr {
                Expr::Literal(v, _) => v.clone(),
                Expr::Negative(inner) => match inner.as_ref() {
                    Expr::Literal(v, _) => v.arithmetic_negate()?,
                    _ => return self.not_literal(i, expr),
                },
                _ => return self.not_literal(i, expr),
            };
            values.push(argument_value(&literal)?);
        }
        let relation = WasmRelation::table(
            Arc::clone(&self.pool),
            &self.name,
            arguments_batch(&values)?,
            String::new(),
        )?;
        Ok(Arc::new(WasmTable {
            relation: Arc::new(relation),
        }))
    }
}

impl WasmTableFunction {
    fn not_literal(&self, i: usize, expr: &Expr) -> Result<Arc<dyn TableProvider>> {
        plan_err!(
            "argument {} of table function {}(...) must be a literal, not `{expr}`",
            i + 1,
            self.name
        )
    }
}

/// One call of a table function, as a table SQL can scan.
#[derive(Debug)]
pub(crate) struct WasmTable {
    pub(crate) relation: Arc<WasmRelation>,
}

#[async_trait]
impl TableProvider for WasmTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.relation.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Temporary
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let table: Arc<dyn ExecutionPlan> =
            Arc::new(WasmTableExec::new(Arc::clone(&self.relation)));
        projected(table, projection)
    }
}

/// `scan` with only the `projection` columns, for table providers whose scans produce every
/// column: DataFusion's `scan` contract.
pub fn projected(
    scan: Arc<dyn ExecutionPlan>,
    projection: Option<&Vec<usize>>,
) -> Result<Arc<dyn ExecutionPlan>> {
    let Some(projection) = projection else {
        return Ok(scan);
    };
    let schema = scan.schema();
    let exprs: Vec<(Arc<dyn datafusion::physical_expr::PhysicalExpr>, String)> = projection
        .iter()
        .map(|i| {
            let name = schema.field(*i).name().clone();
            (Arc::new(Column::new(&name, *i)) as _, name)
        })
        .collect();
    Ok(Arc::new(ProjectionExec::try_new(exprs, scan)?))
}
