//! Stage outputs: tasks write their output as pieces (Arrow IPC streams on local disk) and the
//! tasks of consuming stages read them back through [`ShuffleReaderExec`].
//!
//! A piece is named by job, stage, task and piece number ([`PieceId`]); [`ShuffleLayout`] maps
//! that name to a file under an executor's work directory. Readers fetch pieces through a
//! [`PieceSource`], so the same plan reads local files in one process and remote pieces over
//! the network in a cluster.

mod local;
mod reader;
mod writer;

use std::fmt;
use std::path::{Path, PathBuf};

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::error::Result as DfResult;
use datafusion::physical_plan::SendableRecordBatchStream;

pub use local::LocalPieces;
pub use reader::{ShuffleReaderExec, resolve_readers};
pub(crate) use writer::context_like;
pub use writer::write_task_output;

use crate::stage::StageId;

/// One piece of one task's output.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PieceId {
    /// The job it belongs to.
    pub job: String,
    /// The stage that wrote it.
    pub stage: StageId,
    /// The task that wrote it.
    pub task: usize,
    /// The output partition it holds.
    pub piece: usize,
}

impl fmt::Display for PieceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "job {} {} task {} piece {}",
            self.job, self.stage, self.task, self.piece
        )
    }
}

/// Size of one written piece; an empty piece has no file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PieceStats {
    /// Rows in the piece.
    pub rows: u64,
    /// Bytes of its Arrow IPC file.
    pub bytes: u64,
}

impl From<&PieceStats> for crate::proto::PieceStats {
    fn from(stats: &PieceStats) -> Self {
        crate::proto::PieceStats {
            rows: stats.rows,
            bytes: stats.bytes,
        }
    }
}

impl From<&crate::proto::PieceStats> for PieceStats {
    fn from(stats: &crate::proto::PieceStats) -> Self {
        PieceStats {
            rows: stats.rows,
            bytes: stats.bytes,
        }
    }
}

/// What one finished task wrote, and where: the consumer's readers need nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskOutput {
    /// The stage the task belongs to.
    pub stage: StageId,
    /// The task's number in its stage.
    pub task: usize,
    /// The executor holding the pieces.
    pub executor: String,
    /// Indexed by piece number.
    pub pieces: Vec<PieceStats>,
}

impl TaskOutput {
    /// Rows in all its pieces.
    pub fn rows(&self) -> u64 {
        self.pieces.iter().map(|p| p.rows).sum()
    }

    /// Bytes of all its pieces.
    pub fn bytes(&self) -> u64 {
        self.pieces.iter().map(|p| p.bytes).sum()
    }
}

/// Opens pieces for reading, wherever they are.
pub trait PieceSource: fmt::Debug + Send + Sync {
    /// The batches of `piece`, held by `executor`. Opening may be deferred to the first poll.
    fn fetch(
        &self,
        executor: &str,
        piece: &PieceId,
        schema: SchemaRef,
    ) -> DfResult<SendableRecordBatchStream>;
}

/// Where an executor keeps pieces: `<root>/<job>/stage-<s>/task-<t>/piece-<p>.arrow`.
#[derive(Debug, Clone)]
pub struct ShuffleLayout {
    root: PathBuf,
}

impl ShuffleLayout {
    /// Pieces kept under `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        ShuffleLayout { root: root.into() }
    }

    /// The directory pieces are kept under.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file of `piece`.
    pub fn path(&self, piece: &PieceId) -> PathBuf {
        self.task_dir(&piece.job, piece.stage, piece.task)
            .join(format!("piece-{}.arrow", piece.piece))
    }

    /// The directory of one task's pieces.
    pub fn task_dir(&self, job: &str, stage: StageId, task: usize) -> PathBuf {
        self.job_dir(job)
            .join(format!("stage-{}", stage.0))
            .join(format!("task-{task}"))
    }

    /// Everything a job wrote here; removed when the job ends.
    pub fn job_dir(&self, job: &str) -> PathBuf {
        self.root.join(job)
    }
}
