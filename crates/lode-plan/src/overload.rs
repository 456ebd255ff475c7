//! Overload resolution against the standard extension YAMLs (bundled with the `substrait`
//! crate): which implementation of a function takes a call's argument types, and the type it
//! returns, derived from the YAML's return type (programs such as the decimal arithmetic
//! rules included) and its nullability handling.

use std::collections::HashMap;
use std::sync::LazyLock;

use substrait::text::simple_extensions::{ArgumentsItem, NullabilityHandling, Type};

use crate::types::{DataType, Kind, Param, TypePattern};

/// One implementation (`impls` entry) of a function.
#[derive(Debug)]
pub struct Implementation {
    args: Vec<ArgPattern>,
    /// The least number of times the last argument appears, for variadic functions.
    variadic_min: Option<usize>,
    /// Assignments (`init_scale = max(S1,S2)`) before the return type, in order; `None`
    /// when one does not read as an integer expression.
    program: Option<Vec<(String, Vec<Token>)>>,
    /// The return type, `None` when the YAML gives one this module cannot read.
    returns: Option<TypePattern>,
    nullability: Nullability,
    /// The YAML text, for messages.
    signature: String,
}

#[derive(Debug)]
enum ArgPattern {
    Value(Option<TypePattern>),
    Enum(Vec<String>),
    Type,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Nullability {
    Mirror,
    DeclaredOutput,
    Discrete,
}

/// A call's argument as the validator derived it.
#[derive(Debug, Clone)]
pub enum Argument {
    /// A value of this type (`None`: not derivable, matches any type).
    Value(Option<DataType>),
    Enum(String),
    Type,
}

/// Variables bound while matching a call's arguments against an implementation.
#[derive(Debug, Default)]
struct Bindings {
    ints: HashMap<String, i64>,
    types: HashMap<String, DataType>,
}

impl Implementation {
    /// The type this implementation returns for `args`, or `Err` when it does not take them.
    /// `Ok(None)`: it takes them, but its return type cannot be derived (an unknown argument
    /// type it depends on, or a return type this module does not read).
    pub fn resolve(&self, args: &[Argument]) -> Result<Option<DataType>, ()> {
        let patterns = self.expanded(args.len()).ok_or(())?;
        let mut bindings = Bindings::default();
        let mut complete = true;
        for (pattern, arg) in patterns.iter().zip(args) {
            match (pattern, arg) {
                (ArgPattern::Value(Some(p)), Argument::Value(Some(ty))) => {
                    if !bind(p, ty, &mut bindings) {
                        return Err(());
                    }
                }
                (ArgPattern::Value(None), Argument::Value(_)) => complete = false,
                (ArgPattern::Value(_), Argument::Value(None)) => complete = false,
                (ArgPattern::Enum(options), Argument::Enum(v)) => {
                    if !options.iter().any(|o| o.eq_ignore_ascii_case(v)) {
                        return Err(());
                    }
                }
                (ArgPattern::Type, Argument::Type) => {}
                _ => return Err(()),
            }
        }
        if !complete {
            return Ok(None);
        }
        let Some(returns) = &self.returns else {
            return Ok(None);
        };
        let Some(program) = &self.program else {
            return Ok(None);
        };
        for (name, expr) in program {
            let Some(value) = evaluate_tokens(expr, &bindings.ints) else {
                return Ok(None);
            };
            bindings.ints.insert(name.clone(), value);
        }
        let Some(ty) = returns.instantiate(&mut |e| evaluate(e, &bindings.ints), &mut |name| {
            bindings.types.get(name).cloned()
        }) else {
            return Ok(None);
        };
        let nullable = match self.nullability {
            Nullability::Mirror => args
                .iter()
                .any(|a| matches!(a, Argument::Value(Some(t)) if t.nullable)),
            Nullability::DeclaredOutput | Nullability::Discrete => returns.nullable(),
        };
        Ok(Some(ty.with_nullable(nullable)))
    }

    /// The argument patterns for a call of `count` arguments, variadic ones repeated.
    fn expanded(&self, count: usize) -> Option<Vec<&ArgPattern>> {
        match (self.variadic_min, self.args.split_last()) {
            (Some(min), Some((last, fixed))) => {
                if count < fixed.len() + min {
                    return None;
                }
                let mut all: Vec<&ArgPattern> = fixed.iter().collect();
                all.resize(count, last);
                Some(all)
            }
            _ => (count == self.args.len()).then(|| self.args.iter().collect()),
        }
    }

