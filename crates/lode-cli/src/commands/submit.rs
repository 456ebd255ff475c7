//! `lode submit`: a plan through a running cluster.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Instant;

use lode_dist::Connections;
use lode_dist::proto::JobStatus;
use prost::Message;

use crate::cli::{OutputFormat, SubmitArgs};
use crate::failure::Failure;

pub async fn run(args: SubmitArgs) -> Result<ExitCode, Failure> {
    let mut plan = super::read_plan(&args.plan)?;
    super::embed_modules(&mut plan, &args.modules).await?;
    let connections = Connections::new(
        super::serve::token(&args.cluster)?,
        super::serve::max_message_bytes(&args.cluster),
    );
    submit_and_write(
        &connections,
        &args.coordinator,
        plan.plan.encode_to_vec(),
        args.partitions.unwrap_or(0),
        args.format,
        args.output.as_deref(),
        &args.plan,
    )
    .await
}

/// Submits `plan`, shows progress on a terminal, writes the result as `format`.
pub async fn submit_and_write(
    connections: &Connections,
    coordinator: &str,
    plan: Vec<u8>,
    partitions: u32,
    format: OutputFormat,
    output: Option<&std::path::Path>,
    plan_name: &str,
) -> Result<ExitCode, Failure> {
    let started = Instant::now();
    let interactive = std::io::stderr().is_terminal();
    let submitted = lode_dist::submit(connections, coordinator, plan, partitions, |status| {
        if interactive {
            eprint!("\r{}", describe(status));
        }
    })
    .await
    .map_err(|e| Failure::from(e).context(plan_name))?;
    if interactive {
        eprintln!();
    }
    let summary = super::run::write_stream(submitted.batches, format, output, plan_name).await?;
    if interactive {
        eprintln!(
            "{} rows in {:.3} s; job {}: {}",
            summary.rows,
            started.elapsed().as_secs_f64(),
            submitted.job,
            describe(&submitted.status)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// One line of a job's progress.
pub fn describe(status: &JobStatus) -> String {
    format!(
        "stages {}/{}, tasks {}/{}, {} rows, {} bytes scanned, {} bytes moved{}",
        status.stages_done,
        status.stages,
        status.tasks_done,
        status.tasks,
        status.rows_written,
        status.bytes_scanned,
        status.bytes_moved,
        if status.retries > 0 {
            format!(", {} retries", status.retries)
        } else {
            String::new()
        }
    )
}
