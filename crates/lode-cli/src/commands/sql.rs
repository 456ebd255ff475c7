//! `lode sql`

use std::process::ExitCode;

use lode_plan::PlanFormat;

use crate::cli::SqlArgs;
use crate::failure::Failure;
use crate::sink::Destination;

pub async fn run(args: SqlArgs) -> Result<ExitCode, Failure> {
    let engine = super::engine(&args.tables, &Default::default(), None).await?;
    let mut modules = Vec::new();
    for path in &args.modules {
        let bytes = std::fs::read(path)
            .map_err(|e| Failure::io(format!("cannot read module {}: {e}", path.display())))?;
        let loaded = engine
            .register_module(bytes)
            .map_err(|e| Failure::from(e).context(&path.display().to_string()))?;
        modules.push(loaded);
    }
    let plan = engine.sql_to_substrait_with(&args.sql, &modules).await?;
    let format = if args.output.as_os_str() == "-" {
        PlanFormat::Json
    } else {
        PlanFormat::for_output_path(&args.output)
    };
    let bytes = lode_plan::encode_plan(&plan, format)?;
    let mut destination = Destination::open(Some(&args.output))?;
    destination
        .writer()
        .write_all(&bytes)
        .map_err(|e| Failure::io(format!("cannot write {}: {e}", args.output.display())))?;
    destination.commit()?;
    Ok(ExitCode::SUCCESS)
}
