//! Points around cluster centres, `points(x f64, y f64)`: the k-means driver's table
//! (`lode drive guests/out/kmeans.wasm`).
//!
//! Cluster `c` of `k` has its centre on a circle of radius `2k` at angle `2πc/k`, so
//! neighbouring centres are about 12 apart; its points scatter around it normally with
//! standard deviation 1.5 (Box-Muller). Row `i` belongs to cluster `i mod k`, and every row
//! depends only on (seed, i): the data is the same however it is split into files.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{Float64Array, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use crate::{GenError, Progress, write_split};

const ROWS_PER_FILE: u64 = 1_000_000;
const SPREAD: f64 = 1.5;

/// The points table's columns.
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("x", DataType::Float64, false),
        Field::new("y", DataType::Float64, false),
    ]))
}

/// The centre of cluster `c` of `k`.
pub fn centre(c: u64, k: u64) -> (f64, f64) {
    let angle = std::f64::consts::TAU * c as f64 / k as f64;
    let radius = 2.0 * k as f64;
    (radius * angle.cos(), radius * angle.sin())
}

/// Point `i`: its cluster's centre plus normal noise.
pub fn point(seed: u64, i: u64, k: u64) -> (f64, f64) {
    let (cx, cy) = centre(i % k, k);
    let u = unit(draw(seed, i, 0)).max(f64::MIN_POSITIVE);
    let v = unit(draw(seed, i, 1));
    let r = (-2.0 * u.ln()).sqrt() * SPREAD;
    let theta = std::f64::consts::TAU * v;
    (cx + r * theta.cos(), cy + r * theta.sin())
}

/// Writes `rows` points in `clusters` clusters to `out/points/part-NNN.parquet`; returns the
/// files.
pub fn generate(
    rows: u64,
    clusters: u64,
    seed: u64,
    out: &Path,
    progress: impl FnMut(Progress),
) -> Result<Vec<PathBuf>, GenError> {
    if rows == 0 || clusters == 0 {
        return Err(GenError::BadArgument(
            "--rows and --clusters must be at least 1".to_string(),
        ));
    }
    write_split(
        &out.join("points"),
        "points",
        schema(),
        rows,
        ROWS_PER_FILE,
        move |from, to| batch(seed, clusters, from, to),
        progress,
    )
}

/// SplitMix64 of (seed, row, lane).
fn draw(seed: u64, row: u64, lane: u64) -> u64 {
    let mut z =
        seed ^ row.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ lane.wrapping_mul(0xd1b5_4a32_d192_ed03);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn unit(x: u64) -> f64 {
    (x >> 11) as f64 / (1u64 << 53) as f64
}

fn batch(seed: u64, k: u64, from: u64, to: u64) -> RecordBatch {
    let (xs, ys): (Vec<f64>, Vec<f64>) = (from..to).map(|i| point(seed, i, k)).unzip();
    RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(Float64Array::from(xs)),
            Arc::new(Float64Array::from(ys)),
        ],
    )
    .expect("the columns match the schema")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_gather_around_their_centres() {
        let k = 8;
        let mut sums = vec![(0.0, 0.0, 0u32); k as usize];
        for i in 0..8000 {
            let (x, y) = point(3, i, k);
            let s = &mut sums[(i % k) as usize];
            *s = (s.0 + x, s.1 + y, s.2 + 1);
        }
        for (c, (sx, sy, n)) in sums.into_iter().enumerate() {
            let (cx, cy) = centre(c as u64, k);
            let (mx, my) = (sx / n as f64, sy / n as f64);
            assert!(
                (mx - cx).hypot(my - cy) < 0.3,
                "cluster {c}: ({mx}, {my}) vs ({cx}, {cy})"
            );
        }
        assert_eq!(point(3, 17, k), point(3, 17, k));
        assert_ne!(point(3, 17, k), point(4, 17, k));
    }

    #[test]
    fn writes_every_row_once() {
        let dir = tempfile::tempdir().unwrap();
        let files = generate(1_000_001, 4, 1, dir.path(), |_| {}).unwrap();
        assert_eq!(files.len(), 2);
        assert!(generate(10, 0, 1, dir.path(), |_| {}).is_err());
    }
}
