//! Floating-point functions: the predicates of `functions_comparison.yaml` DataFusion lacks
//! (`is_finite`, `is_infinite`), and logarithms and roots under the options of
//! `functions_logarithmic.yaml` / `functions_arithmetic.yaml` for arguments outside their domain.

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

/// The logarithms and roots whose domain the spec's options govern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Partial {
    Ln,
    Log10,
    Log2,
    Sqrt,
    Acosh,
}

impl Partial {
    pub(crate) fn from_name(name: &str) -> Option<Partial> {
        Some(match name {
            "ln" => Partial::Ln,
            "log10" => Partial::Log10,
            "log2" => Partial::Log2,
            "sqrt" => Partial::Sqrt,
            "acosh" => Partial::Acosh,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Partial::Ln => "ln",
            Partial::Log10 => "log10",
            Partial::Log2 => "log2",
            Partial::Sqrt => "sqrt",
            Partial::Acosh => "acosh",
        }
    }

    fn apply(self, x: f64) -> f64 {
        match self {
            Partial::Ln => x.ln(),
            Partial::Log10 => x.log10(),
            Partial::Log2 => x.log2(),
            Partial::Sqrt => x.sqrt(),
            Partial::Acosh => x.acosh(),
        }
    }

    fn outside_domain(self, x: f64) -> bool {
        match self {
            Partial::Ln | Partial::Log10 | Partial::Log2 | Partial::Sqrt => x < 0.0,
            Partial::Acosh => x < 1.0,
        }
    }

    fn is_log(self) -> bool {
        matches!(self, Partial::Ln | Partial::Log10 | Partial::Log2)
    }
}

/// What a value outside the domain (`on_domain_error`) or a logarithm of zero (`on_log_zero`)
/// becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Undefined {
    Nan,
    Null,
    Error,
    MinusInfinity,
}

impl Undefined {
    pub(crate) fn from_option(value: &str) -> Option<Undefined> {
        Some(match value {
            "NAN" => Undefined::Nan,
            "NULL" => Undefined::Null,
            "ERROR" => Undefined::Error,
            "MINUS_INFINITY" => Undefined::MinusInfinity,
            _ => return None,
        })
    }
}

/// `ln`, `log10`, `log2`, `sqrt` and `acosh` under `on_domain_error` and `on_log_zero`
/// (DataFusion returns NaN and -inf, or fails `sqrt` of a negative integer).
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct PartialFunction {
    function: Partial,
    on_domain_error: Undefined,
    on_log_zero: Undefined,
    signature: Signature,
}

impl PartialFunction {
    pub(crate) fn udf(
        function: Partial,
        on_domain_error: Option<Undefined>,
        on_log_zero: Option<Undefined>,
    ) -> Arc<ScalarUDF> {
        Arc::new(ScalarUDF::new_from_impl(PartialFunction {
            function,
            on_domain_error: on_domain_error.unwrap_or(Undefined::Nan),
            on_log_zero: on_log_zero.unwrap_or(Undefined::MinusInfinity),
            signature: Signature::any(1, Volatility::Immutable),
        }))
    }

    fn value(&self, x: f64) -> Result<Option<f64>> {
        let (case, undefined) = if self.function.outside_domain(x) {
            ("outside its domain", self.on_domain_error)
        } else if x == 0.0 && self.function.is_log() {
            ("zero", self.on_log_zero)
        } else {
            return Ok(Some(self.function.apply(x)));
        };
        match undefined {
            Undefined::Nan => Ok(Some(f64::NAN)),
            Undefined::Null => Ok(None),
            Undefined::MinusInfinity => Ok(Some(f64::NEG_INFINITY)),
            Undefined::Error => exec_err!("{}({x}): the argument is {case}", self.function.name()),
        }
    }
}

impl ScalarUDFImpl for PartialFunction {
    fn name(&self) -> &str {
        self.function.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types {
            [DataType::Float32] => Ok(DataType::Float32),
            [t] if t.is_numeric() => Ok(DataType::Float64),
            _ => plan_err!(
                "{} takes one number, not {arg_types:?}",
                self.function.name()
            ),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let [values] = arrays.as_slice() else {
            return exec_err!("{} takes one argument", self.function.name());
        };
        let as_f64 = datafusion::arrow::compute::cast(values, &DataType::Float64)?;
        let mut out = Vec::with_capacity(as_f64.len());
        for x in as_f64.as_primitive::<Float64Type>().iter() {
            out.push(match x {
                Some(x) => self.value(x)?,
                None => None,
            });
        }
        let result: ArrayRef = Arc::new(
            out.into_iter()
                .collect::<datafusion::arrow::array::Float64Array>(),
        );
        let result = match values.data_type() {
            DataType::Float32 => datafusion::arrow::compute::cast(&result, &DataType::Float32)?,
            _ => result,
        };
        Ok(ColumnarValue::Array(result))
    }
}
