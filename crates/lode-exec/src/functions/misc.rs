//! Standard functions DataFusion lacks for some argument types: `sort` of a list
//! (`functions_list.yaml`, with its `direction` option), `bitwise_and/or/xor` and `factorial`
//! of integral decimals (`functions_arithmetic_decimal.yaml`), and `add_intervals` and a date
//! plus or minus a day-time interval (`functions_datetime.yaml`).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Decimal128Array, ListArray};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::compute::kernels::numeric;
use datafusion::arrow::compute::{SortOptions, concat, sort};
use datafusion::arrow::datatypes::{DataType, Decimal128Type, TimeUnit};
use datafusion::common::{DataFusionError, Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

/// `sort(list)` with `direction: ASC_NULLS_FIRST | ASC_NULLS_LAST | DESC_NULLS_FIRST | DESC_NULLS_LAST`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct SortList {
    descending: bool,
    nulls_first: bool,
    signature: Signature,
}

impl SortList {
    /// `direction` is the option's value; none sorts ascending with nulls last.
    pub(crate) fn udf(direction: Option<&str>) -> Result<Arc<ScalarUDF>> {
        let (descending, nulls_first) = match direction.unwrap_or("ASC_NULLS_LAST") {
            "ASC_NULLS_FIRST" => (false, true),
            "ASC_NULLS_LAST" => (false, false),
            "DESC_NULLS_FIRST" => (true, true),
            "DESC_NULLS_LAST" => (true, false),
            other => {
                return plan_err!(
                    "sort: direction `{other}` is not one of ASC_NULLS_FIRST, ASC_NULLS_LAST, DESC_NULLS_FIRST, DESC_NULLS_LAST"
                );
            }
        };
        Ok(Arc::new(ScalarUDF::new_from_impl(SortList {
            descending,
            nulls_first,
            signature: Signature::any(1, Volatility::Immutable),
        })))
    }
}

impl ScalarUDFImpl for SortList {
    fn name(&self) -> &str {
        "sort"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types {
            [t @ DataType::List(_)] => Ok(t.clone()),
            _ => plan_err!("sort takes one list, not {arg_types:?}"),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let [array] = arrays.as_slice() else {
            return exec_err!("sort takes one argument");
        };
        let list = array.as_list::<i32>();
        let options = SortOptions {
            descending: self.descending,
            nulls_first: self.nulls_first,
        };
        let sorted = (0..list.len())
            .map(|i| sort(&list.value(i), Some(options)))
            .collect::<Result<Vec<ArrayRef>, _>>()?;
        let DataType::List(field) = list.data_type() else {
            return exec_err!("sort of {}", list.data_type());
        };
        let values = if sorted.is_empty() {
            list.values().slice(0, 0)
        } else {
            concat(&sorted.iter().map(AsRef::as_ref).collect::<Vec<_>>())?
        };
        let offsets = OffsetBuffer::from_lengths(sorted.iter().map(|a| a.len()));
        let result = ListArray::try_new(Arc::clone(field), offsets, values, list.nulls().cloned())?;
        Ok(ColumnarValue::Array(Arc::new(result)))
    }
}

/// The bitwise operations, for integral decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Bitwise {
    And,
    Or,
    Xor,
}

impl Bitwise {
    pub(crate) fn from_name(name: &str) -> Option<Bitwise> {
        Some(match name {
            "bitwise_and" => Bitwise::And,
            "bitwise_or" => Bitwise::Or,
            "bitwise_xor" => Bitwise::Xor,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Bitwise::And => "bitwise_and",
            Bitwise::Or => "bitwise_or",
            Bitwise::Xor => "bitwise_xor",
        }
    }
}

/// Integral decimals (`decimal<P, 0>`), the argument types the decimal functions here take.
pub(crate) fn integral_decimal(t: &DataType) -> Option<u8> {
    match t {
        DataType::Decimal128(p, 0) => Some(*p),
        _ => None,
    }
}

/// `bitwise_and/or/xor(decimal<P1,0>, decimal<P2,0>)` on the two's-complement values.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct DecimalBitwise {
    op: Bitwise,
    signature: Signature,
}

impl DecimalBitwise {
    pub(crate) fn udf(op: Bitwise) -> Arc<ScalarUDF> {
        Arc::new(ScalarUDF::new_from_impl(DecimalBitwise {
            op,
            signature: Signature::any(2, Volatility::Immutable),
        }))
    }
}

impl ScalarUDFImpl for DecimalBitwise {
    fn name(&self) -> &str {
        self.op.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types {
            [a, b] => match (integral_decimal(a), integral_decimal(b)) {
                (Some(p1), Some(p2)) => Ok(DataType::Decimal128(p1.max(p2), 0)),
                _ => plan_err!(
                    "{} of decimals takes decimal<P, 0> values, not {arg_types:?}",
                    self.op.name()
                ),
            },
            _ => plan_err!("{} takes two arguments", self.op.name()),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let precision = match args.return_field.data_type() {
            DataType::Decimal128(p, _) => *p,
            other => return exec_err!("{} returning {other}", self.op.name()),
        };
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let [a, b] = arrays.as_slice() else {
            return exec_err!("{} takes two arguments", self.op.name());
        };
        let (a, b) = (
            a.as_primitive::<Decimal128Type>(),
            b.as_primitive::<Decimal128Type>(),
        );
        let result: Decimal128Array =
            datafusion::arrow::compute::binary(a, b, |x, y| match self.op {
                Bitwise::And => x & y,
                Bitwise::Or => x | y,
                Bitwise::Xor => x ^ y,
            })?;
        Ok(ColumnarValue::Array(Arc::new(
            result.with_precision_and_scale(precision, 0)?,
        )))
    }
}

/// `factorial(decimal<P, 0>)` as `decimal<38, 0>`; a negative argument or a result past 38
/// digits is an error.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct DecimalFactorial {
    signature: Signature,
}

