//! The types the validator derives for every field and expression of a plan, read from the
//! plan's proto types and from the type strings of extension YAMLs and `WasmRel` outputs
//! (`i64`, `decimal?<15,2>`, `list<string>`, `struct<i64, string>`).
//!
//! Types are compared by kind and parameters; type variations (DataFusion marks large strings
//! and unsigned integers with them) do not change what a value is, so they are not kept.

use std::fmt;

use substrait::proto::r#type::Kind as ProtoKind;
use substrait::proto::r#type::Nullability;

/// A value's type with its nullability.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataType {
    pub kind: Kind,
    pub nullable: bool,
}

/// The kinds of Substrait types, with their parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Boolean,
    I8,
    I16,
    I32,
    I64,
    Fp32,
    Fp64,
    String,
    Binary,
    Timestamp,
    TimestampTz,
    Date,
    Time,
    IntervalYear,
    IntervalDay(i32),
    IntervalCompound(i32),
    Uuid,
    FixedChar(i32),
    VarChar(i32),
    FixedBinary(i32),
    Decimal {
        precision: i32,
        scale: i32,
    },
    PrecisionTime(i32),
    PrecisionTimestamp(i32),
    PrecisionTimestampTz(i32),
    Struct(Vec<DataType>),
    List(Box<DataType>),
    Map(Box<DataType>, Box<DataType>),
    /// A user-defined type, by its anchor in the plan (0 when named in text).
    UserDefined(u32),
}

impl DataType {
    pub fn new(kind: Kind, nullable: bool) -> Self {
        DataType { kind, nullable }
    }

    pub fn required(kind: Kind) -> Self {
        DataType::new(kind, false)
    }

    pub fn with_nullable(mut self, nullable: bool) -> Self {
        self.nullable = nullable;
        self
    }

