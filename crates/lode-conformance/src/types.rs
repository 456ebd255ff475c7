//! Data types as the test format writes them (`i8`, `dec?<38, 2>`, `list<i32?>`, `pts<6>`),
//! their Substrait protos, and their short names in function signatures (`add:i8_i8`).

use substrait::proto::Type;
use substrait::proto::r#type::{self as ptype, Kind as ProtoKind, Nullability};

use crate::error::SyntaxError;

/// A type with its nullability (`?` applies to the outermost type only).
#[derive(Debug, Clone, PartialEq)]
pub struct TestType {
    pub kind: Kind,
    pub nullable: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Bool,
    I8,
    I16,
    I32,
    I64,
    Fp32,
    Fp64,
    String,
    VarChar(u32),
    FixedChar(u32),
    Binary,
    FixedBinary(u32),
    Decimal {
        precision: u8,
        scale: u8,
    },
    Date,
    /// `pt<P>`: time of day with P fractional digits.
    Time(u8),
    /// `pts<P>`: timestamp without time zone.
    Timestamp(u8),
    /// `ptstz<P>`: timestamp in UTC.
    TimestampTz(u8),
    IntervalYear,
    IntervalDay(u8),
    IntervalCompound(u8),
    List(Box<TestType>),
    Struct(Vec<TestType>),
    Map(Box<TestType>, Box<TestType>),
    /// `u!name`: a type defined by an extension (e.g. `u!u8` in `unsigned_integers`).
    UserDefined(String),
    /// `func<P -> R>` or `func<(P1, P2) -> R>`: a lambda's type, by its parameter types and
    /// its result type (`None` where a lambda's body has no type the harness knows).
    Function(Vec<TestType>, Option<Box<TestType>>),
    /// `enum`: an enum argument (`YEAR::enum`).
    Enum,
}

impl TestType {
    pub fn new(kind: Kind) -> Self {
        TestType {
            kind,
            nullable: false,
        }
    }

    pub fn nullable(mut self) -> Self {
        self.nullable = true;
        self
    }

    /// Parses a whole type (`dec?<38, 0>`); anything after it is an error.
    pub fn parse(text: &str) -> Result<TestType, SyntaxError> {
        let mut cursor = TypeCursor {
            text,
            chars: text.char_indices().collect(),
            at: 0,
        };
        let ty = cursor.parse_type()?;
        cursor.skip_spaces();
        if cursor.at < cursor.chars.len() {
            return Err(cursor.error("unexpected text after the type"));
        }
        Ok(ty)
    }

    /// The type's short name in a compound function signature (`i8`, `dec`, `pts`, `req` for enums).
    pub fn signature_name(&self) -> String {
        match &self.kind {
            Kind::Bool => "bool".into(),
            Kind::I8 => "i8".into(),
            Kind::I16 => "i16".into(),
            Kind::I32 => "i32".into(),
            Kind::I64 => "i64".into(),
            Kind::Fp32 => "fp32".into(),
            Kind::Fp64 => "fp64".into(),
            Kind::String => "str".into(),
            Kind::VarChar(_) => "vchar".into(),
            Kind::FixedChar(_) => "fchar".into(),
            Kind::Binary => "vbin".into(),
            Kind::FixedBinary(_) => "fbin".into(),
            Kind::Decimal { .. } => "dec".into(),
            Kind::Date => "date".into(),
            Kind::Time(_) => "pt".into(),
            Kind::Timestamp(_) => "pts".into(),
            Kind::TimestampTz(_) => "ptstz".into(),
            Kind::IntervalYear => "iyear".into(),
            Kind::IntervalDay(_) => "iday".into(),
            Kind::IntervalCompound(_) => "icompound".into(),
            Kind::List(_) => "list".into(),
            Kind::Struct(_) => "struct".into(),
            Kind::Map(..) => "map".into(),
            Kind::UserDefined(name) => format!("u!{name}"),
            Kind::Function(..) => "func".into(),
            Kind::Enum => "req".into(),
        }
    }

