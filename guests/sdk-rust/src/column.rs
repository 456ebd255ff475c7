//! Columns: Arrow arrays over the buffers the host copied into guest memory, and builders for
//! the columns a guest returns.

use crate::types::{DataType, Field};
use crate::wit;

/// Bytes that can be viewed as a slice of fixed-width values. Buffers arrive from the host as
/// byte lists; the allocator aligns them in practice, and a misaligned one is copied once.
#[derive(Debug, Clone, Default)]
pub struct Bytes {
    bytes: Vec<u8>,
    /// Set only when `bytes` was misaligned: an aligned copy.
    aligned: Option<Vec<u64>>,
}

impl Bytes {
    /// Wraps bytes the host sent; a misaligned buffer is copied once into aligned memory.
    pub fn new(bytes: Vec<u8>) -> Self {
        if bytes.as_ptr().align_offset(8) == 0 {
            Bytes {
                bytes,
                aligned: None,
            }
        } else {
            let mut words = vec![0u64; bytes.len().div_ceil(8)];
            // SAFETY: any bit pattern is a valid u8 and the copy stays within `words`.
            let dst = unsafe {
                std::slice::from_raw_parts_mut(words.as_mut_ptr().cast::<u8>(), bytes.len())
            };
            dst.copy_from_slice(&bytes);
            Bytes {
                bytes,
                aligned: Some(words),
            }
        }
    }

    /// The bytes, aligned to 8.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.aligned {
            // SAFETY: the first `bytes.len()` bytes of `words` were initialized from `bytes`.
            Some(words) => unsafe {
                std::slice::from_raw_parts(words.as_ptr().cast::<u8>(), self.bytes.len())
            },
            None => &self.bytes,
        }
    }

    /// Views the bytes as `T`s. Only plain integer and float types implement [`Native`].
    pub fn typed<T: Native>(&self) -> &[T] {
        let bytes = self.as_bytes();
        // SAFETY: `Native` types accept every bit pattern; alignment is checked by `align_to`.
        let (head, body, _) = unsafe { bytes.align_to::<T>() };
        debug_assert!(head.is_empty());
        if head.is_empty() { body } else { &[] }
    }

    fn into_vec(self) -> Vec<u8> {
        match self.aligned {
            Some(_) => self.as_bytes().to_vec(),
            None => self.bytes,
        }
    }
}

/// Plain fixed-width values that accept every bit pattern.
///
/// # Safety
/// Implementors must be `Copy` types without padding for which every bit pattern is valid.
pub unsafe trait Native: Copy + Default + 'static {
    /// The Rust name of the type, for error messages.
    const NAME: &'static str;
    /// Whether a column of `data_type` holds its values as this type.
    fn stores(data_type: &DataType) -> bool;
    /// Appends the value's little-endian bytes (Arrow's layout) to `out`.
    fn append_le(self, out: &mut Vec<u8>);
}

