//! Pieces read from this machine's disk.

use std::fs::File;
use std::io::BufReader;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchReceiverStream;

use super::{PieceId, PieceSource, ShuffleLayout};

/// Reads pieces from files under one [`ShuffleLayout`]: for executors that share a work
/// directory (one process), and for an executor serving its own pieces.
#[derive(Debug, Clone)]
pub struct LocalPieces {
    layout: ShuffleLayout,
}

impl LocalPieces {
    /// Reads pieces kept under `layout`.
    pub fn new(layout: ShuffleLayout) -> Self {
        LocalPieces { layout }
    }
}

impl PieceSource for LocalPieces {
    fn fetch(
        &self,
        _executor: &str,
        piece: &PieceId,
        schema: SchemaRef,
    ) -> DfResult<SendableRecordBatchStream> {
        let path = self.layout.path(piece);
        let what = piece.to_string();
        let mut builder = RecordBatchReceiverStream::builder(schema, 2);
        let sender = builder.tx();
        builder.spawn_blocking(move || {
            let fail = |e: &dyn std::fmt::Display| {
                DataFusionError::Execution(format!("reading {what} ({}): {e}", path.display()))
            };
            let file = File::open(&path).map_err(|e| fail(&e))?;
            let reader = StreamReader::try_new(BufReader::new(file), None).map_err(|e| fail(&e))?;
            for batch in reader {
                let batch = batch.map_err(|e| fail(&e))?;
                if sender.blocking_send(Ok(batch)).is_err() {
                    break; // the reader was dropped
                }
            }
            Ok(())
        });
        Ok(builder.build())
    }
}
