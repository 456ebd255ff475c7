//! Host-side mirrors of the `lode:guest@0.1.0` WIT types (guests/wit/guest.wit).
//!
//! Written by hand rather than by `bindgen!` so the batch a call sends can borrow Arrow's
//! buffers: the canonical ABI then copies each buffer straight into guest memory, once.

use wasmtime::component::{ComponentType, Lift, Lower};

#[derive(ComponentType, Lift, Lower, Clone, Copy, Debug, PartialEq, Eq)]
#[component(enum)]
#[repr(u8)]
pub enum TimeUnit {
    #[component(name = "second")]
    Second,
    #[component(name = "millisecond")]
    Millisecond,
    #[component(name = "microsecond")]
    Microsecond,
    #[component(name = "nanosecond")]
    Nanosecond,
}

#[derive(ComponentType, Lift, Lower, Clone, Debug, PartialEq)]
#[component(record)]
pub struct DecimalType {
    pub precision: u8,
    pub scale: i8,
}

#[derive(ComponentType, Lift, Lower, Clone, Debug, PartialEq)]
#[component(record)]
pub struct TimestampType {
    pub unit: TimeUnit,
    pub timezone: Option<String>,
}

#[derive(ComponentType, Lift, Lower, Clone, Debug, PartialEq)]
#[component(variant)]
pub enum DataType {
    #[component(name = "null")]
    Null,
    #[component(name = "boolean")]
    Boolean,
    #[component(name = "int8")]
    Int8,
    #[component(name = "int16")]
    Int16,
    #[component(name = "int32")]
    Int32,
    #[component(name = "int64")]
    Int64,
    #[component(name = "uint8")]
    Uint8,
    #[component(name = "uint16")]
    Uint16,
    #[component(name = "uint32")]
    Uint32,
    #[component(name = "uint64")]
    Uint64,
    #[component(name = "float32")]
    Float32,
    #[component(name = "float64")]
    Float64,
    #[component(name = "utf8")]
    Utf8,
    #[component(name = "large-utf8")]
    LargeUtf8,
    #[component(name = "binary")]
    Binary,
    #[component(name = "large-binary")]
    LargeBinary,
    #[component(name = "date32")]
    Date32,
    #[component(name = "timestamp")]
    Timestamp(TimestampType),
    #[component(name = "decimal128")]
    Decimal128(DecimalType),
    #[component(name = "list")]
    List,
    #[component(name = "struct")]
    Struct,
}

#[derive(ComponentType, Lift, Lower, Clone, Debug, PartialEq)]
#[component(record)]
pub struct Field {
    pub name: String,
    #[component(name = "data-type")]
    pub data_type: DataType,
    pub nullable: bool,
    pub children: u32,
}

/// The top-level fields of a schema, each followed by its descendants (pre-order).
pub type Schema = Vec<Field>;

#[derive(ComponentType, Lift, Lower, Clone, Copy, Debug, PartialEq, Eq)]
#[component(record)]
pub struct Node {
    pub length: u32,
    #[component(name = "null-count")]
    pub null_count: u32,
}

/// A batch sent to a guest, borrowing the host's buffers.
#[derive(ComponentType, Lower, Clone, Copy, Debug)]
#[component(record)]
pub struct BatchRef<'a> {
    #[component(name = "num-rows")]
    pub num_rows: u32,
    pub nodes: &'a [Node],
    pub buffers: &'a [&'a [u8]],
}

/// A batch returned by a guest, copied out of its memory (or built by the host to hand to a
/// driver).
#[derive(ComponentType, Lift, Lower, Clone, Debug)]
#[component(record)]
pub struct Batch {
    #[component(name = "num-rows")]
    pub num_rows: u32,
    pub nodes: Vec<Node>,
    pub buffers: Vec<Vec<u8>>,
}

#[derive(ComponentType, Lift, Clone, Debug)]
#[component(record)]
pub struct CallError {
    pub row: Option<u32>,
    pub message: String,
}

#[derive(ComponentType, Lift, Clone, Copy, Debug, PartialEq, Eq)]
#[component(enum)]
#[repr(u8)]
pub enum Volatility {
    #[component(name = "immutable")]
    Immutable,
    #[component(name = "stable")]
    Stable,
    #[component(name = "volatile")]
    Volatile,
}

#[derive(ComponentType, Lift, Clone, Copy, Debug, PartialEq, Eq)]
#[component(enum)]
#[repr(u8)]
pub enum Kind {
    #[component(name = "scalar")]
    Scalar,
    #[component(name = "aggregate")]
    Aggregate,
    #[component(name = "table")]
    Table,
    #[component(name = "operator")]
    Operator,
}

#[derive(ComponentType, Lift, Clone, Debug)]
#[component(record)]
pub struct Signature {
    pub args: Vec<Field>,
    pub result: Vec<Field>,
}

#[derive(ComponentType, Lift, Clone, Debug)]
#[component(record)]
pub struct FunctionInfo {
    pub name: String,
    pub kind: Kind,
    pub description: String,
    pub volatility: Volatility,
    pub signatures: Vec<Signature>,
}

#[derive(ComponentType, Lift, Clone, Debug)]
#[component(record)]
pub struct ModuleInfo {
    pub name: String,
    pub functions: Vec<FunctionInfo>,
}

#[derive(ComponentType, Lift, Clone, Debug)]
#[component(record)]
pub struct ScalarBinding {
    pub result: Vec<Field>,
}

#[derive(ComponentType, Lift, Clone, Debug)]
#[component(record)]
pub struct AggregateBinding {
    pub state: Vec<Field>,
    pub result: Vec<Field>,
}

#[derive(ComponentType, Lift, Clone, Debug)]
#[component(record)]
pub struct RelationBinding {
    pub output: Vec<Field>,
    pub partitions: u32,
}

/// The interfaces of the `extension` world, as exported by a component.
pub const INTERFACE_MODULE: &str = "lode:guest/module@0.1.0";
pub const INTERFACE_PLANNER: &str = "lode:guest/planner@0.1.0";
pub const INTERFACE_SCALAR: &str = "lode:guest/scalar@0.1.0";
pub const INTERFACE_AGGREGATE: &str = "lode:guest/aggregate@0.1.0";
pub const INTERFACE_TABLE: &str = "lode:guest/table@0.1.0";
pub const INTERFACE_OPERATOR: &str = "lode:guest/operators@0.1.0";
