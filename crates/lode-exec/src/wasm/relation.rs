//! Wasm table functions and operators as relations of a DataFusion logical plan.
//!
//! A `WasmRel` detail (of an `ExtensionLeafRel`, `ExtensionSingleRel` or `ExtensionMultiRel`)
//! is bound once, against the guest, into a [`WasmRelation`]; a [`WasmRelNode`] carries it
//! through DataFusion's optimizer to the physical planner (`exec.rs`).

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BinaryArray, BooleanArray, Float64Array, Int64Array, NullArray, StringArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::{RecordBatch, RecordBatchOptions};
use datafusion::common::{DFSchema, DFSchemaRef, Result, ScalarValue, plan_datafusion_err};
use datafusion::logical_expr::{Expr, LogicalPlan, UserDefinedLogicalNodeCore};
use lode_plan::ext::WasmRel;
use lode_plan::ext::proto::{self, distribution, value};
use lode_wasm::Kind;

use super::{InstancePool, substrait_type_name, to_datafusion};

/// How an operator needs its input rows spread over partitions.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum InputDistribution {
    /// However the input comes: one guest instance per input partition.
    Any,
    /// All rows in one partition, one instance.
    Single,
    /// Rows with equal values of these input columns in the same partition.
    Hash(Vec<usize>),
}

/// A table function or operator of a module, bound to its arguments, config and inputs.
pub(crate) struct WasmRelation {
    pub pool: Arc<InstancePool>,
    pub name: String,
    pub kind: Kind,
    /// Text passed to the guest's bind and open (the plan's `WasmRel.config`).
    pub config: String,
    /// A table function's literal arguments, one row (no columns for an operator).
    pub arguments: RecordBatch,
    /// How many partitions a table function generates independently.
    pub partitions: usize,
    pub distribution: InputDistribution,
    pub deterministic: bool,
    pub stateful: bool,
    /// The output schema, as the guest bound it.
    pub schema: SchemaRef,
}

impl fmt::Debug for WasmRelation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.pool.module().name(), self.name)
    }
}

impl WasmRelation {
    /// Binds table function `name` of the pool's module to one row of literal `arguments`.
    pub fn table(
        pool: Arc<InstancePool>,
        name: &str,
        arguments: RecordBatch,
        config: String,
    ) -> Result<Self> {
        pool.module()
            .function(name, Kind::Table)
            .map_err(to_datafusion)?;
        let (fields, partitions) = pool
            .with(|p| p.instance.bind_table(name, &arguments, config.as_bytes()))
            .map_err(to_datafusion)?;
        Ok(WasmRelation {
            pool,
            name: name.to_string(),
            kind: Kind::Table,
            config,
            arguments,
            partitions: (partitions as usize).max(1),
            distribution: InputDistribution::Any,
            deterministic: true,
            stateful: false,
            schema: Arc::new(Schema::new(fields)),
        })
    }

    /// Binds operator `name` of the pool's module to its inputs' schemas.
    pub fn operator(
        pool: Arc<InstancePool>,
        name: &str,
        inputs: &[SchemaRef],
        config: String,
        distribution: InputDistribution,
    ) -> Result<Self> {
        pool.module()
            .function(name, Kind::Operator)
            .map_err(to_datafusion)?;
        if let InputDistribution::Hash(fields) = &distribution {
            for (i, input) in inputs.iter().enumerate() {
                if let Some(bad) = fields.iter().find(|f| **f >= input.fields().len()) {
                    return Err(plan_datafusion_err!(
                        "operator '{name}': hash distribution field {bad} is out of range for input {i}, which has {} columns",
                        input.fields().len()
                    ));
                }
            }
        }
        let fields = pool
            .with(|p| p.instance.bind_operator(name, inputs, config.as_bytes()))
            .map_err(to_datafusion)?;
        Ok(WasmRelation {
            pool,
            name: name.to_string(),
            kind: Kind::Operator,
            config,
            arguments: RecordBatch::new_empty(Arc::new(Schema::empty())),
            partitions: 1,
            distribution,
            deterministic: true,
            stateful: false,
            schema: Arc::new(Schema::new(fields)),
        })
    }

