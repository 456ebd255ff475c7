//! Lode's Substrait consumer: DataFusion's, with the hooks that make plans from other
//! producers run. Each override handles one producer quirk and delegates the rest:
//!
//! | hook | quirk | producers |
//! |---|---|---|
//! | `resolve_table_ref`, `consume_read` | table and column names in another case | Isthmus/Calcite (`LINEITEM`, `L_ORDERKEY`) |
//! | `consume_rel` | `ReferenceRel` to a shared subtree in `Plan.relations` | Isthmus, DuckDB |
//! | `consume_literal` | `var_char` literals; `precision_time` without DataFusion's type variation | Isthmus, Calcite; the spec's corpus |
//! | `consume_scalar_function` | enum-typed arguments (`extract(YEAR, d)`) | Isthmus, spec examples |
//! | `consume_scalar_function`, `consume_aggregate` | calls whose options or declared output type DataFusion ignores (see the `functions` module) | any producer following the spec |
//! | `consume_project` | projects without `emit` that output only their expressions (`lode_plan::dialect`) | DuckDB |
//! | `consume_read` | a read's `filter` must hold for every row (DataFusion only prunes with it) | DuckDB |
//! | `consume_scalar_function`, `consume_aggregate` | decimal output types declared with the inputs' scale are not read (`lode_plan::dialect`) | ibis-substrait |
//! | `consume_read` | a declared base schema that differs from the table's types where no value changes, or each is checked (`crate::binding`) | DuckDB, Isthmus, any producer with its own catalog |
//! | `consume_literal` | a null literal whose type has no kind, under a cast (`lode_plan::dialect`) | DuckDB |
//! | `consume_user_defined_type` | the type `null` declared without an extension, read as Arrow's `Null` (`lode_plan::dialect`) | DataFusion |
//! | `consume_read` | `local_files` URIs (DataFusion only looks up a table named like the file) | DuckDB, hand-written |
//!
//! `consume_extension_leaf/single/multi` turn Lode's `WasmRel` relations (table functions and
//! operators) into [`WasmRelNode`](crate::wasm::WasmRelNode)s bound against the plan's modules.
//!
//! Aggregates without `output_type` and pre-URN plans need no hook: DataFusion ignores the
//! former and `lode-plan` upgrades the latter while decoding.

mod aggregate;
mod capabilities;
pub(crate) mod foreign_functions;

pub use capabilities::DataFusionSupport;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::catalog::TableProvider;
use datafusion::common::Column;
use datafusion::common::TableReference;
use datafusion::common::{
    DFSchema, Result, ScalarValue, plan_datafusion_err, plan_err, substrait_datafusion_err,
    substrait_err,
};
use datafusion::datasource::file_format::arrow::ArrowFormat;
use datafusion::datasource::file_format::csv::CsvFormat;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::datasource::provider_as_source;
use datafusion::execution::{FunctionRegistry, SessionState};
use datafusion::logical_expr::{Expr, ExprSchemable, Extension, LogicalPlan, LogicalPlanBuilder};
use datafusion_substrait::extensions::Extensions;
use datafusion_substrait::logical_plan::consumer::{
    DefaultSubstraitConsumer, SubstraitConsumer, from_field_reference, from_literal,
    from_project_rel, from_read_rel, from_scalar_function, from_substrait_func_args,
    from_substrait_named_struct, from_substrait_rel, substrait_fun_name,
};
use substrait::proto::expression::field_reference::{ReferenceType, RootType};
use substrait::proto::expression::literal::{IntervalDayToSecond, LiteralType};
use substrait::proto::expression::reference_segment::ReferenceType as SegmentType;
use substrait::proto::expression::{FieldReference, Literal, ScalarFunction};
use substrait::proto::function_argument::ArgType;
use substrait::proto::read_rel::local_files::file_or_files::{
    FileFormat as SubstraitFileFormat, PathType,
};
use substrait::proto::read_rel::{LocalFiles, NamedTable, ReadType};
use substrait::proto::rel::RelType;
use substrait::proto::{
    AggregateRel, Expression, ExtensionLeafRel, ExtensionMultiRel, ExtensionSingleRel, Plan,
    ProjectRel, ReadRel, Rel, Type, expression::RexType, plan_rel,
};

use lode_plan::dialect::Dialect;
use lode_plan::ext;

use crate::binding::{Binding, bind_expr, binding};
use crate::functions;
use crate::lock;
use crate::tables::FileFormat;
use crate::wasm::{PlanModules, WasmRelNode, WasmRelation};
use capabilities::arrow_type;

