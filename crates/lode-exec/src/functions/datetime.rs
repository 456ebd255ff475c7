//! `extract(component, [indexing,] x)` of `functions_datetime.yaml` as DataFusion's `date_part`
//! (which keeps DataFusion's pruning of `date_part('year', x) = …`), with the spec's components
//! DataFusion names otherwise or lacks, its `indexing` argument, and its `i64` result.

use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::{Result, ScalarValue, plan_err};
use datafusion::logical_expr::{Expr, lit};

use super::cast;

/// How a component of `extract` is computed from `date_part`.
struct Component {
    /// `date_part`'s name for it.
    part: &'static str,
    /// The number `date_part` gives the first one (day 1, Sunday 0), for the components the
    /// spec counts under `indexing`; `None` for those it does not.
    first: Option<i64>,
}

fn component(name: &str) -> Result<Component> {
    let (part, first) = match name {
        "YEAR" => ("year", None),
        "ISO_YEAR" => ("isoyear", None),
        "QUARTER" => ("quarter", Some(1)),
        "MONTH" => ("month", Some(1)),
        "DAY" => ("day", Some(1)),
        "DAY_OF_YEAR" => ("doy", Some(1)),
        "MONDAY_DAY_OF_WEEK" => ("isodow", Some(1)),
        "SUNDAY_DAY_OF_WEEK" => ("dow", Some(0)),
        "ISO_WEEK" => ("week", Some(1)),
        "HOUR" => ("hour", None),
        "MINUTE" => ("minute", None),
        "SECOND" => ("second", None),
        "MILLISECOND" => ("millisecond", None),
        "MICROSECOND" => ("microsecond", None),
        "NANOSECOND" => ("nanosecond", None),
        // Computed below from other parts.
        "SUBSECOND" => ("microsecond", None),
        "UNIX_TIME" => ("epoch", None),
        "US_YEAR" | "MONDAY_WEEK" | "SUNDAY_WEEK" | "US_WEEK" | "PICOSECOND"
        | "TIMEZONE_OFFSET" => {
            return plan_err!("extract: the component {name} is not supported by Lode yet");
        }
        other => {
            return plan_err!(
                "extract: {other} is not a component of functions_datetime.yaml (YEAR, MONTH, \
                 DAY, HOUR, UNIX_TIME, …)"
            );
        }
    };
    Ok(Component { part, first })
}

/// The string an enum argument became (see the consumer's `enum_arguments_as_literals`).
fn enum_value(arg: &Expr) -> Option<&str> {
    match arg {
        Expr::Literal(ScalarValue::Utf8(Some(v)), _) => Some(v),
        _ => None,
    }
}

/// `extract(args)` as an expression of DataFusion's, `types` the arguments' types.
pub(crate) fn extract(args: &[Expr], types: &[DataType]) -> Result<Expr> {
    let (name, indexing, x, x_type) = match (args, types) {
        ([c, x], [_, t]) => (enum_value(c), None, x, t),
        ([c, i, x], [_, _, t]) if enum_value(i).is_some() => (enum_value(c), enum_value(i), x, t),
        ([_, _, _], _) => {
            return plan_err!(
                "extract with a timezone argument is not supported by Lode yet; extract from \
                 the timestamp in UTC"
            );
        }
        _ => return plan_err!("extract takes a component, an optional indexing and a value"),
    };
    let Some(name) = name else {
        return plan_err!("extract: the component must be an enum argument (YEAR, MONTH, …)");
    };
    // Producers differ in case (DuckDB writes `year`); the YAML's names are upper case.
    let name = name.to_ascii_uppercase();
    let name = name.as_str();
    let indexing = indexing.map(str::to_ascii_uppercase);
    let indexing = indexing.as_deref();
    let c = component(name)?;
    // The spec asks every counted component for its indexing; producers that omit it mean ONE.
    let wanted_first = match (indexing, c.first) {
        (None | Some("ONE"), Some(_)) => 1,
        (Some("ZERO"), Some(_)) => 0,
        (Some(other), Some(_)) => {
            return plan_err!("extract: indexing {other} is not ONE or ZERO");
        }
        (Some(_), None) => {
            return plan_err!(
                "extract: {name} takes no indexing argument (functions_datetime.yaml)"
            );
        }
        (None, None) => 0,
    };
    let value = match name {
        // Seconds since the epoch, exactly (date_part's epoch is a float).
        "UNIX_TIME" => {
            let zone = match x_type {
                DataType::Timestamp(_, zone) => zone.clone(),
                _ => None,
            };
            cast(
                cast(x.clone(), DataType::Timestamp(TimeUnit::Second, zone)),
                DataType::Int64,
            )
        }
        _ => {
            let date_part = datafusion::functions::datetime::date_part();
            let part = date_part.call(vec![lit(c.part), x.clone()]);
            let part = cast(part, DataType::Int64);
            match (name, c.first) {
                // Microseconds since the last full second; date_part counts from the minute.
                ("SUBSECOND", _) => part % lit(1_000_000_i64),
                (_, Some(first)) if first != wanted_first => part + lit(wanted_first - first),
                _ => part,
            }
        }
    };
    Ok(value)
}