    /// `add(i8, i8)`, as the YAML spells it.
    pub fn signature(&self) -> &str {
        &self.signature
    }
}

/// Matches a concrete type against a pattern, binding its variables.
fn bind(pattern: &TypePattern, ty: &DataType, bindings: &mut Bindings) -> bool {
    match pattern {
        TypePattern::Any { name, .. } => {
            if name == "any" {
                return true;
            }
            let bare = ty.clone().with_nullable(false);
            // Parameters may differ (`decimal<38,2>` against `decimal<25,2>`): consumers
            // widen them, and producers do not cast for it.
            match bindings.types.get(name) {
                Some(bound) => bound.name() == bare.name(),
                None => {
                    bindings.types.insert(name.clone(), bare);
                    true
                }
            }
        }
        TypePattern::UserDefined { .. } => matches!(ty.kind, Kind::UserDefined(_)),
        TypePattern::Named { name, params, .. } => {
            if name != ty.name() {
                return false;
            }
            let ints = ty.kind.int_params();
            let types = ty.kind.type_params();
            let (mut i, mut t) = (0, 0);
            for p in params {
                match p {
                    Param::Int(v) => {
                        if ints.get(i) != Some(v) {
                            return false;
                        }
                        i += 1;
                    }
                    Param::Expr(var) => {
                        let Some(&value) = ints.get(i) else {
                            return false;
                        };
                        if *bindings.ints.entry(var.clone()).or_insert(value) != value {
                            return false;
                        }
                        i += 1;
                    }
                    Param::Type(p) => {
                        let Some(child) = types.get(t) else {
                            return false;
                        };
                        if !bind(p, child, bindings) {
                            return false;
                        }
                        t += 1;
                    }
                }
            }
            true
        }
    }
}

/// URN -> lower-case function name -> its implementations; nested so that a lookup by
/// borrowed names allocates nothing.
type Registry = HashMap<String, HashMap<String, Vec<Implementation>>>;

static IMPLEMENTATIONS: LazyLock<Registry> = LazyLock::new(|| {
    let mut registry = Registry::new();
    for (urn, ext) in substrait::extensions::EXTENSIONS.iter() {
        let functions = registry.entry(urn.to_string()).or_default();
        let mut add = |name: &str, imp: Implementation| {
            functions.entry(name.to_lowercase()).or_default().push(imp);
        };
        // Scalar, aggregate and window implementations are distinct generated types with
        // the same fields.
        macro_rules! add_all {
            ($functions:expr) => {
                for f in $functions {
                    for i in &f.impls {
                        let variadic = i.variadic.as_ref().map(|v| v.min);
                        let nullability = i.nullability.as_ref();
                        let args = i.args.as_deref().map(Vec::as_slice);
                        add(
                            &f.name,
                            implementation(&f.name, args, variadic, &i.return_, nullability),
                        );
                    }
                }
            };
        }
        add_all!(&ext.scalar_functions);
        add_all!(&ext.aggregate_functions);
        add_all!(&ext.window_functions);
    }
    registry
});

/// What the bundled extension `urn` says of `name` (lower case): `None` when `urn` is not a
/// bundled extension or does not define `name`.
pub fn implementations(urn: &str, name: &str) -> Option<&'static [Implementation]> {
    IMPLEMENTATIONS.get(urn)?.get(name).map(Vec::as_slice)
}

/// Whether some implementation of `name` (lower case) in `urn` takes `args`.
pub fn takes(urn: &str, name: &str, args: &[Argument]) -> bool {
    implementations(urn, name).is_some_and(|imps| imps.iter().any(|i| i.resolve(args).is_ok()))
}

