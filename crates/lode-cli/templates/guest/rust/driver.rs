//! A driver: a program that builds plans and runs them. `lode plan` calls `emit` (build one
//! plan, run nothing); `lode drive` calls `run` (run plans, read their results, decide what to
//! run next). Expressions are SQL text; the host writes the Substrait.
//!
//! Arguments: `--arg table=NAME` (default `numbers`), `--arg column=NAME` (default `x`, i64).
//! Build: `lode guest build`.

use lode_guest::driver::{self, Args, Driver, Relation, asc};
use lode_guest::{DataType, Field};

struct AboveMean;

/// The table and column the user named.
fn target(args: &Args) -> Result<(String, String), String> {
    args.only(&["table", "column"])?;
    Ok((
        args.get_or("table", "numbers").to_string(),
        args.get_or("column", "x").to_string(),
    ))
}

/// How many values the column has, and their sum.
fn summary(table: &str, column: &str) -> Result<Relation, String> {
    let input = Relation::read(table, &[Field::new(column, DataType::Int64, true)])?;
    Ok(input.aggregate(
        &[] as &[&str],
        &[format!("count({column}) AS n"), format!("sum({column}) AS total")],
    )?)
}

impl Driver for AboveMean {
    /// One plan: the column's count and sum.
    fn emit(args: Args) -> Result<Relation, String> {
        let (table, column) = target(&args)?;
        summary(&table, &column)
    }

    /// Two plans: the mean first, then the rows above it.
    fn run(args: Args) -> Result<Option<Relation>, String> {
        let (table, column) = target(&args)?;
        let rows = summary(&table, &column)?.execute()?;
        let n = rows.values::<i64>("n")?.first().copied().unwrap_or(0);
        let total = rows.values::<i64>("total")?.first().copied().unwrap_or(0);
        if n == 0 {
            return Err(format!("{table}.{column} has no values"));
        }
        let mean = total as f64 / n as f64;
        driver::log(&format!("{n} values of {table}.{column}, mean {mean}"));
        let above = Relation::read(&table, &[Field::new(&column, DataType::Int64, true)])?
            .filter(&format!("{column} > {mean}"))?
            .sort(&[asc(&column)])?;
        Ok(Some(above))
    }
}

lode_guest::export_driver!(AboveMean);
