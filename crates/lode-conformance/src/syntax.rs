//! One test case line of the spec's function test format, parsed into calls, arguments and the
//! expected result:
//!
//! ```text
//! add(120::i8, 10::i8) [overflow:SATURATE] = 127::i8  # description
//! ((20, 20), (-3, -3)) corr(col0::fp32, col1::fp32) = 1::fp64
//! sum((0, -1, 2, 20)::dec<2, 0>) = 21::dec?<38, 0>
//! ```
//!
//! Literal *values* stay text here; [`crate::literal`] reads them once their type is known.

use crate::error::SyntaxError;
use crate::types::{Kind, TestType};

/// An expression on either side of `=`.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// `120::i8`: the value's text and its type.
    Literal {
        text: String,
        ty: TestType,
    },
    /// `YEAR::enum`.
    Enum(String),
    Call(Call),
    /// `col0::fp32` or `t1.col1`: a column of the case's table.
    Column {
        table: Option<String>,
        index: usize,
        ty: Option<TestType>,
    },
    /// `(1, 2, null)::i8` as an aggregate's argument: a one-column table given by its values.
    ColumnValues {
        values: Vec<String>,
        ty: TestType,
    },
    /// `(x -> gt(x, 0::i32))::func<i32 -> bool?>`: parameter types and the body, in which
    /// the parameters are [`Expr::LambdaParameter`]s.
    Lambda {
        parameters: Vec<TestType>,
        body: Box<Expr>,
    },
    /// A parameter of the enclosing lambda, by position.
    LambdaParameter(usize),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub name: String,
    pub args: Vec<Expr>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expected {
    Value(Expr),
    /// `<!ERROR>`: evaluation must fail.
    Error,
    /// `<!UNDEFINED>`: evaluation must not fail; any result is right.
    Undefined,
}

/// A parsed test case line.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseSyntax {
    /// Rows of an aggregate case's inline table (`((20, 20), (-3, -3)) corr(...)`), as text.
    pub rows: Option<Vec<Vec<String>>>,
    pub call: Call,
    /// `[overflow:ERROR, rounding:TIE_TO_EVEN]`, in the order written.
    pub options: Vec<(String, String)>,
    pub expected: Expected,
    pub description: Option<String>,
}

/// `DEFINE t1(fp32, fp32) = ((20, 20), (-3, -3))`.
#[derive(Debug, Clone, PartialEq)]
pub struct TableDefinition {
    pub name: String,
    pub columns: Vec<TestType>,
    pub rows: Vec<Vec<String>>,
}

/// Parses a case line. `aggregate` says the file holds aggregate cases, where a parenthesised
/// argument is a column of values rather than a struct.
pub fn parse_case(line: &str, aggregate: bool) -> Result<CaseSyntax, SyntaxError> {
    let mut p = Parser {
        text: line,
        at: 0,
        aggregate,
        lambda_parameters: Vec::new(),
    };
    p.skip_spaces();
    let rows = if p.peek() == Some(b'(') {
        let start = p.at;
        let rows_text = p.balanced(b'(', b')')?;
        Some(parse_rows(rows_text).map_err(|e| e.shifted(start))?)
    } else {
        None
    };
    p.skip_spaces();
    let call = p.call()?;
    p.skip_spaces();
    let options = if p.peek() == Some(b'[') {
        p.options()?
    } else {
        Vec::new()
    };
    p.skip_spaces();
    if !p.eat(b'=') {
        return Err(p.error("expected `=` and the expected result"));
    }
    p.skip_spaces();
    let expected = p.expected()?;
    p.skip_spaces();
    let description = match p.peek() {
        None => None,
        Some(b'#') => Some(p.text[p.at + 1..].trim().to_string()),
        Some(_) => return Err(p.error("unexpected text after the expected result")),
    };
    Ok(CaseSyntax {
        rows,
        call,
        options,
        expected,
        description,
    })
}