/// True when a call's argument is a null literal of a function type: a null lambda.
fn is_null_function(arg: &substrait::proto::FunctionArgument) -> bool {
    matches!(
        &arg.arg_type,
        Some(ArgType::Value(Expression {
            rex_type: Some(RexType::Literal(Literal {
                literal_type: Some(LiteralType::Null(Type {
                    kind: Some(substrait::proto::r#type::Kind::Func(_)),
                })),
                ..
            })),
        }))
    )
}

/// Prefix of the names under which `local_files` reads are registered for one query.
const LOCAL_FILES_TABLE: &str = "__lode_local_files_";

pub(crate) struct LodeConsumer<'a> {
    inner: DefaultSubstraitConsumer<'a>,
    state: &'a SessionState,
    plan: &'a Plan,
    /// The plan's Wasm modules, for its extension relations.
    modules: &'a PlanModules,
    /// `local_files` reads of this query, by their generated table name.
    local_tables: Mutex<HashMap<String, Arc<dyn TableProvider>>>,
    /// Shared subtrees already converted, by ordinal in `plan.relations`.
    subtrees: Mutex<HashMap<usize, LogicalPlan>>,
    /// Subtrees being converted (a cycle would otherwise recurse forever).
    converting: Mutex<HashSet<usize>>,
    /// The producer departures the plan is read with (as the validator reads it).
    dialect: Dialect,
}

impl<'a> LodeConsumer<'a> {
    pub(crate) fn new(
        plan: &'a Plan,
        extensions: &'a Extensions,
        state: &'a SessionState,
        modules: &'a PlanModules,
    ) -> Self {
        LodeConsumer {
            inner: DefaultSubstraitConsumer::new(extensions, state),
            state,
            plan,
            modules,
            local_tables: Mutex::default(),
            subtrees: Mutex::default(),
            converting: Mutex::default(),
            dialect: Dialect::of(plan),
        }
    }

    /// The table a read names: a `local_files` table of this query, or a bound table matched
    /// case-insensitively. An unknown name is an error that lists what is bound.
    async fn table(&self, name: &str) -> Result<Arc<dyn TableProvider>> {
        if let Some(t) = lock(&self.local_tables).get(name) {
            return Ok(Arc::clone(t));
        }
        // Bound tables live in the session's default schema, which every bare reference resolves to.
        let lower = name.to_lowercase();
        let schema = self
            .state
            .schema_for_ref(TableReference::bare(lower.as_str()))?;
        if let Some(t) = schema.table(&lower).await? {
            return Ok(t);
        }
        let known: Vec<String> = schema
            .table_names()
            .into_iter()
            .filter(|n| !n.starts_with(LOCAL_FILES_TABLE))
            .collect();
        let hint = if known.is_empty() {
            "no tables are bound; bind them with --data DIR or --table NAME=PATH".to_string()
        } else {
            format!("bound tables: {}", known.join(", "))
        };
        plan_err!("the plan reads table `{name}`, but no such table is bound ({hint})")
    }

    async fn consume_subtree(&self, ordinal: i32) -> Result<LogicalPlan> {
        let index = usize::try_from(ordinal).map_err(|_| {
            plan_datafusion_err!("ReferenceRel subtree ordinal {ordinal} is negative")
        })?;
        if let Some(plan) = lock(&self.subtrees).get(&index) {
            return Ok(plan.clone());
        }
        let rel = match self
            .plan
            .relations
            .get(index)
            .and_then(|r| r.rel_type.as_ref())
        {
            Some(plan_rel::RelType::Rel(rel)) => rel,
            _ => {
                return plan_err!(
                    "ReferenceRel subtree ordinal {index} does not name a `rel` entry of plan.relations"
                );
            }
        };
        if !lock(&self.converting).insert(index) {
            return plan_err!("ReferenceRel cycle through plan.relations[{index}]");
        }
        let converted = self.consume_rel(rel).await;
        lock(&self.converting).remove(&index);
        let converted = converted?;
        lock(&self.subtrees).insert(index, converted.clone());
        Ok(converted)
    }

