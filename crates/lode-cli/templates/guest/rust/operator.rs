//! `{{function}}`: an operator that counts the values of one integer column into buckets of a
//! fixed width and emits `(bucket, count)` when its input ends. It keeps state across the
//! batches Lode pushes, and its config (`column=x,width=5`) is text the plan carries.
//!
//! Operators are used from plans (`example-plan.json`, a driver's `relation.operator`), not
//! from SQL. Build: `lode guest build`. Test: `cargo test` (natively).

use std::collections::BTreeMap;

use lode_guest::prelude::*;

/// The operator's configuration, parsed from `column=NAME,width=N`.
#[derive(Debug, PartialEq)]
pub struct Config {
    column: usize,
    width: i64,
}

pub fn parse(input: &[Field], config: &[u8]) -> Result<Config, String> {
    let text = std::str::from_utf8(config).map_err(|_| "config is not UTF-8".to_string())?;
    let (mut column, mut width) = (None, None);
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match item.split_once('=') {
            Some(("column", name)) => column = Some(name.trim()),
            Some(("width", n)) => {
                width = Some(
                    n.trim()
                        .parse::<i64>()
                        .ok()
                        .filter(|w| *w > 0)
                        .ok_or_else(|| format!("width={n}: width must be a positive integer"))?,
                )
            }
            _ => return Err(format!("config item '{item}': expected column=NAME or width=N")),
        }
    }
    let name = column.ok_or("config needs column=NAME")?;
    let index = input
        .iter()
        .position(|f| f.name == name)
        .ok_or_else(|| format!("column '{name}' is not in the input"))?;
    if input[index].data_type != DataType::Int64 {
        return Err(format!(
            "column '{name}' is {}, not i64",
            input[index].data_type.substrait_name()
        ));
    }
    Ok(Config {
        column: index,
        width: width.unwrap_or(10),
    })
}

fn output() -> Vec<Field> {
    vec![
        Field::new("bucket", DataType::Int64, false),
        Field::new("count", DataType::Int64, false),
    ]
}

/// One partition's counts, by bucket (the lowest value it holds).
pub struct Histogram {
    config: Config,
    counts: BTreeMap<i64, i64>,
}

impl Histogram {
    pub fn add(&mut self, value: i64) {
        *self.counts.entry(value.div_euclid(self.config.width) * self.config.width).or_default() += 1;
    }
}

impl Operator for Histogram {
    fn push(&mut self, _input: u32, batch: Batch) -> Result<Vec<Batch>, CallError> {
        let column = batch.column(self.config.column);
        for row in 0..batch.num_rows {
            if column.is_valid(row) {
                self.add(column.values::<i64>()[row]);
            }
        }
        // Nothing to emit until every row is counted.
        Ok(Vec::new())
    }

    fn finish(&mut self) -> Result<Vec<Batch>, CallError> {
        let counts = std::mem::take(&mut self.counts);
        let mut bucket = PrimitiveBuilder::<i64>::new(DataType::Int64, counts.len());
        let mut count = PrimitiveBuilder::<i64>::new(DataType::Int64, counts.len());
        for (b, n) in counts {
            bucket.push(Some(b));
            count.push(Some(n));
        }
        Ok(vec![Batch::new(output(), vec![bucket.finish(), count.finish()])])
    }
}

/// What the module offers; Lode calls this once per instance.
fn module() -> Module {
    Module::new("{{name}}").operator(
        "{{function}}",
        "counts an i64 column's values in buckets: config column=NAME,width=N (default 10)",
        |inputs, config| match inputs {
            [input] => parse(input, config).map(|_| output()),
            _ => Err(format!("{{function}} takes one input, not {}", inputs.len())),
        },
        |inputs, config, _partition| {
            let config = parse(&inputs[0], config)?;
            Ok(Box::new(Histogram {
                config,
                counts: BTreeMap::new(),
            }))
        },
    )
}

lode_guest::export!(module);

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> Vec<Field> {
        vec![Field::new("x", DataType::Int64, true)]
    }

    #[test]
    fn config_names_a_column_and_a_width() {
        assert_eq!(parse(&input(), b"column=x,width=5"), Ok(Config { column: 0, width: 5 }));
        assert!(parse(&input(), b"column=y").is_err());
        assert!(parse(&input(), b"column=x,width=0").is_err());
    }

    #[test]
    fn values_land_in_their_buckets() {
        let mut histogram = Histogram {
            config: Config { column: 0, width: 5 },
            counts: BTreeMap::new(),
        };
        for value in [1, 4, 5, 9, 10, -1] {
            histogram.add(value);
        }
        let counts: Vec<(i64, i64)> = histogram.counts.into_iter().collect();
        assert_eq!(counts, [(-5, 1), (0, 2), (5, 2), (10, 1)]);
    }
}
