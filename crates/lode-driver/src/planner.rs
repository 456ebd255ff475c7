//! The `planner` interface: relations as DataFusion logical plans built against the driver's
//! planning session, written as Substrait only when they leave (to run, or as `emit`'s plan).

use std::sync::Arc;
use std::time::Instant;

use datafusion::arrow::datatypes::{Field, Schema};
use datafusion::common::JoinType;
use datafusion::datasource::{empty::EmptyTable, provider_as_source};
use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder};
use datafusion::prelude::DataFrame;
use lode_exec::ExecError;
use lode_wasm::{marshal, wit};
use prost::Message;
use wasmtime::component::Resource;

use crate::bindings::lode::guest::planner::{Host, HostRelation};
use crate::bindings::{GuestError, JoinKind, SetOp, SortKey};
use crate::state::DriverState;

/// A relation a driver holds: a logical plan, not yet optimized.
pub struct Relation {
    pub(crate) plan: LogicalPlan,
}

type Built = wasmtime::Result<Result<Resource<Relation>, GuestError>>;

impl DriverState {
    /// A data frame of a relation the driver holds, against the current session (which knows
    /// the modules and tables registered since the relation was made).
    fn frame(&self, relation: &Resource<Relation>) -> wasmtime::Result<DataFrame> {
        let plan = self.relations.get(relation)?.plan.clone();
        Ok(DataFrame::new(self.planner.session().state(), plan))
    }

    fn keep(&mut self, built: Result<LogicalPlan, GuestError>) -> Built {
        Ok(match built {
            Ok(plan) => Ok(self.relations.push(Relation { plan })?),
            Err(e) => Err(e),
        })
    }

    /// Builds a relation from `relation`'s frame and SQL expressions parsed against it.
    fn derive(
        &mut self,
        relation: &Resource<Relation>,
        build: impl FnOnce(DataFrame) -> Result<DataFrame, GuestError>,
    ) -> Built {
        let frame = self.frame(relation)?;
        let built = build(frame).map(DataFrame::into_unoptimized_plan);
        self.keep(built)
    }

    /// Names of the tables the planner knows, for an error about one it does not.
    fn table_names(&self) -> String {
        let session = self.planner.session();
        let mut names: Vec<String> = session
            .catalog_names()
            .iter()
            .filter_map(|c| session.catalog(c))
            .flat_map(|c| {
                c.schema_names()
                    .into_iter()
                    .filter_map(move |s| c.schema(&s))
            })
            .flat_map(|s| s.table_names())
            .collect();
        names.sort();
        if names.is_empty() {
            "it has none (give `--data DIR`, or declare the table's columns with `read`)".into()
        } else {
            format!("it has {}", names.join(", "))
        }
    }
}

/// An error the driver sees that no validator diagnostic or engine error stands behind.
pub(crate) fn failure(location: impl Into<String>, message: impl Into<String>) -> GuestError {
    GuestError {
        code: None,
        location: Some(location.into()),
        message: message.into(),
    }
}

/// The error a driver sees, from a host error and what it concerned.
pub(crate) fn guest_error(location: impl Into<String>, error: impl Into<ExecError>) -> GuestError {
    match error.into() {
        // The validator's diagnostics, each with its code and plan path; the first one's
        // code and path are the error's.
        ExecError::Invalid(diagnostics) => GuestError {
            code: diagnostics.first().map(|d| d.code.to_string()),
            location: diagnostics
                .first()
                .map(|d| d.path.to_string())
                .or_else(|| Some(location.into())),
            message: diagnostics
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
        },
        error => failure(location, error.to_string()),
    }
}

fn datafusion_error(
    location: &str,
    context: &'static str,
) -> impl FnOnce(datafusion::error::DataFusionError) -> GuestError {
    move |e| guest_error(location, ExecError::datafusion(context)(e))
}

/// Parses SQL expressions against a frame's columns.
fn expressions(frame: &DataFrame, texts: &[String], what: &str) -> Result<Vec<Expr>, GuestError> {
    texts
        .iter()
        .map(|text| {
            frame.parse_sql_expr(text).map_err(datafusion_error(
                &format!("{what} `{text}`"),
                "the expression does not plan",
            ))
        })
        .collect()
}

fn to_usize(value: u64, what: &str) -> Result<usize, GuestError> {
    usize::try_from(value)
        .map_err(|_| failure(what.to_string(), format!("{what} {value} is too large")))
}

