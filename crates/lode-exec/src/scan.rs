//! Scans of files already known (from a table format's metadata, or placed on a cluster's
//! executors) rather than listed by DataFusion: one place turns them into DataFusion's scan,
//! leaving out the files whose statistics rule out a query's filters.

use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::Session;
use datafusion::common::pruning::PrunableStatistics;
use datafusion::common::{DFSchema, Statistics};
use datafusion::datasource::file_format::FileFormat as DfFileFormat;
use datafusion::datasource::file_format::arrow::ArrowFormat;
use datafusion::datasource::file_format::csv::CsvFormat;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfig, FileScanConfigBuilder};
use datafusion::error::Result as DfResult;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::logical_expr::Expr;
use datafusion::logical_expr::utils::conjunction;
use datafusion::physical_optimizer::pruning::PruningPredicateBuilder;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::empty::EmptyExec;

use crate::FileFormat;

/// Files of one format in one store, in groups (a scan partition each), with the whole
/// table's statistics when known. Files may carry their own statistics, by which DataFusion
/// skips a file a filter rules out.
#[derive(Debug, Clone)]
pub struct FileScan {
    /// The store holding every file.
    pub store: ObjectStoreUrl,
    /// The table's schema.
    pub schema: SchemaRef,
    /// The files' format.
    pub format: FileFormat,
    /// The files, by scan partition.
    pub groups: Vec<Vec<PartitionedFile>>,
    /// The whole table's statistics, for the planner's join choices.
    pub statistics: Option<Statistics>,
}

impl FileScan {
    /// DataFusion's file format and scan configuration of the scan.
    pub fn config(
        &self,
        projection: Option<&Vec<usize>>,
        limit: Option<usize>,
    ) -> DfResult<(Arc<dyn DfFileFormat>, FileScanConfig)> {
        let format: Arc<dyn DfFileFormat> = match self.format {
            FileFormat::Parquet => Arc::new(ParquetFormat::default()),
            FileFormat::Csv => Arc::new(CsvFormat::default().with_has_header(true)),
            FileFormat::Arrow => Arc::new(ArrowFormat),
        };
        let source = format.file_source(Arc::clone(&self.schema).into());
        let groups = self.groups.iter().cloned().map(FileGroup::new).collect();
        let mut config = FileScanConfigBuilder::new(self.store.clone(), source)
            .with_file_groups(groups)
            .with_projection_indices(projection.cloned())?
            .with_limit(limit);
        if let Some(statistics) = &self.statistics {
            config = config.with_statistics(statistics.clone());
        }
        Ok((format, config.build()))
    }

    /// The scan without the files whose statistics show that no row passes `filters`, and
    /// without the groups left empty. Files without statistics stay.
    ///
    /// DataFusion's Parquet opener would skip such files too, but in DataFusion 55 it first
    /// folds a column whose minimum equals its maximum (an identity-partitioned column) into
    /// a literal, and then cannot build its pruning predicate; skipping files while planning
    /// avoids that, and a skipped file never becomes a task.
    pub fn pruned(&self, state: &dyn Session, filters: &[Expr]) -> DfResult<FileScan> {
        let Some(filter) = conjunction(filters.iter().cloned()) else {
            return Ok(self.clone());
        };
        let schema = DFSchema::try_from(self.schema.as_ref().clone())?;
        let predicate = state.create_physical_expr(filter, &schema)?;
        // A filter pruning cannot use (a Wasm call, say) prunes nothing.
        let Some(pruning) = PruningPredicateBuilder::new()
            .with_file_schema(Arc::clone(&self.schema))
            .build(predicate)
        else {
            return Ok(self.clone());
        };
        let unknown = Arc::new(Statistics::new_unknown(&self.schema));
        let mut groups = Vec::with_capacity(self.groups.len());
        for group in &self.groups {
            let statistics = group
                .iter()
                .map(|file| {
                    file.statistics
                        .clone()
                        .unwrap_or_else(|| Arc::clone(&unknown))
                })
                .collect();
            let keep = pruning.prune(&PrunableStatistics::new(
                statistics,
                Arc::clone(&self.schema),
            ))?;
            let kept: Vec<PartitionedFile> = group
                .iter()
                .zip(keep)
                .filter(|(_, keep)| *keep)
                .map(|(file, _)| file.clone())
                .collect();
            if !kept.is_empty() {
                groups.push(kept);
            }
        }
        Ok(FileScan {
            groups,
            ..self.clone()
        })
    }

    /// The scan as DataFusion plans it; with no files, an empty scan.
    pub async fn plan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        if self.groups.iter().all(Vec::is_empty) {
            let schema = match projection {
                Some(columns) => Arc::new(self.schema.project(columns)?),
                None => Arc::clone(&self.schema),
            };
            return Ok(Arc::new(EmptyExec::new(schema)));
        }
        let (format, config) = self.config(projection, limit)?;
        format.create_physical_plan(state, config).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::common::stats::Precision;
    use datafusion::common::{ColumnStatistics, ScalarValue};
    use datafusion::prelude::{SessionContext, col, lit};

    /// A file whose column `k` holds `min..=max`, or whose statistics are unknown.
    fn file(name: &str, bounds: Option<(i64, i64)>) -> PartitionedFile {
        let mut file = PartitionedFile::new(name, 100);
        file.statistics = bounds.map(|(min, max)| {
            Arc::new(Statistics {
                num_rows: Precision::Exact(10),
                total_byte_size: Precision::Absent,
                column_statistics: vec![ColumnStatistics {
                    min_value: Precision::Exact(ScalarValue::Int64(Some(min))),
                    max_value: Precision::Exact(ScalarValue::Int64(Some(max))),
                    null_count: Precision::Exact(0),
                    ..ColumnStatistics::new_unknown()
                }],
            })
        });
        file
    }

    #[test]
    fn files_whose_statistics_rule_out_the_filter_are_left_out() {
        let scan = FileScan {
            store: ObjectStoreUrl::local_filesystem(),
            schema: Arc::new(Schema::new(vec![Field::new("k", DataType::Int64, false)])),
            format: FileFormat::Parquet,
            groups: vec![
                vec![file("one", Some((1, 1))), file("three", Some((3, 3)))],
                vec![file("low", Some((0, 2)))],
                vec![file("unknown", None)],
            ],
            statistics: None,
        };
        let state = SessionContext::new().state();
        let pruned = scan
            .pruned(&state, &[col("k").eq(lit(3i64))])
            .expect("pruned");
        let names: Vec<Vec<String>> = pruned
            .groups
            .iter()
            .map(|g| {
                g.iter()
                    .map(|f| f.object_meta.location.to_string())
                    .collect()
            })
            .collect();
        assert_eq!(names, vec![vec!["three"], vec!["unknown"]]);
        let unfiltered = scan.pruned(&state, &[]).expect("pruned");
        assert_eq!(unfiltered.groups.len(), 3);
    }
}
