//! The Substrait names of Arrow types: in simple extension YAML (`decimal<10,2>`), and short,
//! in compound function names (`gcd:i64_i64`).

use datafusion::arrow::datatypes::DataType;

/// Substrait's short type names for compound function names.
pub(crate) fn short_type_name(data_type: &DataType) -> &'static str {
    match data_type {
        DataType::Boolean => "bool",
        DataType::Int8 => "i8",
        DataType::Int16 => "i16",
        DataType::Int32 => "i32",
        DataType::Int64 => "i64",
        DataType::Float32 => "fp32",
        DataType::Float64 => "fp64",
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "str",
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => "vbin",
        DataType::Date32 => "date",
        DataType::Timestamp(_, None) => "ts",
        DataType::Timestamp(_, Some(_)) => "tstz",
        DataType::Decimal128(..) => "dec",
        DataType::List(_) => "list",
        DataType::Struct(_) => "struct",
        _ => "any",
    }
}

/// The Substrait type of an Arrow type, as simple extension YAML writes it.
pub fn substrait_type_name(data_type: &DataType) -> String {
    match data_type {
        DataType::Boolean => "boolean".into(),
        DataType::Int8 => "i8".into(),
        DataType::Int16 => "i16".into(),
        DataType::Int32 => "i32".into(),
        DataType::Int64 => "i64".into(),
        DataType::Float32 => "fp32".into(),
        DataType::Float64 => "fp64".into(),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "string".into(),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => "binary".into(),
        DataType::Date32 => "date".into(),
        DataType::Timestamp(_, None) => "timestamp".into(),
        DataType::Timestamp(_, Some(_)) => "timestamp_tz".into(),
        DataType::Decimal128(p, s) => format!("decimal<{p},{s}>"),
        DataType::List(item) => format!("list<{}>", substrait_type_name(item.data_type())),
        DataType::Struct(fields) => {
            let inner: Vec<String> = fields
                .iter()
                .map(|f| substrait_type_name(f.data_type()))
                .collect();
            format!("struct<{}>", inner.join(", "))
        }
        other => format!("any /* {other} */"),
    }
}

/// The Arrow type the Substrait consumer reads a validator type as (the inverse of
/// [`substrait_type_name`]); `None` for types a Wasm signature cannot name.
pub(crate) fn arrow_type_of(data_type: &lode_plan::DataType) -> Option<DataType> {
    use datafusion::arrow::datatypes::{Field, TimeUnit};
    use lode_plan::types::Kind;
    let unit = |precision: i32| match precision {
        0 => Some(TimeUnit::Second),
        3 => Some(TimeUnit::Millisecond),
        6 => Some(TimeUnit::Microsecond),
        9 => Some(TimeUnit::Nanosecond),
        _ => None,
    };
    Some(match &data_type.kind {
        Kind::Boolean => DataType::Boolean,
        Kind::I8 => DataType::Int8,
        Kind::I16 => DataType::Int16,
        Kind::I32 => DataType::Int32,
        Kind::I64 => DataType::Int64,
        Kind::Fp32 => DataType::Float32,
        Kind::Fp64 => DataType::Float64,
        Kind::String | Kind::VarChar(_) | Kind::FixedChar(_) => DataType::Utf8,
        Kind::Binary | Kind::FixedBinary(_) => DataType::Binary,
        Kind::Date => DataType::Date32,
        Kind::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
        Kind::TimestampTz => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        Kind::PrecisionTimestamp(p) => DataType::Timestamp(unit(*p)?, None),
        Kind::PrecisionTimestampTz(p) => DataType::Timestamp(unit(*p)?, Some("UTC".into())),
        Kind::Decimal { precision, scale } => {
            DataType::Decimal128(u8::try_from(*precision).ok()?, i8::try_from(*scale).ok()?)
        }
        Kind::List(item) => DataType::List(std::sync::Arc::new(Field::new(
            "item",
            arrow_type_of(item)?,
            true,
        ))),
        _ => return None,
    })
}
