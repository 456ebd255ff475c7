//! `nearest_centroid(x: f64, y: f64, centroids: string) -> i32`: the index of the centroid
//! nearest to (x, y) by Euclidean distance, the lowest index on a tie. `centroids` lists them
//! as `x y;x y;...` (Rust's shortest round-trip float formatting, so they arrive exact); it is
//! parsed once per distinct value in a batch, not per row.

use lode_guest::prelude::*;

/// Parses `x y;x y;...`.
pub fn parse_centroids(text: &str) -> Result<Vec<(f64, f64)>, String> {
    let centroids = text
        .split(';')
        .map(|pair| {
            let mut parts = pair.split_whitespace().map(str::parse::<f64>);
            match (parts.next(), parts.next(), parts.next()) {
                (Some(Ok(x)), Some(Ok(y)), None) => Ok((x, y)),
                _ => Err(format!("centroid `{pair}` is not two numbers `x y`")),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    if centroids.is_empty() {
        return Err("no centroids".into());
    }
    Ok(centroids)
}

/// Formats centroids for [`parse_centroids`].
pub fn format_centroids(centroids: &[(f64, f64)]) -> String {
    centroids
        .iter()
        .map(|(x, y)| format!("{x} {y}"))
        .collect::<Vec<_>>()
        .join(";")
}

/// The index of the centroid nearest to (x, y); the first of equally near ones.
pub fn nearest(x: f64, y: f64, centroids: &[(f64, f64)]) -> usize {
    let mut best = (0, f64::INFINITY);
    for (i, (cx, cy)) in centroids.iter().enumerate() {
        let d = (x - cx) * (x - cx) + (y - cy) * (y - cy);
        if d < best.1 {
            best = (i, d);
        }
    }
    best.0
}

fn call(batch: &Batch) -> Result<Column, CallError> {
    let (xs, ys, texts) = (batch.column(0), batch.column(1), batch.column(2));
    let (x_values, y_values) = (xs.values::<f64>(), ys.values::<f64>());
    let mut out = PrimitiveBuilder::<i32>::new(DataType::Int32, batch.num_rows);
    let mut parsed: Option<(&str, Vec<(f64, f64)>)> = None;
    for row in 0..batch.num_rows {
        if !(xs.is_valid(row) && ys.is_valid(row) && texts.is_valid(row)) {
            out.push(None);
            continue;
        }
        let text = texts.str_value(row);
        if parsed.as_ref().is_none_or(|(t, _)| *t != text) {
            let centroids = parse_centroids(text).map_err(|e| CallError::at_row(row, e))?;
            parsed = Some((text, centroids));
        }
        let centroids = parsed.as_ref().map_or(&[][..], |(_, c)| c.as_slice());
        out.push(Some(nearest(x_values[row], y_values[row], centroids) as i32));
    }
    Ok(out.finish())
}

fn module() -> Module {
    Module::new("nearest-centroid").scalar(
        "nearest_centroid",
        "index of the centroid (`x y;x y;...`) nearest to (x, y)",
        vec![Signature::new(
            vec![DataType::Float64, DataType::Float64, DataType::Utf8],
            DataType::Int32,
        )],
        call,
    )
}

lode_guest::export!(module);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn centroids_round_trip_exactly() {
        let centroids = vec![(0.1 + 0.2, -1e-300), (12345.678901234567, 3.0)];
        assert_eq!(
            parse_centroids(&format_centroids(&centroids)),
            Ok(centroids)
        );
    }

    #[test]
    fn nearest_takes_the_first_of_a_tie() {
        let centroids = [(0.0, 0.0), (2.0, 0.0)];
        assert_eq!(nearest(1.0, 0.0, &centroids), 0);
        assert_eq!(nearest(1.5, 0.0, &centroids), 1);
    }

    #[test]
    fn malformed_centroids_are_named() {
        assert_eq!(
            parse_centroids("1 2;3"),
            Err("centroid `3` is not two numbers `x y`".into())
        );
    }
}
