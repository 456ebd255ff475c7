//! `{{function}}(x)`: the root mean square of `x`, sqrt(mean(x²)), ignoring nulls. An aggregate
//! with mergeable state: each partition (or executor) folds its rows into a partial state, the
//! states travel as bytes, and merging them gives the same answer as one pass over all rows.
//!
//! Build: `lode guest build`. Test: `cargo test` (natively).

use lode_guest::prelude::*;

/// The partial state of one group: enough to merge and to finish.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct SumOfSquares {
    sum: f64,
    count: u64,
}

impl SumOfSquares {
    pub fn add(&mut self, x: f64) {
        self.sum += x * x;
        self.count += 1;
    }

    pub fn merge(&mut self, other: SumOfSquares) {
        self.sum += other.sum;
        self.count += other.count;
    }

    /// The root mean square, or none for a group without values (SQL gives null).
    pub fn finish(&self) -> Option<f64> {
        (self.count > 0).then(|| (self.sum / self.count as f64).sqrt())
    }
}

struct RootMeanSquare;

impl Aggregate for RootMeanSquare {
    type State = SumOfSquares;

    fn update(&self, state: &mut SumOfSquares, args: &Batch, row: usize) -> Result<(), String> {
        let x = args.column(0);
        if x.is_valid(row) {
            let value = x.values::<f64>()[row];
            if !value.is_finite() {
                return Err(format!("{{function}} needs finite values, got {value}"));
            }
            state.add(value);
        }
        Ok(())
    }

    fn merge(&self, state: &mut SumOfSquares, other: SumOfSquares) {
        state.merge(other);
    }

    fn encode(&self, state: &SumOfSquares, out: &mut Vec<u8>) {
        out.extend_from_slice(&state.sum.to_le_bytes());
        out.extend_from_slice(&state.count.to_le_bytes());
    }

    fn decode(&self, bytes: &[u8]) -> Result<SumOfSquares, String> {
        let bytes: [u8; 16] = bytes
            .try_into()
            .map_err(|_| format!("a {{function}} state has 16 bytes, not {}", bytes.len()))?;
        let [sum, count] = [&bytes[..8], &bytes[8..]].map(|b| {
            let mut word = [0u8; 8];
            word.copy_from_slice(b);
            word
        });
        Ok(SumOfSquares {
            sum: f64::from_le_bytes(sum),
            count: u64::from_le_bytes(count),
        })
    }

    fn evaluate(&self, states: Vec<SumOfSquares>) -> Column {
        let mut out = PrimitiveBuilder::new(DataType::Float64, states.len());
        for state in states {
            out.push(state.finish());
        }
        out.finish()
    }
}

/// What the module offers; Lode calls this once per instance.
fn module() -> Module {
    Module::new("{{name}}").aggregate(
        "{{function}}",
        "root mean square: sqrt(mean(x * x)), nulls ignored",
        vec![Signature::new(vec![DataType::Float64], DataType::Float64).named(&["x"])],
        RootMeanSquare,
    )
}

lode_guest::export!(module);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_partial_states_equal_one_pass() {
        let mut left = SumOfSquares::default();
        let mut right = SumOfSquares::default();
        left.add(3.0);
        right.add(4.0);
        left.merge(right);
        assert_eq!(left.finish(), Some((12.5f64).sqrt()));
    }

    #[test]
    fn states_survive_encoding() {
        let mut state = SumOfSquares::default();
        state.add(2.5);
        let mut bytes = Vec::new();
        RootMeanSquare.encode(&state, &mut bytes);
        assert_eq!(RootMeanSquare.decode(&bytes), Ok(state));
        assert!(RootMeanSquare.decode(&bytes[..3]).is_err());
    }

    #[test]
    fn no_values_give_null() {
        assert_eq!(SumOfSquares::default().finish(), None);
    }
}
