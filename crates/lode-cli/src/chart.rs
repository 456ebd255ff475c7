//! `lode run --chart FILE.svg`: one result column against another as an SVG line chart, with
//! the ordinary-least-squares trend line through the points.

use std::fmt::Write as _;

use datafusion::arrow::array::{Array, Float64Array, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;

use crate::failure::Failure;

/// At most this many points are plotted: a chart is for aggregated results.
const MAX_POINTS: usize = 100_000;

/// The OLS line `y = intercept + slope * x` and how well it fits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Trend {
    pub intercept: f64,
    pub slope: f64,
    pub r_squared: f64,
}

/// Least squares through the points; `None` for fewer than two distinct x values.
pub fn trend(points: &[(f64, f64)]) -> Option<Trend> {
    let n = points.len() as f64;
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    let syy: f64 = points.iter().map(|p| (p.1 - mean_y).powi(2)).sum();
    if points.len() < 2 || sxx == 0.0 {
        return None;
    }
    let slope = sxy / sxx;
    Some(Trend {
        intercept: mean_y - slope * mean_x,
        slope,
        r_squared: if syy == 0.0 {
            1.0
        } else {
            sxy * sxy / (sxx * syy)
        },
    })
}

/// The values of column `name` (or of the first numeric column not in `skip`) as f64.
fn column(
    batches: &[RecordBatch],
    name: Option<&str>,
    skip: &str,
) -> Result<(String, Vec<Option<f64>>), Failure> {
    let Some(first) = batches.first() else {
        return Err(Failure::io(
            "--chart: the result has no rows to plot".to_string(),
        ));
    };
    let schema = first.schema();
    let index = match name {
        Some(name) => schema.index_of(name).map_err(|_| {
            let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            Failure::io(format!(
                "--chart: the result has no column '{name}' (columns: {})",
                names.join(", ")
            ))
        })?,
        None => schema
            .fields()
            .iter()
            .position(|f| f.data_type().is_numeric() && f.name() != skip)
            .ok_or_else(|| {
                Failure::io("--chart: the result has no numeric column to plot".to_string())
            })?,
    };
    let field_name = schema.field(index).name().clone();
    let mut values = Vec::new();
    for batch in batches {
        let as_f64 = cast(batch.column(index), &DataType::Float64).map_err(|e| {
            Failure::io(format!(
                "--chart: column '{field_name}' is not numeric: {e}"
            ))
        })?;
        let as_f64 = as_f64
            .as_any()
            .downcast_ref::<Float64Array>()
            .ok_or_else(|| Failure::io(format!("--chart: column '{field_name}' is not numeric")))?;
        values.extend(as_f64.iter());
    }
    Ok((field_name, values))
}

/// The chart of `y` against `x` (default: the first two numeric columns) and its trend.
pub fn render(
    batches: &[RecordBatch],
    x: Option<&str>,
    y: Option<&str>,
) -> Result<(String, Option<Trend>, String), Failure> {
    let (x_name, xs) = column(batches, x, "")?;
    let (y_name, ys) = column(batches, y, &x_name)?;
    let points: Vec<(f64, f64)> = xs
        .into_iter()
        .zip(ys)
        .filter_map(|(x, y)| Some((x?, y?)))
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    if points.is_empty() {
        return Err(Failure::io(format!(
            "--chart: no row has numbers in both '{x_name}' and '{y_name}'"
        )));
    }
    if points.len() > MAX_POINTS {
        return Err(Failure::io(format!(
            "--chart: {} points; a chart plots at most {MAX_POINTS} (aggregate first)",
            points.len()
        )));
    }
    let fit = trend(&points);
    let caption = match fit {
        Some(t) => format!(
            "{y_name} = {:.4} {} {:.4} × {x_name}   (OLS, r² = {:.3})",
            t.intercept,
            if t.slope < 0.0 { '-' } else { '+' },
            t.slope.abs(),
            t.r_squared
        ),
        None => "no trend: fewer than two distinct x values".to_string(),
    };
    Ok((svg(&points, &x_name, &y_name, fit, &caption), fit, caption))
}

