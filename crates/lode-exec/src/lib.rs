//! # lode-exec
//!
//! Runs Substrait plans on Apache DataFusion in this process:
//!
//! - [`TableBindings`] binds table names to Parquet, CSV and Arrow IPC files, local or in
//!   object stores ([`storage`]: S3, GCS, Azure, HTTP);
//! - [`Engine`] validates a plan, converts it with Lode's consumer (which accepts what other
//!   producers write, see the `consumer` module), and streams the result;
//! - [`memory`] bounds the memory a process's queries hold and says where they spill;
//! - [`PlanTarget`] is where a plan runs: [`Embedded`] here, a cluster in `lode-dist`;
//! - [`write_results`] writes a result stream as a table, CSV, JSON lines or Arrow IPC.

mod binding;
mod consumer;
pub mod delta;
mod engine;
mod error;
mod functions;
pub mod iceberg;
pub mod memory;
mod output;
mod producer;
mod progress;
mod scan;
pub mod storage;
mod tables;
mod target;
pub mod tls;
mod wasm;

pub use consumer::DataFusionSupport;
pub use engine::{Engine, EngineConfig, to_logical_plan};
pub use error::{ExecError, Result, error_message};
pub use functions::{SpecCall, spec_call_of, spec_function};
pub use memory::MemoryConfig;
pub use output::{ResultFormat, TABLE_BLOCK_ROWS, WriteSummary, write_results};
pub use producer::embed_supplied_modules;
pub use progress::{Progress, QueryProgress};
pub use scan::{FileScan, restore_arrow_streams};
pub use tables::{FileFormat, TableBinding, TableBindings, TableKind, is_plain_table_name};
pub use target::{Embedded, PlanTarget};
pub use wasm::{
    LoadedModule, PlanModules, WasmFunctionRef, aggregate_function_ref, projected,
    scalar_function_ref, substrait_type_name, wasm_relation_of,
};

/// Locks a mutex, taking the data of a poisoned one: every mutex in this crate guards a cache
/// or a list that stays consistent even if a holder panicked.
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
