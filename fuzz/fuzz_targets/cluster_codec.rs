//! Bytes from the network: a stage plan, its output partitioning and a schema as an executor
//! or client decodes them. Errors are the expected answers; a panic is a finding.

#![no_main]

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::execution::TaskContext;
use libfuzzer_sys::fuzz_target;
use lode_dist::codec::{LodeCodec, decode_partitioning, decode_plan, decode_schema};

fuzz_target!(|data: &[u8]| {
    let Some((&which, bytes)) = data.split_first() else {
        return;
    };
    let context = TaskContext::default();
    let codec = LodeCodec::default();
    match which % 3 {
        0 => {
            let _ = decode_schema(bytes);
        }
        1 => {
            let schema = Schema::new(vec![
                Field::new("a", DataType::Int64, true),
                Field::new("b", DataType::Utf8, true),
            ]);
            let _ = decode_partitioning(bytes, &context, &codec, &schema);
        }
        _ => {
            if let Ok(plan) = decode_plan(bytes, &context, &codec) {
                // A decoded plan describes itself without panicking.
                let _ = datafusion::physical_plan::displayable(plan.as_ref()).indent(true).to_string();
                let _ = Arc::clone(&plan).schema();
            }
        }
    }
});
