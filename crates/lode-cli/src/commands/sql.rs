//! `lode sql`

use std::process::ExitCode;

use crate::cli::SqlArgs;
use crate::failure::Failure;

pub async fn run(args: SqlArgs) -> Result<ExitCode, Failure> {
    let (engine, modules) = super::engine_with_modules(&args.tables, &args.wasm, |_| {}).await?;
    let sql = match (&args.sql, &args.file) {
        (Some(sql), _) => sql.clone(),
        (None, Some(file)) => std::fs::read_to_string(file)
            .map_err(|e| Failure::io(format!("cannot read {}: {e}", file.display())))?,
        (None, None) => return Err(Failure::io("give the SQL query or --file FILE.sql")),
    };
    let plan = engine.sql_to_substrait_with(&sql, &modules).await?;
    super::write_plan(&plan, &args.output)?;
    Ok(ExitCode::SUCCESS)
}
