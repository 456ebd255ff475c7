//! `lode run`

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Instant;

use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use futures::TryStreamExt;
use lode_exec::ExecError;

use crate::chart;
use crate::cli::RunArgs;
use crate::failure::Failure;
use crate::progress::ProgressReporter;
use crate::sink::{Destination, write_stream};

pub async fn run(args: RunArgs) -> Result<ExitCode, Failure> {
    let started = Instant::now();
    let plan = super::read_plan(&args.plan)?;
    if let Some(executors) = args.executors {
        return run_on_cluster(&args, executors, plan).await;
    }
    let engine = super::engine(&args.tables, &args.wasm, |config| {
        if let Some(n) = args.partitions {
            config.target_partitions = n;
        }
        config.memory = args.memory.config();
    })
    .await?;
    let (mut stream, progress) = engine
        .execute_with_progress(&plan)
        .await
        .map_err(|e| Failure::from(e).context(&args.plan))?;
    let result_on_terminal = args.output.is_none() && std::io::stdout().is_terminal();
    let reporter = ProgressReporter::start(progress.clone(), result_on_terminal);
    let mut trend = None;
    if let Some(path) = &args.chart {
        // A chart needs the whole result: collect it, draw it, then print it as usual.
        let schema = stream.schema();
        let batches: Vec<_> = stream.try_collect().await.map_err(|e| {
            Failure::from(ExecError::datafusion("running the plan failed")(e)).context(&args.plan)
        })?;
        let (svg, _, caption) =
            chart::render(&batches, args.chart_x.as_deref(), args.chart_y.as_deref())?;
        let mut file = Destination::open(Some(path))?;
        file.writer()
            .write_all(svg.as_bytes())
            .map_err(|e| Failure::io(format!("cannot write {}: {e}", path.display())))?;
        file.commit()?;
        trend = Some(format!("trend: {caption}\nchart: {}", path.display()));
        stream = Box::pin(RecordBatchStreamAdapter::new(
            schema,
            futures::stream::iter(batches.into_iter().map(Ok)),
        ));
    }
    let summary = write_stream(stream, args.format, args.output.as_deref(), &args.plan).await?;
    drop(reporter);
    if let Some(trend) = trend {
        eprintln!("{trend}");
    }
    let figures = progress.snapshot();
    crate::progress::log(&figures, started.elapsed());
    if std::io::stderr().is_terminal() {
        eprintln!(
            "{} rows; {}",
            summary.rows,
            crate::progress::line(&figures, started.elapsed())
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `--executors N`: a coordinator and N executors in this process, each holding the --data
/// directory; the plan goes through them as it would through `lode serve` processes.
async fn run_on_cluster(
    args: &RunArgs,
    executors: usize,
    mut plan: lode_plan::DecodedPlan,
) -> Result<ExitCode, Failure> {
    let data = super::executors_data(&args.tables)?;
    if !args.tables.tables.is_empty() || args.chart.is_some() {
        return Err(Failure::io(
            "--executors takes its tables from --data only; --table and --chart run locally",
        ));
    }
    if executors == 0 {
        return Err(Failure::io("--executors needs at least one executor"));
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let slots = cores.div_ceil(executors).max(1);
    super::embed_modules(&mut plan, &args.wasm.modules).await?;
    // The executors share the process, so they share its bound.
    let engine = lode_exec::EngineConfig {
        distributed: true,
        memory: args.memory.config().shared_by(executors),
        ..lode_exec::EngineConfig::default()
    }
    .allowing(&args.wasm.allow_capabilities);
    let cluster = lode_dist::LocalCluster::start(executors, data, slots, engine).await?;
    let target = lode_dist::ClusterTarget::new(cluster.connections().clone(), cluster.address())
        .with_partitions(args.partitions.unwrap_or(0) as u32);
    // The cluster stops with this process: its jobs are not announced for `lode cancel`.
    let result = super::submit::submit_and_write(
        target,
        false,
        &plan,
        args.format,
        args.output.as_deref(),
        &args.plan,
    )
    .await;
    cluster.stop().await;
    result
}