/// Parses a `DEFINE name(types) = rows` line (the `DEFINE` keyword included).
pub fn parse_definition(line: &str) -> Result<TableDefinition, SyntaxError> {
    let mut p = Parser {
        text: line,
        at: 0,
        aggregate: true,
        lambda_parameters: Vec::new(),
    };
    p.skip_spaces();
    if !p.text[p.at..].starts_with("DEFINE") {
        return Err(p.error("expected `DEFINE`"));
    }
    p.at += "DEFINE".len();
    p.skip_spaces();
    let name = p.identifier();
    if name.is_empty() {
        return Err(p.error("expected the table's name"));
    }
    let types_start = p.at + 1;
    let types_text = p.balanced(b'(', b')')?;
    let columns = crate::types::split_types(types_text)
        .into_iter()
        .map(|t| TestType::parse(t).map_err(|e| e.shifted(types_start)))
        .collect::<Result<Vec<_>, _>>()?;
    p.skip_spaces();
    if !p.eat(b'=') {
        return Err(p.error("expected `=` and the table's rows"));
    }
    p.skip_spaces();
    let rows_start = p.at;
    let rows = parse_rows(p.balanced(b'(', b')')?).map_err(|e| e.shifted(rows_start))?;
    p.skip_spaces();
    if p.at < p.text.len() {
        return Err(p.error("unexpected text after the table's rows"));
    }
    Ok(TableDefinition {
        name,
        columns,
        rows,
    })
}

/// `(20, 20), (-3, -3)` (inside the outer parentheses) -> rows of value texts. `()` alone is
/// no rows: the corpus writes an empty table as `(())`.
fn parse_rows(text: &str) -> Result<Vec<Vec<String>>, SyntaxError> {
    if text.trim() == "()" {
        return Ok(Vec::new());
    }
    let rows =
        crate::literal::split_top_level(text).map_err(|e| SyntaxError::new(e.to_string(), 0))?;
    rows.into_iter()
        .map(|row| {
            let inner = row
                .strip_prefix('(')
                .and_then(|r| r.strip_suffix(')'))
                .ok_or_else(|| {
                    SyntaxError::new(format!("table row `{row}` should be `(v, ...)`"), 0)
                })?;
            Ok(crate::literal::split_top_level(inner)
                .map_err(|e| SyntaxError::new(e.to_string(), 0))?
                .into_iter()
                .map(str::to_string)
                .collect())
        })
        .collect()
}

