//! Literal values of the test format, read by their declared type (`-2.5::dec<2,1>`,
//! `2016-12-31T13:30:15::pts<6>`, `'P2DT3H'::iday<6>`, `[1, null]::list<i32?>`) into Substrait
//! literals. The type decides how the text is read, so `1` is an integer for `i8` and a decimal
//! for `dec<3,1>`.

use substrait::proto::expression::Literal;
use substrait::proto::expression::literal::interval_day_to_second::PrecisionMode;
use substrait::proto::expression::literal::{
    self as plit, IntervalDayToSecond, IntervalYearToMonth, LiteralType,
};

use crate::error::LiteralError;
use crate::types::{Kind, TestType};

type Result<T> = std::result::Result<T, LiteralError>;

fn invalid(message: impl Into<String>) -> LiteralError {
    LiteralError::Invalid(message.into())
}

/// Anchors of user-defined types by name (declaring them in the plan being built).
pub type TypeAnchors<'a> = dyn FnMut(&str) -> Option<u32> + 'a;

/// Reads `text` as a value of type `ty`.
pub fn literal(text: &str, ty: &TestType, udt: &mut TypeAnchors) -> Result<Literal> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("null") {
        return null(ty, udt);
    }
    let literal_type = match &ty.kind {
        Kind::Bool => match text.to_ascii_lowercase().as_str() {
            "true" => LiteralType::Boolean(true),
            "false" => LiteralType::Boolean(false),
            _ => return Err(invalid(format!("`{text}` is not a boolean"))),
        },
        Kind::I8 => LiteralType::I8(integer(text, i8::MIN.into(), i8::MAX.into(), "i8")? as i32),
        Kind::I16 => {
            LiteralType::I16(integer(text, i16::MIN.into(), i16::MAX.into(), "i16")? as i32)
        }
        Kind::I32 => {
            LiteralType::I32(integer(text, i32::MIN.into(), i32::MAX.into(), "i32")? as i32)
        }
        Kind::I64 => LiteralType::I64(integer(text, i64::MIN, i64::MAX, "i64")?),
        Kind::Fp32 => LiteralType::Fp32(
            float(text)?
                .parse::<f32>()
                .map_err(|_| invalid(format!("`{text}` is not a floating-point number")))?,
        ),
        Kind::Fp64 => LiteralType::Fp64(
            float(text)?
                .parse::<f64>()
                .map_err(|_| invalid(format!("`{text}` is not a floating-point number")))?,
        ),
        Kind::String => LiteralType::String(quoted(text)?),
        Kind::VarChar(length) => LiteralType::VarChar(plit::VarChar {
            value: quoted(text)?,
            length: *length,
        }),
        Kind::FixedChar(_) => LiteralType::FixedChar(quoted(text)?),
        Kind::Decimal { precision, scale } => LiteralType::Decimal(plit::Decimal {
            value: decimal(text, *precision, *scale)?.to_le_bytes().to_vec(),
            precision: i32::from(*precision),
            scale: i32::from(*scale),
        }),
        Kind::Date => LiteralType::Date(date(unquoted(text))?),
        Kind::Time(precision) => LiteralType::PrecisionTime(plit::PrecisionTime {
            precision: i32::from(*precision),
            value: time_of_day(unquoted(text), *precision)?,
        }),
        Kind::Timestamp(precision) => LiteralType::PrecisionTimestamp(plit::PrecisionTimestamp {
            precision: i32::from(*precision),
            value: timestamp(unquoted(text), *precision, false)?,
        }),
        Kind::TimestampTz(precision) => {
            LiteralType::PrecisionTimestampTz(plit::PrecisionTimestamp {
                precision: i32::from(*precision),
                value: timestamp(unquoted(text), *precision, true)?,
            })
        }
        Kind::IntervalYear => {
            let (years, months) = interval_year(unquoted(text))?;
            LiteralType::IntervalYearToMonth(IntervalYearToMonth { years, months })
        }
        Kind::IntervalDay(precision) => {
            let (days, seconds, subseconds) = interval_day(unquoted(text), *precision)?;
            LiteralType::IntervalDayToSecond(IntervalDayToSecond {
                days,
                seconds,
                subseconds,
                precision_mode: Some(PrecisionMode::Precision(i32::from(*precision))),
            })
        }
        Kind::List(element) => {
            let inner = enclosed(text, '[', ']')?;
            let items = split_top_level(inner)?;
            if items.is_empty() {
                return empty_collection(ty, udt);
            }
            LiteralType::List(plit::List {
                values: items
                    .iter()
                    .map(|item| literal(item, element, udt))
                    .collect::<Result<_>>()?,
            })
        }
        Kind::Struct(fields) => {
            let items = split_top_level(enclosed(text, '(', ')')?)?;
            if items.len() != fields.len() {
                return Err(invalid(format!(
                    "struct literal `{text}` has {} fields, its type {}",
                    items.len(),
                    fields.len()
                )));
            }
            LiteralType::Struct(plit::Struct {
                fields: items
                    .iter()
                    .zip(fields)
                    .map(|(item, field)| literal(item, field, udt))
                    .collect::<Result<_>>()?,
            })
        }
        Kind::Map(key_type, value_type) => {
            let items = split_top_level(enclosed(text, '{', '}')?)?;
            if items.is_empty() {
                return empty_collection(ty, udt);
            }
            let mut key_values = Vec::with_capacity(items.len());
            for item in &items {
                let (key, value) = split_key_value(item)?;
                key_values.push(plit::map::KeyValue {
                    key: Some(literal(key, key_type, udt)?),
                    value: Some(literal(value, value_type, udt)?),
                });
            }
            LiteralType::Map(plit::Map { key_values })
        }
        Kind::UserDefined(name) => {
            let anchor = udt(name).ok_or_else(|| unsupported_type(ty))?;
            LiteralType::UserDefined(plit::UserDefined {
                type_anchor_type: Some(plit::user_defined::TypeAnchorType::TypeReference(anchor)),
                val: Some(plit::user_defined::Val::Struct(plit::Struct {
                    fields: structure_fields(text)?,
                })),
                ..Default::default()
            })
        }
        Kind::Binary
        | Kind::FixedBinary(_)
        | Kind::IntervalCompound(_)
        | Kind::Function(..)
        | Kind::Enum => return Err(unsupported_type(ty)),
    };
    Ok(Literal {
        nullable: ty.nullable,
        type_variation_reference: 0,
        literal_type: Some(literal_type),
    })
}

