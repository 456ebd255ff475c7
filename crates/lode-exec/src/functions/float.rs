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

/// The functions whose result the spec leaves to an option for some arguments: logarithms and
/// roots outside their domain (`on_domain_error`) or of zero (`on_log_zero`), and the decimal
/// `power` whose result would be a complex number (`complex_number_result`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Partial {
    Ln,
    Log10,
    Log2,
    /// `logb(x, base)`: the logarithm of `x` to `base` (functions_logarithmic.yaml).
    LogB,
    Sqrt,
    Acosh,
    /// `power(x, y)` of decimals (functions_arithmetic_decimal.yaml), a float.
    DecimalPower,
}

impl Partial {
    /// The partial function a call of `name` with these argument types is, if it is one.
    pub(crate) fn from_call(name: &str, arg_types: &[DataType]) -> Option<Partial> {
        Some(match name {
            "ln" => Partial::Ln,
            "log10" => Partial::Log10,
            "log2" => Partial::Log2,
            "logb" => Partial::LogB,
            "sqrt" => Partial::Sqrt,
            "acosh" => Partial::Acosh,
            "power"
                if arg_types
                    .iter()
                    .all(|t| matches!(t, DataType::Decimal128(..))) =>
            {
                Partial::DecimalPower
            }
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Partial::Ln => "ln",
            Partial::Log10 => "log10",
            Partial::Log2 => "log2",
            Partial::LogB => "logb",
            Partial::Sqrt => "sqrt",
            Partial::Acosh => "acosh",
            Partial::DecimalPower => "power",
        }
    }

    fn arity(self) -> usize {
        match self {
            Partial::LogB | Partial::DecimalPower => 2,
            _ => 1,
        }
    }

    /// The option that says what an argument outside the domain gives, and the values the
    /// extension YAML allows it.
    pub(crate) fn domain_option(self) -> (&'static str, &'static [Undefined]) {
        match self {
            Partial::DecimalPower => ("complex_number_result", &[Undefined::Nan, Undefined::Error]),
            _ => (
                "on_domain_error",
                &[Undefined::Nan, Undefined::Null, Undefined::Error],
            ),
        }
    }

    /// The option for the logarithm of zero, for the functions that have one.
    pub(crate) fn log_zero_option(self) -> Option<(&'static str, &'static [Undefined])> {
        self.is_log().then_some((
            "on_log_zero",
            &[Undefined::Nan, Undefined::Error, Undefined::MinusInfinity][..],
        ))
    }

    fn apply(self, args: &[f64]) -> f64 {
        match (self, args) {
            (Partial::Ln, [x]) => x.ln(),
            (Partial::Log10, [x]) => x.log10(),
            (Partial::Log2, [x]) => x.log2(),
            (Partial::Sqrt, [x]) => x.sqrt(),
            (Partial::Acosh, [x]) => x.acosh(),
            (Partial::LogB, [x, base]) => x.log(*base),
            (Partial::DecimalPower, [x, y]) => x.powf(*y),
            _ => f64::NAN,
        }
    }

    /// Why these arguments have no real result, if they have none.
    fn outside_domain(self, args: &[f64]) -> Option<&'static str> {
        let outside = match (self, args) {
            (Partial::Ln | Partial::Log10 | Partial::Log2 | Partial::Sqrt, [x]) => *x < 0.0,
            (Partial::Acosh, [x]) => *x < 1.0,
            // A base must be positive and not 1 for log_base to be a function.
            (Partial::LogB, [x, base]) => *x < 0.0 || *base <= 0.0 || *base == 1.0,
            (Partial::DecimalPower, [x, y]) => {
                return (*x < 0.0 && y.is_finite() && y.fract() != 0.0)
                    .then_some("the result would be a complex number");
            }
            _ => false,
        };
        outside.then_some("an argument is outside the function's domain")
    }

