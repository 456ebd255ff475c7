//! Integer functions of `functions_arithmetic.yaml` (and `unsigned_integers.yaml`) as the spec
//! defines them: arithmetic under `overflow`, `on_division_by_zero`, `on_domain_error` and
//! `division_type` (DataFusion ignores the options), `power` of integers as an integer
//! (DataFusion's is a float), and the bit shifts and `bitwise_not` DataFusion lacks.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, PrimitiveArray};
use datafusion::arrow::datatypes::{
    ArrowPrimitiveType, DataType, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

/// The integer operations of `functions_arithmetic.yaml` whose options DataFusion ignores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Arithmetic {
    Add,
    Subtract,
    Multiply,
    Divide,
    Modulus,
    Power,
    Negate,
    Abs,
}

impl Arithmetic {
    pub(crate) fn from_name(name: &str) -> Option<Arithmetic> {
        Some(match name {
            "add" => Arithmetic::Add,
            "subtract" => Arithmetic::Subtract,
            "multiply" => Arithmetic::Multiply,
            "divide" => Arithmetic::Divide,
            "modulus" => Arithmetic::Modulus,
            "power" => Arithmetic::Power,
            "negate" => Arithmetic::Negate,
            "abs" => Arithmetic::Abs,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Arithmetic::Add => "add",
            Arithmetic::Subtract => "subtract",
            Arithmetic::Multiply => "multiply",
            Arithmetic::Divide => "divide",
            Arithmetic::Modulus => "modulus",
            Arithmetic::Power => "power",
            Arithmetic::Negate => "negate",
            Arithmetic::Abs => "abs",
        }
    }

    pub(crate) fn arity(self) -> usize {
        match self {
            Arithmetic::Negate | Arithmetic::Abs => 1,
            _ => 2,
        }
    }
}

/// `overflow`: what a result that does not fit its type becomes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub(crate) enum Overflow {
    /// Wraps (two's complement), the spec's `SILENT`.
    #[default]
    Silent,
    Error,
    Saturate,
}

/// The options of one call, as the spec spells them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub(crate) struct IntegerOptions {
    pub overflow: Overflow,
    /// `on_division_by_zero` (divide) or `on_domain_error` (modulus): `NULL`/`NAN` give null
    /// (an integer has no NaN); otherwise a zero divisor is an error.
    pub zero_divisor_is_null: bool,
    /// `division_type: FLOOR` for modulus (the sign of the divisor); `TRUNCATE` otherwise.
    pub floor: bool,
}

/// Integer arithmetic computed exactly (in `i128`) and then fitted to the argument type as
/// `overflow` says.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct IntegerArithmetic {
    op: Arithmetic,
    options: IntegerOptions,
    signature: Signature,
}

impl IntegerArithmetic {
    pub(crate) fn udf(op: Arithmetic, options: IntegerOptions) -> Arc<ScalarUDF> {
        Arc::new(ScalarUDF::new_from_impl(IntegerArithmetic {
            op,
            options,
            signature: Signature::any(op.arity(), Volatility::Immutable),
        }))
    }

    /// A result past i128, which is past every integer type: wrapped (the low bits of
    /// `wrapped` are right), saturated by its sign, or an error.
    fn past_i128(&self, wrapped: i128, negative: bool) -> Result<i128> {
        match self.options.overflow {
            Overflow::Silent => Ok(wrapped),
            Overflow::Saturate if negative => Ok(i128::MIN),
            Overflow::Saturate => Ok(i128::MAX),
            Overflow::Error => exec_err!("{} overflowed (overflow: ERROR)", self.op.name()),
        }
    }

