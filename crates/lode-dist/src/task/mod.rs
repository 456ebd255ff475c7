//! Tasks: one partition of one stage, the unit the coordinator places and an executor runs.
//!
//! A task's life, through these places:
//! - [`files`]: the data files it reads ([`files_of_partition`]), so which executors may run
//!   it;
//! - the coordinator's `placement` reserves a slot on the least busy of them (waiting for one
//!   to attach, up to the placement timeout), and its `scheduler` (the job's execution graph)
//!   sends each attempt as a `RunTask` with the stage plan and its output partitioning, and
//!   retries or recomputes it when its executor is lost;
//! - [`run`]: the executor decodes the stage plan, runs the partition, writes its output as
//!   pieces (`shuffle::write_task_output`) and reports a `TaskReport`.

mod files;
mod run;

pub use files::files_of_partition;
