//! Typed access to argument values and typed result builders, for functions written per row.

use crate::column::{BooleanBuilder, Column, PrimitiveBuilder, VariableBuilder};
use crate::types::DataType;

/// A value a per-row function takes as an argument. Strings and nested values are read from
/// the [`Column`]s of a batch function instead, without a copy per row.
pub trait Arg: Copy + 'static {
    /// The Arrow type of the argument's column.
    fn data_type() -> DataType;
    /// The value at `row` of a column of [`Arg::data_type`]; the row is valid (not null).
    fn get(column: &Column, row: usize) -> Self;
}

/// A value a per-row function returns.
pub trait Output: Sized {
    /// What collects this type's values into a column.
    type Builder: OutputBuilder<Self>;
    /// The Arrow type of the result's column.
    fn data_type() -> DataType;
}

/// Collects per-row results into a column.
pub trait OutputBuilder<T> {
    fn with_capacity(capacity: usize) -> Self;
    fn push(&mut self, value: Option<T>);
    fn finish(self) -> Column;
}

macro_rules! primitive {
    ($($t:ty => $dt:ident),*) => {$(
        impl Arg for $t {
            fn data_type() -> DataType { DataType::$dt }
            #[inline]
            fn get(column: &Column, row: usize) -> Self { column.values::<$t>()[row] }
        }
        impl Output for $t {
            type Builder = PrimitiveBuilder<$t>;
            fn data_type() -> DataType { DataType::$dt }
        }
        impl OutputBuilder<$t> for PrimitiveBuilder<$t> {
            fn with_capacity(capacity: usize) -> Self { PrimitiveBuilder::new(DataType::$dt, capacity) }
            #[inline]
            fn push(&mut self, value: Option<$t>) { PrimitiveBuilder::push(self, value) }
            fn finish(self) -> Column { PrimitiveBuilder::finish(self) }
        }
    )*};
}
primitive!(i32 => Int32, i64 => Int64, f32 => Float32, f64 => Float64);

impl Arg for bool {
    fn data_type() -> DataType {
        DataType::Boolean
    }
    fn get(column: &Column, row: usize) -> Self {
        column.bool_value(row)
    }
}

impl Output for bool {
    type Builder = BooleanBuilder;
    fn data_type() -> DataType {
        DataType::Boolean
    }
}

impl OutputBuilder<bool> for BooleanBuilder {
    fn with_capacity(_: usize) -> Self {
        BooleanBuilder::default()
    }
    fn push(&mut self, value: Option<bool>) {
        BooleanBuilder::push(self, value)
    }
    fn finish(self) -> Column {
        BooleanBuilder::finish(self)
    }
}

impl Output for String {
    type Builder = VariableBuilder;
    fn data_type() -> DataType {
        DataType::Utf8
    }
}

impl OutputBuilder<String> for VariableBuilder {
    fn with_capacity(capacity: usize) -> Self {
        VariableBuilder::strings(capacity)
    }
    fn push(&mut self, value: Option<String>) {
        self.push_str(value.as_deref())
    }
    fn finish(self) -> Column {
        VariableBuilder::finish(self)
    }
}