macro_rules! native {
    ($($t:ty => $($stored:pat_param)|+),* $(,)?) => {$(
        unsafe impl Native for $t {
            const NAME: &'static str = stringify!($t);
            fn stores(data_type: &DataType) -> bool {
                matches!(data_type, $($stored)|+)
            }
            #[inline]
            fn append_le(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
        }
    )*};
}
native!(
    i8 => DataType::Int8,
    i16 => DataType::Int16,
    i32 => DataType::Int32 | DataType::Date32,
    i64 => DataType::Int64 | DataType::Timestamp(..),
    i128 => DataType::Decimal128(..),
    u8 => DataType::UInt8,
    u16 => DataType::UInt16,
    u32 => DataType::UInt32,
    u64 => DataType::UInt64,
    f32 => DataType::Float32,
    f64 => DataType::Float64,
);

/// A validity bitmap (bit set = value present), LSB first as in Arrow.
#[derive(Debug, Clone, Default)]
pub struct Bitmap {
    bits: Vec<u8>,
}

impl Bitmap {
    /// Whether bit `i` is set (the value at `i` is present); bits beyond the end are unset.
    pub fn get(&self, i: usize) -> bool {
        self.bits
            .get(i / 8)
            .is_some_and(|byte| byte & (1 << (i % 8)) != 0)
    }
}

/// Accumulates a bitmap one bit at a time.
#[derive(Debug, Default, Clone)]
pub struct BitmapBuilder {
    bits: Vec<u8>,
    len: usize,
    unset: usize,
}

impl BitmapBuilder {
    /// Appends one bit: `true` for a present value.
    #[inline]
    pub fn push(&mut self, bit: bool) {
        if self.len.is_multiple_of(8) {
            self.bits.push(0);
        }
        if bit {
            let last = self.bits.len() - 1;
            self.bits[last] |= 1 << (self.len % 8);
        } else {
            self.unset += 1;
        }
        self.len += 1;
    }

    /// How many bits were pushed.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no bit was pushed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many pushed bits are unset: the null count of the column it describes.
    pub fn unset_count(&self) -> usize {
        self.unset
    }

    fn finish(self) -> Vec<u8> {
        self.bits
    }
}

/// The buffers of one column, by layout.
#[derive(Debug, Clone)]
enum Data {
    /// Null and struct columns have no data buffer of their own.
    Empty,
    /// Fixed-width values, or the bits of a boolean column.
    Values(Bytes),
    /// Variable-width values (strings and binaries): offsets, then the bytes.
    Variable {
        offsets: Bytes,
        values: Vec<u8>,
    },
    List {
        offsets: Bytes,
        child: Box<Column>,
    },
    Struct(Vec<Column>),
}

/// One Arrow array.
#[derive(Debug, Clone)]
pub struct Column {
    data_type: DataType,
    len: usize,
    null_count: usize,
    validity: Option<Bitmap>,
    data: Data,
}

impl Column {
    /// The column's Arrow type.
    pub fn data_type(&self) -> &DataType {
        &self.data_type
    }

    /// How many values (rows) the column has, nulls included.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the column has no rows.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many of its values are null.
    pub fn null_count(&self) -> usize {
        self.null_count
    }

    /// Whether the value at row `i` is present (not null).
    #[inline]
    pub fn is_valid(&self, i: usize) -> bool {
        match &self.validity {
            Some(bitmap) => bitmap.get(i),
            None => !matches!(self.data_type, DataType::Null),
        }
    }

    /// The values of a fixed-width column (nulls have unspecified values: check `is_valid`).
    pub fn values<T: Native>(&self) -> &[T] {
        match &self.data {
            Data::Values(bytes) => bytes.typed(),
            _ => &[],
        }
    }

    /// The value at `i` of a boolean column.
    pub fn bool_value(&self, i: usize) -> bool {
        match &self.data {
            Data::Values(bytes) => bytes
                .as_bytes()
                .get(i / 8)
                .is_some_and(|b| b & (1 << (i % 8)) != 0),
            _ => false,
        }
    }

    /// The bytes at `i` of a string or binary column.
    pub fn bytes_value(&self, i: usize) -> &[u8] {
        let Data::Variable { offsets, values } = &self.data else {
            return &[];
        };
        let (start, end) = match self.data_type {
            DataType::LargeUtf8 | DataType::LargeBinary => {
                let offsets = offsets.typed::<i64>();
                (offsets[i] as usize, offsets[i + 1] as usize)
            }
            _ => {
                let offsets = offsets.typed::<i32>();
                (offsets[i] as usize, offsets[i + 1] as usize)
            }
        };
        values.get(start..end).unwrap_or(&[])
    }

    /// The string at `i` of a string column; the host sends only valid UTF-8.
    pub fn str_value(&self, i: usize) -> &str {
        std::str::from_utf8(self.bytes_value(i)).unwrap_or_default()
    }

    /// The children of a struct column.
    pub fn struct_fields(&self) -> &[Column] {
        match &self.data {
            Data::Struct(children) => children,
            _ => &[],
        }
    }

    /// The range of child rows of list entry `i`, and the child column.
    pub fn list_value(&self, i: usize) -> Option<(std::ops::Range<usize>, &Column)> {
        let Data::List { offsets, child } = &self.data else {
            return None;
        };
        let offsets = offsets.typed::<i32>();
        Some((offsets[i] as usize..offsets[i + 1] as usize, child))
    }

    /// A column of `len` nulls.
    pub fn nulls(len: usize) -> Column {
        Column {
            data_type: DataType::Null,
            len,
            null_count: len,
            validity: None,
            data: Data::Empty,
        }
    }

    /// A struct column over equally long children.
    pub fn structure(fields: Vec<(Field, Column)>, validity: Option<BitmapBuilder>) -> Column {
        let len = fields.first().map_or(0, |(_, c)| c.len);
        let (fields, children): (Vec<Field>, Vec<Column>) = fields.into_iter().unzip();
        let (validity, null_count) = finish_validity(validity);
        Column {
            data_type: DataType::Struct(fields),
            len,
            null_count,
            validity,
            data: Data::Struct(children),
        }
    }

    /// A list column: `offsets` has one more entry than there are lists.
    pub fn list(
        item: Field,
        offsets: Vec<i32>,
        child: Column,
        validity: Option<BitmapBuilder>,
    ) -> Column {
        let len = offsets.len().saturating_sub(1);
        let mut bytes = Vec::with_capacity(offsets.len() * 4);
        offsets.iter().for_each(|o| o.append_le(&mut bytes));
        let (validity, null_count) = finish_validity(validity);
        Column {
            data_type: DataType::List(Box::new(item)),
            len,
            null_count,
            validity,
            data: Data::List {
                offsets: Bytes::new(bytes),
                child: Box::new(child),
            },
        }
    }
}

impl Column {
    /// A column from a builder: one validity bit per row.
    fn built(data_type: DataType, validity: BitmapBuilder, data: Data) -> Column {
        let len = validity.len();
        let (validity, null_count) = finish_validity(Some(validity));
        Column {
            data_type,
            len,
            null_count,
            validity,
            data,
        }
    }
}

fn finish_validity(validity: Option<BitmapBuilder>) -> (Option<Bitmap>, usize) {
    match validity {
        Some(bits) if bits.unset_count() > 0 => {
            let nulls = bits.unset_count();
            (
                Some(Bitmap {
                    bits: bits.finish(),
                }),
                nulls,
            )
        }
        _ => (None, 0),
    }
}

/// Builds a fixed-width column value by value.
pub struct PrimitiveBuilder<T: Native> {
    data_type: DataType,
    values: Vec<u8>,
    validity: BitmapBuilder,
    _marker: std::marker::PhantomData<T>,
}

impl<T: Native> PrimitiveBuilder<T> {
    /// `data_type` must be the Arrow type whose values are `T`s.
    pub fn new(data_type: DataType, capacity: usize) -> Self {
        PrimitiveBuilder {
            data_type,
            values: Vec::with_capacity(capacity * size_of::<T>()),
            validity: BitmapBuilder::default(),
            _marker: std::marker::PhantomData,
        }
    }

    /// Appends a value, or a null for `None`.
    #[inline]
    pub fn push(&mut self, value: Option<T>) {
        self.validity.push(value.is_some());
        value.unwrap_or_default().append_le(&mut self.values);
    }

    /// The column of the values pushed so far.
    pub fn finish(self) -> Column {
        Column::built(
            self.data_type,
            self.validity,
            Data::Values(Bytes::new(self.values)),
        )
    }
}

/// Builds a boolean column.
#[derive(Default)]
pub struct BooleanBuilder {
    values: BitmapBuilder,
    validity: BitmapBuilder,
}

impl BooleanBuilder {
    /// Appends a value, or a null for `None`.
    #[inline]
    pub fn push(&mut self, value: Option<bool>) {
        self.validity.push(value.is_some());
        self.values.push(value.unwrap_or(false));
    }

    /// The column of the values pushed so far.
    pub fn finish(self) -> Column {
        let values = Data::Values(Bytes::new(self.values.finish()));
        Column::built(DataType::Boolean, self.validity, values)
    }
}

/// Builds a string (utf8) or binary column.
pub struct VariableBuilder {
    data_type: DataType,
    offsets: Vec<u8>,
    values: Vec<u8>,
    validity: BitmapBuilder,
}

impl VariableBuilder {
    /// A builder of a `Utf8` column with room for `capacity` values.
    pub fn strings(capacity: usize) -> Self {
        Self::new(DataType::Utf8, capacity)
    }

    /// A builder of a `Binary` column with room for `capacity` values.
    pub fn binaries(capacity: usize) -> Self {
        Self::new(DataType::Binary, capacity)
    }

    fn new(data_type: DataType, capacity: usize) -> Self {
        let mut offsets = Vec::with_capacity((capacity + 1) * 4);
        0i32.append_le(&mut offsets);
        VariableBuilder {
            data_type,
            offsets,
            values: Vec::new(),
            validity: BitmapBuilder::default(),
        }
    }

    /// Appends a value's bytes, or a null for `None`.
    #[inline]
    pub fn push(&mut self, value: Option<&[u8]>) {
        self.validity.push(value.is_some());
        if let Some(bytes) = value {
            self.values.extend_from_slice(bytes);
        }
        // Guest outputs beyond 2 GiB per batch are rejected by the host anyway.
        (self.values.len() as i32).append_le(&mut self.offsets);
    }

    /// Appends a string, or a null for `None`.
    #[inline]
    pub fn push_str(&mut self, value: Option<&str>) {
        self.push(value.map(str::as_bytes));
    }

    /// How many values were pushed.
    pub fn len(&self) -> usize {
        self.validity.len()
    }

    /// Whether no value was pushed.
    pub fn is_empty(&self) -> bool {
        self.validity.is_empty()
    }

    /// The column of the values pushed so far.
    pub fn finish(self) -> Column {
        let data = Data::Variable {
            offsets: Bytes::new(self.offsets),
            values: self.values,
        };
        Column::built(self.data_type, self.validity, data)
    }
}

/// Rows of equally long columns: what a function receives (its arguments) and returns.
///
/// ```
/// use lode_guest::prelude::*;
///
/// let mut x = PrimitiveBuilder::<f64>::new(DataType::Float64, 2);
/// x.push(Some(1.5));
/// x.push(None);
/// let mut name = VariableBuilder::strings(2);
/// name.push_str(Some("a"));
/// name.push_str(Some("b"));
/// let fields = vec![
///     Field::new("x", DataType::Float64, true),
///     Field::new("name", DataType::Utf8, true),
/// ];
/// let batch = Batch::new(fields, vec![x.finish(), name.finish()]);
///
/// assert_eq!(batch.num_rows, 2);
/// let x = batch.column(0);
/// assert!(x.is_valid(0) && !x.is_valid(1));
/// assert_eq!(x.values::<f64>()[0], 1.5);
/// assert_eq!(batch.column_by_name("name").map(|c| c.str_value(1)), Some("b"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Batch {
    /// The columns' names and types, one per column.
    pub fields: Vec<Field>,
    /// The columns, each `num_rows` long.
    pub columns: Vec<Column>,
    /// How many rows the batch has.
    pub num_rows: usize,
}