    /// The type of a plan's proto type; `None` for kinds the proto leaves unset or that
    /// have no value (`alias`, `func`, `UserDefinedTypeReference`).
    pub fn from_proto(ty: &substrait::proto::Type) -> Option<DataType> {
        let nullable = |n: i32| n == Nullability::Nullable as i32;
        #[allow(deprecated)]
        let (kind, n) = match ty.kind.as_ref()? {
            ProtoKind::Bool(t) => (Kind::Boolean, t.nullability),
            ProtoKind::I8(t) => (Kind::I8, t.nullability),
            ProtoKind::I16(t) => (Kind::I16, t.nullability),
            ProtoKind::I32(t) => (Kind::I32, t.nullability),
            ProtoKind::I64(t) => (Kind::I64, t.nullability),
            ProtoKind::Fp32(t) => (Kind::Fp32, t.nullability),
            ProtoKind::Fp64(t) => (Kind::Fp64, t.nullability),
            ProtoKind::String(t) => (Kind::String, t.nullability),
            ProtoKind::Binary(t) => (Kind::Binary, t.nullability),
            ProtoKind::Timestamp(t) => (Kind::Timestamp, t.nullability),
            ProtoKind::TimestampTz(t) => (Kind::TimestampTz, t.nullability),
            ProtoKind::Date(t) => (Kind::Date, t.nullability),
            ProtoKind::Time(t) => (Kind::Time, t.nullability),
            ProtoKind::IntervalYear(t) => (Kind::IntervalYear, t.nullability),
            ProtoKind::IntervalDay(t) => {
                (Kind::IntervalDay(t.precision.unwrap_or(6)), t.nullability)
            }
            ProtoKind::IntervalCompound(t) => (Kind::IntervalCompound(t.precision), t.nullability),
            ProtoKind::Uuid(t) => (Kind::Uuid, t.nullability),
            ProtoKind::FixedChar(t) => (Kind::FixedChar(t.length), t.nullability),
            ProtoKind::Varchar(t) => (Kind::VarChar(t.length), t.nullability),
            ProtoKind::FixedBinary(t) => (Kind::FixedBinary(t.length), t.nullability),
            ProtoKind::Decimal(t) => (
                Kind::Decimal {
                    precision: t.precision,
                    scale: t.scale,
                },
                t.nullability,
            ),
            ProtoKind::PrecisionTime(t) => (Kind::PrecisionTime(t.precision), t.nullability),
            ProtoKind::PrecisionTimestamp(t) => {
                (Kind::PrecisionTimestamp(t.precision), t.nullability)
            }
            ProtoKind::PrecisionTimestampTz(t) => {
                (Kind::PrecisionTimestampTz(t.precision), t.nullability)
            }
            ProtoKind::Struct(t) => (
                Kind::Struct(
                    t.types
                        .iter()
                        .map(DataType::from_proto)
                        .collect::<Option<_>>()?,
                ),
                t.nullability,
            ),
            ProtoKind::List(t) => (
                Kind::List(Box::new(DataType::from_proto(t.r#type.as_deref()?)?)),
                t.nullability,
            ),
            ProtoKind::Map(t) => (
                Kind::Map(
                    Box::new(DataType::from_proto(t.key.as_deref()?)?),
                    Box::new(DataType::from_proto(t.value.as_deref()?)?),
                ),
                t.nullability,
            ),
            ProtoKind::UserDefined(t) => (Kind::UserDefined(t.type_reference), t.nullability),
            _ => return None,
        };
        Some(DataType::new(kind, nullable(n)))
    }

    /// Reads a type string (`decimal?<15,2>`, `list<i64>`, `string`); `None` when it is not
    /// a concrete type (type variables such as `any1` or `DECIMAL<P,S>` are not).
    pub fn parse(text: &str) -> Option<DataType> {
        let pattern = TypePattern::parse(text)?;
        pattern.concrete()
    }

    /// Whether both are the same kind with the same parameters, nullability aside
    /// (children's nullability included in the comparison is also set aside).
    pub fn same_kind(&self, other: &DataType) -> bool {
        match (&self.kind, &other.kind) {
            (Kind::Struct(a), Kind::Struct(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same_kind(y))
            }
            (Kind::List(a), Kind::List(b)) => a.same_kind(b),
            (Kind::Map(ak, av), Kind::Map(bk, bv)) => ak.same_kind(bk) && av.same_kind(bv),
            (a, b) => a == b,
        }
    }

    /// Whether the type is a number: an integer, a float or a decimal.
    pub fn is_numeric(&self) -> bool {
        matches!(
            self.kind,
            Kind::I8
                | Kind::I16
                | Kind::I32
                | Kind::I64
                | Kind::Fp32
                | Kind::Fp64
                | Kind::Decimal { .. }
        )
    }

    /// The kind's name as extension YAMLs spell it (`boolean`, `decimal`, `precision_timestamp`).
    pub fn name(&self) -> &'static str {
        self.kind.name()
    }
}

impl Kind {
    pub fn name(&self) -> &'static str {
        match self {
            Kind::Boolean => "boolean",
            Kind::I8 => "i8",
            Kind::I16 => "i16",
            Kind::I32 => "i32",
            Kind::I64 => "i64",
            Kind::Fp32 => "fp32",
            Kind::Fp64 => "fp64",
            Kind::String => "string",
            Kind::Binary => "binary",
            Kind::Timestamp => "timestamp",
            Kind::TimestampTz => "timestamp_tz",
            Kind::Date => "date",
            Kind::Time => "time",
            Kind::IntervalYear => "interval_year",
            Kind::IntervalDay(_) => "interval_day",
            Kind::IntervalCompound(_) => "interval_compound",
            Kind::Uuid => "uuid",
            Kind::FixedChar(_) => "fixedchar",
            Kind::VarChar(_) => "varchar",
            Kind::FixedBinary(_) => "fixedbinary",
            Kind::Decimal { .. } => "decimal",
            Kind::PrecisionTime(_) => "precision_time",
            Kind::PrecisionTimestamp(_) => "precision_timestamp",
            Kind::PrecisionTimestampTz(_) => "precision_timestamp_tz",
            Kind::Struct(_) => "struct",
            Kind::List(_) => "list",
            Kind::Map(..) => "map",
            Kind::UserDefined(_) => "user_defined",
        }
    }

    /// The integer parameters, in the order type strings write them.
    pub(crate) fn int_params(&self) -> Vec<i64> {
        match self {
            Kind::IntervalDay(p)
            | Kind::IntervalCompound(p)
            | Kind::FixedChar(p)
            | Kind::VarChar(p)
            | Kind::FixedBinary(p)
            | Kind::PrecisionTime(p)
            | Kind::PrecisionTimestamp(p)
            | Kind::PrecisionTimestampTz(p) => vec![i64::from(*p)],
            Kind::Decimal { precision, scale } => vec![i64::from(*precision), i64::from(*scale)],
            _ => Vec::new(),
        }
    }

    /// The type parameters (children) of nested kinds.
    pub(crate) fn type_params(&self) -> Vec<&DataType> {
        match self {
            Kind::Struct(fields) => fields.iter().collect(),
            Kind::List(item) => vec![item],
            Kind::Map(k, v) => vec![k, v],
            _ => Vec::new(),
        }
    }

    /// The kind of YAML name `name` (lower case) with these parameters, if they fit it.
    fn from_parts(name: &str, ints: &[i64], types: Vec<DataType>) -> Option<Kind> {
        let int = |i: usize| ints.get(i).and_then(|v| i32::try_from(*v).ok());
        let no_params = ints.is_empty() && types.is_empty();
        let kind = match name {
            "boolean" | "bool" if no_params => Kind::Boolean,
            "i8" if no_params => Kind::I8,
            "i16" if no_params => Kind::I16,
            "i32" if no_params => Kind::I32,
            "i64" if no_params => Kind::I64,
            "fp32" if no_params => Kind::Fp32,
            "fp64" if no_params => Kind::Fp64,
            "string" if no_params => Kind::String,
            "binary" if no_params => Kind::Binary,
            "timestamp" if no_params => Kind::Timestamp,
            "timestamp_tz" if no_params => Kind::TimestampTz,
            "date" if no_params => Kind::Date,
            "time" if no_params => Kind::Time,
            "interval_year" if no_params => Kind::IntervalYear,
            "interval_day" if types.is_empty() => {
                Kind::IntervalDay(if ints.is_empty() { 6 } else { int(0)? })
            }
            "interval_compound" => Kind::IntervalCompound(int(0)?),
            "uuid" if no_params => Kind::Uuid,
            "fixedchar" => Kind::FixedChar(int(0)?),
            "varchar" => Kind::VarChar(int(0)?),
            "fixedbinary" => Kind::FixedBinary(int(0)?),
            "decimal" if ints.len() == 2 => Kind::Decimal {
                precision: int(0)?,
                scale: int(1)?,
            },
            "precision_time" => Kind::PrecisionTime(int(0)?),
            "precision_timestamp" => Kind::PrecisionTimestamp(int(0)?),
            "precision_timestamp_tz" => Kind::PrecisionTimestampTz(int(0)?),
            "struct" if ints.is_empty() => Kind::Struct(types),
            "list" if ints.is_empty() && types.len() == 1 => {
                Kind::List(Box::new(types.into_iter().next()?))
            }
            "map" if ints.is_empty() && types.len() == 2 => {
                let mut types = types.into_iter();
                Kind::Map(Box::new(types.next()?), Box::new(types.next()?))
            }
            _ => return None,
        };
        Some(kind)
    }
}

/// Written as type strings are: `decimal?<15,2>`, `list<i64>`, `struct<i64, string?>`.
impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::UserDefined(anchor) => write!(f, "u!{anchor}")?,
            kind => f.write_str(kind.name())?,
        }
        if self.nullable {
            f.write_str("?")?;
        }
        let ints = self.kind.int_params();
        let types = self.kind.type_params();
        if !ints.is_empty() || !types.is_empty() {
            let params: Vec<String> = ints
                .iter()
                .map(i64::to_string)
                .chain(types.iter().map(|t| t.to_string()))
                .collect();
            write!(f, "<{}>", params.join(", "))?;
        }
        Ok(())
    }
}