    /// The Substrait type; `udt` gives the plan's anchor for a user-defined type (declaring it).
    /// `None` for what a plan cannot carry as a column or literal type here: enums, lambdas,
    /// and user-defined types `udt` does not know.
    pub fn to_proto(&self, udt: &mut dyn FnMut(&str) -> Option<u32>) -> Option<Type> {
        let n = if self.nullable {
            Nullability::Nullable
        } else {
            Nullability::Required
        } as i32;
        // A kind with no parameters: only its nullability.
        macro_rules! plain {
            ($variant:ident, $message:ident) => {
                ProtoKind::$variant(ptype::$message {
                    type_variation_reference: 0,
                    nullability: n,
                })
            };
        }
        let kind = match &self.kind {
            Kind::Bool => plain!(Bool, Boolean),
            Kind::I8 => plain!(I8, I8),
            Kind::I16 => plain!(I16, I16),
            Kind::I32 => plain!(I32, I32),
            Kind::I64 => plain!(I64, I64),
            Kind::Fp32 => plain!(Fp32, Fp32),
            Kind::Fp64 => plain!(Fp64, Fp64),
            Kind::String => plain!(String, String),
            Kind::VarChar(length) => ProtoKind::Varchar(ptype::VarChar {
                length: *length as i32,
                type_variation_reference: 0,
                nullability: n,
            }),
            Kind::FixedChar(length) => ProtoKind::FixedChar(ptype::FixedChar {
                length: *length as i32,
                type_variation_reference: 0,
                nullability: n,
            }),
            Kind::Binary => plain!(Binary, Binary),
            Kind::FixedBinary(length) => ProtoKind::FixedBinary(ptype::FixedBinary {
                length: *length as i32,
                type_variation_reference: 0,
                nullability: n,
            }),
            Kind::Decimal { precision, scale } => ProtoKind::Decimal(ptype::Decimal {
                scale: i32::from(*scale),
                precision: i32::from(*precision),
                type_variation_reference: 0,
                nullability: n,
            }),
            Kind::Date => plain!(Date, Date),
            Kind::Time(precision) => ProtoKind::PrecisionTime(ptype::PrecisionTime {
                precision: i32::from(*precision),
                type_variation_reference: 0,
                nullability: n,
            }),
            Kind::Timestamp(precision) => {
                ProtoKind::PrecisionTimestamp(ptype::PrecisionTimestamp {
                    precision: i32::from(*precision),
                    type_variation_reference: 0,
                    nullability: n,
                })
            }
            Kind::TimestampTz(precision) => {
                ProtoKind::PrecisionTimestampTz(ptype::PrecisionTimestampTz {
                    precision: i32::from(*precision),
                    type_variation_reference: 0,
                    nullability: n,
                })
            }
            Kind::IntervalYear => plain!(IntervalYear, IntervalYear),
            Kind::IntervalDay(precision) => ProtoKind::IntervalDay(ptype::IntervalDay {
                type_variation_reference: 0,
                nullability: n,
                precision: Some(i32::from(*precision)),
            }),
            Kind::IntervalCompound(precision) => {
                ProtoKind::IntervalCompound(ptype::IntervalCompound {
                    type_variation_reference: 0,
                    nullability: n,
                    precision: i32::from(*precision),
                })
            }
            Kind::List(element) => ProtoKind::List(Box::new(ptype::List {
                r#type: Some(Box::new(element.to_proto(udt)?)),
                type_variation_reference: 0,
                nullability: n,
            })),
            Kind::Struct(fields) => ProtoKind::Struct(ptype::Struct {
                types: fields
                    .iter()
                    .map(|f| f.to_proto(udt))
                    .collect::<Option<_>>()?,
                type_variation_reference: 0,
                nullability: n,
            }),
            Kind::Map(key, value) => ProtoKind::Map(Box::new(ptype::Map {
                key: Some(Box::new(key.to_proto(udt)?)),
                value: Some(Box::new(value.to_proto(udt)?)),
                type_variation_reference: 0,
                nullability: n,
            })),
            Kind::UserDefined(name) => ProtoKind::UserDefined(ptype::UserDefined {
                type_reference: udt(name)?,
                nullability: n,
                ..Default::default()
            }),
            Kind::Function(parameters, returns) => ProtoKind::Func(Box::new(ptype::Func {
                parameter_types: parameters
                    .iter()
                    .map(|p| p.to_proto(udt))
                    .collect::<Option<_>>()?,
                return_type: Some(Box::new(returns.as_ref()?.to_proto(udt)?)),
                nullability: n,
            })),
            Kind::Enum => return None,
        };
        Some(Type { kind: Some(kind) })
    }
}

