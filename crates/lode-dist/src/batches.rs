//! Record batches made ready for Arrow IPC, on disk and over Flight.
//!
//! A string or binary view column that was filtered, joined, repartitioned or sliced still
//! points into every data buffer of the column it came from, and IPC writes each buffer a
//! column points into whole. Before a batch is written its view columns are compacted, and
//! before it is sent it is cut into messages that each carry only their own rows' bytes.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::error::ArrowError;

/// The most Arrow data one Flight message carries, about: [`in_messages`] cuts batches to it.
pub(crate) const FLIGHT_MESSAGE_BYTES: usize = 2 << 20;

/// The batch with its string and binary view columns holding only the bytes their rows use.
/// Before this, one task of TPC-H Q10 at SF 1 wrote 28,549 rows as a 13 GB piece.
pub(crate) fn compact_views(batch: RecordBatch) -> Result<RecordBatch, ArrowError> {
    let wasteful: Vec<bool> = batch
        .columns()
        .iter()
        .map(|column| view_bytes(column).is_some_and(|v| v.held > v.used))
        .collect();
    if !wasteful.contains(&true) {
        return Ok(batch);
    }
    let columns: Vec<ArrayRef> = batch
        .columns()
        .iter()
        .zip(wasteful)
        .map(|(column, wasteful)| match column.data_type() {
            DataType::Utf8View if wasteful => Arc::new(column.as_string_view().gc()) as ArrayRef,
            DataType::BinaryView if wasteful => Arc::new(column.as_binary_view().gc()),
            _ => Arc::clone(column),
        })
        .collect();
    RecordBatch::try_new(batch.schema(), columns)
}

/// `batch` as batches of about [`FLIGHT_MESSAGE_BYTES`] or less, each holding only its own
/// rows' bytes, for a Flight encoder that does not cut them again. The encoder's own cut
/// sizes a batch by the allocations its columns point into, and the columns of a batch read
/// from IPC all point into the one buffer of its message, so it cut such batches into many
/// slices; and each slice of a view column carries the column's whole buffers: a 13 MB
/// broadcast piece of TPC-H Q10 crossed the network as 90 MB.
pub(crate) fn in_messages(batch: RecordBatch) -> Result<Vec<RecordBatch>, ArrowError> {
    let bytes: usize = batch.columns().iter().map(data_bytes).sum();
    let messages = bytes.div_ceil(FLIGHT_MESSAGE_BYTES).max(1);
    let rows = batch.num_rows();
    if messages == 1 || rows <= 1 {
        return Ok(vec![compact_views(batch)?]);
    }
    let per_message = rows.div_ceil(messages);
    (0..rows)
        .step_by(per_message)
        .map(|offset| compact_views(batch.slice(offset, per_message.min(rows - offset))))
        .collect()
}

/// What a string or binary view column's bytes are.
struct ViewBytes {
    rows: usize,
    /// In its data buffers.
    held: usize,
    /// Of its rows' values that are not inlined in their views.
    used: usize,
}

/// `column`'s [`ViewBytes`], if it is a view column.
fn view_bytes(column: &ArrayRef) -> Option<ViewBytes> {
    let (buffers, used) = match column.data_type() {
        DataType::Utf8View => {
            let views = column.as_string_view();
            (views.data_buffers(), views.total_buffer_bytes_used())
        }
        DataType::BinaryView => {
            let views = column.as_binary_view();
            (views.data_buffers(), views.total_buffer_bytes_used())
        }
        _ => return None,
    };
    Some(ViewBytes {
        rows: column.len(),
        held: buffers.iter().map(|buffer| buffer.len()).sum(),
        used,
    })
}