/// The fields of a user-defined type's structure, `('250')` or `(4, 2)`: quoted text is a
/// string, anything else an `i64`.
fn structure_fields(text: &str) -> Result<Vec<Literal>> {
    // A one-field structure may be written bare, as in a column of values: `'250'`.
    let fields = if text.starts_with('(') {
        enclosed(text, '(', ')')?
    } else {
        text
    };
    split_top_level(fields)?
        .into_iter()
        .map(|field| {
            let literal_type = if field.starts_with('\'') {
                LiteralType::String(quoted(field)?)
            } else {
                LiteralType::I64(integer(field, i64::MIN, i64::MAX, "i64")?)
            };
            Ok(Literal {
                nullable: false,
                type_variation_reference: 0,
                literal_type: Some(literal_type),
            })
        })
        .collect()
}

/// `[]` or `{}`: Substrait writes an empty list or map as its type.
fn empty_collection(ty: &TestType, udt: &mut TypeAnchors) -> Result<Literal> {
    use substrait::proto::r#type::Kind as ProtoKind;
    let literal_type = match ty.to_proto(udt).and_then(|t| t.kind) {
        Some(ProtoKind::List(list)) => LiteralType::EmptyList(*list),
        Some(ProtoKind::Map(map)) => LiteralType::EmptyMap(*map),
        _ => return Err(unsupported_type(ty)),
    };
    Ok(Literal {
        nullable: ty.nullable,
        type_variation_reference: 0,
        literal_type: Some(literal_type),
    })
}

fn unsupported_type(ty: &TestType) -> LiteralError {
    LiteralError::Unsupported(format!(
        "literals of type `{}` are not supported by the harness",
        ty.signature_name()
    ))
}

/// A typed null. The format writes `null::i8?`; a null of a type written without `?` is read
/// as that type made nullable rather than refused.
fn null(ty: &TestType, udt: &mut TypeAnchors) -> Result<Literal> {
    let nullable = TestType {
        kind: ty.kind.clone(),
        nullable: true,
    };
    let proto = nullable.to_proto(udt).ok_or_else(|| unsupported_type(ty))?;
    Ok(Literal {
        nullable: true,
        type_variation_reference: 0,
        literal_type: Some(LiteralType::Null(proto)),
    })
}

