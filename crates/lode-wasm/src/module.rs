//! A loaded module: compiled, linked, its exports resolved and type-checked, and its own
//! description of what it offers.

use arrow::datatypes::DataType;
use wasmtime::component::{ComponentExportIndex, InstancePre};

use crate::error::{ModuleName, Result, WasmError};
use crate::exports::{EXPORT_COUNT, EXPORTS};
use crate::host::{HostState, MemoryAccount};
use crate::instance::Instance;
use crate::marshal;
use crate::policy::{Grant, HostPolicy};
use crate::wit::{self, Kind, Volatility};

/// One accepted signature of a function, as the module declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct SignatureSpec {
    pub args: Vec<DataType>,
    /// The arguments' names, as the module gives them (`arg0`... when it names none).
    pub arg_names: Vec<String>,
    pub result: DataType,
}

/// One function of a module, as the module describes it.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    pub name: String,
    pub kind: Kind,
    pub description: String,
    pub volatility: Volatility,
    pub signatures: Vec<SignatureSpec>,
}

/// A compiled, linked module whose exports are known to have the contract's types.
pub struct Module {
    name: ModuleName,
    pre: InstancePre<HostState>,
    exports: [ComponentExportIndex; EXPORT_COUNT],
    functions: Vec<FunctionSpec>,
}

impl Module {
    pub(crate) fn new(
        sha256: String,
        pre: InstancePre<HostState>,
        policy: &HostPolicy,
    ) -> Result<Self> {
        let provisional = ModuleName {
            name: String::new(),
            sha256,
        };
        let component = pre.component();
        let mut exports = Vec::with_capacity(EXPORT_COUNT);
        for (interface, function) in EXPORTS {
            let missing = || WasmError::MissingExport {
                module: provisional.clone(),
                export: format!("{interface}#{function}"),
            };
            let instance = component
                .get_export_index(None, interface)
                .ok_or_else(missing)?;
            exports.push(
                component
                    .get_export_index(Some(&instance), function)
                    .ok_or_else(missing)?,
            );
        }
        let exports: [ComponentExportIndex; EXPORT_COUNT] = exports
            .try_into()
            .unwrap_or_else(|_| unreachable!("one index per export"));
        let mut module = Module {
            name: provisional,
            pre,
            exports,
            functions: Vec::new(),
        };
        let probe_grant = Grant {
            capabilities: Default::default(),
            limits: policy.limits,
        };
        let mut probe = module.instantiate_accounted(&probe_grant, None)?;
        probe.typecheck()?;
        let info = probe.describe()?;
        module.name.name = info.name.clone();
        module.functions = info
            .functions
            .into_iter()
            .map(|f| function_spec(&module.name, f))
            .collect::<Result<_>>()?;
        Ok(module)
    }

    pub fn name(&self) -> &ModuleName {
        &self.name
    }

    pub fn sha256(&self) -> &str {
        &self.name.sha256
    }

    /// The functions the module offers, as it describes them.
    pub fn functions(&self) -> &[FunctionSpec] {
        &self.functions
    }

    /// The function named `name` of kind `kind`, or an error listing what there is.
    pub fn function(&self, name: &str, kind: Kind) -> Result<&FunctionSpec> {
        self.functions
            .iter()
            .find(|f| f.name == name && f.kind == kind)
            .ok_or_else(|| {
                let available: Vec<&str> = self
                    .functions
                    .iter()
                    .filter(|f| f.kind == kind)
                    .map(|f| f.name.as_str())
                    .collect();
                WasmError::NoSuchFunction {
                    module: self.name.clone(),
                    kind: kind_name(kind),
                    function: name.to_string(),
                    available: if available.is_empty() {
                        "none".into()
                    } else {
                        available.join(", ")
                    },
                }
            })
    }

    /// A fresh instance with the given grant.
    pub fn instantiate(self: &std::sync::Arc<Self>, grant: &Grant) -> Result<Instance> {
        self.instantiate_accounted(grant, None)
    }

    /// An instance whose linear memory is also accounted in the host's `account`.
    pub fn instantiate_accounted(
        &self,
        grant: &Grant,
        account: Option<Box<dyn MemoryAccount>>,
    ) -> Result<Instance> {
        Instance::new(self.name.clone(), &self.pre, self.exports, grant, account)
    }
}

pub fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Scalar => "scalar",
        Kind::Aggregate => "aggregate",
        Kind::Table => "table",
        Kind::Operator => "operator",
    }
}

fn function_spec(module: &ModuleName, info: wit::FunctionInfo) -> Result<FunctionSpec> {
    let single = |fields: &[wit::Field], what: &str| -> Result<(Vec<DataType>, Vec<String>)> {
        let fields = marshal::decode_schema(fields).map_err(|e| WasmError::Bind {
            module: module.clone(),
            function: info.name.clone(),
            message: format!("describe: invalid {what} types: {e}"),
        })?;
        Ok(fields
            .iter()
            .map(|f| (f.data_type().clone(), f.name().clone()))
            .unzip())
    };
    let mut signatures = Vec::new();
    for signature in &info.signatures {
        let (args, arg_names) = single(&signature.args, "argument")?;
        let (result, _) = single(&signature.result, "result")?;
        let [result] = <[DataType; 1]>::try_from(result).map_err(|r| WasmError::Bind {
            module: module.clone(),
            function: info.name.clone(),
            message: format!("describe: a signature has {} result types, not 1", r.len()),
        })?;
        signatures.push(SignatureSpec {
            args,
            arg_names,
            result,
        });
    }
    Ok(FunctionSpec {
        name: info.name,
        kind: info.kind,
        description: info.description,
        volatility: info.volatility,
        signatures,
    })
}
