//! Floating-point predicates of `functions_comparison.yaml` DataFusion lacks: `is_finite`,
//! `is_infinite`.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray};
use datafusion::arrow::datatypes::{DataType, Float32Type, Float64Type};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct FloatPredicate {
    name: &'static str,
    signature: Signature,
}

impl FloatPredicate {
    pub(crate) fn udfs() -> [ScalarUDF; 2] {
        ["is_finite", "is_infinite"].map(|name| {
            ScalarUDF::new_from_impl(FloatPredicate {
                name,
                signature: Signature::uniform(
                    1,
                    vec![DataType::Float32, DataType::Float64],
                    Volatility::Immutable,
                ),
            })
        })
    }

    fn test(&self, v: f64) -> bool {
        match self.name {
            "is_finite" => v.is_finite(),
            _ => v.is_infinite(),
        }
    }
}

impl ScalarUDFImpl for FloatPredicate {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types {
            [DataType::Float32 | DataType::Float64] => Ok(DataType::Boolean),
            _ => plan_err!("{} takes one fp32 or fp64, not {arg_types:?}", self.name),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let [values] = arrays.as_slice() else {
            return exec_err!("{} takes one argument", self.name);
        };
        // Nulls stay null: the predicate is only asked of present values.
        let result: BooleanArray = match values.data_type() {
            DataType::Float32 => values
                .as_primitive::<Float32Type>()
                .iter()
                .map(|v| v.map(|v| self.test(f64::from(v))))
                .collect(),
            DataType::Float64 => values
                .as_primitive::<Float64Type>()
                .iter()
                .map(|v| v.map(|v| self.test(v)))
                .collect(),
            other => return exec_err!("{} of {other}", self.name),
        };
        Ok(ColumnarValue::Array(Arc::new(result) as ArrayRef))
    }
}