fn implementation(
    name: &str,
    args: Option<&[ArgumentsItem]>,
    variadic_min: Option<Option<f64>>,
    returns: &Type,
    nullability: Option<&NullabilityHandling>,
) -> Implementation {
    let args: Vec<ArgPattern> = args
        .unwrap_or_default()
        .iter()
        .map(|a| match a {
            ArgumentsItem::EnumerationArg(e) => ArgPattern::Enum(e.options.to_vec()),
            ArgumentsItem::ValueArg(v) => ArgPattern::Value(match &v.value {
                Type::String(t) => TypePattern::parse(t),
                Type::Object(_) => None,
            }),
            ArgumentsItem::TypeArg(_) => ArgPattern::Type,
        })
        .collect();
    let (program, returns) = match returns {
        Type::String(text) => {
            let mut lines: Vec<&str> = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            let last = lines.pop().unwrap_or_default();
            let program = lines
                .iter()
                .map(|l| {
                    let (name, expr) = l.split_once('=')?;
                    Some((name.trim().to_string(), tokenize(expr)?))
                })
                .collect();
            (program, TypePattern::parse(last))
        }
        Type::Object(_) => (Some(Vec::new()), None),
    };
    let signature = {
        let rendered: Vec<String> = args
            .iter()
            .map(|a| match a {
                ArgPattern::Value(Some(p)) => pattern_text(p),
                ArgPattern::Value(None) => "?".to_string(),
                ArgPattern::Enum(options) => options.join("|"),
                ArgPattern::Type => "type".to_string(),
            })
            .collect();
        let dots = if variadic_min.is_some() { "…" } else { "" };
        format!("{name}({}{dots})", rendered.join(", "))
    };
    Implementation {
        args,
        variadic_min: variadic_min.map(|m| m.map_or(1, |m| m.max(0.0) as usize)),
        program,
        returns,
        nullability: match nullability {
            Some(NullabilityHandling::DeclaredOutput) => Nullability::DeclaredOutput,
            Some(NullabilityHandling::Discrete) => Nullability::Discrete,
            Some(NullabilityHandling::Mirror) | None => Nullability::Mirror,
        },
        signature,
    }
}

fn pattern_text(p: &TypePattern) -> String {
    match p {
        TypePattern::Any { name, .. } => name.clone(),
        TypePattern::UserDefined { name, .. } => format!("u!{name}"),
        TypePattern::Named { name, params, .. } if params.is_empty() => name.clone(),
        TypePattern::Named { name, params, .. } => {
            let params: Vec<String> = params
                .iter()
                .map(|p| match p {
                    Param::Int(v) => v.to_string(),
                    Param::Expr(e) => e.clone(),
                    Param::Type(t) => pattern_text(t),
                })
                .collect();
            format!("{name}<{}>", params.join(","))
        }
    }
}

/// Evaluates an integer expression of a return-type program: integers, bound variables,
/// `+ - * /`, comparisons, `a ? b : c`, `max(..)` and `min(..)`. `None` when it uses anything
/// else or an unbound variable.
pub(crate) fn evaluate(expr: &str, vars: &HashMap<String, i64>) -> Option<i64> {
    evaluate_tokens(&tokenize(expr)?, vars)
}

fn evaluate_tokens(tokens: &[Token], vars: &HashMap<String, i64>) -> Option<i64> {
    let mut e = Evaluator {
        tokens,
        at: 0,
        vars,
    };
    let value = e.ternary()?;
    (e.at == tokens.len()).then_some(value)
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Token {
    Int(i64),
    Name(String),
    Op(&'static str),
}

fn tokenize(text: &str) -> Option<Vec<Token>> {
    const OPS: [&str; 14] = [
        ">=", "<=", "==", "!=", ">", "<", "+", "-", "*", "/", "?", ":", "(", ")",
    ];
    let mut tokens = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        if rest.starts_with(|c: char| c.is_ascii_digit()) {
            let len = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            tokens.push(Token::Int(rest[..len].parse().ok()?));
            rest = &rest[len..];
        } else if rest.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
            let len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            tokens.push(Token::Name(rest[..len].to_string()));
            rest = &rest[len..];
        } else if let Some(rest_after) = rest.strip_prefix(',') {
            tokens.push(Token::Op(","));
            rest = rest_after;
        } else {
            let op = OPS.iter().find(|op| rest.starts_with(**op))?;
            tokens.push(Token::Op(op));
            rest = &rest[op.len()..];
        }
        rest = rest.trim_start();
    }
    Some(tokens)
}

struct Evaluator<'a> {
    tokens: &'a [Token],
    at: usize,
    vars: &'a HashMap<String, i64>,
}

