//! Scans of files already known (from a table format's metadata, or placed on a cluster's
//! executors) rather than listed by DataFusion: one place turns them into DataFusion's scan,
//! leaving out the files whose statistics rule out a query's filters.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::{FieldRef, Schema, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::pruning::PrunableStatistics;
use datafusion::common::stats::Precision;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{DFSchema, Statistics};
use datafusion::datasource::TableType;
use datafusion::datasource::file_format::FileFormat as DfFileFormat;
use datafusion::datasource::file_format::arrow::ArrowFormat;
use datafusion::datasource::file_format::csv::CsvFormat;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::{
    ArrowSource, FileGroup, FileScanConfig, FileScanConfigBuilder, FileSource,
};
use datafusion::datasource::source::DataSourceExec;
use datafusion::datasource::table_schema::TableSchema;
use datafusion::error::Result as DfResult;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::logical_expr::utils::conjunction;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_optimizer::pruning::PruningPredicateBuilder;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::empty::EmptyExec;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};
use std::collections::HashSet;

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
    /// Columns of `schema` whose values are each file's `partition_values` (in this order)
    /// rather than in the file: a Delta table's partition columns.
    pub partition_columns: Vec<String>,
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
        let (table_schema, scan_index) = self.layout()?;
        let source = format.file_source(table_schema);
        let groups = self.groups.iter().cloned().map(FileGroup::new).collect();
        // DataFusion puts partition columns after the files' columns: a projection names
        // columns by their place there, in the order the table's schema wants them.
        let projection = match projection {
            _ if self.partition_columns.is_empty() => projection.cloned(),
            Some(columns) => Some(columns.iter().map(|&c| scan_index[c]).collect()),
            None => Some(scan_index),
        };
        let mut config = FileScanConfigBuilder::new(self.store.clone(), source)
            .with_file_groups(groups)
            .with_projection_indices(projection)?
            .with_limit(limit);
        if let Some(statistics) = &self.statistics {
            config = config.with_statistics(statistics.clone());
        }
        Ok((format, config.build()))
    }

    /// DataFusion's table schema (the files' columns, then the partition columns) and, for
    /// each column of `schema`, its place there.
    fn layout(&self) -> DfResult<(TableSchema, Vec<usize>)> {
        let fields = self.schema.fields();
        if self.partition_columns.is_empty() {
            return Ok((Arc::clone(&self.schema).into(), (0..fields.len()).collect()));
        }
        let is_partition = |name: &String| self.partition_columns.contains(name);
        let file_fields: Vec<FieldRef> = fields
            .iter()
            .filter(|f| !is_partition(f.name()))
            .cloned()
            .collect();
        let partition_fields = self
            .partition_columns
            .iter()
            .map(|name| Ok(Arc::new(self.schema.field_with_name(name)?.clone())))
            .collect::<DfResult<Vec<FieldRef>>>()?;
        let order: Vec<&String> = file_fields
            .iter()
            .chain(&partition_fields)
            .map(|f| f.name())
            .collect();
        let scan_index = fields
            .iter()
            .map(|f| order.iter().position(|name| *name == f.name()).unwrap_or(0))
            .collect();
        let file_schema = Arc::new(Schema::new(file_fields));
        let table_schema = TableSchema::builder(file_schema)
            .with_table_partition_cols(partition_fields)
            .build();
        Ok((table_schema, scan_index))
    }

    /// A file's statistics over `schema`: its own, else its partition values as each
    /// partition column's only value.
    fn file_statistics(&self, file: &PartitionedFile) -> Arc<Statistics> {
        if let Some(statistics) = &file.statistics {
            return Arc::clone(statistics);
        }
        let mut statistics = Statistics::new_unknown(&self.schema);
        for (name, value) in self.partition_columns.iter().zip(&file.partition_values) {
            if let Ok(column) = self.schema.index_of(name) {
                let exact = Precision::Exact(value.clone());
                statistics.column_statistics[column].min_value = exact.clone();
                statistics.column_statistics[column].max_value = exact;
            }
        }
        Arc::new(statistics)
    }

    /// The scan without the files whose statistics (or partition values) show that no row
    /// passes `filters`, and without the groups left empty. Files without either stay.
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
        let mut groups = Vec::with_capacity(self.groups.len());
        for group in &self.groups {
            let statistics = group
                .iter()
                .map(|file| self.file_statistics(file))
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

    /// The scan as DataFusion plans it; with no files, an empty scan. An Arrow IPC scan is
    /// planned as the IPC file format without opening a file (DataFusion's own planning opens
    /// the first to tell the file format from the stream format, and a cluster's coordinator
    /// plans without the files): where the files are read, [`restore_arrow_streams`] gives
    /// stream files their source.
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
        if self.format == FileFormat::Arrow {
            return Ok(DataSourceExec::from_data_source(config));
        }
        format.create_physical_plan(state, config).await
    }
}

