//! `lode-wasm`: Lode's wasmtime host.
//!
//! One [`WasmRuntime`] per process holds the engine, the compiled modules (by sha256, in
//! memory and on disk), the [`ModuleStore`] plans may refer to by hash, and the host policy. A [`Module`] is a compiled component whose exports
//! were checked against the `lode:guest@0.1.0` contract (`guests/wit/guest.wit`); an
//! [`Instance`] is one sandbox of it, with a memory cap, a deadline per call and no WASI
//! capability unless granted. Arrow data crosses the boundary as its buffers ([`marshal`]).

mod cache;
pub mod error;
mod exports;
pub mod host;
mod instance;
pub mod marshal;
mod module;
pub mod policy;
mod runtime;
mod store;
pub mod wit;

pub use error::{ModuleName, WasmError};
pub use host::{HostState, MemoryAccount};
pub use instance::{GroupedRows, Instance};
pub use module::{FunctionSpec, Module, SignatureSpec, kind_name};
pub use policy::{Capability, EPOCH_TICK, Grant, HostPolicy, Limits};
pub use runtime::{
    ComponentInfo, Origin, WasmRuntime, World, default_cache_dir, default_store_dir,
};
pub use store::{ModuleStore, StoredModule, sha256_hex};
pub use wasmtime::component::ResourceAny;
pub use wit::{Kind, Volatility};
