//! How far a running query has got, read from the live metrics of its physical plan: rows and
//! bytes its scans have read, bytes its operators have spilled. Cheap to read at any time
//! (DataFusion's metrics are atomics the operators update as they go).

use std::sync::{Arc, Mutex};

use datafusion::physical_plan::ExecutionPlan;

use crate::lock;

/// Figures of a query (or a stage task) so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Rows its scans have produced.
    pub rows_scanned: u64,
    /// Bytes its scans have read from files.
    pub bytes_scanned: u64,
    /// Bytes its operators have written to spill files.
    pub spilled_bytes: u64,
    /// Spill files its operators have written.
    pub spills: u64,
}

impl std::ops::Add for Progress {
    type Output = Progress;

    fn add(self, other: Progress) -> Progress {
        Progress {
            rows_scanned: self.rows_scanned + other.rows_scanned,
            bytes_scanned: self.bytes_scanned + other.bytes_scanned,
            spilled_bytes: self.spilled_bytes + other.spilled_bytes,
            spills: self.spills + other.spills,
        }
    }
}

impl Progress {
    /// The figures of `plan` and every operator under it.
    pub fn of_plan(plan: &dyn ExecutionPlan) -> Progress {
        let mut progress = Progress::default();
        if let Some(metrics) = plan.metrics() {
            let count = |v: Option<usize>| v.map_or(0, |v| v as u64);
            progress.spilled_bytes = count(metrics.spilled_bytes());
            progress.spills = count(metrics.spill_count());
            if plan.children().is_empty() {
                progress.rows_scanned = count(metrics.output_rows());
                progress.bytes_scanned = metrics
                    .sum_by_name("bytes_scanned")
                    .map_or(0, |v| v.as_usize() as u64);
            }
        }
        plan.children().into_iter().fold(progress, |sum, child| {
            sum + Progress::of_plan(child.as_ref())
        })
    }
}

/// A handle on a running query's figures; clones share them.
#[derive(Clone, Default)]
pub struct QueryProgress {
    inner: Arc<Mutex<Attempts>>,
}

#[derive(Default)]
struct Attempts {
    /// The plan running now.
    current: Option<Arc<dyn ExecutionPlan>>,
    /// What plans that ran before it and were given up on did (a query re-planned to spill).
    earlier: Progress,
}

impl QueryProgress {
    /// The figures so far.
    pub fn snapshot(&self) -> Progress {
        let attempts = lock(&self.inner);
        let current = attempts
            .current
            .as_ref()
            .map_or_else(Progress::default, |p| Progress::of_plan(p.as_ref()));
        attempts.earlier + current
    }

    /// `plan` is now what runs; the figures of the one before it are kept.
    pub(crate) fn running(&self, plan: Arc<dyn ExecutionPlan>) {
        let mut attempts = lock(&self.inner);
        if let Some(before) = attempts.current.take() {
            attempts.earlier = attempts.earlier + Progress::of_plan(before.as_ref());
        }
        attempts.current = Some(plan);
    }
}
