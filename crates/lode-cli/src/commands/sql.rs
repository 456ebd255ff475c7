//! `lode sql`

use std::process::ExitCode;

use lode_plan::PlanFormat;

use crate::cli::SqlArgs;
use crate::failure::Failure;
use crate::sink::Destination;

pub async fn run(args: SqlArgs) -> Result<ExitCode, Failure> {
    let (engine, modules) = super::engine_with_modules(&args.tables, &args.wasm, |_| {}).await?;
    let sql = match (&args.sql, &args.file) {
        (Some(sql), _) => sql.clone(),
        (None, Some(file)) => std::fs::read_to_string(file)
            .map_err(|e| Failure::io(format!("cannot read {}: {e}", file.display())))?,
        (None, None) => return Err(Failure::io("give the SQL query or --file FILE.sql")),
    };
    let plan = engine.sql_to_substrait_with(&sql, &modules).await?;
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
