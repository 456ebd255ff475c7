//! `lode plan` and `lode drive`: driver guests, Wasm programs that build plans and run them,
//! on the embedded engine or a cluster.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use lode_dist::{ClusterTarget, Connections};
use lode_driver::{Driver, DriverLimits, Session};
use lode_exec::{Embedded, Engine, PlanTarget};

use crate::cli::{DriveArgs, DriverArgs, PlanArgs, TableArgs, WasmArgs};
use crate::failure::Failure;

/// `lode plan`: the driver's `emit` builds one plan, which is validated and written.
pub async fn plan(args: PlanArgs) -> Result<ExitCode, Failure> {
    let prepared = prepare(&args.driver, &[], true).await?;
    let session = Session {
        planner: prepared.engine,
        target: None,
        limits: prepared.limits,
        progress: progress(),
    };
    let plan = prepared
        .driver
        .emit(session, &prepared.args)
        .await
        .map_err(|e| Failure::from(e).context(&prepared.source))?;
    super::write_plan(&plan, &args.output)?;
    Ok(ExitCode::SUCCESS)
}

/// `lode drive`: the driver's `run` builds and runs plans until it is done, on the embedded
/// engine, a cluster (`--coordinator`) or one started in this process (`--executors`); the
/// relation it returns is run and printed.
pub async fn drive(args: DriveArgs) -> Result<ExitCode, Failure> {
    match (&args.coordinator, args.executors) {
        (Some(coordinator), _) => {
            if !args.driver.tables.data.is_empty() || !args.driver.tables.tables.is_empty() {
                return Err(Failure::io(
                    "--coordinator: the driver reads the cluster's tables; drop --data and --table",
                ));
            }
            let connections = super::serve::connections(&args.cluster)?;
            drive_on_cluster(&args, &connections, coordinator).await
        }
        (None, Some(executors)) => {
            let data = super::executors_data(&args.driver.tables)?;
            if !args.driver.tables.tables.is_empty() || executors == 0 {
                return Err(Failure::io(
                    "--executors needs at least one executor and takes its tables from --data only",
                ));
            }
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            let engine = lode_exec::EngineConfig {
                distributed: true,
                memory: args.driver.memory.config().shared_by(executors),
                ..lode_exec::EngineConfig::default()
            }
            .allowing(&args.allow_capabilities);
            let slots = cores.div_ceil(executors).max(1);
            let cluster = lode_dist::LocalCluster::start(executors, data, slots, engine).await?;
            let result = drive_on_cluster(&args, cluster.connections(), cluster.address()).await;
            cluster.stop().await;
            result
        }
        (None, None) => {
            let prepared = prepare(&args.driver, &args.allow_capabilities, true).await?;
            let target = Arc::new(Embedded::new(Arc::clone(&prepared.engine)));
            run_and_write(&args, prepared, target).await
        }
    }
}

/// The driver's plans as jobs of the cluster behind `coordinator`. Its planner knows the
/// cluster's tables by their schemas; the results it stores are dropped when it ends.
async fn drive_on_cluster(
    args: &DriveArgs,
    connections: &Connections,
    coordinator: &str,
) -> Result<ExitCode, Failure> {
    let prepared = prepare(&args.driver, &args.allow_capabilities, false).await?;
    let target = ClusterTarget::new(connections.clone(), coordinator)
        .declaring_stored_in(Arc::clone(&prepared.engine));
    target.declare_cluster_tables().await?;
    run_and_write(args, prepared, Arc::new(target)).await
}

/// Runs the driver on `target`, writes the relation it returns, and sums up.
async fn run_and_write(
    args: &DriveArgs,
    prepared: Prepared,
    target: Arc<dyn PlanTarget>,
) -> Result<ExitCode, Failure> {
    let limits = DriverLimits {
        max_plans: args.max_plans,
        max_result_rows: args.max_result_rows,
        ..prepared.limits
    };
    let session = Session {
        planner: Arc::clone(&prepared.engine),
        target: Some(target),
        limits,
        progress: progress(),
    };
    let source = prepared.source;
    let outcome = prepared
        .driver
        .run(session, &prepared.args)
        .await
        .map_err(|e| Failure::from(e).context(&source))?;
    let rows = match outcome.result {
        Some(stream) => {
            let summary =
                crate::sink::write_stream(stream, args.format, args.output.as_deref(), &source)
                    .await?;
            format!(", {} result rows", summary.rows)
        }
        None => String::new(),
    };
    eprintln!(
        "{source}: {} plans run; {:.3} s in the driver, {:.3} s in the host interface \
         (building plans, Substrait, results), {:.3} s running queries{rows}",
        outcome.plans,
        outcome.driver_time.as_secs_f64(),
        outcome.interface_time.as_secs_f64(),
        outcome
            .host_time
            .saturating_sub(outcome.interface_time)
            .as_secs_f64(),
    );
    Ok(ExitCode::SUCCESS)
}

struct Prepared {
    driver: Driver,
    engine: Arc<Engine>,
    args: Vec<(String, String)>,
    limits: DriverLimits,
    /// The driver file, for messages.
    source: String,
}

/// Loads the driver and its planning engine, with the tables of `--data`/`--table` when
/// `local_tables` (a cluster's come from its coordinator).
async fn prepare(
    args: &DriverArgs,
    capabilities: &[lode_wasm::Capability],
    local_tables: bool,
) -> Result<Prepared, Failure> {
    let source = args.driver.display().to_string();
    let pairs = args
        .args
        .iter()
        .map(|a| {
            a.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.to_string()))
                .ok_or_else(|| Failure::io(format!("--arg {a}: expected KEY=VALUE")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let bytes = std::fs::read(&args.driver)
        .map_err(|e| Failure::io(format!("cannot read driver {source}: {e}")))?;
    let wasm = WasmArgs {
        allow_capabilities: capabilities.to_vec(),
        modules: Vec::new(),
    };
    let tables = if local_tables {
        args.tables.clone()
    } else {
        TableArgs::default()
    };
    let engine = Arc::new(
        super::engine(&tables, &wasm, |config| {
            config.memory = args.memory.config()
        })
        .await?,
    );
    let name = args
        .driver
        .file_stem()
        .map_or_else(|| source.clone(), |s| s.to_string_lossy().into_owned());
    let driver = Driver::load(engine.wasm()?, &bytes, &name)?;
    let limits = DriverLimits {
        memory_bytes: args.driver_memory_mib << 20,
        own_time: Duration::from_secs(args.driver_timeout),
        ..DriverLimits::default()
    };
    Ok(Prepared {
        driver,
        engine,
        args: pairs,
        limits,
        source,
    })
}

/// The driver's progress lines, on standard error.
fn progress() -> lode_driver::Progress {
    Arc::new(|message: &str| eprintln!("driver: {message}"))
}
