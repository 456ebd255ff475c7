//! Substrait function semantics on DataFusion: where DataFusion lacks a standard function, names
//! it differently, or behaves differently from the spec, this module supplies Lode's own.
//!
//! | spec | DataFusion alone | Lode |
//! |---|---|---|
//! | integer `add`/`subtract`/`multiply`/`divide`/`modulus`/`negate`/`abs` with `overflow`, `on_division_by_zero`, `on_domain_error`, `division_type` | options ignored (wraps, fails on a zero divisor) | [`integer::IntegerArithmetic`] |
//! | `power` of integers | a float | [`integer::IntegerArithmetic`]: an integer, failing on overflow |
//! | `shift_left`, `shift_right`, `shift_right_unsigned`, `bitwise_not` | missing | [`integer`] |
//! | `is_finite`, `is_infinite` | missing | [`float`] |
//! | `ln`, `log10`, `log2`, `logb`, `sqrt`, `acosh` with `on_domain_error`, `on_log_zero`; decimal `power` with `complex_number_result` | options ignored | [`float::PartialFunction`]; an option value the YAML does not allow is an error |
//! | `contains`/`starts_with`/`ends_with` with `case_sensitivity: CASE_INSENSITIVE`; `concat` with `null_handling: ACCEPT_NULLS` | options ignored | [`strings`] |
//! | `sort(list)` with `direction`; `bitwise_and/or/xor` and `factorial` of `decimal<P,0>`; `add_intervals` | missing | [`misc`] |
//! | `regexp_count_substring`, `regexp_match_substring`, `regexp_string_split`, `string_split`; `regexp_replace` with position and occurrence; their `case_sensitivity`/`multiline`/`dotall` options | missing | [`regex`] |
//! | `extract(component, [indexing,] x)` | `date_part('component', x)`, Postgres names, no `indexing`, `i32`/float results | [`datetime::extract`]: `date_part` under the spec's names, `indexing`, `SUNDAY_DAY_OF_WEEK`, exact `UNIX_TIME`, `SUBSECOND`, `i64` |
//! | `ceil`, `floor` of `decimal<P,S>` | `decimal<P,S>`, which overflows (`ceil(9.9) = 10`) | [`misc::decimal_rounding`]: `decimal<P-S+1,0>` as the YAML types it |
//! | `variance(SAMPLE\|POPULATION, x)`, `std_dev(…)` | `var_samp`, `var_pop`, `stddev`, `stddev_pop` | [`normalize_aggregates`] renames the call |
//! | `approx_count_distinct(x)` | `approx_distinct(x)` | [`normalize_aggregates`] renames the call |
//! | `sum` with `overflow: ERROR` | wraps (integers), widens (decimals) | [`aggregate::CheckedSum`], by renaming |
//! | `transform`, `filter`, `any_match`, `all_match` (lambdas) | `array_transform`, `array_filter`, `array_any_match` | [`higher_order`]; `all_match` as `NOT any_match(NOT …)` |
//! | `u!u8` … `u!u64` of `unsigned_integers.yaml` | unknown user-defined types | Arrow's unsigned integers ([`standard_type`]) |
//! | a date plus or minus an `interval_day` | a date | a timestamp ([`misc::DateAndInterval`]) |
//! | `substring` with `negative_start: WRAP_FROM_END` | option ignored | [`strings::SubstringFromEnd`] |
//! | a call whose declared `output_type` differs from DataFusion's (`char_length` is `i64`, DataFusion's `Int32`; `sum(decimal<P,S>)` is `decimal<38,S>`) | DataFusion's type | [`to_declared_type`] casts to the declared type (within the same family: integers, floats, decimals, strings) |
//!
//! The spec's function test corpus (`lode conformance functions`) measures the result.

mod aggregate;
mod datetime;
mod float;
mod integer;
mod matcher;
mod misc;
mod regex;
mod strings;