impl Batch {
    /// A batch of `columns` described by `fields`; its row count is the first column's length
    /// (0 without columns).
    pub fn new(fields: Vec<Field>, columns: Vec<Column>) -> Batch {
        let num_rows = columns.first().map_or(0, Column::len);
        Batch {
            fields,
            columns,
            num_rows,
        }
    }

    /// Column `i`. Panics when there is no such column: a bound function knows its arity.
    pub fn column(&self, i: usize) -> &Column {
        &self.columns[i]
    }

    /// The column named `name`, if any.
    pub fn column_by_name(&self, name: &str) -> Option<&Column> {
        self.fields
            .iter()
            .position(|f| f.name.eq_ignore_ascii_case(name))
            .map(|i| &self.columns[i])
    }
}

/// Decodes a WIT batch with the given schema.
pub fn decode_batch(fields: &[Field], batch: wit::Batch) -> Result<Batch, String> {
    let mut nodes = batch.nodes.into_iter();
    let mut buffers = batch.buffers.into_iter();
    let mut columns = Vec::with_capacity(fields.len());
    for field in fields {
        columns.push(decode_column(&field.data_type, &mut nodes, &mut buffers)?);
    }
    if nodes.next().is_some() || buffers.next().is_some() {
        return Err("batch has more nodes or buffers than its schema".into());
    }
    Ok(Batch {
        fields: fields.to_vec(),
        columns,
        num_rows: batch.num_rows as usize,
    })
}

