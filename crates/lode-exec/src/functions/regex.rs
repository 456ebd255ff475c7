//! The regular-expression functions of `functions_string.yaml` (`regexp_count_substring`,
//! `regexp_match_substring`, `regexp_replace` with position and occurrence,
//! `regexp_string_split`) and `string_split`, with the `case_sensitivity`, `multiline` and
//! `dotall` options.
//!
//! The spec names ICU's dialect; patterns run on Rust's `regex`, or on a backtracking engine
//! where they need look-around or backreferences (see `matcher`).
//! Positions are 1-based characters. `regexp_replace` replaces every match, or with an
//! `occurrence` n > 0 only the n-th, as the YAML defines (the corpus expects only the first
//! match replaced, against its own YAML; DataFusion's `regexp_replace` does that too, so Lode
//! always uses its own), and takes `\1` for a group.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Int64Array, ListBuilder, StringArray, StringBuilder,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Int64Type};
use datafusion::common::{DataFusionError, Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use substrait::proto::FunctionOption;

use super::matcher::{Flags, Matcher, expand};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    CountSubstring,
    MatchSubstring,
    Replace,
    RegexSplit,
    /// `string_split`: a plain separator, no pattern.
    StringSplit,
}

impl Kind {
    pub(crate) fn from_name(name: &str) -> Option<Kind> {
        Some(match name {
            "regexp_count_substring" => Kind::CountSubstring,
            "regexp_match_substring" => Kind::MatchSubstring,
            "regexp_replace" => Kind::Replace,
            "regexp_string_split" => Kind::RegexSplit,
            "string_split" => Kind::StringSplit,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Kind::CountSubstring => "regexp_count_substring",
            Kind::MatchSubstring => "regexp_match_substring",
            Kind::Replace => "regexp_replace",
            Kind::RegexSplit => "regexp_string_split",
            Kind::StringSplit => "string_split",
        }
    }

    /// String arguments, then the allowed numbers of trailing `i64` arguments.
    fn arity(self) -> (usize, &'static [usize]) {
        match self {
            Kind::CountSubstring => (2, &[0, 1]),
            Kind::MatchSubstring => (2, &[0, 3]),
            Kind::Replace => (3, &[0, 2]),
            Kind::RegexSplit | Kind::StringSplit => (2, &[0]),
        }
    }
}

/// The matching options a call asks for.
pub(crate) fn flags(options: &[FunctionOption]) -> Flags {
    let value = |name: &str| super::option(options, name).unwrap_or_default();
    Flags {
        case_insensitive: value("case_sensitivity").starts_with("CASE_INSENSITIVE"),
        multiline: value("multiline") == "MULTILINE_ENABLED",
        dotall: value("dotall") == "DOTALL_ENABLED",
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct RegexFunction {
    kind: Kind,
    flags: Flags,
    signature: Signature,
}

impl RegexFunction {
    pub(crate) fn udf(kind: Kind, flags: Flags) -> Arc<ScalarUDF> {
        Arc::new(ScalarUDF::new_from_impl(RegexFunction {
            kind,
            flags,
            signature: Signature::variadic_any(Volatility::Immutable),
        }))
    }

    /// The functions DataFusion has no function of that name for, with default options.
    pub(crate) fn missing_from_datafusion() -> Vec<ScalarUDF> {
        [
            Kind::CountSubstring,
            Kind::MatchSubstring,
            Kind::RegexSplit,
            Kind::StringSplit,
        ]
        .into_iter()
        .map(|kind| ScalarUDF::clone(&Self::udf(kind, Flags::default())))
        .collect()
    }

    fn compile(&self, pattern: &str) -> Result<Matcher> {
        Matcher::new(pattern, self.flags).map_err(|e| {
            DataFusionError::Execution(format!(
                "{}: pattern `{pattern}` is not a regular expression Lode supports: {e}",
                self.kind.name()
            ))
        })
    }

    /// The matches of `re` in `input` from 1-based character `position` on.
    fn matches(
        &self,
        re: &Matcher,
        pattern: &str,
        input: &str,
        position: i64,
    ) -> Result<Vec<super::matcher::Groups>> {
        let Some(from) = char_offset(self.kind, input, position)? else {
            return Ok(Vec::new());
        };
        re.matches_from(input, from).map_err(|e| {
            DataFusionError::Execution(format!(
                "{}: matching `{pattern}` failed: {e}",
                self.kind.name()
            ))
        })
    }
}

fn is_string(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null
    )
}

fn is_integer(t: &DataType) -> bool {
    t.is_integer() || t == &DataType::Null
}

impl ScalarUDFImpl for RegexFunction {
    fn name(&self) -> &str {
        self.kind.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        let (strings, numbers) = self.kind.arity();
        let fits = arg_types.len() >= strings
            && numbers.contains(&(arg_types.len() - strings))
            && arg_types[..strings].iter().all(is_string)
            && arg_types[strings..].iter().all(is_integer);
        if !fits {
            return plan_err!(
                "{} takes {strings} strings and then {numbers:?} integers, not {arg_types:?}",
                self.kind.name()
            );
        }
        Ok(match self.kind {
            Kind::CountSubstring => DataType::Int64,
            Kind::MatchSubstring | Kind::Replace => DataType::Utf8,
            Kind::RegexSplit | Kind::StringSplit => {
                DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true)))
            }
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arguments = Arguments::new(self.kind, &args.args)?;
        let mut patterns = Patterns {
            function: self,
            last: None,
        };
        let result = match self.kind {
            Kind::CountSubstring => self.count_substring(&arguments, &mut patterns)?,
            Kind::MatchSubstring => self.match_substring(&arguments, &mut patterns)?,
            Kind::Replace => self.replace(&arguments, &mut patterns)?,
            Kind::RegexSplit | Kind::StringSplit => self.split(&arguments, &mut patterns)?,
        };
        Ok(ColumnarValue::Array(result))
    }
}

/// A call's arguments, row by row: its strings, then its integers.
struct Arguments {
    texts: Vec<StringArray>,
    numbers: Vec<Int64Array>,
}

impl Arguments {
    fn new(kind: Kind, args: &[ColumnarValue]) -> Result<Self> {
        let arrays = ColumnarValue::values_to_arrays(args)?;
        let (strings, _) = kind.arity();
        let texts = arrays[..strings]
            .iter()
            .map(|a| cast(a, &DataType::Utf8).map(|a| a.as_string::<i32>().clone()))
            .collect::<Result<Vec<StringArray>, _>>()?;
        let numbers = arrays[strings..]
            .iter()
            .map(|a| cast(a, &DataType::Int64).map(|a| a.as_primitive::<Int64Type>().clone()))
            .collect::<Result<Vec<Int64Array>, _>>()?;
        Ok(Arguments { texts, numbers })
    }