/// A type string as extension YAMLs write argument and return types: a concrete type, or one
/// with type variables (`any1`, `DECIMAL<P1,S1>`, `varchar<L1>`, `list<any1>`).
#[derive(Debug, Clone, PartialEq)]
pub enum TypePattern {
    /// `any`, `any1`, `any2`: any type; numbered ones stand for the same type everywhere.
    Any { name: String, nullable: bool },
    Named {
        /// Lower case, as [`Kind::name`] spells it.
        name: String,
        nullable: bool,
        params: Vec<Param>,
    },
    /// `u!name`: a user-defined type.
    UserDefined { name: String, nullable: bool },
}

/// A parameter of a [`TypePattern`].
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Int(i64),
    /// An integer variable (`P1`) or, in return types, an expression over them.
    Expr(String),
    Type(TypePattern),
}

impl TypePattern {
    /// Parses one type string; `None` when it is not one.
    pub fn parse(text: &str) -> Option<TypePattern> {
        let mut parser = Parser {
            text: text.trim(),
            at: 0,
        };
        let pattern = parser.pattern()?;
        parser.skip_space();
        (parser.at == parser.text.len()).then_some(pattern)
    }

    pub fn nullable(&self) -> bool {
        match self {
            TypePattern::Any { nullable, .. }
            | TypePattern::Named { nullable, .. }
            | TypePattern::UserDefined { nullable, .. } => *nullable,
        }
    }

    /// The concrete type this names, when it has no variables.
    pub fn concrete(&self) -> Option<DataType> {
        self.instantiate(&mut |_| None, &mut |_| None)
    }

