//! # lode-dist
//!
//! Distributed execution, after Ballista: a DataFusion physical plan is cut at its exchange
//! boundaries into stages ([`split_into_stages`]), which form a DAG ([`StageGraph`]). Each
//! stage runs as tasks, one per partition; a task writes its output as pieces
//! ([`write_task_output`]) that the next stage's [`ShuffleReaderExec`] leaves read back.
//!
//! [`run_in_process`] runs a whole graph in this process through pieces on disk, the same
//! exchange executors use between machines.

mod error;
mod job;
mod shuffle;
mod split;
mod stage;

pub use error::{DistError, Result};
pub use job::{JobMetrics, run_in_process};
pub use shuffle::{
    LocalPieces, PieceId, PieceSource, PieceStats, ShuffleLayout, ShuffleReaderExec, TaskOutput,
    resolve_readers, write_task_output,
};
pub use split::split_into_stages;
pub use stage::{ExchangeKind, Stage, StageGraph, StageId, StageOutput};