    fn rows(&self) -> usize {
        self.texts.first().map_or(0, Array::len)
    }

    fn text(&self, i: usize, row: usize) -> Option<&str> {
        (!self.texts[i].is_null(row)).then(|| self.texts[i].value(row))
    }

    fn number(&self, i: usize, row: usize) -> Option<i64> {
        (!self.numbers[i].is_null(row)).then(|| self.numbers[i].value(row))
    }

    /// The integer arguments of `row`, or `defaults` when the call has none.
    fn numbers_or<const N: usize>(&self, row: usize, defaults: [i64; N]) -> [Option<i64>; N] {
        if self.numbers.is_empty() {
            defaults.map(Some)
        } else {
            std::array::from_fn(|i| self.number(i, row))
        }
    }
}

/// Compiled patterns: a column of one pattern compiles it once.
struct Patterns<'f> {
    function: &'f RegexFunction,
    last: Option<(String, Matcher)>,
}

impl Patterns<'_> {
    fn get(&mut self, pattern: &str) -> Result<Matcher> {
        if let Some((p, r)) = &self.last
            && p == pattern
        {
            return Ok(r.clone());
        }
        let r = self.function.compile(pattern)?;
        self.last = Some((pattern.to_string(), r.clone()));
        Ok(r)
    }
}

impl RegexFunction {
    /// `regexp_count_substring(input, pattern[, position])`.
    fn count_substring(&self, args: &Arguments, patterns: &mut Patterns) -> Result<ArrayRef> {
        let mut out = Int64Array::builder(args.rows());
        for row in 0..args.rows() {
            let [position] = args.numbers_or(row, [1]);
            match (args.text(0, row), args.text(1, row), position) {
                (Some(input), Some(pattern), Some(position)) => {
                    let re = patterns.get(pattern)?;
                    let count = self.matches(&re, pattern, input, position)?.len();
                    out.append_value(count as i64);
                }
                _ => out.append_null(),
            }
        }
        Ok(Arc::new(out.finish()))
    }