    /// Lode's implementation of a call DataFusion would get wrong (`add` with
    /// `overflow: ERROR`, `regexp_replace` with an occurrence), or `None` when DataFusion's
    /// function is the right one.
    async fn spec_function(&self, f: &ScalarFunction, schema: &DFSchema) -> Result<Option<Expr>> {
        let Some(declared) = self.get_extensions().functions.get(&f.function_reference) else {
            return Ok(None);
        };
        let name = substrait_fun_name(declared);
        if f.options.is_empty() && !functions::implements(name) && !functions::claims(declared) {
            return Ok(None);
        }
        let args = from_substrait_func_args(self, &f.arguments, schema).await?;
        let types = args
            .iter()
            .map(|a| a.get_type(schema))
            .collect::<Result<Vec<_>>>()?;
        if let Some(expr) = functions::rewrite(name, &args, &types)? {
            return Ok(Some(expr));
        }
        Ok(
            functions::implementation(name, &f.options, &types)?.map(|udf| {
                Expr::ScalarFunction(datafusion::logical_expr::expr::ScalarFunction::new_udf(
                    udf, args,
                ))
            }),
        )
    }

    /// A call of `functions_list.yaml` that takes a lambda, as DataFusion's higher-order
    /// function: `all_match(l, x -> p)` is `NOT any_match(l, x -> NOT p)`, which keeps the
    /// spec's nulls (null when no element fails and some is null).
    async fn higher_order(&self, f: &ScalarFunction, schema: &DFSchema) -> Result<Option<Expr>> {
        use datafusion::logical_expr::expr::{HigherOrderFunction, Lambda};
        let Some(declared) = self.get_extensions().functions.get(&f.function_reference) else {
            return Ok(None);
        };
        let name = substrait_fun_name(declared);
        let Some((function, negated)) = functions::higher_order(name) else {
            return Ok(None);
        };
        // A null in place of the lambda (`null::func?<i32 -> bool?>`) makes the call null.
        if f.arguments.iter().any(is_null_function) {
            let Some(output) = self.declared_type(f.output_type.as_ref()) else {
                return plan_err!(
                    "{name} with a null function names no output_type to be a null of"
                );
            };
            return Ok(Some(Expr::Literal(ScalarValue::try_from(&output)?, None)));
        }
        let mut args = from_substrait_func_args(self, &f.arguments, schema).await?;
        if negated {
            match args.get_mut(1) {
                Some(Expr::Lambda(lambda)) => {
                    let body = std::mem::replace(
                        &mut *lambda.body,
                        Expr::Literal(ScalarValue::Null, None),
                    );
                    *lambda = Lambda::new(lambda.params.clone(), Expr::Not(Box::new(body)));
                }
                _ => return plan_err!("{name} takes a list and a lambda"),
            }
        }
        let func = self.state.higher_order_function(function)?;
        let call = Expr::HigherOrderFunction(HigherOrderFunction::new(func, args));
        Ok(Some(if negated {
            Expr::Not(Box::new(call))
        } else {
            call
        }))
    }

    /// The Arrow type of a call's declared output type, where the plan's dialect reads it
    /// (`lode_plan::dialect`). A declared type the consumer cannot read is left to validation
    /// to report.
    fn declared_type(&self, output_type: Option<&Type>) -> Option<DataType> {
        output_type
            .filter(|t| self.dialect.reads_declared_output(t))
            .and_then(|t| arrow_type(self, t).ok())
    }

    /// A Wasm table function or operator from an extension relation's `WasmRel` detail.
    fn wasm_relation(
        &self,
        what: &str,
        detail: Option<&pbjson_types::Any>,
        inputs: Vec<LogicalPlan>,
    ) -> Result<LogicalPlan> {
        let Some(detail) = detail else {
            return plan_err!(
                "{what} has no detail; Lode runs extension relations whose detail is a {}",
                ext::WASM_REL_TYPE_URL
            );
        };
        let rel = ext::wasm_rel(detail, what).map_err(|e| plan_datafusion_err!("{e}"))?;
        let Some(pool) = self.modules.pool(&rel.module) else {
            return plan_err!(
                "{what}: WasmRel '{}': {}",
                rel.name,
                self.modules.unresolved(&rel.module)
            );
        };
        let schemas: Vec<_> = inputs
            .iter()
            .map(|i| Arc::new(i.schema().as_arrow().clone()))
            .collect();
        let relation = WasmRelation::from_wasm_rel(Arc::clone(pool), &rel, &schemas, what)?;
        let node = WasmRelNode::new(Arc::new(relation), inputs)?;
        Ok(LogicalPlan::Extension(Extension {
            node: Arc::new(node),
        }))
    }

