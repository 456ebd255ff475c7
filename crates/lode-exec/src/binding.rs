//! Binding a read's declared base schema to the table's physical schema.
//!
//! A plan declares the types of the tables it reads; the files may hold others (a producer's
//! catalog says `BIGINT` where the Parquet file holds `INT32`, or declares `NOT NULL` where
//! the file's columns are all nullable). Where no value can change, the column is read as the
//! plan declares it: integers and floats widened, strings of any Arrow layout, decimals whose
//! precision and scale hold every value, integers into decimals that hold them. Where a value
//! might not fit (an integer narrowed, a decimal's precision lowered) or a null might not be
//! allowed (a declared `NOT NULL` over a nullable column), every value is checked as it is
//! read, and the first that does not fit fails the query naming the table, the column and the
//! value. Anything else is refused before the query runs, naming both types.
//!
//! The conversion is the function [`BIND`], so that it travels in stage plans by name and
//! executors apply the same rule as a local run.

use std::str::FromStr;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef};
use datafusion::arrow::compute::{CastOptions, cast_with_options};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Column, Result, ScalarValue, TableReference, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, Expr, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};

/// The name of the binding function: `__lode_bind(value, 'declared type', 'table.column',
/// nullable)`.
pub(crate) const BIND: &str = "__lode_bind";

/// How a column the plan declares reads the column the table holds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Binding {
    /// The same type (and a nullability the plan accepts): read as it is.
    AsIs,
    /// Converted to the declared type, checked per value where `checked`.
    Convert { checked: bool },
}

/// How `physical` (nullable: `physical_nullable`) binds to `declared`; `Err` says why it cannot.
pub(crate) fn binding(
    physical: &DataType,
    physical_nullable: bool,
    declared: &DataType,
    declared_nullable: bool,
) -> std::result::Result<Binding, String> {
    let nulls_checked = physical_nullable && !declared_nullable;
    // DataFusion calls every two decimals logically equal; their digits are not.
    let is_decimal =
        |t: &DataType| matches!(t, DataType::Decimal128(..) | DataType::Decimal256(..));
    let same = if is_decimal(physical) || is_decimal(declared) {
        physical == declared
    } else {
        datafusion::common::DFSchema::datatype_is_logically_equal(physical, declared)
    };
    if same {
        return Ok(if nulls_checked {
            Binding::Convert { checked: true }
        } else {
            Binding::AsIs
        });
    }
    match value_conversion(physical, declared) {
        Some(checked) => Ok(Binding::Convert {
            checked: checked || nulls_checked,
        }),
        None => Err(format!(
            "the data holds {physical}, the plan declares {declared}, and no conversion keeps every value"
        )),
    }
}

/// `Some(false)`: every value converts unchanged; `Some(true)`: each value must be checked;
/// `None`: no safe conversion.
fn value_conversion(from: &DataType, to: &DataType) -> Option<bool> {
    use DataType::*;
    let is_string = |t: &DataType| matches!(t, Utf8 | LargeUtf8 | Utf8View);
    let is_binary = |t: &DataType| matches!(t, Binary | LargeBinary | BinaryView);
    match (from, to) {
        _ if is_string(from) && is_string(to) => Some(false),
        _ if is_binary(from) && is_binary(to) => Some(false),
        (Float16, Float32 | Float64) | (Float32, Float64) => Some(false),
        _ if from.is_integer() && to.is_integer() => Some(!integer_range_holds(from, to)),
        (Decimal128(p1, s1) | Decimal256(p1, s1), Decimal128(p2, s2) | Decimal256(p2, s2)) => {
            if s2 < s1 {
                None // rounding would change values
            } else {
                let integer_digits = |p: &u8, s: &i8| i16::from(*p) - i16::from(*s);
                Some(integer_digits(p2, s2) < integer_digits(p1, s1))
            }
        }
        (_, Decimal128(p, s) | Decimal256(p, s)) if from.is_integer() => {
            Some(i16::from(*p) - i16::from(*s) < integer_digits(from))
        }
        _ => None,
    }
}

/// True when every value of integer type `from` is a value of integer type `to`.
fn integer_range_holds(from: &DataType, to: &DataType) -> bool {
    let bits = |t: &DataType| t.primitive_width().map_or(0, |w| w * 8);
    match (from.is_signed_integer(), to.is_signed_integer()) {
        (true, true) | (false, false) => bits(from) <= bits(to),
        (false, true) => bits(from) < bits(to),
        (true, false) => false,
    }
}

/// Decimal digits an integer type needs for its largest value.
fn integer_digits(t: &DataType) -> i16 {
    match t {
        DataType::Int8 | DataType::UInt8 => 3,
        DataType::Int16 | DataType::UInt16 => 5,
        DataType::Int32 | DataType::UInt32 => 10,
        DataType::Int64 => 19,
        _ => 20,
    }
}

/// Column `name` of `table` read as `declared`, through [`BIND`], keeping its qualifier.
pub(crate) fn bind_expr(
    table: &TableReference,
    name: &str,
    declared: &DataType,
    declared_nullable: bool,
) -> Expr {
    let column = Expr::Column(Column::new(Some(table.clone()), name));
    let literal = |v: ScalarValue| Expr::Literal(v, None);
    Expr::ScalarFunction(datafusion::logical_expr::expr::ScalarFunction::new_udf(
        Arc::new(BindColumn::udf()),
        vec![
            column,
            literal(ScalarValue::Utf8(Some(declared.to_string()))),
            literal(ScalarValue::Utf8(Some(format!(
                "table `{table}`, column `{name}`"
            )))),
            literal(ScalarValue::Boolean(Some(declared_nullable))),
        ],
    ))
    .alias_qualified(Some(table.clone()), name)
}