    /// `regexp_match_substring(input, pattern[, position, occurrence, group])`.
    fn match_substring(&self, args: &Arguments, patterns: &mut Patterns) -> Result<ArrayRef> {
        let mut out = StringBuilder::new();
        for row in 0..args.rows() {
            let [position, occurrence, group] = args.numbers_or(row, [1, 1, 0]);
            let (Some(input), Some(pattern), Some(position), Some(occurrence), Some(group)) = (
                args.text(0, row),
                args.text(1, row),
                position,
                occurrence,
                group,
            ) else {
                out.append_null();
                continue;
            };
            if occurrence < 1 || group < 0 {
                return exec_err!(
                    "regexp_match_substring: occurrence must be at least 1 and group at least 0 (got {occurrence}, {group})"
                );
            }
            let re = patterns.get(pattern)?;
            if group as usize >= re.group_count() {
                return exec_err!(
                    "regexp_match_substring: group {group} does not exist in `{pattern}`"
                );
            }
            let matches = self.matches(&re, pattern, input, position)?;
            let found = matches
                .get(occurrence as usize - 1)
                .and_then(|groups| groups.get(group as usize).copied().flatten())
                .map(|(start, end)| &input[start..end]);
            out.append_option(found);
        }
        Ok(Arc::new(out.finish()))
    }

    /// `regexp_replace(input, pattern, replacement[, position, occurrence])`: every match, or
    /// with an occurrence n > 0 only the n-th.
    fn replace(&self, args: &Arguments, patterns: &mut Patterns) -> Result<ArrayRef> {
        let mut out = StringBuilder::new();
        for row in 0..args.rows() {
            let [position, occurrence] = args.numbers_or(row, [1, 0]);
            let texts = (args.text(0, row), args.text(1, row), args.text(2, row));
            let ((Some(input), Some(pattern), Some(replacement)), Some(position), Some(occurrence)) =
                (texts, position, occurrence)
            else {
                out.append_null();
                continue;
            };
            if occurrence < 0 {
                return exec_err!(
                    "regexp_replace: occurrence must not be negative (got {occurrence})"
                );
            }
            let re = patterns.get(pattern)?;
            let mut targets = self.matches(&re, pattern, input, position)?;
            if occurrence > 0 {
                targets = targets
                    .into_iter()
                    .skip(occurrence as usize - 1)
                    .take(1)
                    .collect();
            }
            let mut replaced = String::with_capacity(input.len());
            let mut kept_up_to = 0;
            for groups in &targets {
                let Some((start, end)) = groups[0] else {
                    continue;
                };
                replaced.push_str(&input[kept_up_to..start]);
                expand(replacement, input, groups, &mut replaced);
                kept_up_to = end;
            }
            replaced.push_str(&input[kept_up_to..]);
            out.append_value(replaced);
        }
        Ok(Arc::new(out.finish()))
    }

    /// `regexp_string_split(input, pattern)` and `string_split(input, separator)`.
    fn split(&self, args: &Arguments, patterns: &mut Patterns) -> Result<ArrayRef> {
        let mut out = ListBuilder::new(StringBuilder::new());
        for row in 0..args.rows() {
            match (args.text(0, row), args.text(1, row), self.kind) {
                (Some(input), Some(pattern), Kind::RegexSplit) => {
                    let re = patterns.get(pattern)?;
                    let mut kept_up_to = 0;
                    for groups in self.matches(&re, pattern, input, 1)? {
                        let Some((start, end)) = groups[0] else {
                            continue;
                        };
                        out.values().append_value(&input[kept_up_to..start]);
                        kept_up_to = end;
                    }
                    out.values().append_value(&input[kept_up_to..]);
                    out.append(true);
                }
                (Some(input), Some(separator), _) if !separator.is_empty() => {
                    out.values().extend(input.split(separator).map(Some));
                    out.append(true);
                }
                // No separator (null or empty): the whole input is the one part.
                (Some(input), _, Kind::StringSplit) => {
                    out.values().append_value(input);
                    out.append(true);
                }
                _ => out.append(false),
            }
        }
        Ok(Arc::new(out.finish()))
    }
}

/// The byte offset of 1-based character `position`; `None` past the end.
fn char_offset(kind: Kind, input: &str, position: i64) -> Result<Option<usize>> {
    if position < 1 {
        return exec_err!(
            "{}: position must be at least 1 (got {position})",
            kind.name()
        );
    }
    let skip = (position - 1) as usize;
    Ok(input
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(input.len()))
        .nth(skip))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_characters() {
        assert_eq!(char_offset(Kind::Replace, "héllo", 3).unwrap(), Some(3));
        assert_eq!(char_offset(Kind::Replace, "ab", 3).unwrap(), Some(2));
        assert_eq!(char_offset(Kind::Replace, "ab", 4).unwrap(), None);
        assert!(char_offset(Kind::Replace, "ab", 0).is_err());
    }
}