fn svg(
    points: &[(f64, f64)],
    x_name: &str,
    y_name: &str,
    fit: Option<Trend>,
    caption: &str,
) -> String {
    const W: f64 = 720.0;
    const H: f64 = 440.0;
    const LEFT: f64 = 70.0;
    const RIGHT: f64 = 20.0;
    const TOP: f64 = 40.0;
    const BOTTOM: f64 = 70.0;
    let span = |values: &mut dyn Iterator<Item = f64>| {
        let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
        if lo == hi {
            (lo - 1.0, hi + 1.0)
        } else {
            (lo, hi)
        }
    };
    let (x0, x1) = span(&mut points.iter().map(|p| p.0));
    let (mut y0, mut y1) = span(&mut points.iter().map(|p| p.1));
    let pad = (y1 - y0) * 0.08;
    y0 -= pad;
    y1 += pad;
    let px = |x: f64| LEFT + (x - x0) / (x1 - x0) * (W - LEFT - RIGHT);
    let py = |y: f64| H - BOTTOM - (y - y0) / (y1 - y0) * (H - TOP - BOTTOM);
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
    let _ = writeln!(
        out,
        r#"<text x="{}" y="22" text-anchor="middle" font-size="15">{} by {}</text>"#,
        W / 2.0,
        escape(y_name),
        escape(x_name)
    );
    // Axes and ticks.
    let _ = writeln!(
        out,
        r##"<path d="M{LEFT},{TOP} V{} H{}" fill="none" stroke="#333"/>"##,
        H - BOTTOM,
        W - RIGHT
    );
    for i in 0..=5 {
        let f = f64::from(i) / 5.0;
        let (x, y) = (x0 + f * (x1 - x0), y0 + f * (y1 - y0));
        let _ = writeln!(
            out,
            r##"<text x="{:.1}" y="{}" text-anchor="middle" fill="#333">{}</text><text x="{}" y="{:.1}" text-anchor="end" fill="#333">{}</text>"##,
            px(x),
            H - BOTTOM + 18.0,
            tick(x),
            LEFT - 8.0,
            py(y) + 4.0,
            tick(y)
        );
    }
    let _ = writeln!(
        out,
        r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
        (LEFT + W - RIGHT) / 2.0,
        H - BOTTOM + 40.0,
        escape(x_name)
    );
    // The data, then the trend.
    let mut sorted = points.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let path: Vec<String> = sorted
        .iter()
        .map(|(x, y)| format!("{:.1},{:.1}", px(*x), py(*y)))
        .collect();
    let _ = writeln!(
        out,
        r##"<polyline points="{}" fill="none" stroke="#1f77b4" stroke-width="2"/>"##,
        path.join(" ")
    );
    for (x, y) in &sorted {
        let _ = writeln!(
            out,
            r##"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="#1f77b4"/>"##,
            px(*x),
            py(*y)
        );
    }
    if let Some(t) = fit {
        let _ = writeln!(
            out,
            r##"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#d62728" stroke-width="2" stroke-dasharray="6 4"/>"##,
            px(x0),
            py(t.intercept + t.slope * x0),
            px(x1),
            py(t.intercept + t.slope * x1)
        );
    }
    let _ = writeln!(
        out,
        r##"<text x="{}" y="{}" text-anchor="middle" fill="#d62728">{}</text>"##,
        W / 2.0,
        H - 12.0,
        escape(caption)
    );
    out.push_str("</svg>\n");
    out
}

/// A tick label: at most three decimals, without trailing zeros.
fn tick(v: f64) -> String {
    if v.abs() >= 1000.0 {
        return format!("{v:.0}");
    }
    let text = format!("{v:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn least_squares_recovers_a_line() {
        let points: Vec<(f64, f64)> = (0..10)
            .map(|x| (f64::from(x), 2.0 + 0.5 * f64::from(x)))
            .collect();
        let t = trend(&points).unwrap();
        assert!((t.slope - 0.5).abs() < 1e-12 && (t.intercept - 2.0).abs() < 1e-12);
        assert!((t.r_squared - 1.0).abs() < 1e-12);
        assert_eq!(trend(&[(1.0, 1.0), (1.0, 2.0)]), None);
    }
}