/// The function [`BIND`]: converts a column to the type the plan declares, checking each
/// value where a conversion may not hold it and nulls where the plan declares none.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct BindColumn {
    signature: Signature,
}

impl BindColumn {
    pub(crate) fn udf() -> ScalarUDF {
        ScalarUDF::new_from_impl(BindColumn {
            signature: Signature::any(4, Volatility::Immutable),
        })
    }
}

/// The constant arguments of a [`BIND`] call: declared type, where, nullable.
fn constant_arguments<'a>(
    scalars: impl Iterator<Item = Option<&'a ScalarValue>>,
) -> Result<(DataType, String, bool)> {
    let scalars: Vec<_> = scalars.collect();
    match scalars.as_slice() {
        [
            _,
            Some(ScalarValue::Utf8(Some(declared))),
            Some(ScalarValue::Utf8(Some(place))),
            Some(ScalarValue::Boolean(Some(nullable))),
        ] => Ok((DataType::from_str(declared)?, place.clone(), *nullable)),
        _ => plan_err!("{BIND} takes a value, its declared type, its place and its nullability"),
    }
}

impl ScalarUDFImpl for BindColumn {
    fn name(&self) -> &str {
        BIND
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        plan_err!("{BIND}: the return type comes from its arguments")
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let (declared, _, nullable) = constant_arguments(args.scalar_arguments.iter().copied())?;
        Ok(Arc::new(Field::new(BIND, declared, nullable)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let scalars: Vec<Option<ScalarValue>> = args
            .args
            .iter()
            .map(|a| match a {
                ColumnarValue::Scalar(s) => Some(s.clone()),
                ColumnarValue::Array(_) => None,
            })
            .collect();
        let (declared, place, nullable) = constant_arguments(scalars.iter().map(Option::as_ref))?;
        let Some(value) = args.args.first() else {
            return exec_err!("{BIND} has no value");
        };
        let values = value.to_array(args.number_rows)?;
        let converted = convert(&values, &declared, &place)?;
        if !nullable && converted.null_count() > 0 {
            let row = (0..converted.len())
                .find(|&i| converted.is_null(i))
                .unwrap_or(0);
            return exec_err!(
                "{place}: a null (row {row} of a batch), but the plan declares the column NOT NULL; declare it nullable in the plan's base schema"
            );
        }
        Ok(ColumnarValue::Array(converted))
    }
}

/// `values` as `declared`; the first value that does not fit is an error naming it.
fn convert(values: &ArrayRef, declared: &DataType, place: &str) -> Result<ArrayRef> {
    if values.data_type() == declared {
        return Ok(Arc::clone(values));
    }
    // Unfit values become nulls here and are found below; the cast itself cannot fail.
    let lenient = CastOptions {
        safe: true,
        ..Default::default()
    };
    let converted = cast_with_options(values, declared, &lenient)?;
    if converted.null_count() == values.null_count() {
        return Ok(converted);
    }
    let row = (0..values.len())
        .find(|&i| values.is_valid(i) && converted.is_null(i))
        .unwrap_or(0);
    let value = ScalarValue::try_from_array(values, row)?;
    exec_err!(
        "{place}: the value {value} (row {row} of a batch) does not fit the plan's declared type {declared} (the data holds {}); declare the column as {} in the plan's base schema",
        values.data_type(),
        values.data_type()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::Int64Array;

    #[test]
    fn widening_is_free_and_narrowing_is_checked() {
        use DataType::*;
        assert_eq!(
            binding(&Int32, true, &Int64, true),
            Ok(Binding::Convert { checked: false })
        );
        assert_eq!(
            binding(&Int64, true, &Int32, true),
            Ok(Binding::Convert { checked: true })
        );
        // DataFusion reads every string layout as the others already.
        assert_eq!(binding(&Utf8View, true, &Utf8, true), Ok(Binding::AsIs));
        assert_eq!(binding(&Int64, true, &Int64, true), Ok(Binding::AsIs));
        assert_eq!(
            binding(&Int64, true, &Int64, false),
            Ok(Binding::Convert { checked: true })
        );
        assert_eq!(
            binding(&Decimal128(15, 2), true, &Decimal128(38, 2), true),
            Ok(Binding::Convert { checked: false })
        );
        assert_eq!(
            binding(&Decimal128(15, 2), true, &Decimal128(12, 2), true),
            Ok(Binding::Convert { checked: true })
        );
        assert_eq!(
            binding(&Int32, true, &Decimal128(12, 2), true),
            Ok(Binding::Convert { checked: false })
        );
        assert!(binding(&Decimal128(15, 2), true, &Decimal128(15, 1), true).is_err());
        assert!(binding(&Utf8, true, &Int32, true).is_err());
        assert_eq!(
            binding(&Int64, true, &UInt64, true),
            Ok(Binding::Convert { checked: true })
        );
    }

    #[test]
    fn a_value_that_does_not_fit_is_named() {
        let values: ArrayRef = Arc::new(Int64Array::from(vec![Some(1), None, Some(3_000_000_000)]));
        let error = convert(&values, &DataType::Int32, "table `t`, column `c`")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("table `t`, column `c`") && error.contains("3000000000"),
            "{error}"
        );
        let fits: ArrayRef = Arc::new(Int64Array::from(vec![Some(1), None, Some(7)]));
        let converted = convert(&fits, &DataType::Int32, "t").unwrap();
        assert_eq!(converted.data_type(), &DataType::Int32);
        assert_eq!(converted.null_count(), 1);
    }
}