use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{DFSchema, Result, plan_err};
use datafusion::execution::context::SessionContext;
use datafusion::logical_expr::{Cast, Expr, ExprSchemable, ScalarUDF};
use substrait::proto::extensions::SimpleExtensionDeclaration;
use substrait::proto::extensions::simple_extension_declaration::{ExtensionFunction, MappingType};
use substrait::proto::function_argument::ArgType;
use substrait::proto::{FunctionOption, Plan};

use integer::{Arithmetic, BitwiseNot, IntegerArithmetic, IntegerOptions, Overflow, Shift};

/// The extension defining unsigned integers as user-defined types (`u!u8` … `u!u64`).
pub(crate) const UNSIGNED_INTEGERS_URN: &str = "extension:io.substrait:unsigned_integers";

/// The Arrow type of a user-defined type of a standard extension, for those Lode maps.
pub(crate) fn standard_type(urn: &str, name: &str) -> Option<DataType> {
    if urn != UNSIGNED_INTEGERS_URN {
        return None;
    }
    Some(match name {
        "u8" => DataType::UInt8,
        "u16" => DataType::UInt16,
        "u32" => DataType::UInt32,
        "u64" => DataType::UInt64,
        _ => return None,
    })
}

/// The Arrow type of the user-defined type `plan` declares under `anchor`, when it is one of a
/// standard extension Lode maps.
pub(crate) fn declared_type(plan: &Plan, anchor: u32) -> Option<DataType> {
    let declared = plan.extensions.iter().find_map(|d| match &d.mapping_type {
        Some(MappingType::ExtensionType(t)) if t.type_anchor == anchor => Some(t),
        _ => None,
    })?;
    let urn = plan
        .extension_urns
        .iter()
        .find(|u| u.extension_urn_anchor == declared.extension_urn_reference)?;
    standard_type(&urn.urn, &declared.name)
}

/// Registers the standard functions DataFusion lacks, under their Substrait names.
pub(crate) fn register(ctx: &SessionContext) {
    for udf in Shift::udfs() {
        ctx.register_udf(udf);
    }
    ctx.register_udf(BitwiseNot::udf());
    for udf in float::FloatPredicate::udfs() {
        ctx.register_udf(udf);
    }
    for udf in regex::RegexFunction::missing_from_datafusion() {
        ctx.register_udf(udf);
    }
    ctx.register_udaf(aggregate::CheckedSum::udaf());
    // Reads bound to a plan's declared types call it; stage plans name it.
    ctx.register_udf(crate::binding::BindColumn::udf());
}

/// The DataFusion higher-order function for a lambda-taking function of `functions_list.yaml`,
/// and whether the call is its negation with the lambda's body negated (`all_match`).
pub(crate) fn higher_order(name: &str) -> Option<(&'static str, bool)> {
    Some(match name {
        "transform" => ("array_transform", false),
        "filter" => ("array_filter", false),
        "any_match" => ("array_any_match", false),
        "all_match" => ("array_any_match", true),
        _ => return None,
    })
}

/// Whether a declaration's compound signature (`add:date_iday`) asks for one of Lode's
/// implementations of a function DataFusion otherwise runs: the signature, not the name,
/// tells, so ordinary `add` calls stay DataFusion's operator.
pub(crate) fn claims(compound: &str) -> bool {
    matches!(
        compound.split_once(':'),
        Some(("add" | "subtract", "date_iday"))
    )
}

/// Whether Lode may implement calls of this name itself (see [`implementation`]) even without
/// options. The validator counts these as functions the executor has.
pub(crate) fn implements(name: &str) -> bool {
    regex::Kind::from_name(name).is_some()
        || misc::Bitwise::from_name(name).is_some()
        || higher_order(name).is_some()
        || matches!(
            name,
            "sort" | "add_intervals" | "factorial" | "power" | "extract" | "ceil" | "floor"
        )
}