    /// The exact result, or `None` for a null one (a zero divisor under `NULL`).
    fn exact(&self, a: i128, b: i128) -> Result<Option<i128>> {
        let name = self.op.name();
        let zero_divisor = || {
            if self.options.zero_divisor_is_null {
                Ok(None)
            } else {
                exec_err!("{name}: division by zero")
            }
        };
        Ok(Some(match self.op {
            Arithmetic::Add => a + b,
            Arithmetic::Subtract => a - b,
            // Two 64-bit unsigned operands can pass i128 too.
            Arithmetic::Multiply => match a.checked_mul(b) {
                Some(v) => v,
                None => self.past_i128(a.wrapping_mul(b), (a < 0) != (b < 0))?,
            },
            Arithmetic::Divide if b == 0 => return zero_divisor(),
            Arithmetic::Divide => a / b,
            Arithmetic::Modulus if b == 0 => return zero_divisor(),
            // FLOOR: the result takes the divisor's sign.
            Arithmetic::Modulus if self.options.floor => {
                let r = a % b;
                if r != 0 && (r < 0) != (b < 0) {
                    r + b
                } else {
                    r
                }
            }
            Arithmetic::Modulus => a % b,
            Arithmetic::Power => {
                let Ok(exponent) = u32::try_from(b) else {
                    return exec_err!("power: an integer exponent must be 0 or more, not {b}");
                };
                match a.checked_pow(exponent) {
                    Some(v) => v,
                    None => self.past_i128(a.wrapping_pow(exponent), a < 0 && exponent % 2 == 1)?,
                }
            }
            Arithmetic::Negate => -a,
            Arithmetic::Abs => a.abs(),
        }))
    }
}

fn is_signed_integer(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64
    )
}

/// The value range of an integer type, and how a wrapped value is computed.
fn bounds(t: &DataType) -> Option<(i128, i128, u32, bool)> {
    Some(match t {
        DataType::Int8 => (i8::MIN.into(), i8::MAX.into(), 8, true),
        DataType::Int16 => (i16::MIN.into(), i16::MAX.into(), 16, true),
        DataType::Int32 => (i32::MIN.into(), i32::MAX.into(), 32, true),
        DataType::Int64 => (i64::MIN.into(), i64::MAX.into(), 64, true),
        DataType::UInt8 => (0, u8::MAX.into(), 8, false),
        DataType::UInt16 => (0, u16::MAX.into(), 16, false),
        DataType::UInt32 => (0, u32::MAX.into(), 32, false),
        DataType::UInt64 => (0, u64::MAX.into(), 64, false),
        _ => return None,
    })
}

/// Two's-complement wrapping of `v` into `bits` (signed or not).
fn wrap(v: i128, bits: u32, signed: bool) -> i128 {
    let modulus = 1i128 << bits;
    let low = v.rem_euclid(modulus);
    if signed && low >= modulus / 2 {
        low - modulus
    } else {
        low
    }
}

macro_rules! integer_arrays {
    ($t:expr, $values:expr, $( $dt:ident => $arrow:ty ),*) => {
        match $t {
            $( DataType::$dt => {
                let result: PrimitiveArray<$arrow> = $values
                    .map(|v| v.map(|v| v as <$arrow as ArrowPrimitiveType>::Native))
                    .collect();
                Arc::new(result) as ArrayRef
            } )*
            other => return exec_err!("integer arithmetic on {other}"),
        }
    };
}

/// Reads an integer array as `i128`s.
fn widen(array: &ArrayRef) -> Result<Vec<Option<i128>>> {
    macro_rules! widened {
        ($( $dt:ident => $arrow:ty ),*) => {
            match array.data_type() {
                $( DataType::$dt => array
                    .as_primitive::<$arrow>()
                    .iter()
                    .map(|v| v.map(i128::from))
                    .collect(), )*
                other => return exec_err!("integer arithmetic on {other}"),
            }
        };
    }
    Ok(widened!(
        Int8 => Int8Type, Int16 => Int16Type, Int32 => Int32Type, Int64 => Int64Type,
        UInt8 => UInt8Type, UInt16 => UInt16Type, UInt32 => UInt32Type, UInt64 => UInt64Type
    ))
}