    /// Binds a plan's `WasmRel` (`at` says where it is, for errors) over `inputs`, and checks
    /// the output the plan declares against the guest's.
    pub fn from_wasm_rel(
        pool: Arc<InstancePool>,
        rel: &WasmRel,
        inputs: &[SchemaRef],
        at: &str,
    ) -> Result<Self> {
        let context = |e: datafusion::error::DataFusionError| {
            e.context(format!("{at}: WasmRel '{}'", rel.name))
        };
        let mut relation = if inputs.is_empty() {
            let arguments = arguments_batch(&rel.arguments).map_err(context)?;
            Self::table(pool, &rel.name, arguments, rel.config.clone()).map_err(context)?
        } else {
            let distribution = match rel.distribution.as_ref() {
                None => InputDistribution::Any,
                Some(d) => match distribution::Kind::try_from(d.kind) {
                    Ok(distribution::Kind::Any) => InputDistribution::Any,
                    Ok(distribution::Kind::Single) => InputDistribution::Single,
                    Ok(distribution::Kind::Hash) if !d.fields.is_empty() => {
                        InputDistribution::Hash(d.fields.iter().map(|f| *f as usize).collect())
                    }
                    Ok(distribution::Kind::Hash) => {
                        return Err(context(plan_datafusion_err!(
                            "hash distribution names no fields"
                        )));
                    }
                    Err(_) => {
                        return Err(context(plan_datafusion_err!(
                            "unknown distribution kind {}",
                            d.kind
                        )));
                    }
                },
            };
            Self::operator(pool, &rel.name, inputs, rel.config.clone(), distribution)
                .map_err(context)?
        };
        relation.deterministic = rel.deterministic;
        relation.stateful = rel.stateful;
        if !rel.output.is_empty() {
            check_declared_output(&rel.output, &relation.schema).map_err(context)?;
        }
        Ok(relation)
    }

    /// The `WasmRel` that describes this relation in a plan.
    pub fn to_wasm_rel(&self) -> Result<WasmRel> {
        let distribution = match &self.distribution {
            InputDistribution::Any => distribution::Kind::Any,
            InputDistribution::Single => distribution::Kind::Single,
            InputDistribution::Hash(_) => distribution::Kind::Hash,
        };
        let fields = match &self.distribution {
            InputDistribution::Hash(fields) => fields.iter().map(|f| *f as u32).collect(),
            _ => Vec::new(),
        };
        Ok(WasmRel {
            module: self.pool.module().sha256().to_string(),
            name: self.name.clone(),
            config: self.config.clone(),
            arguments: argument_values(&self.arguments)?,
            output: self.schema.fields().iter().map(|f| column_of(f)).collect(),
            distribution: (self.kind == Kind::Operator).then_some(proto::Distribution {
                kind: distribution as i32,
                fields,
            }),
            deterministic: self.deterministic,
            stateful: self.stateful,
        })
    }

    fn same_binding(&self, other: &Self) -> bool {
        self.pool.module().sha256() == other.pool.module().sha256()
            && self.name == other.name
            && self.config == other.config
            && self.arguments == other.arguments
            && self.distribution == other.distribution
    }
}

/// The plan's declared output column (and its children) for a bound field.
fn column_of(field: &Field) -> proto::Column {
    let children = match field.data_type() {
        DataType::Struct(fields) => fields.iter().map(|f| column_of(f)).collect(),
        DataType::List(item) => vec![column_of(item)],
        _ => Vec::new(),
    };
    proto::Column {
        name: field.name().clone(),
        r#type: substrait_type_name(field.data_type()),
        nullable: field.is_nullable(),
        children,
    }
}