/// A call Lode writes as other DataFusion expressions (which keeps DataFusion's optimisations
/// of them), if it is one; `types` are the arguments' types.
pub(crate) fn rewrite(name: &str, args: &[Expr], types: &[DataType]) -> Result<Option<Expr>> {
    match (name, args, types) {
        ("extract", ..) => datetime::extract(args, types).map(Some),
        ("ceil" | "floor", [x], [t]) => Ok(misc::decimal_rounding(name, x, t)),
        _ => Ok(None),
    }
}

/// `expr` cast to `to`.
fn cast(expr: Expr, to: DataType) -> Expr {
    Expr::Cast(Cast::new(Box::new(expr), to))
}

/// The value a call gives an option (`overflow` -> `ERROR`): its first preference.
fn option<'a>(options: &'a [FunctionOption], name: &str) -> Option<&'a str> {
    options
        .iter()
        .find(|o| o.name.eq_ignore_ascii_case(name))
        .and_then(|o| o.preference.first())
        .map(String::as_str)
}

/// The value a call gives option `name` among `allowed`, if it gives one.
fn undefined_option(
    options: &[FunctionOption],
    name: &str,
    allowed: &[float::Undefined],
) -> Result<Option<float::Undefined>> {
    option(options, name)
        .map(|value| float::Undefined::from_option(name, value, allowed))
        .transpose()
}

/// Lode's implementation of a call DataFusion would get wrong (options it ignores, a form it
/// lacks), if it has one for these argument types. `None`: DataFusion's own function is right.
/// An option value the extension does not define is an error, never ignored. The function
/// carries the call ([`spec_call_of`]), so a stage plan can name it to executors, which build
/// it again ([`spec_function`]).
pub(crate) fn implementation(
    name: &str,
    options: &[FunctionOption],
    arg_types: &[DataType],
) -> Result<Option<Arc<ScalarUDF>>> {
    let call = SpecCall {
        name: name.to_string(),
        options: options
            .iter()
            .filter_map(|o| Some((o.name.clone(), o.preference.first()?.clone())))
            .collect(),
        arg_types: arg_types.to_vec(),
    };
    Ok(build(name, options, arg_types)?
        .map(|inner| Arc::new(ScalarUDF::new_from_impl(SpecFunction { call, inner }))))
}

/// A call Lode implements itself, as it travels to executors: what [`implementation`] needs
/// to build its function again.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SpecCall {
    /// The function's Substrait name (`ln`, `add`).
    pub name: String,
    /// The call's options, each with the value it prefers (`on_domain_error` -> `NULL`).
    pub options: Vec<(String, String)>,
    /// The argument types the implementation was built for.
    pub arg_types: Vec<DataType>,
}

/// The call behind `udf`, if it is one of Lode's implementations.
pub fn spec_call_of(udf: &ScalarUDF) -> Option<&SpecCall> {
    udf.inner()
        .downcast_ref::<SpecFunction>()
        .map(|function| &function.call)
}

/// The function Lode implements `call` with, built again (on an executor).
pub fn spec_function(call: &SpecCall) -> Result<Arc<ScalarUDF>> {
    let options: Vec<FunctionOption> = call
        .options
        .iter()
        .map(|(name, value)| FunctionOption {
            name: name.clone(),
            preference: vec![value.clone()],
        })
        .collect();
    implementation(&call.name, &options, &call.arg_types)?.ok_or_else(|| {
        datafusion::common::DataFusionError::Plan(format!(
            "Lode has no implementation of {}({:?}) with options {:?}",
            call.name, call.arg_types, call.options
        ))
    })
}

/// One of Lode's implementations with the call it implements.
#[derive(Debug, PartialEq, Eq, Hash)]
struct SpecFunction {
    call: SpecCall,
    inner: Arc<ScalarUDF>,
}

impl datafusion::logical_expr::ScalarUDFImpl for SpecFunction {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn signature(&self) -> &datafusion::logical_expr::Signature {
        self.inner.signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.inner.return_type(arg_types)
    }

    fn invoke_with_args(
        &self,
        args: datafusion::logical_expr::ScalarFunctionArgs,
    ) -> Result<datafusion::logical_expr::ColumnarValue> {
        self.inner.invoke_with_args(args)
    }
}