    /// A read whose `filter` must hold for every row it returns. DataFusion's consumer hands
    /// the filter to the scan as a pushed-down filter, which a Parquet scan only uses to skip
    /// row groups, so rows that fail it came through (DuckDB writes every `WHERE` there). The
    /// filter is read against the base schema, before the read's projection, as the spec says.
    async fn read_filtered(&self, mut read: ReadRel) -> Result<LogicalPlan> {
        if read.filter.is_none() {
            return from_read_rel(self, &read).await;
        }
        let filter = read.filter.take();
        let projection = read.projection.take();
        let scan = from_read_rel(self, &read).await?;
        self.filter_and_mask(scan, filter.as_deref(), projection)
            .await
    }

    /// A read of `table` whose declared base schema differs from the table's physical one
    /// where no value can change, or each value is checked (see [`crate::binding`]); other
    /// differences are refused with both types named.
    async fn read_bound(
        &self,
        mut read: ReadRel,
        table_name: &str,
        table: Arc<dyn TableProvider>,
    ) -> Result<LogicalPlan> {
        let Some(base) = read.base_schema.as_ref() else {
            return from_read_rel(self, &read).await;
        };
        let declared = from_substrait_named_struct(self, base)?;
        let physical = table.schema();
        let mut bindings = Vec::with_capacity(declared.fields().len());
        let mut converts = false;
        for field in declared.fields() {
            // A column the table lacks is DataFusion's error to report, with the table's names.
            let Ok(held) = physical.field_with_name(field.name()) else {
                return from_read_rel(self, &read).await;
            };
            let how = binding(
                held.data_type(),
                held.is_nullable(),
                field.data_type(),
                field.is_nullable(),
            )
            .map_err(|why| {
                plan_datafusion_err!(
                    "column `{}`: {why}; declare it as {} in the read's base schema",
                    field.name(),
                    held.data_type()
                )
            })?;
            converts |= how != Binding::AsIs;
            bindings.push((field, how));
        }
        if !converts {
            return self.read_filtered(read).await;
        }
        let reference = TableReference::bare(table_name);
        let columns: Vec<Expr> = bindings
            .into_iter()
            .map(|(field, how)| match how {
                Binding::AsIs => Expr::Column(Column::new(Some(reference.clone()), field.name())),
                Binding::Convert { .. } => bind_expr(
                    &reference,
                    field.name(),
                    field.data_type(),
                    field.is_nullable(),
                ),
            })
            .collect();
        let scan = LogicalPlanBuilder::scan(reference.clone(), provider_as_source(table), None)?
            .project(columns)?
            .build()?;
        let filter = read.filter.take();
        self.filter_and_mask(scan, filter.as_deref(), read.projection.take())
            .await
    }

    /// `plan` filtered by a read's `filter` (read against `plan`'s fields) and cut to the
    /// read's projection.
    async fn filter_and_mask(
        &self,
        plan: LogicalPlan,
        filter: Option<&Expression>,
        projection: Option<substrait::proto::expression::MaskExpression>,
    ) -> Result<LogicalPlan> {
        let filtered = match filter {
            Some(filter) => {
                let condition = self.consume_expression(filter, plan.schema()).await?;
                LogicalPlanBuilder::from(plan).filter(condition)?.build()?
            }
            None => plan,
        };
        let Some(select) = projection.and_then(|p| p.select) else {
            return Ok(filtered);
        };
        let schema = Arc::clone(filtered.schema());
        let columns = select
            .struct_items
            .iter()
            .map(|item| {
                usize::try_from(item.field)
                    .ok()
                    .filter(|&i| i < schema.fields().len())
                    .map(|i| Expr::Column(Column::from(schema.qualified_field(i))))
                    .ok_or_else(|| {
                        plan_datafusion_err!(
                            "the read's projection selects field {}, but its base schema has {} fields",
                            item.field,
                            schema.fields().len()
                        )
                    })
            })
            .collect::<Result<Vec<_>>>()?;
        LogicalPlanBuilder::from(filtered).project(columns)?.build()
    }

