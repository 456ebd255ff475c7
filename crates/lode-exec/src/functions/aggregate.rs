//! `sum` under `overflow: ERROR`: DataFusion's integer sums wrap and its decimal sums widen;
//! the spec asks for an error when the result does not fit. Partial sums are kept exactly (in
//! 128 bits), so only the result decides, whatever order the rows are added in.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Decimal128Type, Field, FieldRef};
use datafusion::common::{DataFusionError, Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Signature, Volatility,
};

/// The name Lode registers the checked sum under; `sum` calls with `overflow: ERROR` are
/// renamed to it before conversion.
pub(crate) const CHECKED_SUM: &str = "lode_checked_sum";

#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct CheckedSum {
    signature: Signature,
}

impl CheckedSum {
    pub(crate) fn udaf() -> AggregateUDF {
        AggregateUDF::new_from_impl(CheckedSum {
            signature: Signature::any(1, Volatility::Immutable),
        })
    }
}

/// The exact type partial sums are kept in: integers as `decimal<38, 0>`, decimals at their scale.
fn exact_type(input: &DataType) -> Result<DataType> {
    match input {
        t if t.is_integer() => Ok(DataType::Decimal128(38, 0)),
        DataType::Decimal128(_, s) => Ok(DataType::Decimal128(38, *s)),
        other => plan_err!("sum with overflow: ERROR takes integers or decimals, not {other}"),
    }
}

impl AggregateUDFImpl for CheckedSum {
    fn name(&self) -> &str {
        CHECKED_SUM
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types {
            [t] if t.is_signed_integer() => Ok(DataType::Int64),
            [t] if t.is_unsigned_integer() => Ok(DataType::UInt64),
            [DataType::Decimal128(_, s)] => Ok(DataType::Decimal128(38, *s)),
            _ => plan_err!(
                "sum with overflow: ERROR takes one integer or decimal, not {arg_types:?}"
            ),
        }
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let input = args
            .input_fields
            .first()
            .map(|f| f.data_type().clone())
            .unwrap_or(DataType::Int64);
        Ok(vec![Arc::new(Field::new(
            format!("{}[sum]", args.name),
            exact_type(&input)?,
            true,
        ))])
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let input = args
            .exprs
            .first()
            .map(|e| e.data_type(args.schema))
            .transpose()?
            .unwrap_or(DataType::Int64);
        Ok(Box::new(CheckedSumAccumulator {
            exact: exact_type(&input)?,
            result: args.return_field.data_type().clone(),
            sum: None,
        }))
    }
}

#[derive(Debug)]
struct CheckedSumAccumulator {
    /// `decimal<38, S>`: the type partial sums travel in.
    exact: DataType,
    result: DataType,
    /// `None` until a non-null value arrives: the sum of no values is null.
    sum: Option<i128>,
}

impl CheckedSumAccumulator {
    fn add_exact(&mut self, values: &ArrayRef) -> Result<()> {
        let values = cast(values, &self.exact)?;
        for v in values.as_primitive::<Decimal128Type>().iter().flatten() {
            let sum = self.sum.unwrap_or(0).checked_add(v).ok_or_else(|| {
                DataFusionError::Execution("sum overflowed 128 bits (overflow: ERROR)".into())
            })?;
            self.sum = Some(sum);
        }
        Ok(())
    }
}

impl Accumulator for CheckedSumAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        match values.first() {
            Some(values) => self.add_exact(values),
            None => exec_err!("sum takes one argument"),
        }
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        match states.first() {
            Some(sums) => self.add_exact(sums),
            None => exec_err!("sum: no partial state to merge"),
        }
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let DataType::Decimal128(p, s) = self.exact else {
            return exec_err!("sum: partial sums are decimals");
        };
        Ok(vec![ScalarValue::Decimal128(self.sum, p, s)])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let Some(sum) = self.sum else {
            return ScalarValue::try_from(&self.result);
        };
        let overflow = || {
            DataFusionError::Execution(format!(
                "sum overflowed {} (overflow: ERROR): the sum is {sum}",
                self.result
            ))
        };
        Ok(match &self.result {
            DataType::Int64 => {
                ScalarValue::Int64(Some(i64::try_from(sum).map_err(|_| overflow())?))
            }
            DataType::UInt64 => {
                ScalarValue::UInt64(Some(u64::try_from(sum).map_err(|_| overflow())?))
            }
            DataType::Decimal128(p, s) => {
                if sum.unsigned_abs() >= 10u128.pow(u32::from(*p)) {
                    return Err(overflow());
                }
                ScalarValue::Decimal128(Some(sum), *p, *s)
            }
            other => return exec_err!("sum returning {other}"),
        })
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::Int64Array;

    fn accumulator() -> CheckedSumAccumulator {
        CheckedSumAccumulator {
            exact: DataType::Decimal128(38, 0),
            result: DataType::Int64,
            sum: None,
        }
    }

    #[test]
    fn a_sum_past_its_type_is_an_error_and_an_empty_sum_is_null() {
        let mut acc = accumulator();
        assert_eq!(acc.evaluate().unwrap(), ScalarValue::Int64(None));
        let values: ArrayRef = Arc::new(Int64Array::from(vec![Some(i64::MAX - 1), None, Some(1)]));
        acc.update_batch(&[values]).unwrap();
        assert_eq!(acc.evaluate().unwrap(), ScalarValue::Int64(Some(i64::MAX)));
        let one: ArrayRef = Arc::new(Int64Array::from(vec![1]));
        acc.update_batch(&[one]).unwrap();
        assert!(
            acc.evaluate()
                .unwrap_err()
                .to_string()
                .contains("overflow: ERROR")
        );
    }

    #[test]
    fn partial_sums_merge_exactly() {
        let (mut a, mut b) = (accumulator(), accumulator());
        let big: ArrayRef = Arc::new(Int64Array::from(vec![i64::MAX, i64::MAX]));
        let back: ArrayRef = Arc::new(Int64Array::from(vec![i64::MIN, i64::MIN]));
        a.update_batch(&[big]).unwrap();
        b.update_batch(&[back]).unwrap();
        let state = b.state().unwrap()[0].to_array().unwrap();
        a.merge_batch(&[state]).unwrap();
        // MAX + MAX + MIN + MIN = -2: the partial sums past i64 do not matter.
        assert_eq!(a.evaluate().unwrap(), ScalarValue::Int64(Some(-2)));
    }
}
