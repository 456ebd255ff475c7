//! Functions other producers' plans call that no standard extension defines, with the
//! producer's semantics, so their plans run as written.
//!
//! | function | producer | semantics |
//! |---|---|---|
//! | `constant_or_null(c, x, …)` | DuckDB (its optimizer writes it for `CASE`s and comparisons it folded) | `c` where every `x` is not null, else null |

use std::sync::Arc;

use datafusion::arrow::array::{Array, new_null_array};
use datafusion::arrow::compute::{is_null, kernels::boolean::or, kernels::zip::zip};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::prelude::SessionContext;

/// Registers every function of this module in `ctx`.
pub(crate) fn register(ctx: &SessionContext) {
    ctx.register_udf(ConstantOrNull::udf());
}

/// DuckDB's `constant_or_null(c, x1, …, xn)`: `c`, or null in the rows where any `x` is null.
#[derive(Debug, PartialEq, Eq, Hash)]
struct ConstantOrNull {
    signature: Signature,
}

impl ConstantOrNull {
    fn udf() -> ScalarUDF {
        ScalarUDF::new_from_impl(ConstantOrNull {
            signature: Signature::variadic_any(Volatility::Immutable),
        })
    }
}

impl ScalarUDFImpl for ConstantOrNull {
    fn name(&self) -> &str {
        "constant_or_null"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types {
            [constant, _, ..] => Ok(constant.clone()),
            _ => plan_err!(
                "constant_or_null takes a value and at least one argument to test for null"
            ),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let Some((constant, tested)) = args.args.split_first() else {
            return exec_err!("constant_or_null has no arguments");
        };
        let mut any_null = None;
        for value in tested {
            let nulls = is_null(&value.to_array(rows)?)?;
            any_null = Some(match any_null {
                None => nulls,
                Some(so_far) => or(&so_far, &nulls)?,
            });
        }
        let Some(any_null) = any_null else {
            return exec_err!("constant_or_null has nothing to test for null");
        };
        let constant = constant.to_array(rows)?;
        let nulls = new_null_array(constant.data_type(), rows);
        Ok(ColumnarValue::Array(zip(
            &any_null,
            &nulls,
            &Arc::clone(&constant),
        )?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::Field;
    use datafusion::common::ScalarValue;
    use datafusion::config::ConfigOptions;

    #[test]
    fn the_constant_where_nothing_is_null() {
        let tested = ColumnarValue::Array(Arc::new(StringArray::from(vec![
            Some("a"),
            None,
            Some("c"),
        ])));
        let args = ScalarFunctionArgs {
            args: vec![ColumnarValue::Scalar(ScalarValue::Int64(Some(7))), tested],
            arg_fields: vec![
                Arc::new(Field::new("c", DataType::Int64, false)),
                Arc::new(Field::new("x", DataType::Utf8, true)),
            ],
            number_rows: 3,
            return_field: Arc::new(Field::new("r", DataType::Int64, true)),
            config_options: Arc::new(ConfigOptions::default()),
        };
        let ColumnarValue::Array(result) = ConstantOrNull::udf().invoke_with_args(args).unwrap()
        else {
            panic!("an array");
        };
        let result = result.as_any().downcast_ref::<Int64Array>().unwrap();
        assert_eq!(result, &Int64Array::from(vec![Some(7), None, Some(7)]));
    }
}