fn decode_column(
    data_type: &DataType,
    nodes: &mut impl Iterator<Item = wit::Node>,
    buffers: &mut impl Iterator<Item = Vec<u8>>,
) -> Result<Column, String> {
    let node = nodes
        .next()
        .ok_or("batch has fewer nodes than its schema")?;
    let mut next_buffer = || {
        buffers
            .next()
            .ok_or_else(|| "batch has fewer buffers than its schema".to_string())
    };
    let validity = match data_type {
        DataType::Null => None,
        _ => Some(next_buffer()?)
            .filter(|bits| !bits.is_empty())
            .map(|bits| Bitmap { bits }),
    };
    let data = match data_type {
        DataType::Null => Data::Empty,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Binary | DataType::LargeBinary => {
            let offsets = Bytes::new(next_buffer()?);
            let values = next_buffer()?;
            Data::Variable { offsets, values }
        }
        DataType::List(item) => {
            let offsets = Bytes::new(next_buffer()?);
            let child = decode_column(&item.data_type, nodes, buffers)?;
            Data::List {
                offsets,
                child: Box::new(child),
            }
        }
        DataType::Struct(fields) => {
            let mut children = Vec::with_capacity(fields.len());
            for field in fields {
                children.push(decode_column(&field.data_type, nodes, buffers)?);
            }
            Data::Struct(children)
        }
        _ => Data::Values(Bytes::new(next_buffer()?)),
    };
    Ok(Column {
        data_type: data_type.clone(),
        len: node.length as usize,
        null_count: node.null_count as usize,
        validity,
        data,
    })
}

