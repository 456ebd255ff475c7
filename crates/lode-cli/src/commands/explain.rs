//! `lode explain`

use std::process::ExitCode;

use crate::cli::{DagFormat, ExplainArgs};
use crate::failure::Failure;

pub async fn run(args: ExplainArgs) -> Result<ExitCode, Failure> {
    let plan = super::read_plan(&args.plan)?;
    let engine = super::engine(&args.tables, &args.wasm, |config| {
        if let Some(n) = args.partitions {
            config.target_partitions = n;
        }
        config.distributed = args.dag;
    })
    .await?;
    let in_plan = |e: lode_exec::ExecError| Failure::from(e).context(&args.plan);
    if !args.dag {
        println!("{}", engine.explain(&plan).await.map_err(in_plan)?);
        return Ok(ExitCode::SUCCESS);
    }
    let logical = engine.logical_plan(&plan).await.map_err(in_plan)?;
    let physical = engine.physical_plan(&logical).await.map_err(in_plan)?;
    let stages =
        lode_dist::split_into_stages(physical).map_err(|e| Failure::from(e).context(&args.plan))?;
    match args.format {
        DagFormat::Text => print!("{}", stages.display_text()),
        DagFormat::Dot => print!("{}", stages.display_dot()),
    }
    Ok(ExitCode::SUCCESS)
}
