//! Runs a case's plan through Lode's normal path (`Engine::execute`: validation, Lode's
//! consumer, DataFusion) and judges the result against the case.

use std::sync::Arc;
use std::time::Duration;

use datafusion::arrow::array::{Array, ArrayRef};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::ScalarValue;
use futures::TryStreamExt;
use lode_exec::Engine;
use lode_plan::{DecodedPlan, PlanFormat};
use substrait::proto::Plan;

use crate::syntax::Expected;

/// How long one case may run before it counts as failed.
const CASE_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "status", content = "reason", rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Fail(String),
    /// The harness cannot express the case as a plan (a lambda, a user-defined type).
    Unsupported(String),
}

/// Runs `plan` and judges its result. A panic in Lode is caught and reported as a failure.
pub async fn run_case(engine: Arc<Engine>, plan: Plan, expected: Expected) -> Outcome {
    let task = tokio::spawn(async move {
        let decoded = DecodedPlan::new(plan, PlanFormat::Binary);
        let stream = engine.execute(&decoded).await.map_err(|e| e.to_string())?;
        stream
            .try_collect::<Vec<RecordBatch>>()
            .await
            .map_err(|e| e.to_string())
    });
    let result = match tokio::time::timeout(CASE_TIMEOUT, task).await {
        Err(_) => return Outcome::Fail(format!("did not finish in {CASE_TIMEOUT:?}")),
        Ok(Err(join)) if join.is_panic() => {
            return Outcome::Fail(format!("Lode panicked: {}", panic_message(join)));
        }
        Ok(Err(join)) => return Outcome::Fail(format!("the case's task failed: {join}")),
        Ok(Ok(result)) => result,
    };
    judge(result, &expected)
}

fn panic_message(join: tokio::task::JoinError) -> String {
    let payload = join.into_panic();
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}

fn judge(result: Result<Vec<RecordBatch>, String>, expected: &Expected) -> Outcome {
    match (expected, result) {
        (Expected::Error, Err(_)) => Outcome::Pass,
        (Expected::Error, Ok(batches)) => Outcome::Fail(format!(
            "expected an error, got {}",
            first_value(&batches, 0).map_or_else(|e| e, |v| v.to_string())
        )),
        (Expected::Undefined, Ok(_)) => Outcome::Pass,
        (_, Err(error)) => Outcome::Fail(one_line(&error)),
        (Expected::Value(_), Ok(batches)) => compare(&batches),
    }
}

