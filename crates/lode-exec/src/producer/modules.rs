//! Plans that use Wasm modules: declarations under each module's URN, and the modules' bytes
//! in the plan's module table.

use std::collections::BTreeSet;

use lode_plan::declarations::{UrnAnchors, function_name};
use lode_plan::ext::{self, WasmModule};
use substrait::proto::Plan;
use substrait::proto::extensions::simple_extension_declaration::MappingType;

use crate::error::{ExecError, Result};
use crate::wasm::LoadedModule;
use crate::wasm::type_names::short_type_name;

/// Points the plan's declarations of functions these modules export at the modules' URNs
/// (with Substrait compound names such as `gcd:i64_i64`) and embeds the modules the plan
/// uses: those its functions come from and those named in `relation_modules` (by the plan's
/// Wasm relations). Declarations already linked to a URN are left alone. Returns how many
/// were linked.
pub fn attach_modules(
    plan: &mut Plan,
    modules: &[LoadedModule],
    relation_modules: &BTreeSet<String>,
) -> Result<usize> {
    let mut anchors = UrnAnchors::of(plan);
    let mut used: Vec<usize> = Vec::new();
    let mut linked = 0;
    for decl in &mut plan.extensions {
        let Some(MappingType::ExtensionFunction(f)) = &mut decl.mapping_type else {
            continue;
        };
        if anchors.was_declared(f.extension_urn_reference) {
            continue;
        }
        let name = function_name(&f.name).to_string();
        let owners: Vec<usize> = modules
            .iter()
            .enumerate()
            .filter(|(_, (m, _))| m.functions().iter().any(|s| s.name == name))
            .map(|(i, _)| i)
            .collect();
        let owner = match owners.as_slice() {
            [] => continue,
            [one] => *one,
            several => {
                let names: Vec<String> = several
                    .iter()
                    .map(|i| modules[*i].0.name().to_string())
                    .collect();
                return Err(ExecError::Module(format!(
                    "function '{name}' is exported by several modules ({}); pass only one of them",
                    names.join(", ")
                )));
            }
        };
        let module = &modules[owner].0;
        let anchor = anchors.anchor(&ext::module_urn(module.sha256()));
        if let Some(spec) = module.functions().iter().find(|s| s.name == name)
            && let [signature] = spec.signatures.as_slice()
        {
            let args: Vec<&str> = signature.args.iter().map(short_type_name).collect();
            f.name = if args.is_empty() {
                name.clone()
            } else {
                format!("{name}:{}", args.join("_"))
            };
        }
        f.extension_urn_reference = anchor;
        if !used.contains(&owner) {
            used.push(owner);
        }
        linked += 1;
    }
    anchors.declare_new(plan);
    for (i, (module, _)) in modules.iter().enumerate() {
        if relation_modules.contains(module.sha256()) && !used.contains(&i) {
            used.push(i);
        }
    }
    embed(plan, used.into_iter().map(|i| &modules[i]))?;
    Ok(linked)
}

/// Makes a plan that refers to `modules` (files the user supplies with `--module`) by name or
/// by sha256 self-contained, for a host that has no such files (a cluster's executors): its
/// extension URNs and `WasmRel`s name those modules by sha256, and its module table carries
/// their bytes. Names no supplied module has are left for the engine to report. Returns how
/// many modules it embedded.
pub fn embed_supplied_modules(plan: &mut Plan, modules: &[LoadedModule]) -> Result<usize> {
    let by_name = |name: &str| {
        modules.iter().position(|(m, _)| {
            if ext::is_sha256(name) {
                m.sha256() == name
            } else {
                m.name().name == name
            }
        })
    };
    let mut used = BTreeSet::new();
    for declaration in &mut plan.extension_urns {
        if let Some(i) = ext::module_of_urn(&declaration.urn).and_then(by_name) {
            declaration.urn = ext::module_urn(modules[i].0.sha256());
            used.insert(i);
        }
    }
    ext::rewrite_wasm_rels(plan, |rel| {
        if let Some(i) = by_name(&rel.module) {
            rel.module = modules[i].0.sha256().to_string();
            used.insert(i);
        }
    })
    .map_err(|e| ExecError::Module(e.to_string()))?;
    embed(plan, used.iter().map(|&i| &modules[i]))?;
    Ok(used.len())
}

/// Adds `modules` with their bytes to the plan's module table, each once.
fn embed<'m>(plan: &mut Plan, modules: impl IntoIterator<Item = &'m LoadedModule>) -> Result<()> {
    let mut modules = modules.into_iter().peekable();
    if modules.peek().is_none() {
        return Ok(());
    }
    let mut table = ext::module_table(plan).map_err(|e| ExecError::Module(e.to_string()))?;
    for (module, bytes) in modules {
        if table.modules.iter().all(|m| m.sha256 != module.sha256()) {
            table.modules.push(WasmModule {
                sha256: module.sha256().to_string(),
                component: bytes.as_ref().clone(),
                name: module.name().name.clone(),
                ..Default::default()
            });
        }
    }
    ext::set_module_table(plan, &table);
    Ok(())
}