    /// The type this names with its variables replaced: integer parameters by `int` (given
    /// the parameter's text), `anyN` by `ty`.
    pub fn instantiate(
        &self,
        int: &mut dyn FnMut(&str) -> Option<i64>,
        ty: &mut dyn FnMut(&str) -> Option<DataType>,
    ) -> Option<DataType> {
        match self {
            TypePattern::Any { name, nullable } => {
                let bound = ty(name)?;
                let nullable = bound.nullable || *nullable;
                Some(bound.with_nullable(nullable))
            }
            TypePattern::UserDefined { .. } => None,
            TypePattern::Named {
                name,
                nullable,
                params,
            } => {
                let mut ints = Vec::new();
                let mut types = Vec::new();
                for p in params {
                    match p {
                        Param::Int(v) => ints.push(*v),
                        Param::Expr(e) => ints.push(int(e)?),
                        Param::Type(t) => types.push(t.instantiate(int, ty)?),
                    }
                }
                Some(DataType::new(
                    Kind::from_parts(name, &ints, types)?,
                    *nullable,
                ))
            }
        }
    }
}

/// A small recursive-descent reader of type strings.
struct Parser<'a> {
    text: &'a str,
    at: usize,
}

impl Parser<'_> {
    fn skip_space(&mut self) {
        while self.rest().starts_with(char::is_whitespace) {
            self.at += 1;
        }
    }

    fn rest(&self) -> &str {
        &self.text[self.at..]
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_space();
        if self.rest().starts_with(c) {
            self.at += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn word(&mut self) -> Option<&str> {
        self.skip_space();
        let rest = self.rest();
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '!' || c == '.'))
            .unwrap_or(rest.len());
        if len == 0 {
            return None;
        }
        let word = &self.text[self.at..self.at + len];
        self.at += len;
        Some(word)
    }

    fn pattern(&mut self) -> Option<TypePattern> {
        let word = self.word()?.to_string();
        let nullable = self.eat('?');
        if let Some(name) = word.strip_prefix("u!") {
            return Some(TypePattern::UserDefined {
                name: name.to_string(),
                nullable,
            });
        }
        let name = word.to_ascii_lowercase();
        if name.starts_with("any") && name[3..].chars().all(|c| c.is_ascii_digit()) {
            return Some(TypePattern::Any { name, nullable });
        }
        let mut params = Vec::new();
        if self.eat('<') {
            loop {
                params.push(self.param()?);
                if self.eat('>') {
                    break;
                }
                if !self.eat(',') {
                    return None;
                }
            }
        }
        Some(TypePattern::Named {
            name,
            nullable,
            params,
        })
    }

    fn param(&mut self) -> Option<Param> {
        self.skip_space();
        let rest = self.rest();
        if rest.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
            let len = rest[1..]
                .find(|c: char| !c.is_ascii_digit())
                .map_or(rest.len(), |n| n + 1);
            let value = rest[..len].parse().ok()?;
            self.at += len;
            return Some(Param::Int(value));
        }
        // A type when the word is a type's name, else an integer variable.
        let start = self.at;
        let word = self.word()?.to_ascii_lowercase();
        self.at = start;
        if is_type_name(&word) {
            self.pattern().map(Param::Type)
        } else {
            let word = self.word()?.to_string();
            Some(Param::Expr(word))
        }
    }
}

fn is_type_name(word: &str) -> bool {
    word.starts_with("u!")
        || (word.starts_with("any") && word[3..].chars().all(|c| c.is_ascii_digit()))
        || Kind::from_parts(word, &[], Vec::new()).is_some()
        || matches!(
            word,
            "decimal"
                | "varchar"
                | "fixedchar"
                | "fixedbinary"
                | "interval_compound"
                | "precision_time"
                | "precision_timestamp"
                | "precision_timestamp_tz"
                | "list"
                | "map"
                | "struct"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_type_strings() {
        for text in [
            "i64",
            "decimal?<15, 2>",
            "list<string?>",
            "struct<i64, decimal<38, 0>>",
            "map<string, fp64?>",
            "varchar<20>",
        ] {
            let ty = DataType::parse(text).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(ty.to_string(), text);
        }
        assert_eq!(
            DataType::parse("BOOLEAN?"),
            Some(DataType::new(Kind::Boolean, true))
        );
        assert_eq!(DataType::parse("DECIMAL<P,S>"), None);
        assert_eq!(DataType::parse("i64 junk"), None);
        assert_eq!(DataType::parse("list<>"), None);
        assert_eq!(DataType::parse(""), None);
    }

    #[test]
    fn patterns_bind_variables() {
        let pattern = TypePattern::parse("DECIMAL?<38,S>").unwrap();
        assert!(pattern.nullable());
        let ty = pattern
            .instantiate(&mut |v| (v == "S").then_some(2), &mut |_| None)
            .unwrap();
        assert_eq!(ty.to_string(), "decimal?<38, 2>");
        let any = TypePattern::parse("list<any1>").unwrap();
        let ty = any
            .instantiate(&mut |_| None, &mut |_| Some(DataType::required(Kind::I32)))
            .unwrap();
        assert_eq!(ty.to_string(), "list<i32>");
    }
}