impl Evaluator<'_> {
    fn peek_op(&self) -> Option<&'static str> {
        match self.tokens.get(self.at) {
            Some(Token::Op(op)) => Some(op),
            _ => None,
        }
    }

    fn expect(&mut self, op: &str) -> Option<()> {
        (self.peek_op() == Some(op)).then(|| self.at += 1)
    }

    fn ternary(&mut self) -> Option<i64> {
        let condition = self.comparison()?;
        if self.expect("?").is_none() {
            return Some(condition);
        }
        let yes = self.ternary()?;
        self.expect(":")?;
        let no = self.ternary()?;
        Some(if condition != 0 { yes } else { no })
    }

    fn comparison(&mut self) -> Option<i64> {
        let left = self.sum()?;
        let Some(op) = self
            .peek_op()
            .filter(|op| [">", "<", ">=", "<=", "==", "!="].contains(op))
        else {
            return Some(left);
        };
        self.at += 1;
        let right = self.sum()?;
        let holds = match op {
            ">" => left > right,
            "<" => left < right,
            ">=" => left >= right,
            "<=" => left <= right,
            "==" => left == right,
            _ => left != right,
        };
        Some(i64::from(holds))
    }

    fn sum(&mut self) -> Option<i64> {
        let mut value = self.product()?;
        while let Some(op) = self.peek_op().filter(|op| *op == "+" || *op == "-") {
            self.at += 1;
            let right = self.product()?;
            value = if op == "+" {
                value.checked_add(right)?
            } else {
                value.checked_sub(right)?
            };
        }
        Some(value)
    }

    fn product(&mut self) -> Option<i64> {
        let mut value = self.atom()?;
        while let Some(op) = self.peek_op().filter(|op| *op == "*" || *op == "/") {
            self.at += 1;
            let right = self.atom()?;
            value = if op == "*" {
                value.checked_mul(right)?
            } else {
                value.checked_div(right)?
            };
        }
        Some(value)
    }

    fn atom(&mut self) -> Option<i64> {
        let token = self.tokens.get(self.at)?.clone();
        self.at += 1;
        match token {
            Token::Int(v) => Some(v),
            Token::Op("-") => self.atom()?.checked_neg(),
            Token::Op("(") => {
                let v = self.ternary()?;
                self.expect(")")?;
                Some(v)
            }
            Token::Name(name) if self.peek_op() == Some("(") => {
                self.at += 1;
                let mut values = vec![self.ternary()?];
                while self.expect(",").is_some() {
                    values.push(self.ternary()?);
                }
                self.expect(")")?;
                match name.to_ascii_lowercase().as_str() {
                    "max" => values.into_iter().max(),
                    "min" => values.into_iter().min(),
                    _ => None,
                }
            }
            Token::Name(name) => self.vars.get(&name).copied(),
            Token::Op(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARITHMETIC: &str = "extension:io.substrait:functions_arithmetic";
    const DECIMAL: &str = "extension:io.substrait:functions_arithmetic_decimal";

    fn value(text: &str) -> Argument {
        Argument::Value(Some(DataType::parse(text).expect(text)))
    }

    fn resolve(urn: &str, name: &str, args: &[Argument]) -> Option<Option<String>> {
        implementations(urn, name)?
            .iter()
            .find_map(|i| i.resolve(args).ok())
            .map(|t| t.map(|t| t.to_string()))
    }

    #[test]
    fn integer_add_mirrors_nullability() {
        assert_eq!(
            resolve(ARITHMETIC, "add", &[value("i32"), value("i32")]),
            Some(Some("i32".into()))
        );
        assert_eq!(
            resolve(ARITHMETIC, "add", &[value("i32?"), value("i32")]),
            Some(Some("i32?".into()))
        );
        assert_eq!(
            resolve(ARITHMETIC, "add", &[value("i32"), value("string")]),
            None
        );
    }

    #[test]
    fn decimal_programs_derive_precision_and_scale() {
        assert_eq!(
            resolve(
                DECIMAL,
                "multiply",
                &[value("decimal<15,2>"), value("decimal<15,2>")]
            ),
            Some(Some("decimal<31, 4>".into()))
        );
        assert_eq!(
            resolve(DECIMAL, "sum", &[value("decimal<15,2>")]),
            Some(Some("decimal?<38, 2>".into()))
        );
        // Precision above 38 borrows from the scale, keeping at least 6 digits of it.
        assert_eq!(
            resolve(
                DECIMAL,
                "divide",
                &[value("decimal<38,10>"), value("decimal<38,10>")]
            ),
            Some(Some("decimal<38, 6>".into()))
        );
    }

    #[test]
    fn unknown_argument_types_match_without_a_result() {
        assert_eq!(
            resolve(ARITHMETIC, "add", &[Argument::Value(None), value("i64")]),
            Some(None)
        );
    }

    #[test]
    fn evaluates_programs() {
        let vars = HashMap::from([("P1".to_string(), 15), ("S1".to_string(), 2)]);
        assert_eq!(evaluate("max(P1 - S1, 4) + 1", &vars), Some(14));
        assert_eq!(evaluate("P1 > 38 ? 1 : 2", &vars), Some(2));
        assert_eq!(evaluate("Q + 1", &vars), None);
        assert_eq!(evaluate("1 +", &vars), None);
    }
}