    /// Registers the files of a `local_files` read as a table of this query and returns its name.
    async fn register_local_files(
        &self,
        files: &LocalFiles,
        base_schema: Option<&substrait::proto::NamedStruct>,
    ) -> Result<String> {
        let mut urls = Vec::new();
        let mut format: Option<FileFormat> = None;
        for (i, item) in files.items.iter().enumerate() {
            let uri = match &item.path_type {
                Some(PathType::UriFile(u))
                | Some(PathType::UriPath(u))
                | Some(PathType::UriFolder(u)) => u,
                Some(PathType::UriPathGlob(_)) => {
                    return plan_err!(
                        "local_files.items[{i}]: glob URIs are not supported; list the files"
                    );
                }
                None => return plan_err!("local_files.items[{i}] has no path"),
            };
            if item.start != 0 || item.length != 0 {
                return plan_err!(
                    "local_files.items[{i}] ({uri}) reads a byte range (start {}, length {}); Lode reads whole files only",
                    item.start,
                    item.length
                );
            }
            let path = uri.strip_prefix("file://").unwrap_or(uri);
            let item_format = match &item.file_format {
                Some(SubstraitFileFormat::Parquet(_)) => Some(FileFormat::Parquet),
                Some(SubstraitFileFormat::Arrow(_)) => Some(FileFormat::Arrow),
                Some(SubstraitFileFormat::Text(t)) if t.field_delimiter == "," || t.field_delimiter.is_empty() => Some(FileFormat::Csv),
                Some(other) => return plan_err!("local_files.items[{i}] ({uri}): file format {other:?} is not supported"),
                None => FileFormat::from_path(std::path::Path::new(path)),
            }
            .ok_or_else(|| plan_datafusion_err!("local_files.items[{i}] ({uri}): cannot tell the file format; use .parquet, .csv or .arrow or set file_format"))?;
            if format.is_some_and(|f| f != item_format) {
                return plan_err!("local_files mixes file formats; one read must use one format");
            }
            format = Some(item_format);
            urls.push(ListingTableUrl::parse(path)?);
        }
        let Some(format) = format else {
            return plan_err!("local_files lists no files");
        };
        let file_format: Arc<dyn datafusion::datasource::file_format::FileFormat> = match format {
            FileFormat::Parquet => Arc::new(ParquetFormat::default()),
            FileFormat::Csv => Arc::new(CsvFormat::default().with_has_header(true)),
            FileFormat::Arrow => Arc::new(ArrowFormat),
        };
        // The files are named explicitly, so no extension filter (an empty suffix matches all).
        let options = ListingOptions::new(file_format).with_file_extension("");
        let config = ListingTableConfig::new_with_multi_paths(urls).with_listing_options(options);
        // CSV carries no types: the plan's base schema is the truth. Other formats know theirs.
        let config = match (format, base_schema) {
            (FileFormat::Csv, Some(named)) => {
                let schema: Schema = from_substrait_named_struct(self, named)?.as_arrow().clone();
                config.with_schema(Arc::new(schema))
            }
            _ => config.infer_schema(self.state).await?,
        };
        let table = ListingTable::try_new(config)?;
        let mut tables = lock(&self.local_tables);
        let name = format!("{LOCAL_FILES_TABLE}{}", tables.len());
        tables.insert(name.clone(), Arc::new(table));
        Ok(name)
    }
}

/// The top-level names of a `NamedStruct` (its `names` list also holds nested field names,
/// depth first).
fn top_level_name_indices(types: &[Type]) -> Vec<usize> {
    fn nested_names(t: &Type) -> usize {
        use substrait::proto::r#type::Kind;
        match &t.kind {
            Some(Kind::Struct(s)) => s.types.iter().map(|t| 1 + nested_names(t)).sum(),
            Some(Kind::List(l)) => l.r#type.as_deref().map_or(0, nested_names),
            Some(Kind::Map(m)) => {
                m.key.as_deref().map_or(0, nested_names)
                    + m.value.as_deref().map_or(0, nested_names)
            }
            _ => 0,
        }
    }
    let mut indices = Vec::with_capacity(types.len());
    let mut next = 0;
    for t in types {
        indices.push(next);
        next += 1 + nested_names(t);
    }
    indices
}

/// Rewrites the read's column names to the table's own spelling where they differ only in case.
fn align_column_names(read: &mut ReadRel, table: &Schema) {
    let Some(base) = read.base_schema.as_mut() else {
        return;
    };
    let indices = match &base.r#struct {
        Some(s) => top_level_name_indices(&s.types),
        None => (0..base.names.len()).collect(),
    };
    for i in indices {
        let Some(name) = base.names.get(i) else {
            continue;
        };
        if table.field_with_name(name).is_ok() {
            continue;
        }
        let mut matches = table
            .fields()
            .iter()
            .filter(|f| f.name().eq_ignore_ascii_case(name));
        if let (Some(only), None) = (matches.next(), matches.next()) {
            base.names[i] = only.name().clone();
        }
    }
}

