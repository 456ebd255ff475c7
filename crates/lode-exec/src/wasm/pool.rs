//! Instances of one module with one grant, reused across calls. A trapped instance is dropped,
//! never reused. Each instance's linear memory is held in the engine's memory pool (a consumer
//! per instance, freed with it), so guests and DataFusion's operators share one bound.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use datafusion::execution::memory_pool::{MemoryConsumer, MemoryPool, MemoryReservation};
use lode_wasm::{Grant, Instance, MemoryAccount, Module, ResourceAny, WasmError};

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
    /// The engine's memory pool, where each instance's linear memory is reserved.
    memory: Arc<dyn MemoryPool>,
    idle: Mutex<Vec<Pooled>>,
}

impl std::fmt::Debug for InstancePool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "InstancePool({})", self.module.name())
    }
}

impl InstancePool {
    pub fn new(module: Arc<Module>, grant: Grant, memory: Arc<dyn MemoryPool>) -> Self {
        InstancePool {
            module,
            grant,
            memory,
            idle: Mutex::new(Vec::new()),
        }
    }

    pub fn module(&self) -> &Arc<Module> {
        &self.module
    }

    /// A fresh instance of its own (for state that must not be shared, like accumulators).
    pub fn instantiate(&self) -> Result<Instance, WasmError> {
        let consumer = MemoryConsumer::new(format!("Wasm {}", self.module.name()));
        let account = PoolAccount(consumer.register(&self.memory));
        self.module
            .instantiate_accounted(&self.grant, Some(Box::new(account)))
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

/// An instance's linear memory, reserved in the engine's memory pool as it grows.
struct PoolAccount(MemoryReservation);

impl MemoryAccount for PoolAccount {
    fn grow(&mut self, bytes: u64) -> Result<(), String> {
        let bytes = usize::try_from(bytes).map_err(|_| format!("{bytes} bytes"))?;
        self.0.try_grow(bytes).map_err(|e| e.strip_backtrace())
    }
}