struct Parser<'a> {
    text: &'a str,
    /// Byte offset; the parser only stops at ASCII delimiters, which are char boundaries.
    at: usize,
    aggregate: bool,
    /// Parameter names of the lambda whose body is being read.
    lambda_parameters: Vec<String>,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.at += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn error(&self, message: &str) -> SyntaxError {
        SyntaxError::new(message, self.at)
    }

    fn identifier(&mut self) -> String {
        let start = self.at;
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            self.at += 1;
        }
        self.text[start..self.at].to_string()
    }

    /// The text between a bracket at the cursor and its match (quotes respected); the cursor
    /// moves past the closing bracket.
    fn balanced(&mut self, open: u8, close: u8) -> Result<&'a str, SyntaxError> {
        if !self.eat(open) {
            return Err(self.error(&format!("expected `{}`", open as char)));
        }
        let start = self.at;
        let mut depth = 1;
        let mut in_quote = false;
        while let Some(b) = self.peek() {
            self.at += 1;
            if in_quote {
                match b {
                    b'\\' => self.at += 1,
                    b'\'' => in_quote = false,
                    _ => {}
                }
                continue;
            }
            match b {
                b'\'' => in_quote = true,
                _ if b == open => depth += 1,
                _ if b == close => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(&self.text[start..self.at - 1]);
                    }
                }
                _ => {}
            }
        }
        Err(SyntaxError::new(
            format!("`{}` is never closed", open as char),
            start - 1,
        ))
    }

    fn call(&mut self) -> Result<Call, SyntaxError> {
        let name = self.identifier();
        if name.is_empty() {
            return Err(self.error("expected a function name"));
        }
        if !self.eat(b'(') {
            return Err(self.error(&format!("expected `(` after `{name}`")));
        }
        let mut args = Vec::new();
        self.skip_spaces();
        if !self.eat(b')') {
            loop {
                self.skip_spaces();
                args.push(self.argument()?);
                self.skip_spaces();
                if self.eat(b')') {
                    break;
                }
                if !self.eat(b',') {
                    return Err(self.error("expected `,` or `)` after an argument"));
                }
            }
        }
        Ok(Call { name, args })
    }

    fn argument(&mut self) -> Result<Expr, SyntaxError> {
        // A call is a name directly followed by `(`.
        let start = self.at;
        let name = self.identifier();
        if !name.is_empty() && self.peek() == Some(b'(') {
            self.at = start;
            return Ok(Expr::Call(self.call()?));
        }
        self.at = start;
        let value = self.scan_until(|p| {
            p.text[p.at..].starts_with("::")
                || matches!(p.peek(), Some(b',' | b')' | b']' | b'=' | b'#'))
        })?;
        let value_text = value.trim();
        if value_text.is_empty() {
            return Err(self.error("expected a value"));
        }
        let ty = if self.text[self.at..].starts_with("::") {
            self.at += 2;
            let type_start = self.at;
            let type_text = self.scan_type()?;
            Some(TestType::parse(type_text.trim()).map_err(|e| e.shifted(type_start))?)
        } else {
            None
        };
        self.interpret(value_text, ty, start)
    }

    fn interpret(
        &self,
        value: &str,
        ty: Option<TestType>,
        start: usize,
    ) -> Result<Expr, SyntaxError> {
        if ty.is_none()
            && let Some(index) = self.lambda_parameters.iter().position(|p| p == value)
        {
            return Ok(Expr::LambdaParameter(index));
        }
        if let Some(index) = column_index(value) {
            return Ok(Expr::Column {
                table: None,
                index,
                ty,
            });
        }
        if let Some((table, column)) = value.split_once('.')
            && let Some(index) = column_index(column)
            && table
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Ok(Expr::Column {
                table: Some(table.to_string()),
                index,
                ty,
            });
        }
        let Some(ty) = ty else {
            return Err(SyntaxError::new(
                format!("value `{value}` has no `::type`"),
                start,
            ));
        };
        Ok(match ty.kind {
            Kind::Enum => Expr::Enum(value.to_string()),
            Kind::Function(parameters, _) if !value.eq_ignore_ascii_case("null") => {
                self.lambda(value, parameters, start)?
            }
            Kind::Struct(_) => Expr::Literal {
                text: value.to_string(),
                ty,
            },
            _ if self.aggregate && value.starts_with('(') => {
                let inner = value
                    .strip_prefix('(')
                    .and_then(|v| v.strip_suffix(')'))
                    .ok_or_else(|| {
                        SyntaxError::new(format!("column values `{value}` are not closed"), start)
                    })?;
                let values = crate::literal::split_top_level(inner)
                    .map_err(|e| SyntaxError::new(e.to_string(), start))?
                    .into_iter()
                    .map(str::to_string)
                    .collect();
                Expr::ColumnValues { values, ty }
            }
            _ => Expr::Literal {
                text: value.to_string(),
                ty,
            },
        })
    }

    /// `(x -> body)` or `((x, y) -> body)`, typed by its `func<…>`.
    fn lambda(
        &self,
        value: &str,
        parameters: Vec<TestType>,
        start: usize,
    ) -> Result<Expr, SyntaxError> {
        let error = |message: &str| SyntaxError::new(format!("lambda `{value}`: {message}"), start);
        let inner = value
            .strip_prefix('(')
            .and_then(|v| v.strip_suffix(')'))
            .ok_or_else(|| error("should be `(x -> body)`"))?;
        let (names, body) = inner.split_once("->").ok_or_else(|| error("has no `->`"))?;
        let names: Vec<String> = names
            .trim()
            .trim_start_matches('(')
            .trim_end_matches(')')
            .split(',')
            .map(|n| n.trim().to_string())
            .collect();
        if names.len() != parameters.len() || names.iter().any(String::is_empty) {
            return Err(error(&format!(
                "names {} parameters, its type {}",
                names.len(),
                parameters.len()
            )));
        }
        if !self.lambda_parameters.is_empty() {
            return Err(error(
                "lambdas inside lambdas are not supported by the harness",
            ));
        }
        let mut body_parser = Parser {
            text: body.trim(),
            at: 0,
            aggregate: false,
            lambda_parameters: names,
        };
        let body = body_parser.argument().map_err(|e| e.shifted(start))?;
        body_parser.skip_spaces();
        if body_parser.at < body_parser.text.len() {
            return Err(error("unexpected text after the body"));
        }
        Ok(Expr::Lambda {
            parameters,
            body: Box::new(body),
        })
    }

    /// Text up to where `stop` holds at bracket depth 0 outside quotes (or the end).
    fn scan_until(&mut self, stop: impl Fn(&Self) -> bool) -> Result<&'a str, SyntaxError> {
        let start = self.at;
        let mut depth = 0i32;
        let mut in_quote = false;
        while let Some(b) = self.peek() {
            if in_quote {
                match b {
                    b'\\' => self.at += 1,
                    b'\'' => in_quote = false,
                    _ => {}
                }
                self.at += 1;
                continue;
            }
            if depth == 0 && stop(self) {
                break;
            }
            match b {
                b'\'' => in_quote = true,
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => depth -= 1,
                _ => {}
            }
            self.at += 1;
        }
        if in_quote {
            return Err(SyntaxError::new("unclosed quote", start));
        }
        Ok(&self.text[start..self.at])
    }

    /// A type's text: up to `,` `)` `]` `=` `#` or a space outside `<…>` / `(…)` (the `>` of a
    /// lambda's `->` does not close anything).
    fn scan_type(&mut self) -> Result<&'a str, SyntaxError> {
        let start = self.at;
        let mut depth = 0i32;
        let mut previous = 0u8;
        while let Some(b) = self.peek() {
            match b {
                b'<' | b'(' => depth += 1,
                b'>' if previous != b'-' => depth -= 1,
                b')' if depth > 0 => depth -= 1,
                b',' | b')' | b']' | b'=' | b'#' | b' ' if depth == 0 => break,
                _ => {}
            }
            if depth < 0 {
                return Err(self.error("unbalanced `>` in a type"));
            }
            previous = b;
            self.at += 1;
        }
        Ok(&self.text[start..self.at])
    }

    fn options(&mut self) -> Result<Vec<(String, String)>, SyntaxError> {
        let start = self.at + 1;
        let inner = self.balanced(b'[', b']')?;
        inner
            .split(',')
            .map(|option| {
                option
                    .split_once(':')
                    .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                    .filter(|(k, v)| !k.is_empty() && !v.is_empty())
                    .ok_or_else(|| {
                        SyntaxError::new(
                            format!("option `{}` should be `name:VALUE`", option.trim()),
                            start,
                        )
                    })
            })
            .collect()
    }

    fn expected(&mut self) -> Result<Expected, SyntaxError> {
        let rest = &self.text[self.at..];
        for (token, expected) in [
            ("<!ERROR>", Expected::Error),
            ("<!UNDEFINED>", Expected::Undefined),
        ] {
            if rest.starts_with(token) {
                self.at += token.len();
                return Ok(expected);
            }
        }
        // The expected result is a value, never a column: `('20')::u!u8` is one unsigned integer.
        let aggregate = std::mem::replace(&mut self.aggregate, false);
        let value = self.argument();
        self.aggregate = aggregate;
        Ok(Expected::Value(value?))
    }
}

