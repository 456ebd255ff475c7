//! Word counting, the Wasm way:
//! - `split_words`: a flat-map operator, one text row in, one row per word out
//!   (config `column=<name>` picks the text column; the first string column otherwise);
//! - `approx_distinct(string) -> i64`: distinct values estimated by a HyperLogLog sketch whose
//!   registers merge by maximum, so partial sketches from any partition combine exactly.

use lode_guest::prelude::*;

/// Lowercased runs of letters, digits and inner apostrophes.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .map(|w| w.trim_matches('\''))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

fn text_column(inputs: &[Vec<Field>], config: &[u8]) -> Result<usize, String> {
    let [input] = inputs else {
        return Err(format!("split_words takes one input, not {}", inputs.len()));
    };
    let config = std::str::from_utf8(config).map_err(|_| "config is not UTF-8".to_string())?;
    let wanted = config.trim().strip_prefix("column=").map(str::trim);
    let found = input.iter().position(|f| match wanted {
        Some(name) => f.name.eq_ignore_ascii_case(name),
        None => f.data_type == DataType::Utf8,
    });
    let index = found.ok_or_else(|| match wanted {
        Some(name) => format!("the input has no column '{name}'"),
        None => "the input has no string column; name one with config `column=<name>`".into(),
    })?;
    if input[index].data_type != DataType::Utf8 {
        return Err(format!(
            "column '{}' is {}, not a string",
            input[index].name,
            input[index].data_type.substrait_name()
        ));
    }
    Ok(index)
}

fn word_field() -> Field {
    Field::new("word", DataType::Utf8, false)
}

struct SplitWords {
    column: usize,
}

impl Operator for SplitWords {
    fn push(&mut self, _input: u32, batch: Batch) -> Result<Vec<Batch>, CallError> {
        let text = batch.column(self.column);
        let mut out = VariableBuilder::strings(batch.num_rows * 8);
        for row in 0..batch.num_rows {
            if text.is_valid(row) {
                for word in words(text.str_value(row)) {
                    out.push_str(Some(&word));
                }
            }
        }
        if out.is_empty() {
            return Ok(Vec::new());
        }
        Ok(vec![Batch::new(vec![word_field()], vec![out.finish()])])
    }

    fn finish(&mut self) -> Result<Vec<Batch>, CallError> {
        Ok(Vec::new())
    }
}

/// 2^PRECISION registers: a standard error of about 1.04 / sqrt(4096) = 1.6 %.
const PRECISION: u32 = 12;
const REGISTERS: usize = 1 << PRECISION;

struct Sketch {
    registers: Vec<u8>,
}

impl Default for Sketch {
    fn default() -> Self {
        Sketch {
            registers: vec![0; REGISTERS],
        }
    }
}

/// FNV-1a, then a 64-bit finalizer so every bit depends on every input byte.
fn hash(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

impl Sketch {
    fn insert(&mut self, value: &[u8]) {
        let h = hash(value);
        let index = (h >> (64 - PRECISION)) as usize;
        let rest = (h << PRECISION) | (1 << (PRECISION - 1));
        let rank = rest.leading_zeros() as u8 + 1;
        if rank > self.registers[index] {
            self.registers[index] = rank;
        }
    }

    fn estimate(&self) -> i64 {
        let m = REGISTERS as f64;
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let sum: f64 = self
            .registers
            .iter()
            .map(|r| 2f64.powi(-i32::from(*r)))
            .sum();
        let raw = alpha * m * m / sum;
        let zeros = self.registers.iter().filter(|r| **r == 0).count();
        // Linear counting is the better estimate while many registers are still empty.
        let estimate = if raw <= 2.5 * m && zeros > 0 {
            m * (m / zeros as f64).ln()
        } else {
            raw
        };
        estimate.round() as i64
    }
}

struct ApproxDistinct;

impl Aggregate for ApproxDistinct {
    type State = Sketch;

    fn update(&self, state: &mut Sketch, args: &Batch, row: usize) -> Result<(), String> {
        let values = args.column(0);
        if values.is_valid(row) {
            state.insert(values.bytes_value(row));
        }
        Ok(())
    }

    fn merge(&self, state: &mut Sketch, other: Sketch) {
        for (mine, theirs) in state.registers.iter_mut().zip(other.registers) {
            *mine = (*mine).max(theirs);
        }
    }

    fn encode(&self, state: &Sketch, out: &mut Vec<u8>) {
        out.extend_from_slice(&state.registers);
    }

    fn decode(&self, bytes: &[u8]) -> Result<Sketch, String> {
        if bytes.len() != REGISTERS {
            return Err(format!(
                "approx_distinct state has {} bytes, not {REGISTERS}",
                bytes.len()
            ));
        }
        Ok(Sketch {
            registers: bytes.to_vec(),
        })
    }

    fn evaluate(&self, states: Vec<Sketch>) -> Column {
        let mut out = PrimitiveBuilder::new(DataType::Int64, states.len());
        for s in states {
            out.push(Some(s.estimate()));
        }
        out.finish()
    }
}

fn module() -> Module {
    Module::new("word-count")
        .operator(
            "split_words",
            "one output row (word: string) per word of a text column: lowercased runs of letters, digits and inner apostrophes",
            |inputs, config| text_column(inputs, config).map(|_| vec![word_field()]),
            |inputs, config, _partition| {
                let column = text_column(inputs, config)?;
                Ok(Box::new(SplitWords { column }) as Box<dyn Operator>)
            },
        )
        .aggregate(
            "approx_distinct",
            "approximate number of distinct strings (HyperLogLog, 4096 registers, about 1.6 % error)",
            vec![Signature::new(vec![DataType::Utf8], DataType::Int64)],
            ApproxDistinct,
        )
}

lode_guest::export!(module);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_into_lowercase_words() {
        let got: Vec<String> = words("It's a fine day -- isn't it? 42 times!").collect();
        assert_eq!(
            got,
            ["it's", "a", "fine", "day", "isn't", "it", "42", "times"]
        );
    }

    #[test]
    fn sketch_estimates_within_error_and_merges() {
        let mut a = Sketch::default();
        let mut b = Sketch::default();
        for i in 0..60_000u32 {
            let key = format!("word{i}");
            if i % 2 == 0 {
                a.insert(key.as_bytes());
            } else {
                b.insert(key.as_bytes());
            }
            // Duplicates do not count.
            a.insert(b"the");
        }
        ApproxDistinct.merge(&mut a, b);
        let estimate = a.estimate() as f64;
        assert!(
            (estimate - 60_001.0).abs() / 60_001.0 < 0.05,
            "estimate {estimate}"
        );
    }
}
