//! One module per subcommand, and what they share: reading plans and binding tables.

pub mod conformance;
pub mod drive;
pub mod explain;
pub mod generate;
pub mod guest;
pub mod module;
pub mod run;
pub mod serve;
pub mod sql;
pub mod submit;
pub mod validate;

use std::io::Read;
use std::path::Path;

use lode_exec::storage::{Location, Stores};
use lode_exec::{Engine, EngineConfig, TableBindings};
use lode_plan::DecodedPlan;

use crate::cli::{TableArgs, WasmArgs};
use crate::failure::Failure;

/// Writes a plan to `output`: JSON for `.json` and `-` (standard output), binary otherwise.
pub fn write_plan(plan: &lode_plan::substrait::proto::Plan, output: &Path) -> Result<(), Failure> {
    let format = if output.as_os_str() == "-" {
        lode_plan::PlanFormat::Json
    } else {
        lode_plan::PlanFormat::for_output_path(output)
    };
    let bytes = lode_plan::encode_plan(plan, format)?;
    let mut destination = crate::sink::Destination::open(Some(output))?;
    destination
        .writer()
        .write_all(&bytes)
        .map_err(|e| Failure::io(format!("cannot write {}: {e}", output.display())))?;
    destination.commit()
}

/// Reads a plan file, or standard input for `-`. Errors name the file.
pub fn read_plan(source: &str) -> Result<DecodedPlan, Failure> {
    let bytes = plan_bytes(source)?;
    lode_plan::decode_plan(&bytes).map_err(|e| Failure::from(e).context(plan_label(source)))
}

/// The bytes of a plan file, or of standard input for `-`.
pub fn plan_bytes(source: &str) -> Result<Vec<u8>, Failure> {
    if source == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| Failure::io(format!("cannot read the plan from standard input: {e}")))?;
        return Ok(bytes);
    }
    std::fs::read(source).map_err(|source_error| {
        Failure::from(lode_plan::PlanError::Io {
            path: Path::new(source).to_path_buf(),
            source: source_error,
        })
    })
}

/// How messages name a plan source.
pub fn plan_label(source: &str) -> &str {
    if source == "-" { "<stdin>" } else { source }
}

/// The tables of `--data` and `--table`, local or in object stores.
pub async fn bind_tables(args: &TableArgs) -> Result<TableBindings, Failure> {
    let stores = Stores::default();
    let mut tables = TableBindings::new();
    for location in &args.data {
        tables.add_data(location, &stores).await?;
    }
    for binding in &args.tables {
        let Some((name, location)) = binding.split_once('=') else {
            return Err(Failure::io(format!(
                "--table {binding}: expected NAME=PATH or NAME=URL"
            )));
        };
        let location = Location::parse(location.trim())?;
        tables.add_location(name.trim(), &location, &stores).await?;
    }
    Ok(tables)
}

/// The one `--data` directory or object-store prefix every executor of `--executors N`
/// holds.
pub fn executors_data(args: &TableArgs) -> Result<&Location, Failure> {
    match args.data.as_slice() {
        [data] => Ok(data),
        _ => Err(Failure::io(
            "--executors needs exactly one --data directory or prefix (every executor holds its tables)",
        )),
    }
}

/// The engine, with the user's `--module` files loaded.
pub async fn engine(
    args: &TableArgs,
    wasm: &WasmArgs,
    tune: impl FnOnce(&mut EngineConfig),
) -> Result<Engine, Failure> {
    engine_with_modules(args, wasm, tune)
        .await
        .map(|(engine, _)| engine)
}

/// Embeds the `--module` files a plan refers to by name in the plan, for a cluster whose
/// executors do not have the files.
pub async fn embed_modules(
    plan: &mut lode_plan::DecodedPlan,
    files: &[Location],
) -> Result<(), Failure> {
    if files.is_empty() {
        return Ok(());
    }
    let wasm = WasmArgs {
        modules: files.to_vec(),
        ..WasmArgs::default()
    };
    let (_, modules) = engine_with_modules(&TableArgs::default(), &wasm, |_| {}).await?;
    lode_exec::embed_supplied_modules(&mut plan.plan, &modules)?;
    Ok(())
}

/// The engine and the user's `--module` files, loaded, with their bytes.
pub async fn engine_with_modules(
    args: &TableArgs,
    wasm: &WasmArgs,
    tune: impl FnOnce(&mut EngineConfig),
) -> Result<(Engine, Vec<lode_exec::LoadedModule>), Failure> {
    let tables = bind_tables(args).await?;
    let mut config = EngineConfig::default().allowing(&wasm.allow_capabilities);
    tune(&mut config);
    let engine = Engine::new(&tables, config).await?;
    let mut modules = Vec::new();
    for location in &wasm.modules {
        let bytes = read_location(location, "module").await?;
        // A `--module` that does not load is input that could not be read, like a missing
        // file: exit 2, whatever the module's fault.
        let loaded = engine
            .register_module(bytes)
            .map_err(|e| Failure::io(format!("--module {location}: {e}")))?;
        modules.push(loaded);
    }
    Ok((engine, modules))
}

/// The bytes of a local file or of an object in a store; `what` names it in errors.
pub async fn read_location(location: &Location, what: &str) -> Result<Vec<u8>, Failure> {
    match location {
        Location::Local(path) => std::fs::read(path)
            .map_err(|e| Failure::io(format!("cannot read {what} {}: {e}", path.display()))),
        Location::Url(url) => Ok(Stores::default().read(url).await?),
    }
}
