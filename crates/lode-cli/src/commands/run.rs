//! `lode run`

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Instant;

use lode_exec::{ResultFormat, write_results};

use crate::cli::{OutputFormat, RunArgs};
use crate::failure::Failure;
use crate::sink::Destination;

pub async fn run(args: RunArgs) -> Result<ExitCode, Failure> {
    let started = Instant::now();
    let plan = super::read_plan(&args.plan)?;
    let engine = super::engine(&args.tables, &args.wasm, args.partitions).await?;
    let stream = engine
        .execute(&plan)
        .await
        .map_err(|e| Failure::from(e).context(&args.plan))?;
    let mut destination = Destination::open(args.output.as_deref())?;
    let format = match args.format {
        OutputFormat::Table => ResultFormat::Table,
        OutputFormat::Csv => ResultFormat::Csv,
        OutputFormat::Json => ResultFormat::Json,
        OutputFormat::Arrow => ResultFormat::Arrow,
    };
    let summary = write_results(stream, format, destination.writer())
        .await
        .map_err(|e| Failure::from(e).context(&args.plan))?;
    destination.commit()?;
    if std::io::stderr().is_terminal() {
        eprintln!(
            "{} rows in {:.3} s",
            summary.rows,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(ExitCode::SUCCESS)
}