/// Encodes columns as a WIT batch (nodes and buffers in pre-order).
pub fn encode_batch(num_rows: usize, columns: Vec<Column>) -> wit::Batch {
    let mut nodes = Vec::new();
    let mut buffers = Vec::new();
    for column in columns {
        encode_column(column, &mut nodes, &mut buffers);
    }
    wit::Batch {
        num_rows: num_rows as u32,
        nodes,
        buffers,
    }
}

fn encode_column(column: Column, nodes: &mut Vec<wit::Node>, buffers: &mut Vec<Vec<u8>>) {
    nodes.push(wit::Node {
        length: column.len as u32,
        null_count: column.null_count as u32,
    });
    if !matches!(column.data_type, DataType::Null) {
        buffers.push(column.validity.map(|b| b.bits).unwrap_or_default());
    }
    match column.data {
        Data::Empty => {}
        Data::Values(values) => buffers.push(values.into_vec()),
        Data::Variable { offsets, values } => {
            buffers.push(offsets.into_vec());
            buffers.push(values);
        }
        Data::List { offsets, child } => {
            buffers.push(offsets.into_vec());
            encode_column(*child, nodes, buffers);
        }
        Data::Struct(children) => {
            for child in children {
                encode_column(child, nodes, buffers);
            }
        }
    }
}