fn build(
    name: &str,
    options: &[FunctionOption],
    arg_types: &[DataType],
) -> Result<Option<Arc<ScalarUDF>>> {
    if let Some(kind) = regex::Kind::from_name(name) {
        return Ok(Some(regex::RegexFunction::udf(kind, regex::flags(options))));
    }
    if let Some(test) = strings::Test::from_name(name) {
        let insensitive =
            option(options, "case_sensitivity").is_some_and(|v| v.starts_with("CASE_INSENSITIVE"));
        return Ok(insensitive.then(|| strings::CaseInsensitive::udf(test)));
    }
    if let Some(function) = float::Partial::from_call(name, arg_types) {
        let (domain_option, allowed) = function.domain_option();
        let domain = undefined_option(options, domain_option, allowed)?;
        let zero = match function.log_zero_option() {
            Some((zero_option, allowed)) => undefined_option(options, zero_option, allowed)?,
            None => None,
        };
        if domain.is_some() || zero.is_some() {
            return Ok(Some(float::PartialFunction::udf(function, domain, zero)));
        }
    }
    let decimals = !arg_types.is_empty()
        && arg_types
            .iter()
            .all(|t| misc::integral_decimal(t).is_some());
    match name {
        "add" | "subtract" if misc::DateAndInterval::takes(arg_types) => {
            return Ok(Some(misc::DateAndInterval::udf(name == "subtract")));
        }
        "substring" => {
            return Ok((option(options, "negative_start") == Some("WRAP_FROM_END"))
                .then(strings::SubstringFromEnd::udf));
        }
        "concat" => {
            return Ok((option(options, "null_handling") == Some("ACCEPT_NULLS"))
                .then(strings::ConcatAcceptingNulls::udf));
        }
        // A direction that is not one of the four is left to DataFusion to reject.
        "sort" => return Ok(misc::SortList::udf(option(options, "direction")).ok()),
        "add_intervals" => return Ok(Some(misc::AddIntervals::udf())),
        "factorial" if decimals => return Ok(Some(misc::DecimalFactorial::udf())),
        _ => {}
    }
    if let Some(op) = misc::Bitwise::from_name(name) {
        return Ok(decimals.then(|| misc::DecimalBitwise::udf(op)));
    }
    let Some(op) = Arithmetic::from_name(name) else {
        return Ok(None);
    };
    let integers = arg_types.len() == op.arity()
        && arg_types[0].is_integer()
        && arg_types.iter().all(|t| t == &arg_types[0]);
    // DataFusion's integer power is a float; every other operation is DataFusion's unless the
    // call asks for what it ignores.
    if !integers || (options.is_empty() && op != Arithmetic::Power) {
        return Ok(None);
    }
    let overflow = match option(options, "overflow") {
        // Unspecified: the consumer chooses; failing is the one that loses nothing.
        None | Some("ERROR") => Overflow::Error,
        Some("SATURATE") => Overflow::Saturate,
        Some("SILENT") => Overflow::Silent,
        Some(other) => {
            return plan_err!("option overflow: {other} is not one of SILENT, SATURATE, ERROR");
        }
    };
    let zero =
        option(options, "on_division_by_zero").or_else(|| option(options, "on_domain_error"));
    Ok(Some(IntegerArithmetic::udf(
        op,
        IntegerOptions {
            overflow,
            zero_divisor_is_null: matches!(zero, Some("NULL" | "NAN")),
            floor: option(options, "division_type") == Some("FLOOR"),
        },
    )))
}

/// Types one cast may move between without changing what kind of value it is (timestamps
/// without a zone change only their unit).
fn family(t: &DataType) -> Option<u8> {
    Some(match t {
        t if t.is_integer() => 1,
        DataType::Float16 | DataType::Float32 | DataType::Float64 => 2,
        DataType::Decimal32(..)
        | DataType::Decimal64(..)
        | DataType::Decimal128(..)
        | DataType::Decimal256(..) => 3,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => 4,
        DataType::Timestamp(_, None) => 5,
        _ => return None,
    })
}

