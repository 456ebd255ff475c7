//! What the consumer can convert, as the validator asks it ([`ExecutorSupport`]): the same
//! lookups, so a plan the validator calls valid is one the consumer converts.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::execution::{FunctionRegistry, SessionState};
use datafusion::logical_expr::Signature;
use datafusion::logical_expr::type_coercion::functions::{UDFCoercionExt, fields_with_udf};
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

    /// The module's signatures with DataFusion's coercion of arguments, as a run types the
    /// call (`crate::wasm::signature_of` is the function's signature there too).
    fn wasm_call(
        &self,
        sha256: &str,
        name: &str,
        aggregate: bool,
        args: &[lode_plan::DataType],
    ) -> Option<Result<Option<lode_plan::DataType>, String>> {
        let pool = self.modules.pool(sha256)?;
        let spec = pool.module().functions().iter().find(|f| f.name == name)?;
        let wanted = if aggregate {
            lode_wasm::Kind::Aggregate
        } else {
            lode_wasm::Kind::Scalar
        };
        if spec.kind != wanted {
            return Some(Err(format!(
                "it is a {} function of the module, not a{}",
                lode_wasm::kind_name(spec.kind),
                if aggregate { "n aggregate" } else { " scalar" }
            )));
        }
        let fields: Vec<FieldRef> = args
            .iter()
            .map(|t| crate::wasm::arrow_type_of(t).map(|t| Arc::new(Field::new("arg", t, true))))
            .collect::<Option<_>>()?;
        let coercion = WasmCoercion {
            name,
            signature: crate::wasm::signature_of(spec),
        };
        Some(match fields_with_udf(&fields, &coercion) {
            Ok(coerced) => {
                let coerced: Vec<DataType> =
                    coerced.iter().map(|f| f.data_type().clone()).collect();
                let result = spec
                    .signatures
                    .iter()
                    .find(|s| s.args == coerced)
                    .and_then(|s| {
                        lode_plan::DataType::parse(&crate::wasm::substrait_type_name(&s.result))
                    });
                Ok(result.map(|t| t.with_nullable(true)))
            }
            Err(_) => Err(format!("its signatures are {}", signatures(spec))),
        })
    }
}

/// A Wasm function's signature as DataFusion's argument coercion reads it.
struct WasmCoercion<'a> {
    name: &'a str,
    signature: Signature,
}

impl UDFCoercionExt for WasmCoercion<'_> {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, _arg_types: &[DataType]) -> datafusion::common::Result<Vec<DataType>> {
        // Wasm signatures are exact lists of types, which coerce by DataFusion's own rules.
        datafusion::common::not_impl_err!("Wasm functions have no user-defined coercion")
    }
}

/// A function's signatures as `lode module inspect` names them: `(lat1 fp64, ...) -> fp64`.
fn signatures(spec: &lode_wasm::FunctionSpec) -> String {
    let rendered: Vec<String> = spec
        .signatures
        .iter()
        .map(|s| {
            let args: Vec<String> = s
                .arg_names
                .iter()
                .zip(&s.args)
                .map(|(name, t)| format!("{name} {}", crate::wasm::substrait_type_name(t)))
                .collect();
            format!(
                "({}) -> {}",
                args.join(", "),
                crate::wasm::substrait_type_name(&s.result)
            )
        })
        .collect();
    rendered.join(", ")
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