/// The bytes `column`'s rows use, whatever larger buffers they are slices of.
fn data_bytes(column: &ArrayRef) -> usize {
    const VIEW_BYTES: usize = 16;
    match view_bytes(column) {
        Some(views) => views.rows * VIEW_BYTES + views.used,
        None => column
            .to_data()
            .get_slice_memory_size()
            .unwrap_or_else(|_| column.get_buffer_memory_size()),
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Int64Array, StringViewArray, UInt32Array};
    use datafusion::arrow::compute::{concat_batches, take};
    use datafusion::arrow::datatypes::{Field, Schema};
    use datafusion::arrow::ipc::reader::StreamReader;
    use datafusion::arrow::ipc::writer::StreamWriter;

    use super::*;

    fn ipc_bytes(batch: &RecordBatch) -> usize {
        let mut writer = StreamWriter::try_new(Vec::new(), &batch.schema()).unwrap();
        writer.write(batch).unwrap();
        writer.into_inner().unwrap().len()
    }

    fn strings(rows: usize, length: usize) -> RecordBatch {
        let values: Vec<String> = (0..rows).map(|i| format!("{i:0>length$}")).collect();
        let schema = Arc::new(Schema::new(vec![Field::new(
            "s",
            DataType::Utf8View,
            false,
        )]));
        let column = StringViewArray::from_iter_values(&values);
        RecordBatch::try_new(schema, vec![Arc::new(column)]).unwrap()
    }

    #[test]
    fn a_few_rows_taken_from_a_large_view_column_are_written_as_a_few_rows() {
        let batch = strings(10_000, 100);
        let one_row = take(batch.column(0), &UInt32Array::from(vec![7u32]), None).unwrap();
        let batch = RecordBatch::try_new(batch.schema(), vec![one_row]).unwrap();
        assert!(
            ipc_bytes(&batch) > 1_000_000,
            "the taken row still points into 1 MB"
        );
        let compacted = compact_views(batch.clone()).unwrap();
        assert_eq!(compacted, batch);
        assert!(ipc_bytes(&compacted) < 2_000, "{}", ipc_bytes(&compacted));
    }

    #[test]
    fn a_large_view_batch_is_sent_as_messages_that_each_carry_their_own_rows() {
        let batch = strings(100_000, 100); // about 11 MB
        let messages = in_messages(batch.clone()).unwrap();
        assert!(messages.len() >= 5, "{} messages", messages.len());
        for message in &messages {
            assert!(
                ipc_bytes(message) <= FLIGHT_MESSAGE_BYTES + 64 * 1024,
                "a message of {} bytes",
                ipc_bytes(message)
            );
        }
        let sent: usize = messages.iter().map(ipc_bytes).sum();
        assert!(sent < ipc_bytes(&batch) * 11 / 10, "{sent} bytes sent");
        assert_eq!(concat_batches(&batch.schema(), &messages).unwrap(), batch);
    }

    #[test]
    fn a_batch_read_from_ipc_is_sized_by_its_rows_not_by_its_message() {
        let numbers: ArrayRef = Arc::new(Int64Array::from_iter_values(0..100_000));
        let strings = strings(100_000, 4); // inline: no data buffers
        let schema = Arc::new(Schema::new(vec![
            Field::new("n", DataType::Int64, false),
            Field::new("s", DataType::Utf8View, false),
        ]));
        let batch =
            RecordBatch::try_new(schema, vec![numbers, Arc::clone(strings.column(0))]).unwrap();
        let mut writer = StreamWriter::try_new(Vec::new(), &batch.schema()).unwrap();
        writer.write(&batch).unwrap();
        let bytes = writer.into_inner().unwrap();
        let read = StreamReader::try_new(bytes.as_slice(), None)
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        // 800 KB of numbers and 1.6 MB of views: two messages, where sizing each column by
        // the message buffer it points into would make it three or more.
        let messages = in_messages(read.clone()).unwrap();
        assert_eq!(messages.len(), 2);
        assert_eq!(concat_batches(&read.schema(), &messages).unwrap(), batch);
    }

    #[test]
    fn an_empty_view_batch_is_one_message() {
        let batch = strings(0, 10);
        assert_eq!(in_messages(batch.clone()).unwrap(), vec![batch]);
    }
}
