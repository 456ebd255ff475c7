//! What DataFusion can run, as the validator asks it ([`ExecutorSupport`]).

use datafusion::execution::{FunctionRegistry, SessionState};
use datafusion_substrait::logical_plan::consumer::{name_to_op, substrait_to_df_name};
use lode_plan::ExecutorSupport;

/// Answers with the same lookups the Substrait consumer makes, so a function the validator
/// accepts is one the consumer can convert.
pub struct DataFusionSupport<'a>(pub &'a SessionState);

impl ExecutorSupport for DataFusionSupport<'_> {
    fn scalar_function(&self, name: &str) -> bool {
        let registry = self.0;
        let registered =
            |n: &str| registry.udf(n).is_ok() || registry.higher_order_function(n).is_ok();
        registered(name)
            || substrait_to_df_name(name).is_some_and(registered)
            || name_to_op(name).is_some()
            || CONSUMER_BUILTINS.contains(&name)
    }

    fn aggregate_function(&self, name: &str) -> bool {
        self.0.udaf(name).is_ok()
    }

    fn window_function(&self, name: &str) -> bool {
        self.0.udwf(name).is_ok() || self.0.udaf(name).is_ok()
    }
}

/// Functions datafusion-substrait turns into expressions of their own (`BuiltinExprBuilder`,
/// private there): `like`, `is_null`, `between`, ….
const CONSUMER_BUILTINS: &[&str] = &[
    "not",
    "like",
    "ilike",
    "like_match",
    "like_imatch",
    "like_not_match",
    "like_not_imatch",
    "is_null",
    "is_not_null",
    "is_true",
    "is_false",
    "is_not_true",
    "is_not_false",
    "is_unknown",
    "is_not_unknown",
    "negative",
    "negate",
    "and_not",
    "xor",
    "between",
    "logb",
];
