//! One wasmtime engine per process, its epoch ticker, and compiled modules by sha256.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, OptLevel};

use crate::cache::DiskCache;
use crate::error::{ModuleName, Result, WasmError};
use crate::host::HostState;
use crate::module::Module;
use crate::policy::{Capability, EPOCH_TICK, Grant, HostPolicy};
use crate::store::{ModuleStore, sha256_hex};

/// The process's Wasm host.
pub struct WasmRuntime {
    engine: Engine,
    linker: Linker<HostState>,
    policy: HostPolicy,
    disk: Option<DiskCache>,
    store: Option<ModuleStore>,
    loaded: Mutex<HashMap<String, Arc<Module>>>,
}

/// The Lode world a component implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum World {
    /// `lode:guest/extension`: functions and operators that run inside plans.
    Extension,
    /// `lode:guest/driver`: a program that builds and runs plans.
    Driver,
    /// Neither.
    Other,
}

impl World {
    pub fn name(self) -> &'static str {
        match self {
            World::Extension => "lode:guest/extension",
            World::Driver => "lode:guest/driver",
            World::Other => "none of Lode's worlds",
        }
    }
}

/// What [`WasmRuntime::inspect`] finds in a component.
#[derive(Debug, Clone)]
pub struct ComponentInfo {
    pub world: World,
    pub sha256: String,
    pub size: usize,
    /// Imported instances and functions (WASI interfaces, the driver's host interfaces).
    pub imports: Vec<String>,
    pub exports: Vec<String>,
}

impl ComponentInfo {
    /// The capabilities its WASI imports could use, which Lode grants only when asked and
    /// allowed (clocks, random); other WASI access (files, sockets) Lode never grants.
    pub fn capabilities(&self) -> Vec<Capability> {
        Capability::ALL
            .iter()
            .copied()
            .filter(|c| {
                let prefix = match c {
                    Capability::Clocks => "wasi:clocks/",
                    Capability::Random => "wasi:random/",
                };
                self.imports.iter().any(|i| i.starts_with(prefix))
            })
            .collect()
    }
}

/// How a module was obtained, for logs and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Already loaded in this process.
    Memory,
    /// Deserialized from the disk cache.
    Disk,
    /// Compiled from its bytes.
    Compiled,
}

