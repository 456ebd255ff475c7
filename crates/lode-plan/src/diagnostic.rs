//! Coded diagnostics: what is wrong, where (a [`PlanPath`]), how bad, and how to fix it.
//!
//! Codes are stable: tools may match on them and `--allow`/`--deny` name them. A code's letter
//! is its class: `D` decode, `L` link (references between parts of the plan), `R` relation,
//! `E` expression, `T` type, `M` Wasm module, `B` binding. The class never says how bad a
//! finding is (its severity does): the Wasm codes were `W…` until 0.1, which read as
//! warnings; [`Code::parse`] still accepts those names.

use std::fmt;

use serde::Serialize;

use crate::path::PlanPath;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

macro_rules! codes {
    ($( $variant:ident = $code:literal, $severity:ident, $summary:literal; )*) => {
        /// Every diagnostic Lode emits. The string form (`L001`) is the stable identifier.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code { $( #[doc = $summary] $variant, )* }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code,)* }
            }

            /// The severity a diagnostic with this code has unless `--allow`/`--deny` changes it.
            pub fn default_severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$severity,)* }
            }

            pub fn summary(self) -> &'static str {
                match self { $(Code::$variant => $summary,)* }
            }

            /// A code by its name; the Wasm codes' former names (`W001`…) name them too.
            pub fn parse(text: &str) -> Option<Code> {
                let text = match text.strip_prefix(['W', 'w']) {
                    Some(number) => format!("M{number}"),
                    None => text.to_string(),
                };
                Code::ALL.iter().copied().find(|c| c.as_str().eq_ignore_ascii_case(&text))
            }
        }
    };
}