/// A schema as the guest sees it: view types as their plain equivalents.
pub(crate) fn guest_schema(schema: &Schema) -> Result<wit::Schema, GuestError> {
    let fields: Vec<Arc<Field>> = schema
        .fields()
        .iter()
        .map(|f| {
            Arc::new(
                f.as_ref()
                    .clone()
                    .with_data_type(marshal::guest_type(f.data_type())),
            )
        })
        .collect();
    marshal::encode_schema(&fields).map_err(|e| failure("schema", e.to_string()))
}

impl Host for DriverState {
    async fn register_module(
        &mut self,
        component: Vec<u8>,
    ) -> wasmtime::Result<Result<String, GuestError>> {
        let started = Instant::now();
        let registered = match self.planner.register_module(component) {
            Ok(loaded) => {
                let sha256 = loaded.0.sha256().to_string();
                tracing::info!(module = %loaded.0.name(), "driver registered a module");
                if self.modules.iter().all(|(m, _)| m.sha256() != sha256) {
                    self.modules.push(loaded);
                }
                Ok(sha256)
            }
            Err(e) => Err(guest_error("register-module", e)),
        };
        self.charge_interface(started);
        Ok(registered)
    }
}

impl HostRelation for DriverState {
    async fn scan(&mut self, table: String) -> Built {
        let session = self.planner.session();
        let built = match session.table(table.as_str()).await {
            Ok(frame) => Ok(frame.into_unoptimized_plan()),
            Err(_) => Err(failure(
                format!("table `{table}`"),
                format!("the engine has no table `{table}`; {}", self.table_names()),
            )),
        };
        self.keep(built)
    }

    async fn read(&mut self, table: String, columns: wit::Schema) -> Built {
        let location = format!("read of `{table}`");
        let built = marshal::decode_schema(&columns)
            .map_err(|e| failure(location.clone(), e.to_string()))
            .and_then(|fields| {
                let source =
                    provider_as_source(Arc::new(EmptyTable::new(marshal::schema_of(&fields))));
                LogicalPlanBuilder::scan(table.as_str(), source, None)
                    .and_then(LogicalPlanBuilder::build)
                    .map_err(datafusion_error(&location, "declaring the table failed"))
            });
        self.keep(built)
    }

    async fn sql(&mut self, query: String) -> Built {
        let started = Instant::now();
        let built = self
            .planner
            .session()
            .sql(&query)
            .await
            .map(DataFrame::into_unoptimized_plan)
            .map_err(datafusion_error("sql", "the SQL does not plan"));
        self.charge_interface(started);
        self.keep(built)
    }

    async fn substrait(&mut self, plan: Vec<u8>) -> Built {
        let started = Instant::now();
        let built = match lode_plan::decode_plan(&plan) {
            Ok(decoded) => self
                .planner
                .logical_plan(&decoded)
                .await
                .map_err(|e| guest_error("substrait", e)),
            Err(e) => Err(guest_error("substrait", e)),
        };
        self.charge_interface(started);
        self.keep(built)
    }

    async fn filter(&mut self, this: Resource<Relation>, predicate: String) -> Built {
        self.derive(&this, |frame| {
            let predicate = frame.parse_sql_expr(&predicate).map_err(datafusion_error(
                &format!("filter `{predicate}`"),
                "the predicate does not plan",
            ))?;
            frame
                .filter(predicate)
                .map_err(datafusion_error("filter", "the filter does not plan"))
        })
    }

    async fn project(&mut self, this: Resource<Relation>, exprs: Vec<String>) -> Built {
        self.derive(&this, |frame| {
            let exprs = expressions(&frame, &exprs, "project")?;
            frame
                .select(exprs)
                .map_err(datafusion_error("project", "the projection does not plan"))
        })
    }

    async fn aggregate(
        &mut self,
        this: Resource<Relation>,
        group_by: Vec<String>,
        measures: Vec<String>,
    ) -> Built {
        self.derive(&this, |frame| {
            let groups = expressions(&frame, &group_by, "group by")?;
            let measures = expressions(&frame, &measures, "measure")?;
            frame
                .aggregate(groups, measures)
                .map_err(datafusion_error("aggregate", "the aggregate does not plan"))
        })
    }