/// `col3` -> 3.
fn column_index(text: &str) -> Option<usize> {
    text.strip_prefix("col")
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|n| n.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(text: &str, ty: &str) -> Expr {
        Expr::Literal {
            text: text.into(),
            ty: TestType::parse(ty).unwrap(),
        }
    }

    #[test]
    fn scalar_case_with_options_and_description() {
        let case = parse_case(
            "add(120::i8, 10::i8) [overflow:SATURATE] = 127::i8  # saturates",
            false,
        )
        .unwrap();
        assert_eq!(case.call.name, "add");
        assert_eq!(case.call.args, vec![lit("120", "i8"), lit("10", "i8")]);
        assert_eq!(case.options, vec![("overflow".into(), "SATURATE".into())]);
        assert_eq!(case.expected, Expected::Value(lit("127", "i8")));
        assert_eq!(case.description.as_deref(), Some("saturates"));
    }

    #[test]
    fn errors_enums_strings_and_nested_calls() {
        let case = parse_case("add(127::i8, 1::i8) [overflow:ERROR] = <!ERROR>", false).unwrap();
        assert_eq!(case.expected, Expected::Error);
        let case = parse_case(
            "extract(YEAR::enum, 2016-12-31T13:30:15::pts<6>) = 2016::i64",
            false,
        )
        .unwrap();
        assert_eq!(case.call.args[0], Expr::Enum("YEAR".into()));
        assert_eq!(case.call.args[1], lit("2016-12-31T13:30:15", "pts<6>"));
        let case = parse_case(
            r"concat('a, b'::str, 'it\'s'::str) = 'a, bit\'s'::str",
            false,
        )
        .unwrap();
        assert_eq!(case.call.args[0], lit("'a, b'", "str"));
        let case = parse_case(
            "add(1::i32, add(2::i32, 3::i32)) = add(add(1::i32, 2::i32), 3::i32)",
            false,
        )
        .unwrap();
        assert!(matches!(case.call.args[1], Expr::Call(_)));
        assert!(matches!(case.expected, Expected::Value(Expr::Call(_))));
        let case = parse_case(
            "sum(1.5::dec<2, 1>, 2::dec?<38,0>) = null::dec?<38, 1>",
            false,
        )
        .unwrap();
        assert_eq!(case.call.args[1], lit("2", "dec?<38,0>"));
    }

    #[test]
    fn aggregate_forms() {
        let case = parse_case("sum((0, -1, Null)::dec<2, 0>) = 21::dec?<38, 0>", true).unwrap();
        assert_eq!(
            case.call.args[0],
            Expr::ColumnValues {
                values: vec!["0".into(), "-1".into(), "Null".into()],
                ty: TestType::parse("dec<2,0>").unwrap()
            }
        );
        let case = parse_case("count(()::i16) = 0::i64", true).unwrap();
        assert!(
            matches!(&case.call.args[0], Expr::ColumnValues { values, .. } if values.is_empty())
        );
        let case = parse_case(
            "((20, 20), (-3, -3)) corr(col0::fp32, col1::fp32) = 1::fp64",
            true,
        )
        .unwrap();
        assert_eq!(case.rows.as_ref().unwrap().len(), 2);
        assert_eq!(
            case.call.args[1],
            Expr::Column {
                table: None,
                index: 1,
                ty: Some(TestType::new(Kind::Fp32))
            }
        );
        let case = parse_case("corr(t1.col0, t1.col1) = -1::fp64", true).unwrap();
        assert!(
            matches!(&case.call.args[0], Expr::Column { table: Some(t), index: 0, ty: None } if t == "t1")
        );
        let def = parse_definition("DEFINE t1(fp32, dec<3, 1>) = ((20, -20), (-3, 3))").unwrap();
        assert_eq!(def.columns.len(), 2);
        assert_eq!(def.rows, vec![vec!["20", "-20"], vec!["-3", "3"]]);
    }

    #[test]
    fn lambdas_are_recognised() {
        let case = parse_case(
            "all_match([1, 2]::list<i32>, (x -> gt(x, 0::i32))::func<i32 -> bool?>) = true::bool?",
            false,
        )
        .unwrap();
        let Expr::Lambda { parameters, body } = &case.call.args[1] else {
            panic!("{:?}", case.call.args[1])
        };
        assert_eq!(parameters, &vec![TestType::new(Kind::I32)]);
        let Expr::Call(gt) = body.as_ref() else {
            panic!()
        };
        assert_eq!(gt.args[0], Expr::LambdaParameter(0));
    }

    #[test]
    fn errors_name_the_column() {
        let e = parse_case("add(1::i8, 2::i8 = 3::i8", false).unwrap_err();
        assert!(e.message.contains("`,` or `)`"), "{e}");
        assert!(parse_case("add(1::i8)", false).is_err());
        assert!(parse_case("add(1, 2::i8) = 3::i8", false).is_err());
    }
}
