//! What the consumer can convert, as the validator asks it ([`ExecutorSupport`]): the same
//! lookups, so a plan the validator calls valid is one the consumer converts.

use datafusion::arrow::datatypes::DataType;
use datafusion::execution::{FunctionRegistry, SessionState};
use datafusion_substrait::extensions::Extensions;
use datafusion_substrait::logical_plan::consumer::{
    DefaultSubstraitConsumer, SubstraitConsumer, from_substrait_type, name_to_op,
    substrait_to_df_name,
};
use lode_plan::{Call, ExecutorSupport};

use crate::wasm::PlanModules;
use substrait::proto::{Plan, Type};

/// Answers with the same lookups the Substrait consumer makes, so a function the validator
/// accepts is one the consumer can convert. One answers for one plan.
pub struct DataFusionSupport<'a> {
    state: &'a SessionState,
    /// The modules this query can use: the plan's and those supplied with `--module`.
    modules: &'a PlanModules,
    /// The plan's extension declarations, as the consumer reads them.
    extensions: Extensions,
}

impl<'a> DataFusionSupport<'a> {
    /// What `plan` may call in `state`, with `modules` for its Wasm functions.
    pub fn new(state: &'a SessionState, modules: &'a PlanModules, plan: &Plan) -> Self {
        DataFusionSupport {
            state,
            modules,
            extensions: Extensions::try_from(&plan.extensions).unwrap_or_default(),
        }
    }
}

impl ExecutorSupport for DataFusionSupport<'_> {
    fn scalar_function(&self, name: &str) -> bool {
        let registry = self.state;
        let registered =
            |n: &str| registry.udf(n).is_ok() || registry.higher_order_function(n).is_ok();
        registered(name)
            || substrait_to_df_name(name).is_some_and(registered)
            || name_to_op(name).is_some()
            || CONSUMER_BUILTINS.contains(&name)
            || crate::functions::implements(name)
    }

    fn aggregate_function(&self, name: &str, call: Call<'_>) -> bool {
        self.state
            .udaf(crate::functions::aggregate_runs_as(name, call))
            .is_ok()
    }

    fn window_function(&self, name: &str, call: Call<'_>) -> bool {
        self.state.udwf(name).is_ok() || self.aggregate_function(name, call)
    }

    /// The consumer's own type conversion, with the plan's type declarations.
    fn data_type(&self, plan: &Plan, ty: &Type) -> Option<String> {
        if let Some(substrait::proto::r#type::Kind::UserDefined(u)) = &ty.kind
            && crate::functions::declared_type(plan, u.type_reference).is_some()
        {
            return None;
        }
        let consumer = DefaultSubstraitConsumer::new(&self.extensions, self.state);
        arrow_type(&consumer, ty).err().map(|e| e.strip_backtrace())
    }

    fn supplies_module(&self, sha256: &str) -> bool {
        self.modules.pool(sha256).is_some()
    }
}

/// The Arrow type the consumer gives a Substrait type.
pub(crate) fn arrow_type(
    consumer: &impl SubstraitConsumer,
    ty: &Type,
) -> datafusion::common::Result<DataType> {
    // Names only matter for struct fields; the type does not depend on them.
    let names = vec![String::new(); 1 + nested_fields(ty)];
    from_substrait_type(consumer, ty, &names, &mut 0)
}

/// How many field names a type consumes below its top level (struct fields, recursively).
fn nested_fields(ty: &Type) -> usize {
    use substrait::proto::r#type::Kind;
    match &ty.kind {
        Some(Kind::Struct(s)) => s.types.iter().map(|t| 1 + nested_fields(t)).sum(),
        Some(Kind::List(l)) => l.r#type.as_deref().map_or(0, nested_fields),
        Some(Kind::Map(m)) => {
            m.key.as_deref().map_or(0, nested_fields) + m.value.as_deref().map_or(0, nested_fields)
        }
        _ => 0,
    }
}

/// Functions datafusion-substrait turns into expressions of their own (`BuiltinExprBuilder`,
/// private there): `like`, `is_null`, `between`, ….
const CONSUMER_BUILTINS: &[&str] = &[
    "not",
    "like",
    "ilike",
    "like_match",
    "like_imatch",
    "like_not_match",
    "like_not_imatch",
    "is_null",
    "is_not_null",
    "is_true",
    "is_false",
    "is_not_true",
    "is_not_false",
    "is_unknown",
    "is_not_unknown",
    "negative",
    "negate",
    "and_not",
    "xor",
    "between",
    "logb",
];