fn integer(text: &str, min: i64, max: i64, name: &str) -> Result<i64> {
    let value: i128 = text
        .parse()
        .map_err(|_| invalid(format!("`{text}` is not an integer")))?;
    if value < i128::from(min) || value > i128::from(max) {
        return Err(invalid(format!("{text} is out of range for {name}")));
    }
    Ok(value as i64)
}

/// Normalises the format's special float spellings to ones Rust parses.
fn float(text: &str) -> Result<&str> {
    Ok(match text.to_ascii_lowercase().as_str() {
        "nan" | "+nan" | "-nan" | "snan" => "NaN",
        "inf" | "+inf" | "infinity" | "+infinity" => "inf",
        "-inf" | "-infinity" => "-inf",
        _ => text,
    })
}

/// A decimal's unscaled value at `scale`, checked against `precision`.
pub(crate) fn decimal(text: &str, precision: u8, scale: u8) -> Result<i128> {
    let bad = || invalid(format!("`{text}` is not a decimal number"));
    let (mantissa, exponent) = match text.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i32>().map_err(|_| bad())?),
        None => (text, 0),
    };
    let (negative, digits) = match mantissa.as_bytes().first() {
        Some(b'-') => (true, &mantissa[1..]),
        Some(b'+') => (false, &mantissa[1..]),
        _ => (false, mantissa),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() && fraction.is_empty()
        || !whole
            .bytes()
            .chain(fraction.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    // The digits as an integer, and the power of ten it must be scaled by to reach `scale`.
    let all_digits = format!("{whole}{fraction}");
    // Past 80 places no 38-digit decimal fits: refuse before scaling (and before overflow).
    let shift = i64::from(scale) - (fraction.len() as i64 - i64::from(exponent));
    if shift.abs() > 80 {
        return Err(invalid(format!(
            "`{text}` does not fit decimal<{precision}, {scale}>"
        )));
    }
    let mut value: i128 = all_digits.trim_start_matches('0').parse().unwrap_or(0);
    if shift >= 0 {
        for _ in 0..shift {
            value = value.checked_mul(10).ok_or_else(bad)?;
        }
    } else {
        let divisor = 10i128.checked_pow((-shift) as u32).ok_or_else(bad)?;
        if value % divisor != 0 {
            return Err(invalid(format!(
                "`{text}` has more than {scale} digits after the point"
            )));
        }
        value /= divisor;
    }
    let limit = 10i128.pow(u32::from(precision));
    if value >= limit {
        return Err(invalid(format!(
            "`{text}` does not fit decimal<{precision}, {scale}>"
        )));
    }
    Ok(if negative { -value } else { value })
}

/// The text of a quoted string literal, with `\'` and `\\` unescaped. Any other backslash is
/// kept: regular expressions in the corpus are written `'\d+'`.
fn quoted(text: &str) -> Result<String> {
    let inner = text
        .strip_prefix('\'')
        .and_then(|t| t.strip_suffix('\''))
        .ok_or_else(|| invalid(format!("`{text}` is not a quoted string")))?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' && matches!(chars.peek(), Some('\'' | '\\')) {
            out.extend(chars.next());
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

/// Temporal values may be written with or without quotes.
fn unquoted(text: &str) -> &str {
    text.strip_prefix('\'')
        .and_then(|t| t.strip_suffix('\''))
        .unwrap_or(text)
}

fn enclosed(text: &str, open: char, close: char) -> Result<&str> {
    text.strip_prefix(open)
        .and_then(|t| t.strip_suffix(close))
        .ok_or_else(|| invalid(format!("`{text}` should be enclosed in `{open}…{close}`")))
}

/// Splits on commas that are outside quotes and brackets; an all-blank text is no items.
pub(crate) fn split_top_level(text: &str) -> Result<Vec<&str>> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let mut items = Vec::new();
    let mut depth = 0i32;
    let mut in_quote = false;
    let mut escaped = false;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if in_quote {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '\'' => in_quote = false,
                _ => {}
            }
            continue;
        }
        match c {
            '\'' => in_quote = true,
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(text[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
        if depth < 0 {
            return Err(invalid(format!("unbalanced brackets in `{text}`")));
        }
    }
    if in_quote || depth != 0 {
        return Err(invalid(format!(
            "unbalanced quotes or brackets in `{text}`"
        )));
    }
    items.push(text[start..].trim());
    Ok(items)
}

/// `'a': 1` -> (`'a'`, `1`): the first colon outside quotes.
fn split_key_value(item: &str) -> Result<(&str, &str)> {
    let mut in_quote = false;
    let mut escaped = false;
    for (i, c) in item.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_quote => escaped = true,
            '\'' => in_quote = !in_quote,
            ':' if !in_quote => return Ok((item[..i].trim(), item[i + 1..].trim())),
            _ => {}
        }
    }
    Err(invalid(format!("map entry `{item}` has no `key: value`")))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn date_parts(text: &str) -> Result<i64> {
    let bad = || invalid(format!("`{text}` is not a date (YYYY-MM-DD)"));
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let mut parts = body.splitn(3, '-');
    let mut next = || parts.next().ok_or_else(bad);
    let year: i64 = next()?
        .parse()
        .ok()
        .filter(|y: &i64| *y <= 1_000_000)
        .ok_or_else(bad)?;
    let month: u32 = next()?.parse().map_err(|_| bad())?;
    let day: u32 = next()?.parse().map_err(|_| bad())?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return Err(bad());
    }
    Ok(days_from_civil(
        if negative { -year } else { year },
        month,
        day,
    ))
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn date(text: &str) -> Result<i32> {
    i32::try_from(date_parts(text)?).map_err(|_| invalid(format!("date `{text}` is out of range")))
}