/// Splits a list of types (`fp32, dec<3, 1>, func<i32 -> i32>`) on its top-level commas.
pub fn split_types(text: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let (mut depth, mut start, mut previous) = (0i32, 0, ' ');
    for (i, c) in text.char_indices() {
        match c {
            '<' | '(' => depth += 1,
            '>' if previous != '-' => depth -= 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                items.push(text[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
        previous = c;
    }
    let last = text[start..].trim();
    if !last.is_empty() || !items.is_empty() {
        items.push(last);
    }
    items
}

/// A cursor over type text. Types nest (`list<struct<i8, dec<3,1>>>`), so this is a small
/// recursive-descent parser rather than a split on commas.
struct TypeCursor<'a> {
    text: &'a str,
    chars: Vec<(usize, char)>,
    at: usize,
}

impl TypeCursor<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).map(|&(_, c)| c)
    }

    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.at += 1;
        }
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_spaces();
        if self.peek() == Some(c) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn error(&self, message: &str) -> SyntaxError {
        let column = self.chars.get(self.at).map_or(self.text.len(), |&(i, _)| i);
        SyntaxError::new(format!("{message} in type `{}`", self.text), column)
    }

    fn word(&mut self) -> String {
        self.skip_spaces();
        let mut word = String::new();
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == '_' || c == '!' {
                word.push(c);
                self.at += 1;
            } else {
                break;
            }
        }
        word
    }

    fn number(&mut self) -> Result<u32, SyntaxError> {
        let word = self.word();
        word.parse()
            .map_err(|_| self.error(&format!("expected a number, found `{word}`")))
    }

    fn parse_type(&mut self) -> Result<TestType, SyntaxError> {
        let name = self.word();
        if name.is_empty() {
            return Err(self.error("expected a type name"));
        }
        let mut nullable = self.eat('?');
        let kind = match name.to_ascii_lowercase().as_str() {
            "bool" | "boolean" => Kind::Bool,
            "i8" => Kind::I8,
            "i16" => Kind::I16,
            "i32" => Kind::I32,
            "i64" => Kind::I64,
            "fp32" | "f32" | "float" => Kind::Fp32,
            "fp64" | "f64" | "double" => Kind::Fp64,
            "str" | "string" => Kind::String,
            "vbin" | "binary" => Kind::Binary,
            "date" => Kind::Date,
            "iyear" | "interval_year" => Kind::IntervalYear,
            // The deprecated microsecond types, as precision types.
            "ts" | "timestamp" => Kind::Timestamp(6),
            "tstz" | "timestamp_tz" => Kind::TimestampTz(6),
            "time" => Kind::Time(6),
            "enum" => Kind::Enum,
            "vchar" | "varchar" => Kind::VarChar(self.one_parameter()?),
            "fchar" | "fixedchar" => Kind::FixedChar(self.one_parameter()?),
            "fbin" | "fixedbinary" => Kind::FixedBinary(self.one_parameter()?),
            "pt" | "precision_time" => Kind::Time(self.precision()?),
            "pts" | "precision_timestamp" => Kind::Timestamp(self.precision()?),
            "ptstz" | "precision_timestamp_tz" => Kind::TimestampTz(self.precision()?),
            "iday" | "interval_day" => Kind::IntervalDay(self.optional_precision(6)?),
            "icompound" | "interval_compound" => {
                Kind::IntervalCompound(self.optional_precision(6)?)
            }
            "dec" | "decimal" => {
                let (precision, scale) = if self.eat('<') {
                    let p = self.number()?;
                    let s = if self.eat(',') { self.number()? } else { 0 };
                    self.expect('>')?;
                    (p, s)
                } else {
                    (38, 0)
                };
                if precision == 0 || precision > 38 || scale > precision {
                    return Err(self.error(&format!(
                        "decimal<{precision}, {scale}> is out of range (1 <= P <= 38, 0 <= S <= P)"
                    )));
                }
                Kind::Decimal {
                    precision: precision as u8,
                    scale: scale as u8,
                }
            }
            "list" => {
                self.expect('<')?;
                let element = self.parse_type()?;
                self.expect('>')?;
                Kind::List(Box::new(element))
            }
            "struct" => {
                self.expect('<')?;
                let mut fields = vec![self.parse_type()?];
                while self.eat(',') {
                    fields.push(self.parse_type()?);
                }
                self.expect('>')?;
                Kind::Struct(fields)
            }
            "map" => {
                self.expect('<')?;
                let key = self.parse_type()?;
                self.expect(',')?;
                let value = self.parse_type()?;
                self.expect('>')?;
                Kind::Map(Box::new(key), Box::new(value))
            }
            "func" => {
                let (parameters, returns) = self.lambda_signature()?;
                Kind::Function(parameters, Some(Box::new(returns)))
            }
            other => match other.strip_prefix("u!") {
                Some(udt) if !udt.is_empty() => Kind::UserDefined(udt.to_string()),
                _ => return Err(self.error(&format!("unknown type `{name}`"))),
            },
        };
        nullable |= self.eat('?');
        Ok(TestType { kind, nullable })
    }

    fn expect(&mut self, c: char) -> Result<(), SyntaxError> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.error(&format!("expected `{c}`")))
        }
    }

    fn one_parameter(&mut self) -> Result<u32, SyntaxError> {
        self.expect('<')?;
        let n = self.number()?;
        self.expect('>')?;
        Ok(n)
    }

    fn precision(&mut self) -> Result<u8, SyntaxError> {
        let p = self.one_parameter()?;
        u8::try_from(p)
            .ok()
            .filter(|p| *p <= 12)
            .ok_or_else(|| self.error(&format!("precision {p} is out of range (0..=12)")))
    }

    fn optional_precision(&mut self, default: u8) -> Result<u8, SyntaxError> {
        self.skip_spaces();
        if self.peek() == Some('<') {
            self.precision()
        } else {
            Ok(default)
        }
    }

    /// `<i32 -> bool?>` or `<(i32, str) -> i32>` after `func`: the parameter types (the
    /// result type is read and dropped: the consumer derives it).
    fn lambda_signature(&mut self) -> Result<(Vec<TestType>, TestType), SyntaxError> {
        self.expect('<')?;
        let mut params = Vec::new();
        if self.eat('(') {
            params.push(self.parse_type()?);
            while self.eat(',') {
                params.push(self.parse_type()?);
            }
            self.expect(')')?;
        } else {
            params.push(self.parse_type()?);
        }
        self.expect('-')?;
        self.expect('>')?;
        let returns = self.parse_type()?;
        self.expect('>')?;
        Ok((params, returns))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nullability_parameters_and_nesting() {
        let t = TestType::parse("dec?<38, 2>").unwrap();
        assert_eq!(
            t,
            TestType::new(Kind::Decimal {
                precision: 38,
                scale: 2
            })
            .nullable()
        );
        let t = TestType::parse("list?<i32?>").unwrap();
        assert!(t.nullable);
        assert_eq!(
            t.kind,
            Kind::List(Box::new(TestType::new(Kind::I32).nullable()))
        );
        let t = TestType::parse("struct<i8, list<str>>").unwrap();
        assert_eq!(t.signature_name(), "struct");
        assert_eq!(
            TestType::parse("func<(i32, i32) -> i32?>").unwrap().kind,
            Kind::Function(
                vec![TestType::new(Kind::I32), TestType::new(Kind::I32)],
                Some(Box::new(TestType::new(Kind::I32).nullable()))
            )
        );
        assert_eq!(
            TestType::parse("func?<i32? -> bool?>").unwrap(),
            TestType::new(Kind::Function(
                vec![TestType::new(Kind::I32).nullable()],
                Some(Box::new(TestType::new(Kind::Bool).nullable()))
            ))
            .nullable()
        );
        assert_eq!(TestType::parse("pts<6>").unwrap().kind, Kind::Timestamp(6));
        assert_eq!(
            TestType::parse("u!u8").unwrap().kind,
            Kind::UserDefined("u8".into())
        );
    }

    #[test]
    fn rejects_what_it_cannot_read() {
        assert!(TestType::parse("i128").is_err());
        assert!(TestType::parse("dec<39, 0>").is_err());
        assert!(TestType::parse("list<i8").is_err());
        assert!(TestType::parse("i8 i8").is_err());
    }
}
