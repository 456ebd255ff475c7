//! Results as a driver receives them: rows laid out for the guest, within its limits.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use datafusion::arrow::array::{ArrayData, RecordBatch};
use datafusion::physical_plan::SendableRecordBatchStream;
use futures::StreamExt;
use lode_wasm::marshal::{self, GuestBatch};

use crate::DriverLimits;
use crate::bindings::{GuestError, Rows};
use crate::planner::{failure, guest_error, guest_schema};

/// A result read into rows for the driver, counting them in `seen` as they come and the time
/// spent laying them out for the driver in `laying_out`. A result over the driver's limits is
/// an error telling it to store the result instead.
pub(crate) async fn collect(
    mut stream: SendableRecordBatchStream,
    limits: DriverLimits,
    number: usize,
    seen: &AtomicU64,
    laying_out: &mut Duration,
) -> Result<Rows, GuestError> {
    let schema = guest_schema(&stream.schema())?;
    let (mut rows, mut bytes) = (0u64, 0usize);
    let mut batches = Vec::new();
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(|e| {
            let e = lode_exec::ExecError::datafusion("running the plan failed")(e);
            guest_error(format!("plan {number}"), e)
        })?;
        rows += batch.num_rows() as u64;
        bytes += batch.get_array_memory_size();
        seen.store(rows, Ordering::Relaxed);
        if rows > limits.max_result_rows || bytes > limits.max_result_bytes {
            return Err(failure(
                format!("plan {number}"),
                format!(
                    "the result is larger than a driver may receive ({} rows or {} bytes); \
                     store it with `session.store` and read what you need of it",
                    limits.max_result_rows, limits.max_result_bytes
                ),
            ));
        }
        let started = Instant::now();
        batches.push(to_guest(&batch)?);
        *laying_out += started.elapsed();
    }
    Ok(Rows { schema, batches })
}

/// A result batch laid out for the driver, view types as their plain equivalents.
fn to_guest(batch: &RecordBatch) -> Result<lode_wasm::wit::Batch, GuestError> {
    let malformed = |e: marshal::MarshalError| failure("result", e.to_string());
    let columns: Vec<ArrayData> = batch
        .columns()
        .iter()
        .map(|c| marshal::to_guest_array(c).map(|a| a.to_data()))
        .collect::<Result<_, _>>()
        .map_err(malformed)?;
    Ok(GuestBatch::new(batch.num_rows(), &columns)
        .map_err(malformed)?
        .into_owned_wit())
}
