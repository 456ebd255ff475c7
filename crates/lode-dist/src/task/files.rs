//! The data files a task reads: an executor may run it only if it holds them all.

use std::sync::Arc;

use datafusion::datasource::physical_plan::FileScanConfig;
use datafusion::datasource::source::DataSourceExec;
use datafusion::physical_plan::union::UnionExec;
use datafusion::physical_plan::{ExecutionPlan, ExecutionPlanProperties};

use crate::catalog::ScanFile;

/// The data files partition `partition` of `plan` reads, following partitions down through
/// operators that keep them (and unions, which concatenate their inputs' partitions).
pub fn files_of_partition(plan: &Arc<dyn ExecutionPlan>, partition: usize) -> Vec<ScanFile> {
    let mut files = Vec::new();
    collect_files(plan, partition, &mut files);
    files
}

fn collect_files(plan: &Arc<dyn ExecutionPlan>, partition: usize, files: &mut Vec<ScanFile>) {
    if let Some(scan) = plan.downcast_ref::<DataSourceExec>() {
        if let Some(config) = scan.data_source().downcast_ref::<FileScanConfig>()
            && let Some(group) = config.file_groups.get(partition)
        {
            files.extend(group.iter().map(|file| ScanFile {
                store: config.object_store_url.clone(),
                file: file.clone(),
            }));
        }
        return;
    }
    if plan.is::<UnionExec>() {
        let mut offset = partition;
        for child in plan.children() {
            let count = child.output_partitioning().partition_count();
            if offset < count {
                collect_files(child, offset, files);
                return;
            }
            offset -= count;
        }
        return;
    }
    let count = plan.output_partitioning().partition_count();
    for child in plan.children() {
        // A child with another partition count is read whole by every partition (a
        // broadcast reader); one with the same count is read partition by partition.
        if child.output_partitioning().partition_count() == count {
            collect_files(child, partition, files);
        }
    }
}
