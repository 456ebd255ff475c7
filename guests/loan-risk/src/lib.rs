//! Loan default risk:
//! - `loan_risk(income fp64, debt fp64, credit_score i64, years_employed i64) -> fp64`: the
//!   probability of default from a logistic model over debt-to-income, credit score, years
//!   employed and income; a non-positive income is an error naming the row;
//! - `random_loans(rows i64, seed i64)`: a table function of synthetic loan applications
//!   (id, income, debt, credit_score, years_employed), split into partitions of up to 250 000
//!   rows that generate independently. Row `id` depends only on (seed, id), so the table is
//!   the same however it is partitioned.

use lode_guest::prelude::*;

/// The model's coefficients (log-odds).
const INTERCEPT: f64 = -2.0;
const PER_DEBT_TO_INCOME: f64 = 4.0;
const PER_CREDIT_POINT_ABOVE_650: f64 = -0.012;
const PER_YEAR_EMPLOYED: f64 = -0.08;
const PER_LOG_INCOME_OVER_50K: f64 = -0.35;

pub fn risk(income: f64, debt: f64, credit_score: i64, years_employed: i64) -> f64 {
    let z = INTERCEPT
        + PER_DEBT_TO_INCOME * (debt / income)
        + PER_CREDIT_POINT_ABOVE_650 * (credit_score - 650) as f64
        + PER_YEAR_EMPLOYED * years_employed as f64
        + PER_LOG_INCOME_OVER_50K * (income / 50_000.0).ln();
    1.0 / (1.0 + (-z).exp())
}

fn loan_risk(batch: &Batch) -> Result<Column, CallError> {
    let [income, debt, score, years] = [0, 1, 2, 3].map(|i| batch.column(i));
    let mut out = PrimitiveBuilder::<f64>::new(DataType::Float64, batch.num_rows);
    for row in 0..batch.num_rows {
        if [income, debt, score, years]
            .iter()
            .any(|c| !c.is_valid(row))
        {
            out.push(None);
            continue;
        }
        let income = income.values::<f64>()[row];
        if income <= 0.0 || income.is_nan() {
            return Err(CallError::at_row(
                row,
                format!("income must be positive, got {income}"),
            ));
        }
        out.push(Some(risk(
            income,
            debt.values::<f64>()[row],
            score.values::<i64>()[row],
            years.values::<i64>()[row],
        )));
    }
    Ok(out.finish())
}

const ROWS_PER_PARTITION: i64 = 250_000;
const ROWS_PER_BATCH: i64 = 8192;

fn loan_fields() -> Vec<Field> {
    vec![
        Field::new("id", DataType::Int64, false),
        Field::new("income", DataType::Float64, false),
        Field::new("debt", DataType::Float64, false),
        Field::new("credit_score", DataType::Int64, false),
        Field::new("years_employed", DataType::Int64, false),
    ]
}

/// (rows, seed) from the call's literal arguments.
fn arguments(args: &Batch) -> Result<(i64, u64), String> {
    let types: Vec<&DataType> = args.fields.iter().map(|f| &f.data_type).collect();
    if types != [&DataType::Int64, &DataType::Int64] {
        let names: Vec<String> = types.iter().map(|t| t.substrait_name()).collect();
        return Err(format!(
            "random_loans(rows i64, seed i64) was called with ({})",
            names.join(", ")
        ));
    }
    if !args.column(0).is_valid(0) || !args.column(1).is_valid(0) {
        return Err("random_loans: rows and seed must not be null".into());
    }
    let rows = args.column(0).values::<i64>()[0];
    if !(0..=1_000_000_000).contains(&rows) {
        return Err(format!("random_loans: rows must be in 0..=1e9, got {rows}"));
    }
    Ok((rows, args.column(1).values::<i64>()[0] as u64))
}

