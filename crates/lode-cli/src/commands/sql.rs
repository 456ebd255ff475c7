//! `lode sql`

use std::process::ExitCode;

use lode_plan::substrait::proto::Plan;

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
    let mut plan = if args.unoptimized {
        engine.sql_to_unoptimized_substrait(&sql).await?
    } else {
        engine.sql_to_substrait_with(&sql, &modules).await?
    };
    if args.by_hash {
        store_modules(&engine, &mut plan)?;
    }
    super::write_plan(&plan, &args.output)?;
    Ok(ExitCode::SUCCESS)
}

/// Moves the plan's module bytes into the module store: the plan keeps their sha256.
fn store_modules(engine: &lode_exec::Engine, plan: &mut Plan) -> Result<(), Failure> {
    let mut table =
        lode_plan::ext::module_table(plan).map_err(|e| Failure::invalid(e.to_string()))?;
    if table.modules.is_empty() {
        return Ok(());
    }
    let store = engine
        .wasm()?
        .store()
        .ok_or_else(|| Failure::io("--by-hash: no module store (set LODE_MODULE_STORE or HOME)"))?;
    for entry in &mut table.modules {
        let component = std::mem::take(&mut entry.component);
        store
            .put(&component)
            .map_err(|e| Failure::io(e.to_string()))?;
        tracing::info!(sha256 = %entry.sha256, store = %store.dir().display(), "module stored; the plan names it by hash");
    }
    lode_plan::ext::set_module_table(plan, &table);
    Ok(())
}
