//! `lode plan` and `lode drive`: driver guests, Wasm programs that build plans and run them.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use lode_driver::{Driver, DriverLimits, LocalTarget, Session};
use lode_exec::Engine;

use crate::cli::{DriveArgs, DriverArgs, PlanArgs, WasmArgs};
use crate::failure::Failure;

/// `lode plan`: the driver's `emit` builds one plan, which is validated and written.
pub async fn plan(args: PlanArgs) -> Result<ExitCode, Failure> {
    let prepared = prepare(&args.driver, &[]).await?;
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

/// `lode drive`: the driver's `run` builds and runs plans on the embedded engine until it is
/// done; the relation it returns is run and printed.
pub async fn drive(args: DriveArgs) -> Result<ExitCode, Failure> {
    let prepared = prepare(&args.driver, &args.allow_capabilities).await?;
    let limits = DriverLimits {
        max_plans: args.max_plans,
        max_result_rows: args.max_result_rows,
        ..prepared.limits
    };
    let session = Session {
        planner: Arc::clone(&prepared.engine),
        target: Some(Arc::new(LocalTarget::new(prepared.engine))),
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
                super::run::write_stream(stream, args.format, args.output.as_deref(), &source)
                    .await?;
            format!(", {} result rows", summary.rows)
        }
        None => String::new(),
    };
    eprintln!(
        "{source}: {} plans run; {:.3} s in the driver, {:.3} s planning and running{rows}",
        outcome.plans,
        outcome.driver_time.as_secs_f64(),
        outcome.host_time.as_secs_f64(),
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

async fn prepare(
    args: &DriverArgs,
    capabilities: &[lode_wasm::Capability],
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
    let engine = Arc::new(super::engine(&args.tables, &wasm, |_| {}).await?);
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