/// Errors can span lines (validation lists diagnostics); the report wants one.
fn one_line(error: &str) -> String {
    error.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn single_row(batches: &[RecordBatch]) -> Result<RecordBatch, String> {
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    if rows != 1 {
        return Err(format!("expected one row, got {rows}"));
    }
    batches
        .iter()
        .find(|b| b.num_rows() == 1)
        .cloned()
        .ok_or_else(|| "no batch holds the row".to_string())
}

fn first_value(batches: &[RecordBatch], column: usize) -> Result<ScalarValue, String> {
    let batch = single_row(batches)?;
    if column >= batch.num_columns() {
        return Err(format!("the result has no column {column}"));
    }
    ScalarValue::try_from_array(batch.column(column), 0).map_err(|e| e.to_string())
}

/// Column 0 is what Lode computed, column 1 the expected value as Lode reads the literal.
fn compare(batches: &[RecordBatch]) -> Outcome {
    let batch = match single_row(batches) {
        Ok(batch) => batch,
        Err(e) => return Outcome::Fail(e),
    };
    if batch.num_columns() != 2 {
        return Outcome::Fail(format!(
            "expected 2 output columns, got {}",
            batch.num_columns()
        ));
    }
    let (actual, expected) = (batch.column(0), batch.column(1));
    if !same_type(actual.data_type(), expected.data_type()) {
        return Outcome::Fail(format!(
            "type: got {} {}, expected {} {}",
            actual.data_type(),
            render(actual),
            expected.data_type(),
            render(expected)
        ));
    }
    // Equivalent types (Utf8 and Utf8View) are compared in the expected one.
    let actual_cast = match cast(actual, expected.data_type()) {
        Ok(a) => a,
        Err(e) => return Outcome::Fail(format!("cannot compare {}: {e}", actual.data_type())),
    };
    let (a, e) = match (
        ScalarValue::try_from_array(&actual_cast, 0),
        ScalarValue::try_from_array(expected, 0),
    ) {
        (Ok(a), Ok(e)) => (a, e),
        (Err(err), _) | (_, Err(err)) => return Outcome::Fail(err.to_string()),
    };
    if values_match(&a, &e) {
        Outcome::Pass
    } else {
        Outcome::Fail(format!(
            "got {}, expected {}",
            render(actual),
            render(expected)
        ))
    }
}

fn render(array: &ArrayRef) -> String {
    match ScalarValue::try_from_array(array, 0) {
        Ok(v) if v.is_null() => "null".into(),
        Ok(
            ScalarValue::Utf8(Some(s))
            | ScalarValue::LargeUtf8(Some(s))
            | ScalarValue::Utf8View(Some(s)),
        ) => {
            format!("'{s}'")
        }
        Ok(v) => v.to_string(),
        Err(e) => format!("<{e}>"),
    }
}

/// Types match when equal up to string flavour (`Utf8`, `LargeUtf8`, `Utf8View` all hold a
/// Substrait `string`) and nested field names and nullability (Arrow records those, Substrait
/// types do not).
fn same_type(actual: &DataType, expected: &DataType) -> bool {
    let string =
        |t: &DataType| matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View);
    (string(actual) && string(expected)) || actual.equals_datatype(expected)
}

/// Floating-point results match within 4 ulps (libm implementations differ in the last bits;
/// NaN matches NaN); everything else must be equal.
fn values_match(actual: &ScalarValue, expected: &ScalarValue) -> bool {
    match (actual, expected) {
        (ScalarValue::Float64(Some(a)), ScalarValue::Float64(Some(e))) => {
            floats_close(*a, *e, f64::EPSILON)
        }
        (ScalarValue::Float32(Some(a)), ScalarValue::Float32(Some(e))) => {
            floats_close(f64::from(*a), f64::from(*e), f64::from(f32::EPSILON))
        }
        _ => actual == expected,
    }
}

fn floats_close(a: f64, e: f64, epsilon: f64) -> bool {
    if a.is_nan() || e.is_nan() {
        return a.is_nan() && e.is_nan();
    }
    if a.is_infinite() || e.is_infinite() {
        return a == e;
    }
    (a - e).abs() <= 4.0 * epsilon * a.abs().max(e.abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_compare_within_a_few_ulps_and_nan_equals_nan() {
        assert!(floats_close(0.1 + 0.2, 0.3, f64::EPSILON));
        assert!(!floats_close(1.0, 1.0001, f64::EPSILON));
        assert!(floats_close(f64::NAN, f64::NAN, f64::EPSILON));
        assert!(!floats_close(f64::INFINITY, f64::MAX, f64::EPSILON));
        assert!(floats_close(0.0, -0.0, f64::EPSILON));
    }

    #[test]
    fn string_flavours_are_one_type() {
        assert!(same_type(&DataType::Utf8View, &DataType::Utf8));
        assert!(!same_type(&DataType::Int32, &DataType::Int8));
        assert!(!same_type(
            &DataType::Decimal128(12, 0),
            &DataType::Decimal128(38, 0)
        ));
    }

    #[test]
    fn judging_errors_and_undefined() {
        assert_eq!(judge(Err("boom".into()), &Expected::Error), Outcome::Pass);
        assert_eq!(judge(Ok(vec![]), &Expected::Undefined), Outcome::Pass);
        assert!(matches!(
            judge(Err("a\n  b".into()), &Expected::Undefined),
            Outcome::Fail(m) if m == "a b"
        ));
    }
}
