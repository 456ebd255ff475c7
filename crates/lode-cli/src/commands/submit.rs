//! `lode submit`: a plan through a running cluster.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Instant;

use lode_dist::Connections;
use lode_dist::proto::JobStatus;
use prost::Message;

use crate::cli::{CancelArgs, OutputFormat, SubmitArgs};
use crate::failure::Failure;

pub async fn run(args: SubmitArgs) -> Result<ExitCode, Failure> {
    let mut plan = super::read_plan(&args.plan)?;
    super::embed_modules(&mut plan, &args.modules).await?;
    let connections = super::serve::connections(&args.cluster)?;
    let cluster = ClusterRef {
        connections: &connections,
        coordinator: &args.coordinator,
        announce_jobs: true,
    };
    submit_and_write(
        cluster,
        plan.plan.encode_to_vec(),
        args.partitions.unwrap_or(0),
        args.format,
        args.output.as_deref(),
        &args.plan,
    )
    .await
}

/// A coordinator to submit to.
#[derive(Clone, Copy)]
pub struct ClusterRef<'a> {
    pub connections: &'a Connections,
    pub coordinator: &'a str,
    /// Say each job's id and how to cancel it: for a cluster the user started, not one
    /// embedded in this process (which stops with it).
    pub announce_jobs: bool,
}

/// `lode cancel`: stops a running job; an error when the coordinator has no such job running.
pub async fn cancel(args: CancelArgs) -> Result<ExitCode, Failure> {
    let connections = super::serve::connections(&args.cluster)?;
    if lode_dist::cancel(&connections, &args.coordinator, &args.job).await? {
        eprintln!("job {} cancelled", args.job);
        Ok(ExitCode::SUCCESS)
    } else {
        Err(Failure::invalid(format!(
            "job {} is not running on {} (it finished, failed, or never existed)",
            args.job, args.coordinator
        )))
    }
}

/// Submits `plan`, shows progress on a terminal, writes the result as `format`.
pub async fn submit_and_write(
    cluster: ClusterRef<'_>,
    plan: Vec<u8>,
    partitions: u32,
    format: OutputFormat,
    output: Option<&std::path::Path>,
    plan_name: &str,
) -> Result<ExitCode, Failure> {
    let ClusterRef {
        connections,
        coordinator,
        announce_jobs,
    } = cluster;
    let started = Instant::now();
    let interactive = std::io::stderr().is_terminal();
    let accepted = |event: &lode_dist::proto::JobAccepted| {
        if announce_jobs {
            eprintln!(
                "job {} accepted: {} stages, {} tasks (`lode cancel {} --coordinator {coordinator}` stops it)",
                event.job, event.stages, event.tasks, event.job
            );
        }
    };
    let submitted = lode_dist::submit_with(
        connections,
        coordinator,
        plan,
        partitions,
        accepted,
        |status| {
            if interactive {
                eprint!("\r{}", describe(status));
            }
        },
    )
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
    let mut line = format!(
        "stages {}/{}, tasks {}/{}, {} rows, {} bytes scanned, {} bytes moved",
        status.stages_done,
        status.stages,
        status.tasks_done,
        status.tasks,
        status.rows_written,
        status.bytes_scanned,
        status.bytes_moved,
    );
    if status.retries > 0 {
        line.push_str(&format!(", {} retries", status.retries));
    }
    for spill in &status.spilled {
        line.push_str(&format!(
            ", {} spilled on {}",
            lode_exec::memory::human_bytes(spill.bytes),
            spill.executor
        ));
    }
    line
}
