//! Integer functions of `functions_arithmetic.yaml` as the spec defines them: `add`,
//! `subtract` and `multiply` under `overflow: ERROR | SATURATE` (DataFusion wraps), and the
//! bit shifts and `bitwise_not` DataFusion lacks.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, PrimitiveArray};
use datafusion::arrow::compute::kernels::numeric;
use datafusion::arrow::datatypes::{
    ArrowPrimitiveType, DataType, Int8Type, Int16Type, Int32Type, Int64Type,
};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

/// The arithmetic operations with an `overflow` option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Arithmetic {
    Add,
    Subtract,
    Multiply,
}

impl Arithmetic {
    pub(crate) fn from_name(name: &str) -> Option<Arithmetic> {
        match name {
            "add" => Some(Arithmetic::Add),
            "subtract" => Some(Arithmetic::Subtract),
            "multiply" => Some(Arithmetic::Multiply),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Arithmetic::Add => "add",
            Arithmetic::Subtract => "subtract",
            Arithmetic::Multiply => "multiply",
        }
    }
}

/// What `overflow` asks for when a result does not fit (SILENT is DataFusion's wrapping).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Overflow {
    Error,
    Saturate,
}

/// Integer `add`/`subtract`/`multiply` that fail or saturate on overflow.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct OverflowArithmetic {
    op: Arithmetic,
    overflow: Overflow,
    signature: Signature,
}

impl OverflowArithmetic {
    pub(crate) fn udf(op: Arithmetic, overflow: Overflow) -> Arc<ScalarUDF> {
        Arc::new(ScalarUDF::new_from_impl(OverflowArithmetic {
            op,
            overflow,
            signature: Signature::any(2, Volatility::Immutable),
        }))
    }
}

fn is_signed_integer(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64
    )
}

/// Both arguments of one signed integer type: the spec's `i8_i8` … `i64_i64` signatures.
fn same_integer_type<'a>(name: &str, types: &'a [DataType]) -> Result<&'a DataType> {
    match types {
        [a, b] if a == b && is_signed_integer(a) => Ok(a),
        _ => plan_err!(
            "{name} with an overflow option takes two integers of one type (i8, i16, i32 or i64), not {types:?}"
        ),
    }
}

/// Saturating `op` over two arrays of one primitive type.
fn saturating<T: ArrowPrimitiveType>(
    a: &ArrayRef,
    b: &ArrayRef,
    op: impl Fn(T::Native, T::Native) -> T::Native,
) -> Result<ArrayRef> {
    let result: PrimitiveArray<T> =
        datafusion::arrow::compute::binary(a.as_primitive::<T>(), b.as_primitive::<T>(), op)?;
    Ok(Arc::new(result))
}

macro_rules! saturate {
    ($a:expr, $b:expr, $op:expr, $( $t:ty ),*) => {
        match $a.data_type() {
            $( dt if dt == &<$t>::DATA_TYPE => match $op {
                Arithmetic::Add => saturating::<$t>($a, $b, |x, y| x.saturating_add(y)),
                Arithmetic::Subtract => saturating::<$t>($a, $b, |x, y| x.saturating_sub(y)),
                Arithmetic::Multiply => saturating::<$t>($a, $b, |x, y| x.saturating_mul(y)),
            }, )*
            other => exec_err!("saturating arithmetic on {other}"),
        }
    };
}

impl ScalarUDFImpl for OverflowArithmetic {
    fn name(&self) -> &str {
        self.op.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        same_integer_type(self.op.name(), arg_types).cloned()
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let [a, b] = arrays.as_slice() else {
            return exec_err!("{} takes two arguments", self.op.name());
        };
        let result = match self.overflow {
            // Arrow's plain kernels are the checked ones: they fail on overflow.
            Overflow::Error => match self.op {
                Arithmetic::Add => numeric::add(a, b),
                Arithmetic::Subtract => numeric::sub(a, b),
                Arithmetic::Multiply => numeric::mul(a, b),
            }
            .map_err(|e| {
                datafusion::common::DataFusionError::Execution(format!(
                    "{} overflowed {} (overflow: ERROR): {e}",
                    self.op.name(),
                    a.data_type()
                ))
            })?,
            Overflow::Saturate => {
                saturate!(a, b, self.op, Int8Type, Int16Type, Int32Type, Int64Type)?
            }
        };
        Ok(ColumnarValue::Array(result))
    }
}

