//! Instances of one module with one grant, reused across calls. A trapped instance is dropped,
//! never reused.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use lode_wasm::{Grant, Instance, Module, ResourceAny, WasmError};

/// An idle instance and the guest resources already opened in it, by key.
pub(crate) struct Pooled {
    pub instance: Instance,
    handles: HashMap<String, ResourceAny>,
}

impl Pooled {
    /// The resource under `key`, opening it with `open` the first time.
    pub fn handle(
        &mut self,
        key: &str,
        open: impl FnOnce(&mut Instance) -> Result<ResourceAny, WasmError>,
    ) -> Result<ResourceAny, WasmError> {
        if let Some(handle) = self.handles.get(key) {
            return Ok(*handle);
        }
        let handle = open(&mut self.instance)?;
        self.handles.insert(key.to_string(), handle);
        Ok(handle)
    }
}

pub(crate) struct InstancePool {
    module: Arc<Module>,
    grant: Grant,
    idle: Mutex<Vec<Pooled>>,
}

impl std::fmt::Debug for InstancePool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "InstancePool({})", self.module.name())
    }
}

impl InstancePool {
    pub fn new(module: Arc<Module>, grant: Grant) -> Self {
        InstancePool {
            module,
            grant,
            idle: Mutex::new(Vec::new()),
        }
    }

    pub fn module(&self) -> &Arc<Module> {
        &self.module
    }

    /// A fresh instance of its own (for state that must not be shared, like accumulators).
    pub fn instantiate(&self) -> Result<Instance, WasmError> {
        self.module.instantiate(&self.grant)
    }

    /// Runs `f` on an idle instance (or a new one), then returns it to the pool unless it
    /// trapped.
    pub fn with<T>(
        &self,
        f: impl FnOnce(&mut Pooled) -> Result<T, WasmError>,
    ) -> Result<T, WasmError> {
        let idle = crate::lock(&self.idle).pop();
        let mut pooled = match idle {
            Some(pooled) => pooled,
            None => Pooled {
                instance: self.instantiate()?,
                handles: HashMap::new(),
            },
        };
        let result = f(&mut pooled);
        if !pooled.instance.is_poisoned() {
            crate::lock(&self.idle).push(pooled);
        }
        result
    }
}