/// Whether a value of type `actual` should be cast to the plan's `declared` type: the types
/// differ but are of one family (or the value is an untyped null). Strings are not cast: the
/// flavours (`Utf8`, `Utf8View`) all hold a Substrait `string`. A cast that does not fit fails
/// the query rather than wrapping or truncating.
pub(crate) fn needs_cast(actual: &DataType, declared: &DataType) -> bool {
    const STRINGS: u8 = 4;
    actual != declared
        && (actual == &DataType::Null
            || family(actual).is_some_and(|f| f != STRINGS && family(declared) == Some(f)))
}

/// `expr` with the type its Substrait call declares.
pub(crate) fn to_declared_type(
    expr: Expr,
    declared: Option<DataType>,
    schema: &DFSchema,
) -> Result<Expr> {
    let Some(declared) = declared else {
        return Ok(expr);
    };
    let actual = expr.get_type(schema)?;
    Ok(if needs_cast(&actual, &declared) {
        cast(expr, declared)
    } else {
        expr
    })
}

/// Which calls of an aggregate a rename applies to.
enum Calls {
    /// Those whose first argument is this enum value (which the new name carries).
    FirstEnum(&'static str),
    /// All of them.
    All,
    /// Those asking for this option value.
    WithOption(&'static str, &'static str),
}

/// Standard aggregates DataFusion has under another name, or that Lode implements itself for
/// some calls: (spec name, which calls, the name they run as).
const AGGREGATE_RENAMES: &[(&str, Calls, &str)] = &[
    ("variance", Calls::FirstEnum("SAMPLE"), "var_samp"),
    ("variance", Calls::FirstEnum("POPULATION"), "var_pop"),
    ("std_dev", Calls::FirstEnum("SAMPLE"), "stddev"),
    ("std_dev", Calls::FirstEnum("POPULATION"), "stddev_pop"),
    ("approx_count_distinct", Calls::All, "approx_distinct"),
    (
        "sum",
        Calls::WithOption("overflow", "ERROR"),
        aggregate::CHECKED_SUM,
    ),
];

/// The rename of [`AGGREGATE_RENAMES`] that applies to a call of standard aggregate `name`
/// whose first argument is the enum `first_enum` (if it is one) and which asks for the option
/// values `has_option(option, value)` says it does.
fn aggregate_rename(
    name: &str,
    first_enum: Option<&str>,
    has_option: impl Fn(&str, &str) -> bool,
) -> Option<&'static (&'static str, Calls, &'static str)> {
    AGGREGATE_RENAMES.iter().find(|(spec, calls, _)| {
        *spec == name
            && match calls {
                Calls::FirstEnum(e) => first_enum.is_some_and(|v| v.eq_ignore_ascii_case(e)),
                Calls::All => true,
                Calls::WithOption(option, value) => has_option(option, value),
            }
    })
}

/// The function a call of aggregate `name` runs as: DataFusion's name when
/// [`normalize_aggregates`] renames such calls, else `name`.
pub(crate) fn aggregate_runs_as<'a>(name: &'a str, call: lode_plan::Call<'_>) -> &'a str {
    let first_enum = call.arguments.first().and_then(|a| match &a.arg_type {
        Some(ArgType::Enum(e)) => Some(e.as_str()),
        _ => None,
    });
    let has_option = |option: &str, value: &str| {
        call.options
            .iter()
            .any(|o| o.name == option && o.preference.first().is_some_and(|p| p == value))
    };
    aggregate_rename(name, first_enum, has_option).map_or(name, |(_, _, df_name)| df_name)
}

