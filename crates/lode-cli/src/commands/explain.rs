//! `lode explain`

use std::process::ExitCode;

use crate::cli::ExplainArgs;
use crate::failure::Failure;

pub async fn run(args: ExplainArgs) -> Result<ExitCode, Failure> {
    let plan = super::read_plan(&args.plan)?;
    let engine = super::engine(&args.tables, &args.wasm, None).await?;
    let text = engine
        .explain(&plan)
        .await
        .map_err(|e| Failure::from(e).context(&args.plan))?;
    println!("{text}");
    Ok(ExitCode::SUCCESS)
}