    async fn join(
        &mut self,
        this: Resource<Relation>,
        right: Resource<Relation>,
        kind: JoinKind,
        on: String,
    ) -> Built {
        let right = self.frame(&right)?;
        let session = self.planner.session().clone();
        self.derive(&this, |left| {
            let location = format!("join on `{on}`");
            let both = left
                .schema()
                .join(right.schema())
                .map_err(datafusion_error(&location, "the join's sides clash"))?;
            let predicate = session
                .parse_sql_expr(&on, &both)
                .map_err(datafusion_error(
                    &location,
                    "the join condition does not plan",
                ))?;
            let join_type = match kind {
                JoinKind::Inner => JoinType::Inner,
                JoinKind::Left => JoinType::Left,
                JoinKind::Right => JoinType::Right,
                JoinKind::Full => JoinType::Full,
                JoinKind::LeftSemi => JoinType::LeftSemi,
                JoinKind::LeftAnti => JoinType::LeftAnti,
            };
            left.join_on(right, join_type, [predicate])
                .map_err(datafusion_error(&location, "the join does not plan"))
        })
    }

    async fn sort(&mut self, this: Resource<Relation>, keys: Vec<SortKey>) -> Built {
        self.derive(&this, |frame| {
            let texts: Vec<String> = keys.iter().map(|k| k.expr.clone()).collect();
            let exprs = expressions(&frame, &texts, "sort key")?;
            let sort = exprs
                .into_iter()
                .zip(&keys)
                .map(|(e, k)| e.sort(k.ascending, k.nulls_first))
                .collect();
            frame
                .sort(sort)
                .map_err(datafusion_error("sort", "the sort does not plan"))
        })
    }

    async fn fetch(&mut self, this: Resource<Relation>, offset: u64, count: Option<u64>) -> Built {
        self.derive(&this, |frame| {
            let skip = to_usize(offset, "fetch offset")?;
            let fetch = count.map(|c| to_usize(c, "fetch count")).transpose()?;
            frame
                .limit(skip, fetch)
                .map_err(datafusion_error("fetch", "the fetch does not plan"))
        })
    }

    async fn set(
        &mut self,
        this: Resource<Relation>,
        op: SetOp,
        other: Resource<Relation>,
    ) -> Built {
        let other = self.frame(&other)?;
        self.derive(&this, |frame| {
            let combined = match op {
                SetOp::UnionAll => frame.union(other),
                SetOp::UnionDistinct => frame.union_distinct(other),
                SetOp::Intersect => frame.intersect_distinct(other),
                SetOp::Except => frame.except_distinct(other),
            };
            combined.map_err(datafusion_error("set", "the set operation does not plan"))
        })
    }

    async fn operator(
        &mut self,
        this: Resource<Relation>,
        name: String,
        others: Vec<Resource<Relation>>,
        config: String,
        partition_by: Vec<String>,
    ) -> Built {
        let mut inputs = vec![self.relations.get(&this)?.plan.clone()];
        for other in &others {
            inputs.push(self.relations.get(other)?.plan.clone());
        }
        let location = format!("operator `{name}`");
        let owners: Vec<_> = self
            .modules
            .iter()
            .filter(|(m, _)| {
                m.functions()
                    .iter()
                    .any(|f| f.name == name && f.kind == lode_wasm::Kind::Operator)
            })
            .map(|(m, _)| Arc::clone(m))
            .collect();
        let built = match owners.as_slice() {
            [module] => self
                .planner
                .wasm_operator(module, &name, inputs, config, &partition_by)
                .map_err(|e| guest_error(location, e)),
            [] => Err(failure(
                location,
                format!("no registered module has an operator `{name}`; register its module first"),
            )),
            several => Err(failure(
                location,
                format!(
                    "operator `{name}` is in several registered modules ({})",
                    several
                        .iter()
                        .map(|m| m.name().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        };
        self.keep(built)
    }

    async fn schema(&mut self, this: Resource<Relation>) -> wasmtime::Result<wit::Schema> {
        let plan = &self.relations.get(&this)?.plan;
        // Every schema a plan has is one the host marshals; a type it cannot is a trap, not
        // a value, because the driver could do nothing with it.
        guest_schema(plan.schema().as_arrow()).map_err(|e| wasmtime::Error::msg(e.message))
    }

    async fn to_substrait(
        &mut self,
        this: Resource<Relation>,
    ) -> wasmtime::Result<Result<Vec<u8>, GuestError>> {
        let plan = self.relations.get(&this)?.plan.clone();
        Ok(self
            .substrait_plan(plan)
            .map(|p| p.encode_to_vec())
            .map_err(|e| guest_error("to-substrait", e)))
    }

    async fn drop(&mut self, this: Resource<Relation>) -> wasmtime::Result<()> {
        self.relations.delete(this)?;
        Ok(())
    }
}
