//! `{{function}}(n)`: a table function generating the rows `(i, square)` for `i` in `0..n`, in
//! partitions that Lode runs independently (on different cores or executors).
//!
//! Use it in SQL as a table: `SELECT * FROM {{function}}(10)`.
//! Build: `lode guest build`. Test: `cargo test` (natively).

use lode_guest::prelude::*;

/// Rows per partition: a partition is the unit Lode spreads over cores and executors.
const ROWS_PER_PARTITION: i64 = 100_000;
/// Rows per batch a partition returns.
const ROWS_PER_BATCH: i64 = 8192;

fn output() -> Vec<Field> {
    vec![
        Field::new("i", DataType::Int64, false),
        Field::new("square", DataType::Int64, false),
    ]
}

/// The literal argument `n`, checked.
fn rows(args: &Batch) -> Result<i64, String> {
    let types: Vec<&DataType> = args.fields.iter().map(|f| &f.data_type).collect();
    if types != [&DataType::Int64] {
        let names: Vec<String> = types.iter().map(|t| t.substrait_name()).collect();
        return Err(format!(
            "{{function}}(n i64) was called with ({})",
            names.join(", ")
        ));
    }
    let n = args.column(0);
    if !n.is_valid(0) {
        return Err("{{function}}: n must not be null".into());
    }
    let n = n.values::<i64>()[0];
    if !(0..=3_000_000_000).contains(&n) {
        return Err(format!("{{function}}: n must be in 0..=3e9 (its square fits an i64), got {n}"));
    }
    Ok(n)
}

/// How many partitions `n` rows take (at least one, so an empty table still has a plan).
pub fn partitions(n: i64) -> u32 {
    (n.max(1) + ROWS_PER_PARTITION - 1).div_euclid(ROWS_PER_PARTITION) as u32
}

/// One partition: the rows `next..end`.
struct Squares {
    next: i64,
    end: i64,
}

impl Generator for Squares {
    fn next(&mut self) -> Result<Option<Batch>, CallError> {
        if self.next >= self.end {
            return Ok(None);
        }
        let stop = (self.next + ROWS_PER_BATCH).min(self.end);
        let len = (stop - self.next) as usize;
        let mut i = PrimitiveBuilder::<i64>::new(DataType::Int64, len);
        let mut square = PrimitiveBuilder::<i64>::new(DataType::Int64, len);
        for value in self.next..stop {
            i.push(Some(value));
            square.push(Some(value * value));
        }
        self.next = stop;
        Ok(Some(Batch::new(output(), vec![i.finish(), square.finish()])))
    }
}

/// What the module offers; Lode calls this once per instance.
fn module() -> Module {
    Module::new("{{name}}").table(
        "{{function}}",
        "the rows (i, i * i) for i in 0..n",
        |args, _config| Ok((output(), partitions(rows(args)?))),
        |args, _config, partition| {
            let n = rows(args)?;
            let start = i64::from(partition) * ROWS_PER_PARTITION;
            Ok(Box::new(Squares {
                next: start.min(n),
                end: (start + ROWS_PER_PARTITION).min(n),
            }))
        },
    )
}

lode_guest::export!(module);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_cover_every_row_once() {
        assert_eq!(partitions(0), 1);
        assert_eq!(partitions(ROWS_PER_PARTITION), 1);
        assert_eq!(partitions(ROWS_PER_PARTITION + 1), 2);
    }

    #[test]
    fn a_partition_yields_its_rows_then_ends() {
        let mut squares = Squares { next: 3, end: 5 };
        let batch = squares.next().ok().flatten().expect("a batch");
        assert_eq!(batch.column(1).values::<i64>(), &[9, 16]);
        assert!(squares.next().ok().flatten().is_none());
    }
}
