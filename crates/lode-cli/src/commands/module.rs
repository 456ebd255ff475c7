//! `lode module inspect`: what a module offers, as a Substrait simple extension YAML.
//! `lode module add` / `list`: the module store, for plans that name modules by hash alone:
//! this host's directory, or a bucket prefix shared by machines (`LODE_MODULE_STORE=s3://…`).

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use lode_exec::storage::{SharedModules, Stores};
use lode_wasm::{HostPolicy, Kind, ModuleStore, WasmRuntime, World};

use crate::cli::{ModuleArgs, ModuleCommand};
use crate::failure::Failure;

pub async fn run(args: ModuleArgs) -> Result<ExitCode, Failure> {
    let shared = SharedModules::configured()?;
    match (args.command, shared) {
        (ModuleCommand::Inspect { wasm }, _) => inspect(&wasm),
        (ModuleCommand::Add { wasm }, shared) => add(&wasm, shared.as_ref()).await,
        (ModuleCommand::List, None) => list(),
        (ModuleCommand::List, Some(shared)) => list_shared(&shared).await,
    }
}

fn runtime() -> Result<Arc<WasmRuntime>, Failure> {
    WasmRuntime::new(
        HostPolicy::default(),
        lode_wasm::default_cache_dir(),
        lode_wasm::default_store_dir(),
    )
    .map_err(|e| Failure::invalid(e.to_string()))
}

fn read(wasm: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(wasm).map_err(|e| Failure::io(format!("cannot read {}: {e}", wasm.display())))
}

fn store(runtime: &WasmRuntime) -> Result<&ModuleStore, Failure> {
    runtime
        .store()
        .ok_or_else(|| Failure::io("there is no module store: set LODE_MODULE_STORE or HOME"))
}

/// Adds extension modules (compiled and checked first, so the store holds only modules a plan
/// can use) to this host's store, or to the `shared` one, and says where each went.
async fn add(
    files: &[std::path::PathBuf],
    shared: Option<&SharedModules>,
) -> Result<ExitCode, Failure> {
    let runtime = runtime()?;
    let stores = Stores::default();
    for wasm in files {
        let bytes = read(wasm)?;
        let source = wasm.display().to_string();
        let info = runtime
            .inspect(&bytes, &source)
            .map_err(|e| Failure::invalid(format!("{source}: {e}")))?;
        if info.world != World::Extension {
            return Err(Failure::invalid(format!(
                "{source} implements {}, not lode:guest/extension: plans use only modules of \
                 functions and operators",
                info.world.name()
            )));
        }
        let module = runtime
            .load(&bytes, None)
            .map_err(|e| Failure::invalid(format!("{source}: {e}")))?;
        let sha256 = match shared {
            Some(shared) => shared.put(&stores, &bytes).await?,
            None => store(&runtime)?
                .put(&bytes)
                .map_err(|e| Failure::io(e.to_string()))?,
        };
        println!(
            "{sha256}  {} ({} bytes): {source}",
            module.name().name,
            bytes.len()
        );
    }
    let place = match shared {
        Some(shared) => format!("the shared module store {}", shared.url()),
        None => format!("the module store {}", store(&runtime)?.dir().display()),
    };
    eprintln!("added to {place}; `lode sql --by-hash` writes plans that name them by sha256");
    Ok(ExitCode::SUCCESS)
}

/// The modules of the shared store, with their names where this host can load them.
async fn list_shared(shared: &SharedModules) -> Result<ExitCode, Failure> {
    let runtime = runtime()?;
    let stores = Stores::default();
    let modules = shared.list(&stores).await?;
    for stored in &modules {
        let name = match shared.get(&stores, &stored.sha256).await {
            Ok(Some(bytes)) => match runtime.load(&bytes, Some(&stored.sha256)) {
                Ok(module) => module.name().name.clone(),
                Err(e) => format!("(unusable: {e})"),
            },
            Ok(None) => "(removed)".into(),
            Err(e) => format!("(unreadable: {e})"),
        };
        println!("{}  {name} ({} bytes)", stored.sha256, stored.size);
    }
    eprintln!("{} module(s) in {}", modules.len(), shared.url());
    Ok(ExitCode::SUCCESS)
}

fn list() -> Result<ExitCode, Failure> {
    let runtime = runtime()?;
    let store = store(&runtime)?;
    let modules = store.list().map_err(|e| Failure::io(e.to_string()))?;
    for stored in &modules {
        let name = match runtime.load_by_hash(&stored.sha256) {
            Ok(Some(module)) => module.name().name.clone(),
            Ok(None) => "(removed)".into(),
            Err(e) => format!("(unusable: {e})"),
        };
        println!("{}  {name} ({} bytes)", stored.sha256, stored.size);
    }
    eprintln!("{} module(s) in {}", modules.len(), store.dir().display());
    Ok(ExitCode::SUCCESS)
}

fn inspect(wasm: &Path) -> Result<ExitCode, Failure> {
    let bytes = read(wasm)?;
    let runtime = runtime()?;
    let source = wasm.display().to_string();
    let info = runtime
        .inspect(&bytes, &source)
        .map_err(|e| Failure::invalid(format!("{source}: {e}")))?;
    let mut out = String::new();
    let _ = writeln!(out, "%YAML 1.2\n---");
    let _ = writeln!(
        out,
        "# {source}: {} bytes, world {}",
        info.size,
        info.world.name()
    );
    let _ = writeln!(out, "# imports: {}", info.imports.join(", "));
    let capabilities: Vec<&str> = info.capabilities().iter().map(|c| c.name()).collect();
    let _ = writeln!(
        out,
        "# WASI it imports that Lode gates: {} (real only where granted: --allow-capability)",
        if capabilities.is_empty() {
            "none".into()
        } else {
            capabilities.join(", ")
        }
    );
    match info.world {
        World::Extension => {
            let module = runtime
                .load(&bytes, None)
                .map_err(|e| Failure::invalid(format!("{source}: {e}")))?;
            extension_yaml(&module, &mut out);
        }
        World::Driver => driver_yaml(&info, &mut out),
        World::Other => {
            return Err(Failure::invalid(format!(
                "{source} implements none of Lode's worlds (lode:guest/extension, \
                         lode:guest/driver); it exports: {}",
                info.exports.join(", ")
            )));
        }
    }
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}