codes! {
    DecodeFailed = "D001", Error, "the input does not decode as a Substrait plan";
    LegacyExtensionUri = "D002", Info, "pre-URN extension URIs were upgraded to URNs";
    DialectHook = "D003", Warning, "the plan departs from the spec as a known producer does; Lode reads it as that producer means it (a named dialect hook)";
    NoRelations = "L001", Error, "the plan has no relations";
    NoRoot = "L002", Error, "the plan has no root relation, or more than one";
    UndeclaredFunction = "L003", Error, "a function anchor is not declared in the plan's extensions";
    UndeclaredUrn = "L004", Error, "an extension declaration references an undeclared URN";
    DuplicateAnchor = "L005", Error, "two extension declarations use the same anchor";
    BadSubtreeReference = "L006", Error, "a ReferenceRel names a missing or cyclic subtree";
    NonStandardUrn = "L007", Warning, "an extension URI is not one of the standard Substrait files";
    EmptyDeclaration = "L008", Error, "an extension declaration has no mapping";
    FunctionNotInExtension = "L009", Warning, "a function is declared from a standard extension that does not define it";
    NoMatchingOverload = "L010", Warning, "a function's compound signature matches none of its extension's implementations";
    MissingRelType = "R001", Error, "a relation has no type";
    UnsupportedRelation = "R002", Error, "the executor does not support this relation";
    MissingInput = "R003", Error, "a relation is missing a required input";
    MissingBaseSchema = "R004", Error, "a read has no base schema";
    UnsupportedRead = "R005", Error, "the read type is not supported";
    EmitOutOfRange = "R006", Error, "an emit output mapping names a field the relation does not produce";
    GroupingReferenceOutOfRange = "R007", Error, "a grouping references an expression that does not exist";
    EmptyTableName = "R008", Error, "a named table has no name";
    RootNamesMismatch = "R009", Warning, "the root's names do not match its output's field count";
    MissingMeasure = "R010", Error, "an aggregate measure has no function";
    FieldOutOfRange = "E001", Error, "a field reference is outside its input's fields";
    MissingExpression = "E002", Error, "an expression is empty";
    UnsupportedExpression = "E003", Error, "the executor does not support this expression";
    UnsupportedFunction = "E005", Error, "the executor has no implementation of this function";
    UnsupportedSort = "E006", Error, "a sort field has no direction, or one the executor does not support";
    UnsupportedType = "T001", Error, "the executor does not support this type";
    NotBoolean = "T002", Error, "a condition (filter, join expression, if clause) is not boolean";
    NoImplementationForTypes = "T003", Warning, "no implementation of the function in its extension takes the call's argument types";
    OutputTypeMismatch = "T004", Warning, "a call's declared output type is not the type its implementation returns";
    SetInputsDiffer = "T005", Error, "the inputs of a set relation differ in field count or field types";
    BranchTypesDiffer = "T006", Warning, "the results of an if-then or switch expression have different types";
    UnknownExtensionDetail = "M001", Error, "an extension relation's detail is missing or is not a Lode WasmRel";
    BadWasmRel = "M002", Error, "a WasmRel detail does not decode or is incomplete";
    ModuleNotInPlan = "M003", Warning, "a WasmRel names a module the plan does not carry; the consumer must be supplied it";
    DistributionOutOfRange = "M004", Error, "a WasmRel's hash distribution names a column its input does not have";
    UnusableModule = "M005", Error, "a Wasm module of the plan cannot be loaded, is not granted, or lacks a function the plan declares";
    WasmArgumentTypes = "M006", Error, "a call of a Wasm function has argument types none of its module's signatures takes";
    NotBound = "B001", Error, "the plan cannot be converted for execution or bound to the tables given (--data, --table)";
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One finding about a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    #[serde(serialize_with = "serialize_path")]
    pub path: PlanPath,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

fn serialize_path<S: serde::Serializer>(p: &PlanPath, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(p)
}

impl Diagnostic {
    pub fn new(code: Code, path: PlanPath, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: code.default_severity(),
            path,
            message: message.into(),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}[{}] {}: {}",
            self.severity, self.code, self.path, self.message
        )?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// How the user tuned severities (`--allow CODE` makes it a warning, `--deny CODE` an error).
#[derive(Debug, Clone, Default)]
pub struct SeverityOverrides {
    pub allow: Vec<Code>,
    pub deny: Vec<Code>,
}

impl SeverityOverrides {
    pub fn apply(&self, diagnostic: &mut Diagnostic) {
        if self.deny.contains(&diagnostic.code) {
            diagnostic.severity = Severity::Error;
        } else if self.allow.contains(&diagnostic.code) {
            diagnostic.severity = diagnostic.severity.min(Severity::Warning);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_parse_back() {
        let mut seen = std::collections::HashSet::new();
        for code in Code::ALL {
            assert!(seen.insert(code.as_str()), "duplicate code {code}");
            assert_eq!(Code::parse(code.as_str()), Some(*code));
        }
    }

    /// A class letter that reads as a severity (`E` error, `W` warning, `I` info) must not
    /// contradict the code's own severity.
    #[test]
    fn class_letters_never_contradict_severities() {
        for code in Code::ALL {
            let letter = code.as_str().as_bytes()[0];
            assert!(
                letter != b'W' && letter != b'I',
                "{code} reads as a warning or info"
            );
            if letter == b'E' {
                assert_eq!(code.default_severity(), Severity::Error, "{code}");
            }
        }
        assert_eq!(Code::parse("W005"), Some(Code::UnusableModule));
    }

    #[test]
    fn allow_demotes_and_deny_promotes() {
        let overrides = SeverityOverrides {
            allow: vec![Code::FieldOutOfRange],
            deny: vec![Code::NonStandardUrn],
        };
        let mut d = Diagnostic::new(Code::FieldOutOfRange, PlanPath::root(), "x");
        overrides.apply(&mut d);
        assert_eq!(d.severity, Severity::Warning);
        let mut d = Diagnostic::new(Code::NonStandardUrn, PlanPath::root(), "x");
        overrides.apply(&mut d);
        assert_eq!(d.severity, Severity::Error);
    }
}