/// `HH:MM:SS[.fraction]` in units of 10^-precision seconds since midnight.
fn time_of_day(text: &str, precision: u8) -> Result<i64> {
    let bad = || invalid(format!("`{text}` is not a time (HH:MM:SS[.fraction])"));
    let mut parts = text.splitn(3, ':');
    let hours: i64 = parts.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
    let minutes: i64 = parts.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
    let seconds = parts.next().unwrap_or("0");
    let (whole, fraction) = seconds.split_once('.').unwrap_or((seconds, ""));
    let whole: i64 = whole.parse().map_err(|_| bad())?;
    if hours > 24 || minutes > 59 || whole > 60 {
        return Err(bad());
    }
    let unit = 10i64.pow(u32::from(precision));
    Ok((hours * 3600 + minutes * 60 + whole) * unit + fraction_units(fraction, precision, text)?)
}

/// `.220` at precision 6 -> 220000. More digits than the precision holds is an error, not a
/// silent truncation.
fn fraction_units(fraction: &str, precision: u8, text: &str) -> Result<i64> {
    if fraction.is_empty() {
        return Ok(0);
    }
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(format!("bad fractional seconds in `{text}`")));
    }
    let significant = fraction.trim_end_matches('0');
    if significant.len() > usize::from(precision) {
        return Err(invalid(format!(
            "`{text}` has more fractional digits than precision {precision} holds"
        )));
    }
    let padded = format!("{significant:0<width$}", width = usize::from(precision));
    Ok(if padded.is_empty() {
        0
    } else {
        padded
            .parse()
            .map_err(|_| invalid(format!("bad fraction in `{text}`")))?
    })
}

/// `YYYY-MM-DD[T| ]HH:MM:SS[.fraction][Z|±HH:MM]`. With a zone the value is moved to UTC; a
/// timestamp without a zone takes none.
fn timestamp(text: &str, precision: u8, with_zone: bool) -> Result<i64> {
    let bad = || invalid(format!("`{text}` is not a timestamp"));
    let (date_text, rest) = text
        .split_once(['T', ' '])
        .map_or((text, "00:00:00"), |(d, r)| (d, r));
    let (time_text, offset_seconds) = split_zone(rest).ok_or_else(bad)?;
    if offset_seconds != 0 && !with_zone {
        return Err(invalid(format!(
            "`{text}` has a zone offset but its type has no time zone"
        )));
    }
    let days = date_parts(date_text)?;
    let unit = 10i64.pow(u32::from(precision));
    let time = time_of_day(time_text, precision)?;
    days.checked_mul(86_400 * unit)
        .and_then(|v| v.checked_add(time))
        .and_then(|v| v.checked_sub(offset_seconds * unit))
        .ok_or_else(|| invalid(format!("timestamp `{text}` is out of range")))
}

