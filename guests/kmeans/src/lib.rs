//! k-means over a table of points (`x`, `y`: f64), as a driver that iterates:
//!
//! 1. initial centroids: the points at ranks 0, n/k, 2n/k, ... in (x, y) order (one SQL plan);
//! 2. each iteration runs one plan: assign every point to its nearest centroid with the
//!    `nearest_centroid` Wasm function (a module the driver carries and registers), then
//!    average each cluster; a cluster left empty keeps its centroid;
//! 3. stop when no centroid moved more than `tolerance`, or after `max-iterations`;
//! 4. store the final assignment as table `kmeans_assignments` and return each cluster's
//!    size and centroid.
//!
//! Arguments: `k` (8), `table` (points), `max-iterations` (100), `tolerance` (1e-9).
//! The data never leaves the engine: the driver sees k centroids per iteration.

use lode_guest::driver::{self, Args, Driver, Relation, asc};

const NEAREST_CENTROID: &[u8] = include_bytes!("../../out/nearest-centroid.wasm");

struct KMeans;

/// Centroids as `nearest_centroid` reads them: `x y;x y;...`, exact (shortest round trip).
fn centroid_list(centroids: &[(f64, f64)]) -> String {
    centroids
        .iter()
        .map(|(x, y)| format!("{x} {y}"))
        .collect::<Vec<_>>()
        .join(";")
}

/// Points with their cluster, for the given centroids.
fn assigned(table: &str, centroids: &[(f64, f64)]) -> Result<Relation, String> {
    let call = format!(
        "nearest_centroid(x, y, '{}') AS cluster",
        centroid_list(centroids)
    );
    Ok(Relation::scan(table)?.project(&["x", "y", call.as_str()])?)
}

fn initial_centroids(table: &str, k: usize) -> Result<Vec<(f64, f64)>, String> {
    let query = format!(
        "SELECT x, y FROM (
           SELECT x, y, row_number() OVER (ORDER BY x, y) - 1 AS rank, count(*) OVER () AS n
           FROM {table})
         WHERE rank % greatest(n / {k}, 1) = 0 AND rank / greatest(n / {k}, 1) < {k}
         ORDER BY rank"
    );
    let rows = Relation::sql(&query)?.execute()?;
    let (xs, ys) = (rows.values::<f64>("x")?, rows.values::<f64>("y")?);
    if xs.len() < k {
        return Err(format!(
            "table `{table}` has {} points, fewer than k = {k}",
            xs.len()
        ));
    }
    Ok(xs.into_iter().zip(ys).collect())
}

impl Driver for KMeans {
    fn run(args: Args) -> Result<Option<Relation>, String> {
        args.only(&["k", "table", "max-iterations", "tolerance"])?;
        let k: usize = args.parse("k", 8)?;
        let table = args.get_or("table", "points");
        let max_iterations: usize = args.parse("max-iterations", 100)?;
        let tolerance: f64 = args.parse("tolerance", 1e-9)?;
        if k == 0 {
            return Err("k must be at least 1".into());
        }
        driver::register_module(NEAREST_CENTROID)?;
        let mut centroids = initial_centroids(table, k)?;
        for iteration in 1..=max_iterations {
            let clusters = assigned(table, &centroids)?
                .aggregate(&["cluster"], &["avg(x) AS x", "avg(y) AS y"])?
                .sort(&[asc("cluster")])?
                .execute()?;
            let ids = clusters.values::<i32>("cluster")?;
            let (xs, ys) = (clusters.values::<f64>("x")?, clusters.values::<f64>("y")?);
            let mut next = centroids.clone();
            for ((id, x), y) in ids.into_iter().zip(xs).zip(ys) {
                let slot = next
                    .get_mut(id as usize)
                    .ok_or_else(|| format!("cluster {id} is not one of the {k} centroids"))?;
                *slot = (x, y);
            }
            let moved = centroids
                .iter()
                .zip(&next)
                .map(|((x0, y0), (x1, y1))| (x1 - x0).hypot(y1 - y0))
                .fold(0.0, f64::max);
            centroids = next;
            driver::log(&format!(
                "iteration {iteration}: centroids moved at most {moved:.3e}"
            ));
            if moved <= tolerance {
                break;
            }
        }
        let points = assigned(table, &centroids)?.store("kmeans_assignments")?;
        driver::log(&format!(
            "stored {points} assigned points as table kmeans_assignments"
        ));
        let summary = Relation::scan("kmeans_assignments")?
            .aggregate(
                &["cluster"],
                &["count(*) AS points", "avg(x) AS x", "avg(y) AS y"],
            )?
            .sort(&[asc("cluster")])?;
        Ok(Some(summary))
    }
}

lode_guest::export_driver!(KMeans);
