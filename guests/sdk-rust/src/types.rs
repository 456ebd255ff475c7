//! Arrow types as a guest sees them, and their pre-order encoding in the WIT `schema`.

use crate::wit;

/// The Arrow data types a Lode guest can receive and return.
#[derive(Debug, Clone, PartialEq)]
pub enum DataType {
    /// Only nulls.
    Null,
    /// `true` or `false`.
    Boolean,
    /// Signed 8-bit integer.
    Int8,
    /// Signed 16-bit integer.
    Int16,
    /// Signed 32-bit integer (SQL `INT`).
    Int32,
    /// Signed 64-bit integer (SQL `BIGINT`).
    Int64,
    /// Unsigned 8-bit integer.
    UInt8,
    /// Unsigned 16-bit integer.
    UInt16,
    /// Unsigned 32-bit integer.
    UInt32,
    /// Unsigned 64-bit integer.
    UInt64,
    /// 32-bit float (SQL `REAL`).
    Float32,
    /// 64-bit float (SQL `DOUBLE`).
    Float64,
    /// UTF-8 strings with 32-bit offsets.
    Utf8,
    /// UTF-8 strings with 64-bit offsets.
    LargeUtf8,
    /// Bytes with 32-bit offsets.
    Binary,
    /// Bytes with 64-bit offsets.
    LargeBinary,
    /// Days since 1970-01-01.
    Date32,
    /// Unit and optional time zone.
    Timestamp(wit::TimeUnit, Option<String>),
    /// Precision and scale.
    Decimal128(u8, i8),
    /// A list of values of its item field's type.
    List(Box<Field>),
    /// A struct of these fields.
    Struct(Vec<Field>),
}

/// A named, typed column.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The column's name.
    pub name: String,
    /// The column's type.
    pub data_type: DataType,
    /// Whether it may hold nulls.
    pub nullable: bool,
}

impl Field {
    /// A field named `name` of `data_type`.
    pub fn new(name: impl Into<String>, data_type: DataType, nullable: bool) -> Self {
        Field {
            name: name.into(),
            data_type,
            nullable,
        }
    }
}

impl DataType {
    /// The Substrait name of the type, as used in signatures and error messages.
    pub fn substrait_name(&self) -> String {
        match self {
            DataType::Null => "null".into(),
            DataType::Boolean => "boolean".into(),
            DataType::Int8 => "i8".into(),
            DataType::Int16 => "i16".into(),
            DataType::Int32 => "i32".into(),
            DataType::Int64 => "i64".into(),
            DataType::UInt8 => "u8".into(),
            DataType::UInt16 => "u16".into(),
            DataType::UInt32 => "u32".into(),
            DataType::UInt64 => "u64".into(),
            DataType::Float32 => "fp32".into(),
            DataType::Float64 => "fp64".into(),
            DataType::Utf8 | DataType::LargeUtf8 => "string".into(),
            DataType::Binary | DataType::LargeBinary => "binary".into(),
            DataType::Date32 => "date".into(),
            DataType::Timestamp(_, None) => "timestamp".into(),
            DataType::Timestamp(_, Some(_)) => "timestamp_tz".into(),
            DataType::Decimal128(p, s) => format!("decimal<{p},{s}>"),
            DataType::List(item) => format!("list<{}>", item.data_type.substrait_name()),
            DataType::Struct(fields) => {
                let names: Vec<String> = fields
                    .iter()
                    .map(|f| f.data_type.substrait_name())
                    .collect();
                format!("struct<{}>", names.join(","))
            }
        }
    }
}

/// Encodes fields as the WIT pre-order field list.
pub fn encode_schema(fields: &[Field]) -> Vec<wit::Field> {
    let mut out = Vec::new();
    for field in fields {
        encode_field(field, &mut out);
    }
    out
}