impl DecimalFactorial {
    pub(crate) fn udf() -> Arc<ScalarUDF> {
        Arc::new(ScalarUDF::new_from_impl(DecimalFactorial {
            signature: Signature::any(1, Volatility::Immutable),
        }))
    }
}

impl ScalarUDFImpl for DecimalFactorial {
    fn name(&self) -> &str {
        "factorial"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types {
            [t] if integral_decimal(t).is_some() => Ok(DataType::Decimal128(38, 0)),
            _ => plan_err!("factorial of a decimal takes decimal<P, 0>, not {arg_types:?}"),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let [n] = arrays.as_slice() else {
            return exec_err!("factorial takes one argument");
        };
        const LIMIT: i128 = 10i128.pow(38);
        let result: Decimal128Array = n.as_primitive::<Decimal128Type>().try_unary(|n| {
            if n < 0 {
                return Err(datafusion::arrow::error::ArrowError::ComputeError(format!(
                    "factorial of negative {n}"
                )));
            }
            (1..=n)
                .try_fold(1i128, |acc, k| acc.checked_mul(k).filter(|v| *v < LIMIT))
                .ok_or_else(|| {
                    datafusion::arrow::error::ArrowError::ComputeError(format!(
                        "factorial({n}) does not fit decimal<38, 0>"
                    ))
                })
        })?;
        Ok(ColumnarValue::Array(Arc::new(
            result.with_precision_and_scale(38, 0)?,
        )))
    }
}

/// `add_intervals(a, b)` for two intervals of one kind.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct AddIntervals {
    signature: Signature,
}

impl AddIntervals {
    pub(crate) fn udf() -> Arc<ScalarUDF> {
        Arc::new(ScalarUDF::new_from_impl(AddIntervals {
            signature: Signature::any(2, Volatility::Immutable),
        }))
    }
}

impl ScalarUDFImpl for AddIntervals {
    fn name(&self) -> &str {
        "add_intervals"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types {
            [a @ DataType::Interval(_), b] if a == b => Ok(a.clone()),
            _ => plan_err!("add_intervals takes two intervals of one kind, not {arg_types:?}"),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let [a, b] = arrays.as_slice() else {
            return exec_err!("add_intervals takes two arguments");
        };
        let sum = numeric::add(a, b)
            .map_err(|e| DataFusionError::Execution(format!("add_intervals: {e}")))?;
        Ok(ColumnarValue::Array(sum))
    }
}

/// `add`/`subtract` of a date and a day-time interval: the YAML's result is a timestamp (the
/// interval may hold hours), where DataFusion's is a date.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct DateAndInterval {
    subtract: bool,
    signature: Signature,
}

impl DateAndInterval {
    pub(crate) fn udf(subtract: bool) -> Arc<ScalarUDF> {
        Arc::new(ScalarUDF::new_from_impl(DateAndInterval {
            subtract,
            signature: Signature::any(2, Volatility::Immutable),
        }))
    }

    /// A date and an interval of days and time: the arguments this function takes.
    pub(crate) fn takes(arg_types: &[DataType]) -> bool {
        use datafusion::arrow::datatypes::IntervalUnit;
        matches!(
            arg_types,
            [
                DataType::Date32,
                DataType::Interval(IntervalUnit::DayTime | IntervalUnit::MonthDayNano)
            ]
        )
    }
}

impl ScalarUDFImpl for DateAndInterval {
    fn name(&self) -> &str {
        if self.subtract { "subtract" } else { "add" }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        if !Self::takes(arg_types) {
            return plan_err!(
                "{} takes a date and a day-time interval, not {arg_types:?}",
                self.name()
            );
        }
        Ok(DataType::Timestamp(TimeUnit::Microsecond, None))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let [date, interval] = arrays.as_slice() else {
            return exec_err!("{} takes two arguments", self.name());
        };
        let timestamp = datafusion::arrow::compute::cast(
            date,
            &DataType::Timestamp(TimeUnit::Microsecond, None),
        )?;
        let result = if self.subtract {
            numeric::sub(&timestamp, interval)
        } else {
            numeric::add(&timestamp, interval)
        }
        .map_err(|e| DataFusionError::Execution(format!("{}: {e}", self.name())))?;
        Ok(ColumnarValue::Array(result))
    }
}

/// `ceil`/`floor` of `decimal<P,S>` typed as `functions_rounding_decimal.yaml` types it,
/// `decimal<min(P-S+1, 38), 0>`: DataFusion keeps `decimal<P,S>`, which cannot hold a result
/// with one more integral digit (`ceil(9.9::decimal<2,1>) = 10`), so the argument is widened by
/// a digit first. `None` for other types (DataFusion's own function is right).
pub(crate) fn decimal_rounding(name: &str, x: &Expr, t: &DataType) -> Option<Expr> {
    let DataType::Decimal128(precision, scale) = *t else {
        return None;
    };
    let integral_digits = u8::try_from(i16::from(precision) - i16::from(scale)).ok()?;
    if scale <= 0 {
        return None;
    }
    let function = match name {
        "ceil" => datafusion::functions::math::ceil(),
        "floor" => datafusion::functions::math::floor(),
        _ => return None,
    };
    let widened = DataType::Decimal128((precision + 1).min(38), scale);
    let rounded = function.call(vec![super::cast(x.clone(), widened)]);
    Some(super::cast(
        rounded,
        DataType::Decimal128((integral_digits + 1).min(38), 0),
    ))
}
