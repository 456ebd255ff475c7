//! TPC-H data at any scale factor, from the `tpchgen` generator (the dbgen algorithm, verified
//! against dbgen's output by its authors), written as one Parquet file per table.

use std::path::{Path, PathBuf};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::error::ArrowError;
use tpchgen::generators::{
    CustomerGenerator, LineItemGenerator, NationGenerator, OrderGenerator, PartGenerator,
    PartSuppGenerator, RegionGenerator, SupplierGenerator,
};
use tpchgen_arrow::{
    CustomerArrow, LineItemArrow, NationArrow, OrderArrow, PartArrow, PartSuppArrow, RegionArrow,
    SupplierArrow,
};

use crate::{GenError, Progress};

/// The eight TPC-H tables, in the order they are generated.
pub const TABLES: [&str; 8] = [
    "region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem",
];

/// Writes `<out>/<table>.parquet` for every TPC-H table at scale factor `sf`.
/// Returns the files written.
pub fn generate(
    sf: f64,
    out: &Path,
    progress: impl FnMut(Progress),
) -> Result<Vec<PathBuf>, GenError> {
    generate_parts(sf, 1, out, progress)
}

/// As [`generate`], but with `parts` > 1 every table except `region` and `nation` is split
/// into `<out>/<table>/part-<i>.parquet`, `i` in `1..=parts` (tpchgen's own partitioning:
/// the parts together are exactly the single-file table). Parts are what a cluster spreads
/// across executors' data directories.
pub fn generate_parts(
    sf: f64,
    parts: usize,
    out: &Path,
    mut progress: impl FnMut(Progress),
) -> Result<Vec<PathBuf>, GenError> {
    if !(sf.is_finite() && sf > 0.0) {
        return Err(GenError::BadScaleFactor(sf));
    }
    std::fs::create_dir_all(out).map_err(|source| GenError::Io {
        path: out.to_path_buf(),
        source,
    })?;
    let mut written = Vec::new();
    for table in TABLES {
        if parts <= 1 || table == "region" || table == "nation" {
            let path = out.join(format!("{table}.parquet"));
            let expected = expected_rows(table, sf);
            let (schema, batches) = batches(table, sf, 1, 1);
            write_parquet(&path, table, schema, batches, expected, &mut progress)?;
            written.push(path);
            continue;
        }
        let dir = out.join(table);
        std::fs::create_dir_all(&dir).map_err(|source| GenError::Io {
            path: dir.clone(),
            source,
        })?;
        for part in 1..=parts {
            let path = dir.join(format!("part-{part}.parquet"));
            let (schema, batches) = batches(table, sf, part as i32, parts as i32);
            write_parquet(&path, table, schema, batches, None, &mut progress)?;
            written.push(path);
        }
    }
    Ok(written)
}

fn expected_rows(table: &str, sf: f64) -> Option<u64> {
    let n = match table {
        "region" => 5,
        "nation" => 25,
        "supplier" => SupplierGenerator::calculate_row_count(sf, 1, 1),
        "customer" => CustomerGenerator::calculate_row_count(sf, 1, 1),
        "part" => PartGenerator::calculate_row_count(sf, 1, 1),
        "partsupp" => PartGenerator::calculate_row_count(sf, 1, 1) * 4,
        "orders" => OrderGenerator::calculate_row_count(sf, 1, 1),
        _ => return None, // lineitem: 1 to 7 lines per order, known only once generated
    };
    u64::try_from(n).ok()
}

use crate::{Batches, write_parquet};

fn batches(table: &str, sf: f64, part: i32, parts: i32) -> (SchemaRef, Batches) {
    fn boxed<I: Iterator<Item = Result<RecordBatch, ArrowError>> + 'static>(
        schema: SchemaRef,
        it: I,
    ) -> (SchemaRef, Batches) {
        (schema, Box::new(it))
    }
    match table {
        "region" => boxed(
            RegionArrow::schema_ref(),
            RegionArrow::new(RegionGenerator::new(sf, part, parts)),
        ),
        "nation" => boxed(
            NationArrow::schema_ref(),
            NationArrow::new(NationGenerator::new(sf, part, parts)),
        ),
        "supplier" => boxed(
            SupplierArrow::schema_ref(),
            SupplierArrow::new(SupplierGenerator::new(sf, part, parts)),
        ),
        "customer" => boxed(
            CustomerArrow::schema_ref(),
            CustomerArrow::new(CustomerGenerator::new(sf, part, parts)),
        ),
        "part" => boxed(
            PartArrow::schema_ref(),
            PartArrow::new(PartGenerator::new(sf, part, parts)),
        ),
        "partsupp" => boxed(
            PartSuppArrow::schema_ref(),
            PartSuppArrow::new(PartSuppGenerator::new(sf, part, parts)),
        ),
        "orders" => boxed(
            OrderArrow::schema_ref(),
            OrderArrow::new(OrderGenerator::new(sf, part, parts)),
        ),
        _ => boxed(
            LineItemArrow::schema_ref(),
            LineItemArrow::new(LineItemGenerator::new(sf, part, parts)),
        ),
    }
}

/// Writes to `<path>.partial` and renames on success, so an interrupted run leaves no file
/// that looks complete.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_every_table_with_expected_counts() {
        let dir = tempfile::tempdir().unwrap();
        let mut finals = Vec::new();
        let files = generate(0.001, dir.path(), |p| {
            if p.done {
                finals.push((p.table, p.rows, p.expected_rows));
            }
        })
        .unwrap();
        assert_eq!(files.len(), 8);
        for (table, rows, expected) in &finals {
            if let Some(expected) = expected {
                assert_eq!(rows, expected, "{table}");
            }
        }
        assert_eq!(finals[0], ("region", 5, Some(5)));
        assert!(files.iter().all(|f| f.exists()));
        assert!(!dir.path().join("lineitem.parquet.partial").exists());
    }

    #[test]
    fn rejects_bad_scale_factor() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            generate(0.0, dir.path(), |_| {}),
            Err(GenError::BadScaleFactor(_))
        ));
        assert!(matches!(
            generate(f64::NAN, dir.path(), |_| {}),
            Err(GenError::BadScaleFactor(_))
        ));
    }
}