fn encode_field(field: &Field, out: &mut Vec<wit::Field>) {
    let (data_type, children): (wit::DataType, &[Field]) = match &field.data_type {
        DataType::Null => (wit::DataType::Null, &[]),
        DataType::Boolean => (wit::DataType::Boolean, &[]),
        DataType::Int8 => (wit::DataType::Int8, &[]),
        DataType::Int16 => (wit::DataType::Int16, &[]),
        DataType::Int32 => (wit::DataType::Int32, &[]),
        DataType::Int64 => (wit::DataType::Int64, &[]),
        DataType::UInt8 => (wit::DataType::Uint8, &[]),
        DataType::UInt16 => (wit::DataType::Uint16, &[]),
        DataType::UInt32 => (wit::DataType::Uint32, &[]),
        DataType::UInt64 => (wit::DataType::Uint64, &[]),
        DataType::Float32 => (wit::DataType::Float32, &[]),
        DataType::Float64 => (wit::DataType::Float64, &[]),
        DataType::Utf8 => (wit::DataType::Utf8, &[]),
        DataType::LargeUtf8 => (wit::DataType::LargeUtf8, &[]),
        DataType::Binary => (wit::DataType::Binary, &[]),
        DataType::LargeBinary => (wit::DataType::LargeBinary, &[]),
        DataType::Date32 => (wit::DataType::Date32, &[]),
        DataType::Timestamp(unit, tz) => (
            wit::DataType::Timestamp(wit::TimestampType {
                unit: *unit,
                timezone: tz.clone(),
            }),
            &[],
        ),
        DataType::Decimal128(precision, scale) => (
            wit::DataType::Decimal128(wit::DecimalType {
                precision: *precision,
                scale: *scale,
            }),
            &[],
        ),
        DataType::List(item) => (wit::DataType::List, std::slice::from_ref(item.as_ref())),
        DataType::Struct(fields) => (wit::DataType::Struct, fields.as_slice()),
    };
    out.push(wit::Field {
        name: field.name.clone(),
        data_type,
        nullable: field.nullable,
        children: children.len() as u32,
    });
    for child in children {
        encode_field(child, out);
    }
}

/// Decodes the WIT pre-order field list.
pub fn decode_schema(fields: &[wit::Field]) -> Result<Vec<Field>, String> {
    let mut rest = fields;
    let mut out = Vec::new();
    while !rest.is_empty() {
        out.push(decode_field(&mut rest)?);
    }
    Ok(out)
}

fn decode_field(rest: &mut &[wit::Field]) -> Result<Field, String> {
    let (head, tail) = rest
        .split_first()
        .ok_or("schema ends inside a nested field")?;
    *rest = tail;
    let mut children = Vec::with_capacity(head.children as usize);
    for _ in 0..head.children {
        children.push(decode_field(rest)?);
    }
    let data_type = match (&head.data_type, children.len()) {
        (wit::DataType::List, 1) => DataType::List(Box::new(children.remove(0))),
        (wit::DataType::List, n) => {
            return Err(format!(
                "list field '{}' has {n} children, not 1",
                head.name
            ));
        }
        (wit::DataType::Struct, _) => DataType::Struct(children),
        (_, 0) => leaf_type(&head.data_type),
        (_, n) => {
            return Err(format!(
                "field '{}' is not nested but has {n} children",
                head.name
            ));
        }
    };
    Ok(Field {
        name: head.name.clone(),
        data_type,
        nullable: head.nullable,
    })
}

fn leaf_type(data_type: &wit::DataType) -> DataType {
    match data_type {
        wit::DataType::Null => DataType::Null,
        wit::DataType::Boolean => DataType::Boolean,
        wit::DataType::Int8 => DataType::Int8,
        wit::DataType::Int16 => DataType::Int16,
        wit::DataType::Int32 => DataType::Int32,
        wit::DataType::Int64 => DataType::Int64,
        wit::DataType::Uint8 => DataType::UInt8,
        wit::DataType::Uint16 => DataType::UInt16,
        wit::DataType::Uint32 => DataType::UInt32,
        wit::DataType::Uint64 => DataType::UInt64,
        wit::DataType::Float32 => DataType::Float32,
        wit::DataType::Float64 => DataType::Float64,
        wit::DataType::Utf8 => DataType::Utf8,
        wit::DataType::LargeUtf8 => DataType::LargeUtf8,
        wit::DataType::Binary => DataType::Binary,
        wit::DataType::LargeBinary => DataType::LargeBinary,
        wit::DataType::Date32 => DataType::Date32,
        wit::DataType::Timestamp(t) => DataType::Timestamp(t.unit, t.timezone.clone()),
        wit::DataType::Decimal128(d) => DataType::Decimal128(d.precision, d.scale),
        wit::DataType::List => DataType::List(Box::new(Field::new("item", DataType::Null, true))),
        wit::DataType::Struct => DataType::Struct(Vec::new()),
    }
}