impl WasmRuntime {
    /// A runtime with the given policy. `cache_dir` holds compiled artifacts; `None` disables
    /// the disk cache. `store_dir` is the [`ModuleStore`] where modules that plans name by
    /// hash alone are found; `None`: nowhere.
    pub fn new(
        policy: HostPolicy,
        cache_dir: Option<PathBuf>,
        store_dir: Option<PathBuf>,
    ) -> Result<Arc<Self>> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        config.cranelift_opt_level(OptLevel::Speed);
        let engine = Engine::new(&config).map_err(|e| WasmError::Engine(e.to_string()))?;
        let mut linker = Linker::new(&engine);
        // The async WASI bindings, driven by our own executor (see `Instance::invoke`): the sync
        // ones block on the ambient tokio runtime, which panics inside a tokio worker thread.
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|e| WasmError::Engine(e.to_string()))?;
        spawn_epoch_ticker(&engine);
        let disk = cache_dir.map(|dir| {
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            engine.precompile_compatibility_hash().hash(&mut hasher);
            DiskCache::new(dir, format!("{:016x}", hasher.finish()))
        });
        Ok(Arc::new(WasmRuntime {
            engine,
            linker,
            policy,
            disk,
            store: store_dir.map(ModuleStore::new),
            loaded: Mutex::new(HashMap::new()),
        }))
    }

    /// The process's wasmtime engine, for hosts of other worlds (drivers).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Compiles a component of any world (a driver), through the same caches as modules.
    /// Returns it with its sha256.
    pub fn compile(&self, bytes: &[u8], name: &str) -> Result<(Component, String)> {
        let sha256 = sha256_hex(bytes);
        let module = ModuleName {
            name: name.to_string(),
            sha256: sha256.clone(),
        };
        let (component, _) = self.component(bytes, &sha256, &module)?;
        Ok((component, sha256))
    }

    /// Which world a component implements and what it imports, without instantiating it.
    pub fn inspect(&self, bytes: &[u8], name: &str) -> Result<ComponentInfo> {
        let (component, sha256) = self.compile(bytes, name)?;
        let ty = component.component_type();
        let imports: Vec<String> = ty
            .imports(&self.engine)
            .map(|(n, _)| n.to_string())
            .collect();
        let exports: Vec<String> = ty
            .exports(&self.engine)
            .map(|(n, _)| n.to_string())
            .collect();
        let world = if exports.iter().any(|e| e == crate::wit::INTERFACE_MODULE) {
            World::Extension
        } else if imports.iter().any(|i| i == crate::wit::INTERFACE_PLANNER)
            && ["emit", "run"]
                .iter()
                .all(|f| exports.iter().any(|e| e == f))
        {
            World::Driver
        } else {
            World::Other
        };
        Ok(ComponentInfo {
            world,
            sha256,
            size: bytes.len(),
            imports,
            exports,
        })
    }

    pub fn policy(&self) -> &HostPolicy {
        &self.policy
    }

    /// Loads a module from its bytes. When the plan declares a hash, the bytes must match it.
    pub fn load(&self, bytes: &[u8], declared_sha256: Option<&str>) -> Result<Arc<Module>> {
        self.load_traced(bytes, declared_sha256)
            .map(|(module, _)| module)
    }

    /// Like [`WasmRuntime::load`], also saying where the compiled code came from.
    pub fn load_traced(
        &self,
        bytes: &[u8],
        declared_sha256: Option<&str>,
    ) -> Result<(Arc<Module>, Origin)> {
        let sha256 = sha256_hex(bytes);
        if let Some(declared) = declared_sha256
            && !declared.eq_ignore_ascii_case(&sha256)
        {
            return Err(WasmError::HashMismatch {
                declared: declared.to_string(),
                actual: sha256,
            });
        }
        if let Some(module) = self.cached(&sha256) {
            return Ok((module, Origin::Memory));
        }
        let started = Instant::now();
        let provisional = ModuleName {
            name: String::new(),
            sha256: sha256.clone(),
        };
        let (component, origin) = self.component(bytes, &sha256, &provisional)?;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| WasmError::Instantiate {
                module: provisional.clone(),
                message: format!("{e:#}"),
            })?;
        let module = Arc::new(Module::new(sha256.clone(), pre, &self.policy)?);
        tracing::debug!(module = %module.name(), ?origin, elapsed = ?started.elapsed(), "loaded Wasm module");
        self.loaded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(sha256, module.clone());
        Ok((module, origin))
    }

    /// The module store, if this runtime has one.
    pub fn store(&self) -> Option<&ModuleStore> {
        self.store.as_ref()
    }

    /// Module `sha256` for a plan that names it without its bytes: already loaded in this
    /// process, else loaded from the module store; `None` when neither has it.
    pub fn load_by_hash(&self, sha256: &str) -> Result<Option<Arc<Module>>> {
        if let Some(module) = self.cached(sha256) {
            return Ok(Some(module));
        }
        let Some(store) = &self.store else {
            return Ok(None);
        };
        match store.get(sha256)? {
            Some(bytes) => self.load(&bytes, Some(sha256)).map(Some),
            None => Ok(None),
        }
    }

    /// A module already loaded in this process.
    pub fn cached(&self, sha256: &str) -> Option<Arc<Module>> {
        self.loaded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&sha256.to_ascii_lowercase())
            .cloned()
    }

    fn component(
        &self,
        bytes: &[u8],
        sha256: &str,
        name: &ModuleName,
    ) -> Result<(Component, Origin)> {
        if let Some(disk) = &self.disk
            && let Some(artifact) = disk.get(sha256)
        {
            // SAFETY: the artifact was written by this host (see `cache.rs` for the checks on
            // ownership, permissions and checksum) from the bytes with this hash, for an engine
            // with the same compatibility hash; wasmtime also checks its own header.
            match unsafe { Component::deserialize(&self.engine, &artifact) } {
                Ok(component) => return Ok((component, Origin::Disk)),
                Err(e) => {
                    tracing::warn!(%name, error = %e, "cached artifact failed to load; recompiling")
                }
            }
        }
        if !bytes.starts_with(b"\0asm") {
            return Err(WasmError::Compile {
                module: name.clone(),
                message: "the file is not WebAssembly (it does not start with \\0asm)".into(),
            });
        }
        // The preamble's layer field (bytes 6..8) is 0 for a core module, 1 for a component.
        if bytes.get(6..8) == Some(&[0, 0]) {
            return Err(WasmError::Compile {
                module: name.clone(),
                message: "this is a core WebAssembly module, not a component: build Rust guests \
                          for wasm32-wasip2 (`lode guest build`, or `cargo build --target \
                          wasm32-wasip2`), or wrap a core module with `wasm-tools component new`"
                    .into(),
            });
        }
        let component = Component::new(&self.engine, bytes).map_err(|e| WasmError::Compile {
            module: name.clone(),
            message: format!("{e:#}"),
        })?;
        if let Some(disk) = &self.disk {
            match component.serialize() {
                Ok(artifact) => {
                    if let Err(e) = disk.put(sha256, &artifact) {
                        tracing::warn!(%name, error = %e, "cannot write the module cache; continuing without it");
                    }
                }
                Err(e) => tracing::warn!(%name, error = %e, "cannot serialize compiled module"),
            }
        }
        Ok((component, Origin::Compiled))
    }

    /// What a module of a plan runs with: its requested capabilities, each of which the policy
    /// must allow, and the plan's limits tightened by the policy's.
    pub fn grant(
        &self,
        module: &ModuleName,
        requested: &[Capability],
        memory_bytes: Option<u64>,
        call_timeout: Option<Duration>,
    ) -> Result<Grant> {
        for capability in requested {
            if !self.policy.allowed.contains(capability) {
                return Err(WasmError::CapabilityDenied {
                    module: module.clone(),
                    capability: capability.to_string(),
                });
            }
        }
        Ok(Grant {
            capabilities: requested.iter().copied().collect(),
            limits: self.policy.limits.tightened(memory_bytes, call_timeout),
        })
    }
}

/// Where the module store is unless told otherwise: `$LODE_MODULE_STORE`, else
/// `$XDG_DATA_HOME/lode/modules`, else `~/.local/share/lode/modules`.
pub fn default_store_dir() -> Option<PathBuf> {
    ModuleStore::default_dir()
}

/// Where compiled modules are cached unless told otherwise: `$LODE_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/lode/modules`, else `~/.cache/lode/modules`.
pub fn default_cache_dir() -> Option<PathBuf> {
    DiskCache::default_dir()
}

/// Advances the engine's epoch every tick while the engine lives.
fn spawn_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    let spawned = std::thread::Builder::new()
        .name("lode-wasm-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the Wasm epoch thread; guest calls will not time out");
    }
}
