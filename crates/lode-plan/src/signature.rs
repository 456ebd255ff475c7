//! Function signatures of the standard extensions bundled with the `substrait` crate: which
//! compound names (`add:i8_i8`, `extract:req_date`) each function answers to, so a plan's
//! declarations can be checked against the YAML that defines them.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use substrait::text::simple_extensions::{ArgumentsItem, Type, VariadicBehavior};

/// One implementation's argument short names; the last repeats when the function is variadic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub args: Vec<String>,
    /// The least number of times the last argument appears, for variadic functions.
    pub variadic_min: Option<usize>,
}

impl Signature {
    /// Whether a declared compound signature (`["i8", "i8"]`) names this implementation. `any`
    /// on either side matches every type, as the spec's `any1` arguments do.
    pub fn accepts(&self, declared: &[&str]) -> bool {
        let matches = |d: &str, a: &str| d == a || d == "any" || a == "any";
        match (self.variadic_min, self.args.split_last()) {
            (Some(min), Some((last, fixed))) => {
                declared.len() >= fixed.len() + min
                    && fixed.iter().zip(declared).all(|(a, d)| matches(d, a))
                    && declared[fixed.len()..].iter().all(|d| matches(d, last))
            }
            _ => {
                declared.len() == self.args.len()
                    && self.args.iter().zip(declared).all(|(a, d)| matches(d, a))
            }
        }
    }

    /// `add:i8_i8`, `concat:str…` for a variadic one.
    pub fn render(&self, name: &str) -> String {
        let mut rendered = format!("{name}:{}", self.args.join("_"));
        if self.variadic_min.is_some() {
            rendered.push('…');
        }
        rendered
    }
}

/// (URN, lower-case function name) -> its implementations' signatures.
static SIGNATURES: LazyLock<HashMap<(String, String), Vec<Signature>>> = LazyLock::new(|| {
    let mut by_function: HashMap<(String, String), Vec<Signature>> = HashMap::new();
    for (urn, ext) in substrait::extensions::EXTENSIONS.iter() {
        let urn = urn.to_string();
        let mut add =
            |name: &str, args: Option<&Vec<ArgumentsItem>>, variadic: Option<&VariadicBehavior>| {
                let args = args
                    .map(|args| args.iter().map(argument_short_name).collect())
                    .unwrap_or_default();
                let variadic_min = variadic.map(|v| v.min.map_or(1, |m| m.max(0.0) as usize));
                by_function
                    .entry((urn.clone(), name.to_lowercase()))
                    .or_default()
                    .push(Signature { args, variadic_min });
            };
        for f in &ext.scalar_functions {
            for i in &f.impls {
                add(&f.name, i.args.as_deref(), i.variadic.as_ref());
            }
        }
        for f in &ext.aggregate_functions {
            for i in &f.impls {
                add(&f.name, i.args.as_deref(), i.variadic.as_ref());
            }
        }
        for f in &ext.window_functions {
            for i in &f.impls {
                add(&f.name, i.args.as_deref(), i.variadic.as_ref());
            }
        }
    }
    by_function
});

static BUNDLED_URNS: LazyLock<HashSet<String>> = LazyLock::new(|| {
    substrait::extensions::EXTENSIONS
        .keys()
        .map(|urn| urn.to_string())
        .collect()
});

/// What the bundled extension `urn` says of `name`: `None` when `urn` is not a bundled extension
/// (nothing to check against), an empty list when it does not define `name`.
pub fn signatures(urn: &str, name: &str) -> Option<&'static [Signature]> {
    if !BUNDLED_URNS.contains(urn) {
        return None;
    }
    Some(
        SIGNATURES
            .get(&(urn.to_string(), name.to_lowercase()))
            .map_or(&[], Vec::as_slice),
    )
}

fn argument_short_name(arg: &ArgumentsItem) -> String {
    match arg {
        ArgumentsItem::EnumerationArg(_) => "req".to_string(),
        ArgumentsItem::ValueArg(v) => match &v.value {
            Type::String(t) => short_name(t),
            Type::Object(_) => "any".to_string(),
        },
        ArgumentsItem::TypeArg(_) => "type".to_string(),
    }
}

/// The short name of a YAML type (`decimal<P1,S1>` -> `dec`, `any1` -> `any`, `boolean?` ->
/// `bool`), as compound function names spell argument types.
pub fn short_name(yaml_type: &str) -> String {
    let base = yaml_type
        .trim()
        .split(['<', '?'])
        .next()
        .unwrap_or_default()
        .trim()
        .to_lowercase();
    let short = match base.as_str() {
        "boolean" => "bool",
        "string" => "str",
        "binary" => "vbin",
        "timestamp" => "ts",
        "timestamp_tz" => "tstz",
        "interval_year" => "iyear",
        "interval_day" => "iday",
        "interval_compound" => "icompound",
        "fixedchar" => "fchar",
        "varchar" => "vchar",
        "fixedbinary" => "fbin",
        "decimal" => "dec",
        "precision_time" => "pt",
        "precision_timestamp" => "pts",
        "precision_timestamp_tz" => "ptstz",
        b if b.starts_with("any") => "any",
        other => other,
    };
    short.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARITHMETIC: &str = "extension:io.substrait:functions_arithmetic";

    #[test]
    fn short_names_follow_the_spec() {
        assert_eq!(short_name("decimal<P1,S1>"), "dec");
        assert_eq!(short_name("any1"), "any");
        assert_eq!(short_name("boolean?"), "bool");
        assert_eq!(short_name("precision_timestamp<P>"), "pts");
        assert_eq!(short_name("i64"), "i64");
    }

    #[test]
    fn signatures_come_from_the_bundled_yaml() {
        let add = signatures(ARITHMETIC, "add").expect("a bundled extension");
        assert!(add.iter().any(|s| s.accepts(&["i8", "i8"])));
        assert!(!add.iter().any(|s| s.accepts(&["i8", "str"])));
        assert!(
            signatures(ARITHMETIC, "no_such_function")
                .unwrap()
                .is_empty()
        );
        assert!(signatures("extension:example.com:mine", "add").is_none());
    }

    #[test]
    fn variadic_signatures_repeat_their_last_argument() {
        let concat = signatures("extension:io.substrait:functions_string", "concat").unwrap();
        assert!(concat.iter().any(|s| s.accepts(&["str", "str", "str"])));
        assert!(concat.iter().any(|s| s.accepts(&["vchar"])));
    }
}
