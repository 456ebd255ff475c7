//! String functions of `functions_string.yaml` whose options DataFusion ignores:
//! `contains`/`starts_with`/`ends_with` with `case_sensitivity: CASE_INSENSITIVE`, and
//! `concat` with `null_handling: ACCEPT_NULLS` (a null argument makes the result null;
//! DataFusion's `concat` skips nulls, which is `IGNORE_NULLS`), and `substring` with
//! `negative_start: WRAP_FROM_END`.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

/// The substring tests, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Test {
    Contains,
    StartsWith,
    EndsWith,
}

impl Test {
    pub(crate) fn from_name(name: &str) -> Option<Test> {
        Some(match name {
            "contains" => Test::Contains,
            "starts_with" => Test::StartsWith,
            "ends_with" => Test::EndsWith,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Test::Contains => "contains",
            Test::StartsWith => "starts_with",
            Test::EndsWith => "ends_with",
        }
    }

    fn holds(self, input: &str, part: &str) -> bool {
        match self {
            Test::Contains => input.contains(part),
            Test::StartsWith => input.starts_with(part),
            Test::EndsWith => input.ends_with(part),
        }
    }
}

fn strings(arrays: &[ArrayRef]) -> Result<Vec<StringArray>> {
    arrays
        .iter()
        .map(|a| Ok(cast(a, &DataType::Utf8)?.as_string::<i32>().clone()))
        .collect()
}

fn all_strings(arg_types: &[DataType]) -> bool {
    arg_types.iter().all(|t| {
        matches!(
            t,
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null
        )
    })
}

/// A case-insensitive substring test (Unicode lower-casing of both sides).
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct CaseInsensitive {
    test: Test,
    signature: Signature,
}

impl CaseInsensitive {
    pub(crate) fn udf(test: Test) -> Arc<ScalarUDF> {
        Arc::new(ScalarUDF::new_from_impl(CaseInsensitive {
            test,
            signature: Signature::any(2, Volatility::Immutable),
        }))
    }
}

impl ScalarUDFImpl for CaseInsensitive {
    fn name(&self) -> &str {
        self.test.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        if !all_strings(arg_types) {
            return plan_err!("{} takes two strings, not {arg_types:?}", self.test.name());
        }
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = strings(&ColumnarValue::values_to_arrays(&args.args)?)?;
        let [input, part] = arrays.as_slice() else {
            return exec_err!("{} takes two arguments", self.test.name());
        };
        let result: BooleanArray = input
            .iter()
            .zip(part.iter())
            .map(|(i, p)| Some(self.test.holds(&i?.to_lowercase(), &p?.to_lowercase())))
            .collect();
        Ok(ColumnarValue::Array(Arc::new(result)))
    }
}

/// `concat` under `null_handling: ACCEPT_NULLS`: any null argument makes the row null.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct ConcatAcceptingNulls {
    signature: Signature,
}

impl ConcatAcceptingNulls {
    pub(crate) fn udf() -> Arc<ScalarUDF> {
        Arc::new(ScalarUDF::new_from_impl(ConcatAcceptingNulls {
            signature: Signature::variadic_any(Volatility::Immutable),
        }))
    }
}

impl ScalarUDFImpl for ConcatAcceptingNulls {
    fn name(&self) -> &str {
        "concat"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        if arg_types.is_empty() || !all_strings(arg_types) {
            return plan_err!("concat takes one or more strings, not {arg_types:?}");
        }
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = strings(&ColumnarValue::values_to_arrays(&args.args)?)?;
        let rows = arrays.first().map_or(0, Array::len);
        let result: StringArray = (0..rows)
            .map(|row| {
                arrays
                    .iter()
                    .map(|a| (!a.is_null(row)).then(|| a.value(row)))
                    .collect::<Option<String>>()
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(result)))
    }
}

/// `substring(input, start, length)` with `negative_start: WRAP_FROM_END` (a negative start
/// counts from the end: -1 is the last character). Positions and lengths are characters.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct SubstringFromEnd {
    signature: Signature,
}

impl SubstringFromEnd {
    pub(crate) fn udf() -> Arc<ScalarUDF> {
        Arc::new(ScalarUDF::new_from_impl(SubstringFromEnd {
            signature: Signature::any(3, Volatility::Immutable),
        }))
    }
}

impl ScalarUDFImpl for SubstringFromEnd {
    fn name(&self) -> &str {
        "substring"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types {
            [s, start, length]
                if all_strings(std::slice::from_ref(s))
                    && start.is_integer()
                    && length.is_integer() =>
            {
                Ok(DataType::Utf8)
            }
            _ => plan_err!("substring takes (string, integer, integer), not {arg_types:?}"),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let [input, start, length] = arrays.as_slice() else {
            return exec_err!("substring takes three arguments");
        };
        let input = strings(std::slice::from_ref(input))?.remove(0);
        let numbers = |a: &ArrayRef| -> Result<Vec<Option<i64>>> {
            Ok(cast(a, &DataType::Int64)?
                .as_primitive::<datafusion::arrow::datatypes::Int64Type>()
                .iter()
                .collect())
        };
        let (start, length) = (numbers(start)?, numbers(length)?);
        let mut out = Vec::with_capacity(input.len());
        for (row, text) in input.iter().enumerate() {
            let (Some(text), Some(start), Some(length)) = (text, start[row], length[row]) else {
                out.push(None);
                continue;
            };
            if length < 0 {
                return exec_err!("substring: length must not be negative (got {length})");
            }
            let chars = text.chars().count() as i64;
            // 1-based from the start, or counted back from the end when negative.
            let first = if start < 0 {
                (chars + start).max(0)
            } else {
                (start - 1).max(0)
            };
            out.push(Some(
                text.chars()
                    .skip(first as usize)
                    .take(length as usize)
                    .collect::<String>(),
            ));
        }
        Ok(ColumnarValue::Array(Arc::new(
            out.into_iter().collect::<StringArray>(),
        )))
    }
}