/// Rejects a declared output that differs from the bound one in column count, names or types.
fn check_declared_output(declared: &[proto::Column], bound: &Schema) -> Result<()> {
    let render = |columns: Vec<(String, String)>| {
        columns
            .into_iter()
            .map(|(n, t)| format!("{n} {t}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let declared: Vec<(String, String)> = declared
        .iter()
        .map(|c| (c.name.clone(), c.r#type.clone()))
        .collect();
    let bound: Vec<(String, String)> = bound
        .fields()
        .iter()
        .map(|f| (f.name().clone(), substrait_type_name(f.data_type())))
        .collect();
    let same = declared.len() == bound.len()
        && declared
            .iter()
            .zip(&bound)
            .all(|((dn, dt), (bn, bt))| dn == bn && normalize(dt) == normalize(bt));
    if same {
        return Ok(());
    }
    Err(plan_datafusion_err!(
        "the plan declares output ({}) but the guest binds ({}); regenerate the plan or fix its `output`",
        render(declared),
        render(bound)
    ))
}

/// Type names compared without spaces, so `struct<i64,string>` equals `struct<i64, string>`.
fn normalize(type_name: &str) -> String {
    type_name.chars().filter(|c| !c.is_whitespace()).collect()
}

/// One row of a table function's literal arguments, columns `arg0`, `arg1`, ...
pub(crate) fn arguments_batch(values: &[proto::Value]) -> Result<RecordBatch> {
    let mut fields = Vec::with_capacity(values.len());
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(values.len());
    for (i, v) in values.iter().enumerate() {
        let column: ArrayRef = match &v.kind {
            None | Some(value::Kind::Null(_)) => Arc::new(NullArray::new(1)),
            Some(value::Kind::Boolean(b)) => Arc::new(BooleanArray::from(vec![*b])),
            Some(value::Kind::I64(n)) => Arc::new(Int64Array::from(vec![*n])),
            Some(value::Kind::Fp64(x)) => Arc::new(Float64Array::from(vec![*x])),
            Some(value::Kind::String(s)) => Arc::new(StringArray::from(vec![s.as_str()])),
            Some(value::Kind::Binary(b)) => Arc::new(BinaryArray::from(vec![b.as_ref()])),
        };
        fields.push(Field::new(
            format!("arg{i}"),
            column.data_type().clone(),
            true,
        ));
        columns.push(column);
    }
    let options = RecordBatchOptions::new().with_row_count(Some(1));
    Ok(RecordBatch::try_new_with_options(
        Arc::new(Schema::new(fields)),
        columns,
        &options,
    )?)
}

/// A SQL literal as a `WasmRel` argument: integers widen to i64, floats to fp64, text to string.
pub(crate) fn argument_value(literal: &ScalarValue) -> Result<proto::Value> {
    use ScalarValue as S;
    let kind = if literal.is_null() {
        value::Kind::Null(true)
    } else {
        match literal {
            S::Boolean(Some(b)) => value::Kind::Boolean(*b),
            S::Int8(Some(n)) => value::Kind::I64(i64::from(*n)),
            S::Int16(Some(n)) => value::Kind::I64(i64::from(*n)),
            S::Int32(Some(n)) => value::Kind::I64(i64::from(*n)),
            S::Int64(Some(n)) => value::Kind::I64(*n),
            S::UInt8(Some(n)) => value::Kind::I64(i64::from(*n)),
            S::UInt16(Some(n)) => value::Kind::I64(i64::from(*n)),
            S::UInt32(Some(n)) => value::Kind::I64(i64::from(*n)),
            S::UInt64(Some(n)) => value::Kind::I64(i64::try_from(*n).map_err(|_| {
                plan_datafusion_err!("argument {n} does not fit a 64-bit signed integer")
            })?),
            S::Float32(Some(x)) => value::Kind::Fp64(f64::from(*x)),
            S::Float64(Some(x)) => value::Kind::Fp64(*x),
            S::Utf8(Some(s)) | S::LargeUtf8(Some(s)) | S::Utf8View(Some(s)) => {
                value::Kind::String(s.clone())
            }
            S::Binary(Some(b)) | S::LargeBinary(Some(b)) | S::BinaryView(Some(b)) => {
                value::Kind::Binary(b.clone())
            }
            other => {
                return Err(plan_datafusion_err!(
                    "a table function argument must be a boolean, number, string or binary literal, not {other:?} ({})",
                    other.data_type()
                ));
            }
        }
    };
    Ok(proto::Value { kind: Some(kind) })
}

fn argument_values(arguments: &RecordBatch) -> Result<Vec<proto::Value>> {
    arguments
        .columns()
        .iter()
        .map(|c| argument_value(&ScalarValue::try_from_array(c, 0)?))
        .collect()
}

/// A Wasm table function (no inputs) or operator in a logical plan.
#[derive(Debug, Clone)]
pub(crate) struct WasmRelNode {
    pub relation: Arc<WasmRelation>,
    inputs: Vec<LogicalPlan>,
    schema: DFSchemaRef,
}

impl WasmRelNode {
    pub fn new(relation: Arc<WasmRelation>, inputs: Vec<LogicalPlan>) -> Result<Self> {
        let schema = Arc::new(DFSchema::try_from(relation.schema.as_ref().clone())?);
        Ok(WasmRelNode {
            relation,
            inputs,
            schema,
        })
    }
}

impl PartialEq for WasmRelNode {
    fn eq(&self, other: &Self) -> bool {
        (Arc::ptr_eq(&self.relation, &other.relation)
            || self.relation.same_binding(&other.relation))
            && self.inputs == other.inputs
    }
}

impl Eq for WasmRelNode {}

impl Hash for WasmRelNode {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.relation.pool.module().sha256().hash(state);
        self.relation.name.hash(state);
        self.relation.config.hash(state);
        self.inputs.hash(state);
    }
}

impl PartialOrd for WasmRelNode {
    /// Nodes of different functions order by name; two different bindings of one function
    /// are unordered.
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        if self == other {
            return Some(std::cmp::Ordering::Equal);
        }
        let order = (self.relation.pool.module().sha256(), &self.relation.name)
            .cmp(&(other.relation.pool.module().sha256(), &other.relation.name));
        order.is_ne().then_some(order)
    }
}

impl UserDefinedLogicalNodeCore for WasmRelNode {
    fn name(&self) -> &str {
        match self.relation.kind {
            Kind::Table => "WasmTable",
            _ => "WasmOperator",
        }
    }

    fn inputs(&self) -> Vec<&LogicalPlan> {
        self.inputs.iter().collect()
    }

    fn schema(&self) -> &DFSchemaRef {
        &self.schema
    }

    fn expressions(&self) -> Vec<Expr> {
        Vec::new()
    }

    fn fmt_for_explain(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let r = &self.relation;
        write!(f, "{}: {:?}", self.name(), r)?;
        match r.kind {
            Kind::Table => write!(f, " partitions={}", r.partitions),
            _ => write!(f, " distribution={:?}", r.distribution),
        }
    }

    fn with_exprs_and_inputs(&self, _exprs: Vec<Expr>, inputs: Vec<LogicalPlan>) -> Result<Self> {
        Ok(WasmRelNode {
            relation: Arc::clone(&self.relation),
            inputs,
            schema: Arc::clone(&self.schema),
        })
    }
}