impl ScalarUDFImpl for IntegerArithmetic {
    fn name(&self) -> &str {
        self.op.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types {
            [a, rest @ ..] if a.is_integer() && rest.iter().all(|t| t == a) => Ok(a.clone()),
            _ => plan_err!(
                "{} takes integers of one type here, not {arg_types:?}",
                self.op.name()
            ),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let Some(first) = arrays.first() else {
            return exec_err!("{} takes arguments", self.op.name());
        };
        let data_type = first.data_type().clone();
        let Some((min, max, bits, signed)) = bounds(&data_type) else {
            return exec_err!("{} of {data_type}", self.op.name());
        };
        let a = widen(first)?;
        let b = match arrays.get(1) {
            Some(array) => widen(array)?,
            None => vec![Some(0); a.len()],
        };
        let mut values = Vec::with_capacity(a.len());
        for (x, y) in a.into_iter().zip(b) {
            let (Some(x), Some(y)) = (x, y) else {
                values.push(None);
                continue;
            };
            let Some(v) = self.exact(x, y)? else {
                values.push(None);
                continue;
            };
            values.push(Some(if (min..=max).contains(&v) {
                v
            } else {
                match self.options.overflow {
                    Overflow::Error => {
                        return exec_err!(
                            "{} overflowed {data_type} (overflow: ERROR): the result {v} is outside {min}..={max}",
                            self.op.name()
                        );
                    }
                    Overflow::Saturate => v.clamp(min, max),
                    Overflow::Silent => wrap(v, bits, signed),
                }
            }));
        }
        let result = integer_arrays!(&data_type, values.into_iter(),
            Int8 => Int8Type, Int16 => Int16Type, Int32 => Int32Type, Int64 => Int64Type,
            UInt8 => UInt8Type, UInt16 => UInt16Type, UInt32 => UInt32Type, UInt64 => UInt64Type);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn exact(op: Arithmetic, options: IntegerOptions, a: i128, b: i128) -> Result<Option<i128>> {
        IntegerArithmetic {
            op,
            options,
            signature: Signature::any(op.arity(), Volatility::Immutable),
        }
        .exact(a, b)
    }

    #[test]
    fn wrapping_is_twos_complement() {
        assert_eq!(wrap(130, 8, true), -126);
        assert_eq!(wrap(-129, 8, true), 127);
        assert_eq!(wrap(256 + 5, 8, false), 5);
        assert_eq!(wrap(-1, 16, false), 65535);
    }

    #[test]
    fn modulus_truncates_or_floors() {
        let floor = IntegerOptions {
            floor: true,
            ..Default::default()
        };
        let modulus = |options, a, b| exact(Arithmetic::Modulus, options, a, b).unwrap();
        assert_eq!(modulus(IntegerOptions::default(), 8, -3), Some(2));
        assert_eq!(modulus(floor, 8, -3), Some(-1));
        assert_eq!(modulus(floor, -8, 3), Some(1));
        assert_eq!(modulus(floor, 9, -3), Some(0));
    }

    #[test]
    fn zero_divisors_fail_or_give_null() {
        let null = IntegerOptions {
            zero_divisor_is_null: true,
            ..Default::default()
        };
        assert!(exact(Arithmetic::Divide, IntegerOptions::default(), 5, 0).is_err());
        assert_eq!(exact(Arithmetic::Divide, null, 5, 0).unwrap(), None);
        assert_eq!(exact(Arithmetic::Modulus, null, 5, 0).unwrap(), None);
    }

    #[test]
    fn products_past_i128_follow_the_overflow_option() {
        let max = i128::from(u64::MAX);
        let multiply = |overflow| {
            let options = IntegerOptions {
                overflow,
                ..Default::default()
            };
            exact(Arithmetic::Multiply, options, max, max)
        };
        assert!(multiply(Overflow::Error).is_err());
        assert_eq!(multiply(Overflow::Saturate).unwrap(), Some(i128::MAX));
        // u64::MAX squared is 1 modulo 2^64.
        let wrapped = multiply(Overflow::Silent).unwrap().unwrap();
        assert_eq!(wrap(wrapped, 64, false), 1);
    }

    #[test]
    fn integer_power_is_exact_or_an_error() {
        let failing = IntegerOptions {
            overflow: Overflow::Error,
            ..Default::default()
        };
        let power = |a, b| exact(Arithmetic::Power, failing, a, b);
        assert_eq!(power(13, 10).unwrap(), Some(137_858_491_849));
        assert!(power(2, -1).is_err());
        assert!(power(10, 100).is_err());
    }
}