#[async_trait]
impl TableProvider for FileScan {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    /// Filters prune files here (a file whose statistics rule them out is not read, nor on
    /// a cluster any task's); DataFusion still applies them to the rows.
    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> DfResult<Vec<TableProviderFilterPushDown>> {
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        self.pruned(state, filters)?
            .plan(state, projection, limit)
            .await
    }
}

/// Gives the Arrow scans of `plan` whose files are IPC streams a stream source:
/// datafusion-proto decodes every Arrow scan as the IPC file format, and only an executor,
/// which reads the files, can tell. As DataFusion's own planning, the first file decides.
pub async fn restore_arrow_streams(
    plan: Arc<dyn ExecutionPlan>,
    runtime: &RuntimeEnv,
) -> DfResult<Arc<dyn ExecutionPlan>> {
    // The stores are asked first: a plan rewrite cannot wait on them.
    let mut first_files = Vec::new();
    plan.apply(|node| {
        if let Some((store, path)) = arrow_scan(node).and_then(first_file) {
            first_files.push((store, path));
        }
        Ok(TreeNodeRecursion::Continue)
    })?;
    let mut streams = HashSet::new();
    for (store, path) in first_files {
        if is_arrow_stream(runtime.object_store(&store)?, &path).await {
            streams.insert((store, path));
        }
    }
    if streams.is_empty() {
        return Ok(plan);
    }
    let restored = plan.transform_up(|node| {
        let Some(config) = arrow_scan(&node)
            .filter(|config| first_file(config).is_some_and(|first| streams.contains(&first)))
        else {
            return Ok(Transformed::no(node));
        };
        let mut source: Arc<dyn FileSource> = Arc::new(ArrowSource::new_stream_file_source(
            config.file_source().table_schema().clone(),
        ));
        if let Some(projection) = config.file_source().projection()
            && let Some(projected) = source.try_pushdown_projection(projection)?
        {
            source = projected;
        }
        let config = FileScanConfigBuilder::from(config.clone())
            .with_source(source)
            .build();
        let scan: Arc<dyn ExecutionPlan> = DataSourceExec::from_data_source(config);
        Ok(Transformed::yes(scan))
    })?;
    Ok(restored.data)
}

/// The file scan `node` is, if it reads Arrow IPC.
fn arrow_scan(node: &Arc<dyn ExecutionPlan>) -> Option<&FileScanConfig> {
    node.downcast_ref::<DataSourceExec>()
        .and_then(|scan| scan.data_source().downcast_ref::<FileScanConfig>())
        .filter(|config| config.file_source().is::<ArrowSource>())
}

/// The store and path of a scan's first file.
fn first_file(config: &FileScanConfig) -> Option<(ObjectStoreUrl, ObjectPath)> {
    let first = config.file_groups.iter().flat_map(|g| g.iter()).next()?;
    Some((
        config.object_store_url.clone(),
        first.object_meta.location.clone(),
    ))
}

/// Whether the Arrow file at `path` is an IPC stream: it lacks the file format's magic.
async fn is_arrow_stream(store: Arc<dyn ObjectStore>, path: &ObjectPath) -> bool {
    store
        .get_range(path, 0..6)
        .await
        .is_ok_and(|magic| magic.as_ref() != b"ARROW1")
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
            partition_columns: Vec::new(),
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

    /// A Delta-like table: partition column `p` between the files' columns.
    fn partitioned() -> FileScan {
        let partition = |name: &str, p: i64| {
            let mut file = PartitionedFile::new(name, 100);
            file.partition_values = vec![ScalarValue::Int64(Some(p))];
            file
        };
        FileScan {
            store: ObjectStoreUrl::local_filesystem(),
            schema: Arc::new(Schema::new(vec![
                Field::new("a", DataType::Int64, false),
                Field::new("p", DataType::Int64, false),
                Field::new("b", DataType::Utf8, true),
            ])),
            format: FileFormat::Parquet,
            groups: vec![vec![partition("p1", 1), partition("p2", 2)]],
            statistics: None,
            partition_columns: vec!["p".into()],
        }
    }

    #[test]
    fn partition_values_prune_files_and_columns_keep_the_table_order() {
        let scan = partitioned();
        let state = SessionContext::new().state();
        let pruned = scan
            .pruned(&state, &[col("p").eq(lit(2i64))])
            .expect("pruned");
        assert_eq!(pruned.groups.len(), 1);
        assert_eq!(pruned.groups[0].len(), 1);
        assert_eq!(pruned.groups[0][0].object_meta.location.as_ref(), "p2");
        let names = |projection: Option<&Vec<usize>>| -> Vec<String> {
            let (_, config) = scan.config(projection, None).expect("config");
            config
                .projected_schema()
                .expect("schema")
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect()
        };
        assert_eq!(names(None), vec!["a", "p", "b"]);
        assert_eq!(names(Some(&vec![2, 1])), vec!["b", "p"]);
    }
}