/// Splits a trailing `Z`, `+HH:MM` or `-HH:MM` zone from a time of day.
fn split_zone(text: &str) -> Option<(&str, i64)> {
    if let Some(time) = text.strip_suffix('Z') {
        return Some((time, 0));
    }
    match text.rfind(['+', '-']) {
        Some(i) => {
            let (hours, minutes) = text[i + 1..]
                .split_once(':')
                .unwrap_or((&text[i + 1..], "0"));
            let hours: i64 = hours.parse().ok().filter(|h| (0..=24).contains(h))?;
            let minutes: i64 = minutes.parse().ok().filter(|m| (0..60).contains(m))?;
            let sign = if text.as_bytes()[i] == b'-' { -1 } else { 1 };
            Some((&text[..i], sign * (hours * 3600 + minutes * 60)))
        }
        None => Some((text, 0)),
    }
}

/// ISO 8601 `P[n]Y[n]M` -> (years, months).
fn interval_year(text: &str) -> Result<(i32, i32)> {
    let bad = || invalid(format!("`{text}` is not a year-month interval (P[n]Y[n]M)"));
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let body = body.strip_prefix('P').ok_or_else(bad)?;
    let (mut years, mut months) = (0i32, 0i32);
    for (number, unit) in designators(body).ok_or_else(bad)? {
        let n: i32 = number.parse().map_err(|_| bad())?;
        match unit {
            'Y' => years = n,
            'M' => months = n,
            _ => return Err(bad()),
        }
    }
    Ok(if negative {
        (-years, -months)
    } else {
        (years, months)
    })
}

/// ISO 8601 `P[n]DT[n]H[n]M[n[.f]]S` -> (days, seconds, subseconds at `precision`).
fn interval_day(text: &str, precision: u8) -> Result<(i32, i32, i64)> {
    let bad = || {
        invalid(format!(
            "`{text}` is not a day-time interval (P[n]DT[n]H[n]M[n]S)"
        ))
    };
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let body = body.strip_prefix('P').ok_or_else(bad)?;
    let (date_part, time_part) = body.split_once('T').unwrap_or((body, ""));
    let (mut days, mut seconds, mut subseconds) = (0i64, 0i64, 0i64);
    // `count` of a unit of `size` added to `total`, refusing what i64 cannot hold.
    let add = |total: i64, count: &str, size: i64| {
        count
            .parse::<i64>()
            .ok()
            .and_then(|n| n.checked_mul(size))
            .and_then(|n| total.checked_add(n))
            .ok_or_else(bad)
    };
    for (number, unit) in designators(date_part).ok_or_else(bad)? {
        match unit {
            'D' => days = add(days, number, 1)?,
            'W' => days = add(days, number, 7)?,
            _ => return Err(bad()),
        }
    }
    for (number, unit) in designators(time_part).ok_or_else(bad)? {
        match unit {
            'H' => seconds = add(seconds, number, 3600)?,
            'M' => seconds = add(seconds, number, 60)?,
            'S' => {
                let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
                seconds = add(seconds, whole, 1)?;
                subseconds = fraction_units(fraction, precision, text)?;
            }
            _ => return Err(bad()),
        }
    }
    let sign = if negative { -1 } else { 1 };
    let days = i32::try_from(sign * days).map_err(|_| bad())?;
    let seconds = i32::try_from(sign * seconds).map_err(|_| bad())?;
    Ok((days, seconds, sign * subseconds))
}