/// One line per function of a component (a driver says so instead): what `lode guest build`
/// prints, e.g. `  scalar haversine_km(lat1 fp64, lon1 fp64, lat2 fp64, lon2 fp64) -> fp64`.
pub fn summary(bytes: &[u8], source: &str) -> Result<String, Failure> {
    let runtime = runtime()?;
    let info = runtime
        .inspect(bytes, source)
        .map_err(|e| Failure::invalid(format!("{source}: {e}")))?;
    let mut out = String::new();
    match info.world {
        World::Extension => {
            let module = runtime
                .load(bytes, None)
                .map_err(|e| Failure::invalid(format!("{source}: {e}")))?;
            for f in module.functions() {
                let kind = lode_wasm::kind_name(f.kind);
                if f.signatures.is_empty() {
                    let _ = writeln!(out, "  {kind} {}: {}", f.name, f.description);
                }
                for s in &f.signatures {
                    let args: Vec<String> = s
                        .arg_names
                        .iter()
                        .zip(&s.args)
                        .map(|(name, t)| format!("{name} {}", lode_exec::substrait_type_name(t)))
                        .collect();
                    let _ = writeln!(
                        out,
                        "  {kind} {}({}) -> {}",
                        f.name,
                        args.join(", "),
                        lode_exec::substrait_type_name(&s.result)
                    );
                }
            }
        }
        World::Driver => {
            let _ = writeln!(
                out,
                "  a driver: `lode plan` calls its emit, `lode drive` its run"
            );
        }
        World::Other => {
            return Err(Failure::invalid(format!(
                "{source} implements none of Lode's worlds (lode:guest/extension, lode:guest/driver)"
            )));
        }
    }
    Ok(out)
}

/// A driver: what it exports and which host interfaces it uses.
fn driver_yaml(info: &lode_wasm::ComponentInfo, out: &mut String) {
    let _ = writeln!(
        out,
        "# A driver: `lode plan` calls emit, `lode drive` calls run."
    );
    let _ = writeln!(out, "x-lode-driver:");
    let _ = writeln!(out, "  sha256: {}", info.sha256);
    let _ = writeln!(out, "  exports: [{}]", info.exports.join(", "));
    let host: Vec<&str> = info
        .imports
        .iter()
        .filter(|i| i.starts_with("lode:"))
        .map(String::as_str)
        .collect();
    let _ = writeln!(out, "  host-interfaces: [{}]", host.join(", "));
}

/// The module's functions as a Substrait simple extension file; table functions and operators
/// (which Substrait YAML cannot describe) follow as a Lode section.
fn extension_yaml(module: &lode_wasm::Module, out: &mut String) {
    let _ = writeln!(out, "# {}", module.name());
    let _ = writeln!(out, "urn: {}", lode_plan::ext::module_urn(module.sha256()));
    for (kind, section) in [
        (Kind::Scalar, "scalar_functions"),
        (Kind::Aggregate, "aggregate_functions"),
    ] {
        let functions: Vec<_> = module
            .functions()
            .iter()
            .filter(|f| f.kind == kind)
            .collect();
        if functions.is_empty() {
            continue;
        }
        let _ = writeln!(out, "{section}:");
        for f in functions {
            let _ = writeln!(out, "  - name: {}", yaml_string(&f.name));
            let _ = writeln!(out, "    description: {}", yaml_string(&f.description));
            let _ = writeln!(out, "    impls:");
            for s in &f.signatures {
                let _ = writeln!(out, "      - args:");
                for (arg, name) in s.args.iter().zip(&s.arg_names) {
                    let _ = writeln!(
                        out,
                        "          - name: {}\n            value: {}",
                        yaml_string(name),
                        lode_exec::substrait_type_name(arg)
                    );
                }
                if kind == Kind::Aggregate {
                    let _ = writeln!(out, "        intermediate: binary");
                }
                if f.volatility != lode_wasm::Volatility::Immutable {
                    let _ = writeln!(out, "        deterministic: false");
                }
                let _ = writeln!(
                    out,
                    "        return: {}",
                    lode_exec::substrait_type_name(&s.result)
                );
            }
        }
    }
    let relations: Vec<_> = module
        .functions()
        .iter()
        .filter(|f| matches!(f.kind, Kind::Table | Kind::Operator))
        .collect();
    if !relations.is_empty() {
        let _ = writeln!(
            out,
            "# Relations: use them in ExtensionLeafRel (table) or ExtensionSingleRel/MultiRel"
        );
        let _ = writeln!(
            out,
            "# (operator) with a lode.ext.v1.WasmRel detail; their schemas come from the guest's bind."
        );
        let _ = writeln!(out, "x-lode-relations:");
        for f in relations {
            let _ = writeln!(out, "  - name: {}", yaml_string(&f.name));
            let _ = writeln!(out, "    kind: {}", lode_wasm::kind_name(f.kind));
            let _ = writeln!(out, "    description: {}", yaml_string(&f.description));
        }
    }
}

fn yaml_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}
