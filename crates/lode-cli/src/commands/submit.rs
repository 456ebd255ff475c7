//! `lode submit`: a plan through a running cluster.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Instant;

use std::sync::{Arc, OnceLock};

use lode_dist::proto::{JobAccepted, JobStatus};
use lode_dist::{ClusterTarget, JobObserver};
use lode_exec::PlanTarget;
use lode_plan::DecodedPlan;

use crate::cli::{CancelArgs, OutputFormat, SubmitArgs};
use crate::failure::Failure;
use crate::sink::write_stream;

pub async fn run(args: SubmitArgs) -> Result<ExitCode, Failure> {
    let mut plan = super::read_plan(&args.plan)?;
    super::embed_modules(&mut plan, &args.modules).await?;
    let connections = super::serve::connections(&args.cluster)?;
    let target = ClusterTarget::new(connections, args.coordinator.clone())
        .with_partitions(args.partitions.unwrap_or(0));
    submit_and_write(
        target,
        true,
        &plan,
        args.format,
        args.output.as_deref(),
        &args.plan,
    )
    .await
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

/// Runs `plan` on `cluster`, shows its progress on a terminal, writes the result as
/// `format`. `announce_jobs` says each job's id and how to cancel it: for a cluster the user
/// started, not one embedded in this process (which stops with it).
pub async fn submit_and_write(
    cluster: ClusterTarget,
    announce_jobs: bool,
    plan: &DecodedPlan,
    format: Option<OutputFormat>,
    output: Option<&str>,
    plan_name: &str,
) -> Result<ExitCode, Failure> {
    let started = Instant::now();
    let terminal = Arc::new(Terminal {
        coordinator: cluster.coordinator().to_string(),
        announce_jobs,
        interactive: std::io::stderr().is_terminal(),
        finished: OnceLock::new(),
    });
    let target = cluster.observed_by(terminal.clone());
    let stream = target
        .execute(plan)
        .await
        .map_err(|e| Failure::from(e).context(plan_name))?;
    let summary = write_stream(stream, format, output, plan_name).await?;
    if terminal.interactive
        && let Some((job, status)) = terminal.finished.get()
    {
        eprintln!(
            "{} rows in {:.3} s; job {job}: {}",
            summary.rows,
            started.elapsed().as_secs_f64(),
            describe(status)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A job as `lode submit` shows it on standard error.
struct Terminal {
    coordinator: String,
    announce_jobs: bool,
    /// Progress is redrawn on one line, on a terminal only.
    interactive: bool,
    /// The finished job and its figures, for the closing line.
    finished: OnceLock<(String, JobStatus)>,
}

impl JobObserver for Terminal {
    fn accepted(&self, event: &JobAccepted) {
        if self.announce_jobs {
            eprintln!(
                "job {} accepted: {} stages, {} tasks (`lode cancel {} --coordinator {}` stops it)",
                event.job, event.stages, event.tasks, event.job, self.coordinator
            );
        }
    }

    fn progress(&self, status: &JobStatus) {
        if self.interactive {
            eprint!("\r{}", describe(status));
        }
    }

    fn finished(&self, job: &str, status: &JobStatus) {
        if self.interactive {
            eprintln!();
        }
        let _ = self.finished.set((job.to_string(), status.clone()));
    }
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
    if status.bytes_read_from_stores > 0 {
        line.push_str(&format!(
            ", {} bytes read from object stores",
            status.bytes_read_from_stores
        ));
    }
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