/// The plan with its calls to the aggregates of [`AGGREGATE_RENAMES`] renamed to DataFusion's
/// names (the enum argument the new name carries dropped); `None` when it has none.
pub(crate) fn normalize_aggregates(plan: &Plan) -> Option<Plan> {
    let renamed: Vec<(u32, &str)> = plan
        .extensions
        .iter()
        .filter_map(|d| match &d.mapping_type {
            Some(MappingType::ExtensionFunction(f)) => {
                let name = f.name.split(':').next().unwrap_or_default();
                AGGREGATE_RENAMES
                    .iter()
                    .any(|(spec, _, _)| *spec == name)
                    .then_some((f.function_anchor, name))
            }
            _ => None,
        })
        .collect();
    if renamed.is_empty() {
        return None;
    }
    let mut json = serde_json::to_value(plan).ok()?;
    // New anchors follow the highest one in use; a plan that uses u32::MAX leaves none free, and
    // its calls stay as they are (the consumer then says the function is unknown).
    let mut next_anchor = lode_plan::declarations::next_function_anchor(plan);
    let mut added: Vec<(u32, &'static str, u32)> = Vec::new();
    rename_calls(&mut json, &renamed, &mut |anchor, df_name| {
        if let Some((new, _, _)) = added.iter().find(|(_, n, a)| *n == df_name && *a == anchor) {
            return *new;
        }
        let Some(new) = next_anchor else {
            return anchor;
        };
        next_anchor = new.checked_add(1);
        added.push((new, df_name, anchor));
        new
    });
    if added.is_empty() {
        return None;
    }
    let mut rewritten = serde_json::from_value::<Plan>(json).ok()?;
    for (new, df_name, old) in &added {
        let urn = plan.extensions.iter().find_map(|d| match &d.mapping_type {
            Some(MappingType::ExtensionFunction(f)) if f.function_anchor == *old => {
                Some(f.extension_urn_reference)
            }
            _ => None,
        });
        rewritten.extensions.push(SimpleExtensionDeclaration {
            mapping_type: Some(MappingType::ExtensionFunction(ExtensionFunction {
                extension_urn_reference: urn.unwrap_or_default(),
                function_anchor: *new,
                name: df_name.to_string(),
            })),
        });
    }
    Some(rewritten)
}

/// Walks a plan's JSON for aggregate calls (`phase` marks them) to renamed functions.
fn rename_calls(
    v: &mut serde_json::Value,
    renamed: &[(u32, &str)],
    anchor_for: &mut dyn FnMut(u32, &'static str) -> u32,
) {
    match v {
        serde_json::Value::Object(map) => {
            let anchor = map
                .get("functionReference")
                .map_or(Some(0), serde_json::Value::as_u64)
                .and_then(|a| u32::try_from(a).ok());
            let spec = anchor.and_then(|a| renamed.iter().find(|(r, _)| *r == a));
            if let (Some((anchor, name)), true) = (spec, map.contains_key("phase")) {
                let enum_arg = map
                    .get("arguments")
                    .and_then(|a| a.get(0))
                    .and_then(|a| a.get("enum"))
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_string);
                let has_option = |option: &str, value: &str| {
                    map.get("options")
                        .and_then(serde_json::Value::as_array)
                        .is_some_and(|options| {
                            options.iter().any(|o| {
                                o.get("name").and_then(serde_json::Value::as_str) == Some(option)
                                    && o.pointer("/preference/0")
                                        .and_then(serde_json::Value::as_str)
                                        == Some(value)
                            })
                        })
                };
                let rename = aggregate_rename(name, enum_arg.as_deref(), has_option);
                if let Some((_, calls, df_name)) = rename {
                    let new = anchor_for(*anchor, df_name);
                    if new != *anchor {
                        if let Calls::FirstEnum(_) = calls
                            && let Some(serde_json::Value::Array(args)) = map.get_mut("arguments")
                        {
                            args.remove(0);
                        }
                        map.insert("functionReference".into(), new.into());
                    }
                }
            }
            for child in map.values_mut() {
                rename_calls(child, renamed, anchor_for);
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                rename_calls(item, renamed, anchor_for);
            }
        }
        _ => {}
    }
}