#[async_trait]
impl SubstraitConsumer for LodeConsumer<'_> {
    async fn resolve_table_ref(
        &self,
        table_ref: &TableReference,
    ) -> Result<Option<Arc<dyn TableProvider>>> {
        self.table(table_ref.table()).await.map(Some)
    }

    fn get_extensions(&self) -> &Extensions {
        self.inner.get_extensions()
    }

    fn get_function_registry(&self) -> &impl FunctionRegistry {
        self.state
    }

    async fn consume_rel(&self, rel: &Rel) -> Result<LogicalPlan> {
        match &rel.rel_type {
            Some(RelType::Reference(r)) => self.consume_subtree(r.subtree_ordinal).await,
            _ => from_substrait_rel(self, rel).await,
        }
    }

    async fn consume_read(&self, rel: &ReadRel) -> Result<LogicalPlan> {
        let table_name = match &rel.read_type {
            Some(ReadType::NamedTable(nt)) => match nt.names.last() {
                Some(name) => name.clone(),
                None => return substrait_err!("named table has no name"),
            },
            Some(ReadType::LocalFiles(lf)) => {
                self.register_local_files(lf, rel.base_schema.as_ref())
                    .await?
            }
            _ => return from_read_rel(self, rel).await,
        };
        let table = self.table(&table_name).await?;
        let mut read = rel.clone();
        if matches!(read.read_type, Some(ReadType::LocalFiles(_))) {
            read.read_type = Some(ReadType::NamedTable(NamedTable {
                names: vec![table_name.clone()],
                advanced_extension: None,
            }));
        }
        align_column_names(&mut read, &table.schema());
        self.read_bound(read, &table_name, table)
            .await
            .map_err(|e| {
                let table = if table_name.starts_with(LOCAL_FILES_TABLE) {
                    "local_files".to_string()
                } else {
                    format!("`{table_name}`")
                };
                e.context(format!("reading table {table}"))
            })
    }

    async fn consume_literal(&self, literal: &Literal) -> Result<Expr> {
        match &literal.literal_type {
            Some(LiteralType::VarChar(v)) => Ok(Expr::Literal(
                ScalarValue::Utf8(Some(v.value.clone())),
                None,
            )),
            // A null without a type kind (DuckDB, dialect hook `untyped-null-literal`): the
            // cast around it gives its type.
            Some(LiteralType::Null(t))
                if t.kind.is_none() && self.dialect.reads_untyped_nulls() =>
            {
                Ok(Expr::Literal(ScalarValue::Null, None))
            }
            // DataFusion reads precision_time only with its own type variations; a standard
            // literal has none.
            Some(LiteralType::PrecisionTime(t)) if literal.type_variation_reference == 0 => {
                Ok(Expr::Literal(time_of_day(t.precision, t.value)?, None))
            }
            Some(LiteralType::IntervalDayToSecond(i)) => {
                refuse_sub_millisecond(i)?;
                from_literal(self, literal).await
            }
            Some(LiteralType::IntervalCompound(c)) => {
                if let Some(i) = &c.interval_day_to_second {
                    refuse_sub_millisecond(i)?;
                }
                from_literal(self, literal).await
            }
            _ => from_literal(self, literal).await,
        }
    }

    /// Bounds-checks against the actual input (or outer) schema before DataFusion indexes it,
    /// which it does without a check.
    async fn consume_field_reference(
        &self,
        reference: &FieldReference,
        input_schema: &DFSchema,
    ) -> Result<Expr> {
        if let Some(ReferenceType::DirectReference(segment)) = &reference.reference_type
            && let Some(SegmentType::StructField(field)) = &segment.reference_type
        {
            let (scope, width) = match &reference.root_type {
                // Lambda parameters are checked where DataFusion resolves them.
                Some(RootType::LambdaParameterReference(_)) => {
                    return from_field_reference(self, reference, input_schema).await;
                }
                Some(RootType::OuterReference(outer)) => {
                    let steps = usize::try_from(outer.steps_out).unwrap_or(usize::MAX);
                    (
                        "outer query's input",
                        self.get_outer_schema(steps).map_or(0, |s| s.fields().len()),
                    )
                }
                _ => ("input", input_schema.fields().len()),
            };
            if usize::try_from(field.field).map_or(true, |i| i >= width) {
                return plan_err!(
                    "field reference {} is out of range: the {scope} has {width} fields",
                    field.field
                );
            }
        }
        from_field_reference(self, reference, input_schema).await
    }

    async fn consume_scalar_function(
        &self,
        f: &ScalarFunction,
        input_schema: &DFSchema,
    ) -> Result<Expr> {
        let f = enum_arguments_as_literals(f);
        if let Some(expr) = self.higher_order(&f, input_schema).await? {
            return Ok(expr);
        }
        let expr = match self.spec_function(&f, input_schema).await? {
            Some(expr) => expr,
            None => from_scalar_function(self, &f, input_schema).await?,
        };
        functions::to_declared_type(
            expr,
            self.declared_type(f.output_type.as_ref()),
            input_schema,
        )
    }

    async fn consume_project(&self, rel: &ProjectRel) -> Result<LogicalPlan> {
        let plan = from_project_rel(self, rel).await?;
        if !self.dialect.project_outputs_expressions_only(rel) {
            return Ok(plan);
        }
        // DataFusion's project outputs the input's fields, then the expressions; keep the
        // expressions (dialect hook `project-emits-expressions-only`).
        let schema = Arc::clone(plan.schema());
        let first = schema.fields().len().saturating_sub(rel.expressions.len());
        let exprs: Vec<Expr> = (first..schema.fields().len())
            .map(|i| Expr::Column(Column::from(schema.qualified_field(i))))
            .collect();
        LogicalPlanBuilder::from(plan).project(exprs)?.build()
    }

    async fn consume_aggregate(&self, rel: &AggregateRel) -> Result<LogicalPlan> {
        self.aggregate(rel).await
    }

    fn consume_user_defined_type(
        &self,
        ty: &substrait::proto::r#type::UserDefined,
    ) -> Result<DataType> {
        // DataFusion's stand-in for a null not yet typed (dialect hook
        // `null-type-without-extension`): DataFusion's type coercion types it where it is used.
        if self.dialect.is_null_type_anchor(ty.type_reference) {
            return Ok(DataType::Null);
        }
        match functions::declared_type(self.plan, ty.type_reference) {
            Some(t) => Ok(t),
            None => substrait_err!(
                "user-defined type {} is not one Lode knows (it knows the unsigned integers of {})",
                ty.type_reference,
                functions::UNSIGNED_INTEGERS_URN
            ),
        }
    }

    fn consume_user_defined_literal(
        &self,
        literal: &substrait::proto::expression::literal::UserDefined,
    ) -> Result<ScalarValue> {
        use substrait::proto::expression::literal::user_defined::{TypeAnchorType, Val};
        let Some(TypeAnchorType::TypeReference(anchor)) = literal.type_anchor_type else {
            return substrait_err!("user-defined literal without a type reference");
        };
        let Some(data_type) = functions::declared_type(self.plan, anchor) else {
            return substrait_err!(
                "user-defined literal of type {anchor}, which Lode does not know"
            );
        };
        // unsigned_integers.yaml: the value is a struct of one decimal string.
        let text = match &literal.val {
            Some(Val::Struct(s)) => match s.fields.as_slice() {
                [
                    Literal {
                        literal_type: Some(LiteralType::String(text)),
                        ..
                    },
                ] => text.as_str(),
                _ => {
                    return substrait_err!("an unsigned integer literal is a struct of one string");
                }
            },
            _ => return substrait_err!("an unsigned integer literal is a struct of one string"),
        };
        ScalarValue::try_from_string(text.to_string(), &data_type)
            .map_err(|e| substrait_datafusion_err!("`{text}` is not a {data_type} value: {e}"))
    }

    async fn consume_extension_leaf(&self, rel: &ExtensionLeafRel) -> Result<LogicalPlan> {
        self.wasm_relation("ExtensionLeafRel", rel.detail.as_ref(), Vec::new())
    }

    async fn consume_extension_single(&self, rel: &ExtensionSingleRel) -> Result<LogicalPlan> {
        let Some(input) = &rel.input else {
            return plan_err!("ExtensionSingleRel has no input");
        };
        let input = self.consume_rel(input).await?;
        self.wasm_relation("ExtensionSingleRel", rel.detail.as_ref(), vec![input])
    }

    async fn consume_extension_multi(&self, rel: &ExtensionMultiRel) -> Result<LogicalPlan> {
        if rel.inputs.is_empty() {
            return plan_err!("ExtensionMultiRel has no inputs");
        }
        let mut inputs = Vec::with_capacity(rel.inputs.len());
        for input in &rel.inputs {
            inputs.push(self.consume_rel(input).await?);
        }
        self.wasm_relation("ExtensionMultiRel", rel.detail.as_ref(), inputs)
    }

    fn push_outer_schema(&self, schema: Arc<DFSchema>) {
        self.inner.push_outer_schema(schema)
    }

    fn pop_outer_schema(&self) {
        self.inner.pop_outer_schema()
    }

    fn get_outer_schema(&self, steps_out: usize) -> Option<Arc<DFSchema>> {
        self.inner.get_outer_schema(steps_out)
    }

    fn push_lambda_parameters(
        &self,
        parameters: &[Type],
        input_schema: &DFSchema,
    ) -> Result<Vec<String>> {
        self.inner.push_lambda_parameters(parameters, input_schema)
    }

    fn pop_lambda_parameters(&self) {
        self.inner.pop_lambda_parameters()
    }

    fn lambda_variable(&self, steps_out: usize, field_idx: usize) -> Result<Expr> {
        self.inner.lambda_variable(steps_out, field_idx)
    }
}

