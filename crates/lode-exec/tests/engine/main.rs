//! The engine's integration tests, one binary: TPC-H equality, foreign producers' plans, table
//! formats, fuzzer regressions and Wasm guests end to end. One binary links once and generates
//! the shared TPC-H data once (each test binary of DataFusion + wasmtime is ~0.5 GB).

mod common;
mod diagnostics;
mod foreign_producers;
mod formats;
mod memory;
mod regressions;
mod tpch;
mod wasm;