    fn is_log(self) -> bool {
        matches!(
            self,
            Partial::Ln | Partial::Log10 | Partial::Log2 | Partial::LogB
        )
    }
}

/// What a value outside the domain (`on_domain_error`, `complex_number_result`) or a logarithm
/// of zero (`on_log_zero`) becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Undefined {
    Nan,
    Null,
    Error,
    MinusInfinity,
}

impl Undefined {
    fn spelled(self) -> &'static str {
        match self {
            Undefined::Nan => "NAN",
            Undefined::Null => "NULL",
            Undefined::Error => "ERROR",
            Undefined::MinusInfinity => "MINUS_INFINITY",
        }
    }

    /// The value of option `option` among those its YAML allows; any other value is refused
    /// rather than ignored.
    pub(crate) fn from_option(
        option: &str,
        value: &str,
        allowed: &[Undefined],
    ) -> Result<Undefined> {
        match allowed.iter().find(|u| u.spelled() == value) {
            Some(u) => Ok(*u),
            None => plan_err!(
                "option {option}: {value} is not one of {} (the values its extension YAML allows)",
                allowed
                    .iter()
                    .map(|u| u.spelled())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

/// A [`Partial`] function under its options (DataFusion returns NaN and -inf, or fails `sqrt` of
/// a negative integer, whatever the options say).
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
            signature: Signature::any(function.arity(), Volatility::Immutable),
        }))
    }

    fn value(&self, args: &[f64]) -> Result<Option<f64>> {
        let (case, undefined) = if let Some(why) = self.function.outside_domain(args) {
            (why, self.on_domain_error)
        } else if self.function.is_log() && args[0] == 0.0 {
            ("the logarithm of zero", self.on_log_zero)
        } else {
            return Ok(Some(self.function.apply(args)));
        };
        match undefined {
            Undefined::Nan => Ok(Some(f64::NAN)),
            Undefined::Null => Ok(None),
            Undefined::MinusInfinity => Ok(Some(f64::NEG_INFINITY)),
            Undefined::Error => {
                let args: Vec<String> = args.iter().map(f64::to_string).collect();
                exec_err!("{}({}): {case}", self.function.name(), args.join(", "))
            }
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
        let name = self.function.name();
        if arg_types.len() != self.function.arity() || !arg_types.iter().all(|t| t.is_numeric()) {
            return plan_err!(
                "{name} takes {} number(s), not {arg_types:?}",
                self.function.arity()
            );
        }
        // The YAML: fp32 arguments give fp32 (decimal power is always fp64), others fp64.
        let all_f32 = arg_types.iter().all(|t| t == &DataType::Float32);
        Ok(if all_f32 && self.function != Partial::DecimalPower {
            DataType::Float32
        } else {
            DataType::Float64
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let return_type = args.return_field.data_type().clone();
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        if arrays.len() != self.function.arity() {
            return exec_err!(
                "{} takes {} argument(s)",
                self.function.name(),
                self.function.arity()
            );
        }
        let columns = arrays
            .iter()
            .map(|a| datafusion::arrow::compute::cast(a, &DataType::Float64))
            .collect::<Result<Vec<_>, _>>()?;
        let columns: Vec<_> = columns
            .iter()
            .map(|c| c.as_primitive::<Float64Type>())
            .collect();
        let rows = columns.first().map_or(0, |c| c.len());
        let mut out = Vec::with_capacity(rows);
        let mut row = Vec::with_capacity(columns.len());
        for i in 0..rows {
            row.clear();
            row.extend(columns.iter().filter(|c| c.is_valid(i)).map(|c| c.value(i)));
            out.push(if row.len() == columns.len() {
                self.value(&row)?
            } else {
                None
            });
        }
        let result: ArrayRef = Arc::new(
            out.into_iter()
                .collect::<datafusion::arrow::array::Float64Array>(),
        );
        Ok(ColumnarValue::Array(datafusion::arrow::compute::cast(
            &result,
            &return_type,
        )?))
    }
}