/// `shift_left`, `shift_right` (arithmetic) and `shift_right_unsigned` (logical) of
/// `i32`/`i64` by an `i32` count; a count outside `0..bits` is an error.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct Shift {
    name: &'static str,
    signature: Signature,
}

impl Shift {
    pub(crate) fn udfs() -> [ScalarUDF; 3] {
        ["shift_left", "shift_right", "shift_right_unsigned"].map(|name| {
            ScalarUDF::new_from_impl(Shift {
                name,
                signature: Signature::any(2, Volatility::Immutable),
            })
        })
    }
}

macro_rules! shift_values {
    ($name:expr, $values:expr, $counts:expr, $t:ty, $unsigned:ty, $bits:expr) => {{
        let values = $values.as_primitive::<$t>();
        let counts = $counts.as_primitive::<Int32Type>();
        let result: PrimitiveArray<$t> =
            datafusion::arrow::compute::try_binary(values, counts, |v, n| {
                if !(0..$bits).contains(&n) {
                    return Err(datafusion::arrow::error::ArrowError::ComputeError(format!(
                        "{}: shift count {n} is outside 0..{}",
                        $name, $bits
                    )));
                }
                Ok(match $name {
                    "shift_left" => v.wrapping_shl(n as u32),
                    "shift_right" => v >> n,
                    _ => ((v as $unsigned) >> n) as _,
                })
            })?;
        Arc::new(result) as ArrayRef
    }};
}

impl ScalarUDFImpl for Shift {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types {
            [t @ (DataType::Int32 | DataType::Int64), DataType::Int32] => Ok(t.clone()),
            _ => plan_err!("{} takes (i32 or i64, i32), not {arg_types:?}", self.name),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let [values, counts] = arrays.as_slice() else {
            return exec_err!("{} takes two arguments", self.name);
        };
        let result = match values.data_type() {
            DataType::Int32 => shift_values!(self.name, values, counts, Int32Type, u32, 32),
            DataType::Int64 => shift_values!(self.name, values, counts, Int64Type, u64, 64),
            other => return exec_err!("{} of {other}", self.name),
        };
        Ok(ColumnarValue::Array(result))
    }
}

/// `bitwise_not` of a signed integer.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct BitwiseNot {
    signature: Signature,
}

impl BitwiseNot {
    pub(crate) fn udf() -> ScalarUDF {
        ScalarUDF::new_from_impl(BitwiseNot {
            signature: Signature::any(1, Volatility::Immutable),
        })
    }
}

macro_rules! not_values {
    ($values:expr, $( $t:ty ),*) => {
        match $values.data_type() {
            $( dt if dt == &<$t>::DATA_TYPE => {
                let result: PrimitiveArray<$t> = $values.as_primitive::<$t>().unary(|v| !v);
                Ok(Arc::new(result) as ArrayRef)
            } )*
            other => exec_err!("bitwise_not of {other}"),
        }
    };
}

impl ScalarUDFImpl for BitwiseNot {
    fn name(&self) -> &str {
        "bitwise_not"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types {
            [t] if is_signed_integer(t) => Ok(t.clone()),
            _ => plan_err!("bitwise_not takes one integer (i8, i16, i32, i64), not {arg_types:?}"),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let [values] = arrays.as_slice() else {
            return exec_err!("bitwise_not takes one argument");
        };
        let result = not_values!(values, Int8Type, Int16Type, Int32Type, Int64Type)?;
        Ok(ColumnarValue::Array(result))
    }
}