/// Enum arguments (`extract(YEAR, …)`) as string literals, which is how DataFusion's functions
/// take such options (`date_part('YEAR', …)`); `functions::rewrite` reads `extract`'s.
fn enum_arguments_as_literals(f: &ScalarFunction) -> std::borrow::Cow<'_, ScalarFunction> {
    if !f
        .arguments
        .iter()
        .any(|a| matches!(a.arg_type, Some(ArgType::Enum(_))))
    {
        return std::borrow::Cow::Borrowed(f);
    }
    let mut f = f.clone();
    for arg in &mut f.arguments {
        if let Some(ArgType::Enum(name)) = &arg.arg_type {
            let literal = Literal {
                literal_type: Some(LiteralType::String(name.clone())),
                ..Default::default()
            };
            arg.arg_type = Some(ArgType::Value(Expression {
                rex_type: Some(RexType::Literal(literal)),
            }));
        }
    }
    std::borrow::Cow::Owned(f)
}

/// DataFusion holds an `interval_day` in Arrow's `Interval(DayTime)`, days and milliseconds,
/// and drops any finer part of a literal without a word; Lode refuses such a literal instead.
fn refuse_sub_millisecond(interval: &IntervalDayToSecond) -> Result<()> {
    use substrait::proto::expression::literal::interval_day_to_second::PrecisionMode;
    // The value's finest unit as 10^-digits s.
    let (digits, subseconds) = match interval.precision_mode {
        Some(PrecisionMode::Precision(p)) => (p, interval.subseconds),
        #[expect(deprecated)]
        Some(PrecisionMode::Microseconds(us)) => (6, i64::from(us)),
        None => return Ok(()),
    };
    let per_millisecond = 10_i64.checked_pow((digits - 3).max(0).unsigned_abs());
    if per_millisecond.is_some_and(|units| subseconds % units == 0) {
        return Ok(());
    }
    substrait_err!(
        "an interval_day literal with {subseconds} subseconds at precision {digits} is finer \
         than the millisecond Lode holds intervals in (Arrow's Interval(DayTime)); round it to \
         milliseconds"
    )
}

/// A `precision_time` value (units of 10^-precision seconds since midnight) as the Arrow time
/// type of the nearest unit that holds it exactly.
fn time_of_day(precision: i32, value: i64) -> Result<ScalarValue> {
    let out_of_range = || {
        substrait_datafusion_err!(
            "precision_time {value} at precision {precision} is not a time of day"
        )
    };
    let scaled = |unit_digits: i32| {
        10i64
            .checked_pow((unit_digits - precision) as u32)
            .and_then(|f| value.checked_mul(f))
            .ok_or_else(out_of_range)
    };
    let narrow = |v: i64| i32::try_from(v).map_err(|_| out_of_range());
    Ok(match precision {
        0 => ScalarValue::Time32Second(Some(narrow(value)?)),
        1..=3 => ScalarValue::Time32Millisecond(Some(narrow(scaled(3)?)?)),
        4..=6 => ScalarValue::Time64Microsecond(Some(scaled(6)?)),
        7..=9 => ScalarValue::Time64Nanosecond(Some(scaled(9)?)),
        p => {
            return substrait_err!(
                "precision_time with precision {p}: Lode holds at most 9 digits"
            );
        }
    })
}