/// SplitMix64: a good 64-bit mix of the seed and row id.
fn mix(seed: u64, id: u64) -> u64 {
    let mut z = seed ^ id.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A uniform draw in [0, 1) from the `lane`-th 64 bits of row `id`.
fn uniform(seed: u64, id: u64, lane: u64) -> f64 {
    (mix(seed.wrapping_add(lane), id) >> 11) as f64 / (1u64 << 53) as f64
}

struct Loans {
    seed: u64,
    next: i64,
    end: i64,
}

impl Generator for Loans {
    fn next(&mut self) -> Result<Option<Batch>, CallError> {
        if self.next >= self.end {
            return Ok(None);
        }
        let stop = (self.next + ROWS_PER_BATCH).min(self.end);
        let n = (stop - self.next) as usize;
        let mut id = PrimitiveBuilder::<i64>::new(DataType::Int64, n);
        let mut income = PrimitiveBuilder::<f64>::new(DataType::Float64, n);
        let mut debt = PrimitiveBuilder::<f64>::new(DataType::Float64, n);
        let mut score = PrimitiveBuilder::<i64>::new(DataType::Int64, n);
        let mut years = PrimitiveBuilder::<i64>::new(DataType::Int64, n);
        for row in self.next..stop {
            let r = row as u64;
            // Log-uniform income between 15k and 400k; debt up to 1.2x income.
            let inc = 15_000.0 * (400_000.0f64 / 15_000.0).powf(uniform(self.seed, r, 0));
            id.push(Some(row));
            income.push(Some(inc.round()));
            debt.push(Some((inc * 1.2 * uniform(self.seed, r, 1)).round()));
            score.push(Some(300 + (uniform(self.seed, r, 2) * 551.0) as i64));
            years.push(Some((uniform(self.seed, r, 3) * 31.0) as i64));
        }
        self.next = stop;
        Ok(Some(Batch::new(
            loan_fields(),
            vec![
                id.finish(),
                income.finish(),
                debt.finish(),
                score.finish(),
                years.finish(),
            ],
        )))
    }
}

fn partitions(rows: i64) -> u32 {
    ((rows + ROWS_PER_PARTITION - 1) / ROWS_PER_PARTITION).clamp(1, 4096) as u32
}

fn module() -> Module {
    Module::new("loan-risk")
        .scalar(
            "loan_risk",
            "probability of default (logistic model over debt-to-income, credit score, years employed and income)",
            vec![Signature::new(
                vec![
                    DataType::Float64,
                    DataType::Float64,
                    DataType::Int64,
                    DataType::Int64,
                ],
                DataType::Float64,
            )],
            loan_risk,
        )
        .table(
            "random_loans",
            "synthetic loan applications: random_loans(rows, seed) -> (id, income, debt, credit_score, years_employed)",
            |args, _config| {
                let (rows, _) = arguments(args)?;
                Ok((loan_fields(), partitions(rows)))
            },
            |args, _config, partition| {
                let (rows, seed) = arguments(args)?;
                let start = i64::from(partition) * ROWS_PER_PARTITION;
                // The last partition takes whatever the others leave.
                let end = if partition + 1 >= partitions(rows) {
                    rows
                } else {
                    (start + ROWS_PER_PARTITION).min(rows)
                };
                Ok(Box::new(Loans {
                    seed,
                    next: start.min(rows),
                    end,
                }) as Box<dyn Generator>)
            },
        )
}

lode_guest::export!(module);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn risk_rises_with_debt_and_falls_with_credit() {
        let base = risk(60_000.0, 10_000.0, 700, 5);
        assert!(risk(60_000.0, 40_000.0, 700, 5) > base);
        assert!(risk(60_000.0, 10_000.0, 800, 5) < base);
        assert!((0.0..1.0).contains(&base));
    }

    #[test]
    fn partitions_cover_every_row_once() {
        assert_eq!(partitions(0), 1);
        assert_eq!(partitions(250_000), 1);
        assert_eq!(partitions(250_001), 2);
    }
}
