//! `geomean(fp64) -> fp64`: the geometric mean, exp(mean(ln x)). Its partial state is the pair
//! (sum of logs, count), which merges by addition: partial aggregates computed on different
//! partitions (or executors) combine exactly. Non-positive values are an error naming the row.

use lode_guest::prelude::*;

#[derive(Default)]
struct LogSum {
    sum: f64,
    count: u64,
}

struct GeoMean;

impl Aggregate for GeoMean {
    type State = LogSum;

    fn update(&self, state: &mut LogSum, args: &Batch, row: usize) -> Result<(), String> {
        let x = args.column(0);
        if !x.is_valid(row) {
            return Ok(());
        }
        let value = x.values::<f64>()[row];
        if value <= 0.0 {
            return Err(format!("geomean needs positive values, got {value}"));
        }
        state.sum += value.ln();
        state.count += 1;
        Ok(())
    }

    fn merge(&self, state: &mut LogSum, other: LogSum) {
        state.sum += other.sum;
        state.count += other.count;
    }

    fn encode(&self, state: &LogSum, out: &mut Vec<u8>) {
        out.extend_from_slice(&state.sum.to_le_bytes());
        out.extend_from_slice(&state.count.to_le_bytes());
    }

    fn decode(&self, bytes: &[u8]) -> Result<LogSum, String> {
        let bytes: &[u8; 16] = bytes
            .try_into()
            .map_err(|_| format!("geomean state has {} bytes, not 16", bytes.len()))?;
        let (sum, count) = bytes.split_at(8);
        Ok(LogSum {
            sum: f64::from_le_bytes(sum.try_into().unwrap_or_default()),
            count: u64::from_le_bytes(count.try_into().unwrap_or_default()),
        })
    }

    fn evaluate(&self, states: Vec<LogSum>) -> Column {
        let mut out = PrimitiveBuilder::new(DataType::Float64, states.len());
        for s in states {
            out.push((s.count > 0).then(|| (s.sum / s.count as f64).exp()));
        }
        out.finish()
    }
}

fn module() -> Module {
    Module::new("geomean").aggregate(
        "geomean",
        "geometric mean of positive numbers",
        vec![Signature::new(vec![DataType::Float64], DataType::Float64)],
        GeoMean,
    )
}

lode_guest::export!(module);