/// `2Y3M` -> [("2", 'Y'), ("3", 'M')]. `None` when a number has no designator.
fn designators(text: &str) -> Option<Vec<(&str, char)>> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if c.is_ascii_alphabetic() {
            if start == i {
                return None;
            }
            out.push((&text[start..i], c.to_ascii_uppercase()));
            start = i + 1;
        }
    }
    (start == text.len()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(text: &str, ty: &str) -> Result<LiteralType> {
        Ok(literal(text, &TestType::parse(ty).unwrap(), &mut |_| None)?
            .literal_type
            .unwrap())
    }

    #[test]
    fn integers_are_range_checked() {
        assert_eq!(lit("-128", "i8").unwrap(), LiteralType::I8(-128));
        assert!(lit("128", "i8").is_err());
        assert_eq!(
            lit("9223372036854775807", "i64").unwrap(),
            LiteralType::I64(i64::MAX)
        );
    }

    #[test]
    fn decimals_scale_and_check_precision() {
        assert_eq!(decimal("-2.5", 2, 1).unwrap(), -25);
        assert_eq!(decimal("21", 38, 0).unwrap(), 21);
        assert_eq!(decimal("1.5", 3, 2).unwrap(), 150);
        assert_eq!(decimal("1.2e2", 5, 0).unwrap(), 120);
        assert!(decimal("1.25", 3, 1).is_err(), "digits would be dropped");
        assert!(decimal("100", 2, 0).is_err(), "does not fit the precision");
    }

    #[test]
    fn floats_read_special_values() {
        assert_eq!(
            lit("inf", "fp64").unwrap(),
            LiteralType::Fp64(f64::INFINITY)
        );
        assert_eq!(
            lit("-inf", "fp32").unwrap(),
            LiteralType::Fp32(f32::NEG_INFINITY)
        );
        assert!(matches!(lit("nan", "fp64").unwrap(), LiteralType::Fp64(v) if v.is_nan()));
        assert_eq!(lit("1.5e+308", "fp64").unwrap(), LiteralType::Fp64(1.5e308));
    }

    #[test]
    fn strings_unescape() {
        assert_eq!(
            lit(r"'it\'s \\ ok'", "str").unwrap(),
            LiteralType::String(r"it's \ ok".into())
        );
        assert_eq!(
            lit(r"'\d+\S'", "str").unwrap(),
            LiteralType::String(r"\d+\S".into())
        );
        assert!(lit("abc", "str").is_err());
    }

    #[test]
    fn temporal_values() {
        assert_eq!(lit("1970-01-02", "date").unwrap(), LiteralType::Date(1));
        assert_eq!(lit("2020-12-31", "date").unwrap(), LiteralType::Date(18627));
        let LiteralType::PrecisionTimestamp(ts) = lit("2016-12-31T13:30:15.22", "pts<6>").unwrap()
        else {
            panic!()
        };
        assert_eq!(ts.value, 1_483_191_015_220_000);
        let LiteralType::PrecisionTimestampTz(ts) =
            lit("2016-12-31 13:30:15+05:30", "ptstz<0>").unwrap()
        else {
            panic!()
        };
        assert_eq!(ts.value, 1_483_191_015 - 5 * 3600 - 1800);
        let LiteralType::PrecisionTime(t) = lit("01:02:03.155", "pt<6>").unwrap() else {
            panic!()
        };
        assert_eq!(t.value, 3_723_155_000);
        assert!(lit("2016-02-30", "date").is_err());
        assert!(
            lit("01:02:03.1234567", "pt<6>").is_err(),
            "no silent truncation"
        );
    }

    #[test]
    fn hostile_numbers_are_errors_not_overflows() {
        assert!(decimal("1e-2147483648", 38, 0).is_err());
        assert!(decimal("1e2147483647", 38, 0).is_err());
        assert!(lit("9223372036854775807-01-01", "date").is_err());
        assert!(lit("P9223372036854775807W", "iday<6>").is_err());
        assert!(lit("PT9223372036854775807H", "iday<6>").is_err());
        assert!(lit("2020-01-01T00:00:00+99999999999999:00", "ptstz<6>").is_err());
    }

    #[test]
    fn intervals() {
        assert_eq!(
            lit("'P2Y3M'", "iyear").unwrap(),
            LiteralType::IntervalYearToMonth(IntervalYearToMonth {
                years: 2,
                months: 3
            })
        );
        let LiteralType::IntervalDayToSecond(d) = lit("P1DT2H3M4.45S", "iday<3>").unwrap() else {
            panic!()
        };
        assert_eq!((d.days, d.seconds, d.subseconds), (1, 7384, 450));
    }

    #[test]
    fn nested_values_and_nulls() {
        let LiteralType::List(list) = lit("[1, null, 3]", "list<i32?>").unwrap() else {
            panic!()
        };
        assert_eq!(list.values.len(), 3);
        assert!(matches!(
            lit("[]", "list<i32>").unwrap(),
            LiteralType::EmptyList(_)
        ));
        assert!(matches!(lit("Null", "i8").unwrap(), LiteralType::Null(_)));
        let LiteralType::Map(map) = lit("{'a': 1, 'b': 2}", "map<str, i8>").unwrap() else {
            panic!()
        };
        assert_eq!(map.key_values.len(), 2);
        assert!(matches!(
            lit("(1, 2)", "u!point"),
            Err(LiteralError::Unsupported(_))
        ));
        let declared = literal("('250')", &TestType::parse("u!u8").unwrap(), &mut |n| {
            (n == "u8").then_some(7)
        })
        .unwrap();
        let Some(LiteralType::UserDefined(u)) = declared.literal_type else {
            panic!()
        };
        assert_eq!(
            u.type_anchor_type,
            Some(plit::user_defined::TypeAnchorType::TypeReference(7))
        );
    }
}
