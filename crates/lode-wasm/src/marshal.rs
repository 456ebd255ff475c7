//! Arrow <-> guest batches: the host side of the `arrow` interface.
//!
//! Going in, each column's buffers are borrowed from Arrow where the layout already matches
//! (offsets start at 0, bitmaps start on a byte); only sliced arrays are re-based, into owned
//! buffers. Coming out, every buffer a guest returns is checked: the node and buffer counts
//! against the bound type, then Arrow's full validation (offsets, UTF-8, lengths).

use std::borrow::Cow;
use std::sync::Arc;

use arrow::array::{Array, ArrayData, ArrayRef, make_array};
use arrow::buffer::Buffer;
use arrow::datatypes::ToByteSlice;
use arrow::datatypes::{DataType, Field, FieldRef, Fields, Schema, TimeUnit};

use crate::wit;

/// Why Arrow data could not cross the boundary.
#[derive(Debug, thiserror::Error)]
pub enum MarshalError {
    #[error(
        "type {0} cannot be passed to a guest (supported: boolean, integers, floats, utf8, binary, date32, timestamp, decimal128, list, struct)"
    )]
    Unsupported(DataType),
    #[error("{0}")]
    Malformed(String),
}

fn malformed(message: impl Into<String>) -> MarshalError {
    MarshalError::Malformed(message.into())
}

/// The Arrow type a guest sees for `data_type`: view and dictionary types arrive as their plain
/// equivalents (the host casts them), everything else as is.
pub fn guest_type(data_type: &DataType) -> DataType {
    match data_type {
        DataType::Utf8View => DataType::Utf8,
        DataType::BinaryView => DataType::Binary,
        DataType::Dictionary(_, value) => guest_type(value),
        DataType::List(item) | DataType::LargeList(item) | DataType::ListView(item) => {
            DataType::List(Arc::new(
                item.as_ref()
                    .clone()
                    .with_data_type(guest_type(item.data_type())),
            ))
        }
        DataType::Struct(fields) => DataType::Struct(
            fields
                .iter()
                .map(|f| f.as_ref().clone().with_data_type(guest_type(f.data_type())))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Casts an array to its [`guest_type`] when that differs.
pub fn to_guest_array(array: &ArrayRef) -> Result<ArrayRef, MarshalError> {
    let target = guest_type(array.data_type());
    if &target == array.data_type() {
        return Ok(array.clone());
    }
    arrow::compute::cast(array, &target).map_err(|e| {
        malformed(format!(
            "cannot cast {} to {target}: {e}",
            array.data_type()
        ))
    })
}

/// Encodes fields as the WIT pre-order field list.
pub fn encode_schema<'a>(
    fields: impl IntoIterator<Item = &'a FieldRef>,
) -> Result<Vec<wit::Field>, MarshalError> {
    let mut out = Vec::new();
    for field in fields {
        encode_field(field, &mut out)?;
    }
    Ok(out)
}

fn encode_field(field: &Field, out: &mut Vec<wit::Field>) -> Result<(), MarshalError> {
    let unit = |u: &TimeUnit| match u {
        TimeUnit::Second => wit::TimeUnit::Second,
        TimeUnit::Millisecond => wit::TimeUnit::Millisecond,
        TimeUnit::Microsecond => wit::TimeUnit::Microsecond,
        TimeUnit::Nanosecond => wit::TimeUnit::Nanosecond,
    };
    let (data_type, children): (wit::DataType, Vec<FieldRef>) = match field.data_type() {
        DataType::Null => (wit::DataType::Null, vec![]),
        DataType::Boolean => (wit::DataType::Boolean, vec![]),
        DataType::Int8 => (wit::DataType::Int8, vec![]),
        DataType::Int16 => (wit::DataType::Int16, vec![]),
        DataType::Int32 => (wit::DataType::Int32, vec![]),
        DataType::Int64 => (wit::DataType::Int64, vec![]),
        DataType::UInt8 => (wit::DataType::Uint8, vec![]),
        DataType::UInt16 => (wit::DataType::Uint16, vec![]),
        DataType::UInt32 => (wit::DataType::Uint32, vec![]),
        DataType::UInt64 => (wit::DataType::Uint64, vec![]),
        DataType::Float32 => (wit::DataType::Float32, vec![]),
        DataType::Float64 => (wit::DataType::Float64, vec![]),
        DataType::Utf8 => (wit::DataType::Utf8, vec![]),
        DataType::LargeUtf8 => (wit::DataType::LargeUtf8, vec![]),
        DataType::Binary => (wit::DataType::Binary, vec![]),
        DataType::LargeBinary => (wit::DataType::LargeBinary, vec![]),
        DataType::Date32 => (wit::DataType::Date32, vec![]),
        DataType::Timestamp(u, tz) => (
            wit::DataType::Timestamp(wit::TimestampType {
                unit: unit(u),
                timezone: tz.as_ref().map(|t| t.to_string()),
            }),
            vec![],
        ),
        DataType::Decimal128(precision, scale) => (
            wit::DataType::Decimal128(wit::DecimalType {
                precision: *precision,
                scale: *scale,
            }),
            vec![],
        ),
        DataType::List(item) => (wit::DataType::List, vec![item.clone()]),
        DataType::Struct(fields) => (wit::DataType::Struct, fields.iter().cloned().collect()),
        other => return Err(MarshalError::Unsupported(other.clone())),
    };
    out.push(wit::Field {
        name: field.name().clone(),
        data_type,
        nullable: field.is_nullable(),
        children: children.len() as u32,
    });
    for child in &children {
        encode_field(child, out)?;
    }
    Ok(())
}

/// Decodes the WIT pre-order field list.
pub fn decode_schema(fields: &[wit::Field]) -> Result<Fields, MarshalError> {
    let mut rest = fields;
    let mut out = Vec::new();
    while !rest.is_empty() {
        out.push(Arc::new(decode_field(&mut rest, 0)?));
    }
    Ok(out.into())
}

fn decode_field(rest: &mut &[wit::Field], depth: usize) -> Result<Field, MarshalError> {
    if depth > 64 {
        return Err(malformed("schema nests deeper than 64 levels"));
    }
    let (head, tail) = rest
        .split_first()
        .ok_or_else(|| malformed("schema ends inside a nested field"))?;
    *rest = tail;
    let mut children = Vec::new();
    for _ in 0..head.children {
        children.push(decode_field(rest, depth + 1)?);
    }
    let unit = |u: wit::TimeUnit| match u {
        wit::TimeUnit::Second => TimeUnit::Second,
        wit::TimeUnit::Millisecond => TimeUnit::Millisecond,
        wit::TimeUnit::Microsecond => TimeUnit::Microsecond,
        wit::TimeUnit::Nanosecond => TimeUnit::Nanosecond,
    };
    let leaf = |data_type: DataType| {
        if children.is_empty() {
            Ok(data_type)
        } else {
            Err(malformed(format!(
                "field '{}' of type {data_type} cannot have children",
                head.name
            )))
        }
    };
    let data_type = match &head.data_type {
        wit::DataType::Null => leaf(DataType::Null)?,
        wit::DataType::Boolean => leaf(DataType::Boolean)?,
        wit::DataType::Int8 => leaf(DataType::Int8)?,
        wit::DataType::Int16 => leaf(DataType::Int16)?,
        wit::DataType::Int32 => leaf(DataType::Int32)?,
        wit::DataType::Int64 => leaf(DataType::Int64)?,
        wit::DataType::Uint8 => leaf(DataType::UInt8)?,
        wit::DataType::Uint16 => leaf(DataType::UInt16)?,
        wit::DataType::Uint32 => leaf(DataType::UInt32)?,
        wit::DataType::Uint64 => leaf(DataType::UInt64)?,
        wit::DataType::Float32 => leaf(DataType::Float32)?,
        wit::DataType::Float64 => leaf(DataType::Float64)?,
        wit::DataType::Utf8 => leaf(DataType::Utf8)?,
        wit::DataType::LargeUtf8 => leaf(DataType::LargeUtf8)?,
        wit::DataType::Binary => leaf(DataType::Binary)?,
        wit::DataType::LargeBinary => leaf(DataType::LargeBinary)?,
        wit::DataType::Date32 => leaf(DataType::Date32)?,
        wit::DataType::Timestamp(t) => leaf(DataType::Timestamp(
            unit(t.unit),
            t.timezone.as_deref().map(Into::into),
        ))?,
        wit::DataType::Decimal128(d) => {
            if d.precision == 0 || d.precision > 38 || i16::from(d.scale) > i16::from(d.precision) {
                return Err(malformed(format!(
                    "field '{}': invalid decimal({}, {})",
                    head.name, d.precision, d.scale
                )));
            }
            leaf(DataType::Decimal128(d.precision, d.scale))?
        }
        wit::DataType::List => match <[Field; 1]>::try_from(children) {
            Ok([item]) => DataType::List(Arc::new(item)),
            Err(children) => {
                return Err(malformed(format!(
                    "list field '{}' has {} children, not 1",
                    head.name,
                    children.len()
                )));
            }
        },
        wit::DataType::Struct => DataType::Struct(children.into()),
    };
    Ok(Field::new(head.name.clone(), data_type, head.nullable))
}

/// A batch laid out for a guest: nodes and buffers in pre-order, borrowing Arrow's memory
/// where it can.
pub struct GuestBatch<'a> {
    num_rows: u32,
    nodes: Vec<wit::Node>,
    buffers: Vec<Cow<'a, [u8]>>,
}

impl<'a> GuestBatch<'a> {
    /// Lays out columns (already of their [`guest_type`]) of `num_rows` rows.
    pub fn new(
        num_rows: usize,
        columns: impl IntoIterator<Item = &'a ArrayData>,
    ) -> Result<Self, MarshalError> {
        let num_rows = u32::try_from(num_rows)
            .map_err(|_| malformed("a batch of more than 4 billion rows"))?;
        let mut batch = GuestBatch {
            num_rows,
            nodes: Vec::new(),
            buffers: Vec::new(),
        };
        for column in columns {
            batch.push(column, 0, column.len())?;
        }
        Ok(batch)
    }

    /// The buffer slices, for [`GuestBatch::as_wit`] to point at.
    pub fn slices(&self) -> Vec<&[u8]> {
        self.buffers.iter().map(|b| b.as_ref()).collect()
    }

    pub fn as_wit<'s>(&'s self, slices: &'s [&'s [u8]]) -> wit::BatchRef<'s> {
        wit::BatchRef {
            num_rows: self.num_rows,
            nodes: &self.nodes,
            buffers: slices,
        }
    }

    /// The batch with its buffers copied, for a guest call that takes owned values.
    pub fn into_owned_wit(self) -> wit::Batch {
        wit::Batch {
            num_rows: self.num_rows,
            nodes: self.nodes,
            buffers: self.buffers.into_iter().map(Cow::into_owned).collect(),
        }
    }

    /// Lays out the rows `start..start + len` of `data` (logical rows: `data.offset()` is
    /// added where buffers are read).
    fn push(&mut self, data: &'a ArrayData, start: usize, len: usize) -> Result<(), MarshalError> {
        let null_count = match data.nulls() {
            Some(nulls) => len - nulls.inner().slice(start, len).count_set_bits(),
            None => 0,
        };
        let to_u32 = |n: usize| {
            u32::try_from(n).map_err(|_| malformed("an array of more than 4 billion values"))
        };
        self.nodes.push(wit::Node {
            length: to_u32(len)?,
            null_count: to_u32(null_count)?,
        });
        if data.data_type() != &DataType::Null {
            let validity = match data.nulls() {
                Some(nulls) if null_count > 0 => {
                    bits(nulls.inner().values(), nulls.inner().offset() + start, len)
                }
                _ => Cow::Borrowed(&[][..]),
            };
            self.buffers.push(validity);
        }
        let first = data.offset() + start;
        match data.data_type() {
            DataType::Null => {}
            DataType::Boolean => self
                .buffers
                .push(bits(data.buffers()[0].as_slice(), first, len)),
            DataType::Utf8 | DataType::Binary => {
                let (offsets, range) = rebase::<i32>(&data.buffers()[0], first, len)?;
                self.buffers.push(offsets);
                self.buffers
                    .push(Cow::Borrowed(&data.buffers()[1].as_slice()[range]));
            }
            DataType::LargeUtf8 | DataType::LargeBinary => {
                let (offsets, range) = rebase::<i64>(&data.buffers()[0], first, len)?;
                self.buffers.push(offsets);
                self.buffers
                    .push(Cow::Borrowed(&data.buffers()[1].as_slice()[range]));
            }
            DataType::List(_) => {
                let (offsets, range) = rebase::<i32>(&data.buffers()[0], first, len)?;
                self.buffers.push(offsets);
                self.push(&data.child_data()[0], range.start, range.len())?;
            }
            DataType::Struct(_) => {
                for child in data.child_data() {
                    self.push(child, start, len)?;
                }
            }
            other => match other.primitive_width() {
                Some(width) => {
                    let bytes = &data.buffers()[0].as_slice()[first * width..(first + len) * width];
                    self.buffers.push(Cow::Borrowed(bytes));
                }
                None => return Err(MarshalError::Unsupported(other.clone())),
            },
        }
        Ok(())
    }
}

/// `len` bits from bit `offset` of `bitmap`, borrowed when they start on a byte.
fn bits(bitmap: &[u8], offset: usize, len: usize) -> Cow<'_, [u8]> {
    if offset.is_multiple_of(8) {
        Cow::Borrowed(&bitmap[offset / 8..(offset + len).div_ceil(8)])
    } else {
        let mut out = vec![0u8; len.div_ceil(8)];
        for i in 0..len {
            let bit = offset + i;
            if bitmap[bit / 8] & (1 << (bit % 8)) != 0 {
                out[i / 8] |= 1 << (i % 8);
            }
        }
        Cow::Owned(out)
    }
}

trait Offset: Copy + Into<i64> + TryFrom<i64> + arrow::datatypes::ArrowNativeType {}
impl Offset for i32 {}
impl Offset for i64 {}

/// Offsets `offset..=offset + len` starting from 0, and the byte range of values they cover.
fn rebase<O: Offset>(
    offsets: &Buffer,
    offset: usize,
    len: usize,
) -> Result<(Cow<'_, [u8]>, std::ops::Range<usize>), MarshalError> {
    let typed: &[O] = &offsets.typed_data::<O>()[offset..=offset + len];
    let first: i64 = typed[0].into();
    let last: i64 = typed[len].into();
    let range = usize::try_from(first).unwrap_or(0)..usize::try_from(last).unwrap_or(0);
    let width = size_of::<O>();
    if first == 0 {
        return Ok((
            Cow::Borrowed(&offsets.as_slice()[offset * width..(offset + len + 1) * width]),
            range,
        ));
    }
    let mut out = Vec::with_capacity((len + 1) * width);
    for o in typed {
        let rebased =
            O::try_from((*o).into() - first).map_err(|_| malformed("offset out of range"))?;
        out.extend_from_slice(std::slice::from_ref(&rebased).to_byte_slice());
    }
    Ok((Cow::Owned(out), range))
}

/// Builds and fully validates the columns of a guest batch against the fields it was bound to.
pub fn decode_batch(fields: &Fields, batch: wit::Batch) -> Result<Vec<ArrayRef>, MarshalError> {
    let num_rows = batch.num_rows as usize;
    let mut nodes = batch.nodes.into_iter();
    let mut buffers = batch.buffers.into_iter();
    let mut columns = Vec::with_capacity(fields.len());
    for field in fields.iter() {
        let data = decode_array(field, &mut nodes, &mut buffers)?;
        if data.len() != num_rows {
            return Err(malformed(format!(
                "column '{}' has {} rows, the batch says {num_rows}",
                field.name(),
                data.len()
            )));
        }
        if !field.is_nullable() && data.null_count() > 0 {
            return Err(malformed(format!(
                "column '{}' is declared not null but has nulls",
                field.name()
            )));
        }
        columns.push(make_array(data));
    }
    if nodes.next().is_some() || buffers.next().is_some() {
        return Err(malformed(
            "batch has more nodes or buffers than its declared type",
        ));
    }
    Ok(columns)
}

fn decode_array(
    field: &Field,
    nodes: &mut impl Iterator<Item = wit::Node>,
    buffers: &mut impl Iterator<Item = Vec<u8>>,
) -> Result<ArrayData, MarshalError> {
    let name = field.name();
    let node = nodes
        .next()
        .ok_or_else(|| malformed(format!("batch ends before column '{name}' (missing node)")))?;
    let mut next = || {
        buffers.next().ok_or_else(|| {
            malformed(format!(
                "batch ends inside column '{name}' (missing buffer)"
            ))
        })
    };
    let len = node.length as usize;
    let data_type = field.data_type();
    let mut builder = ArrayData::builder(data_type.clone())
        .len(len)
        .align_buffers(true);
    if data_type != &DataType::Null {
        let validity = next()?;
        match (validity.is_empty(), node.null_count) {
            (true, 0) => {}
            (true, n) => {
                return Err(malformed(format!(
                    "column '{name}' has {n} nulls but no validity bitmap"
                )));
            }
            (false, _) => {
                if validity.len() < len.div_ceil(8) {
                    return Err(malformed(format!(
                        "column '{name}': validity bitmap too short for {len} rows"
                    )));
                }
                builder = builder.null_bit_buffer(Some(Buffer::from_vec(validity)));
            }
        }
    }
    // Arrow's validation panics, rather than failing, on a buffer of fixed-width values whose
    // length is not a whole number of them (found by fuzz/fuzz_targets/guest_batch.rs).
    let whole = |buffer: Vec<u8>, width: usize, what: &str| {
        if buffer.len().is_multiple_of(width) {
            Ok(Buffer::from_vec(buffer))
        } else {
            Err(malformed(format!(
                "column '{name}': its {what} buffer is {} bytes, not a whole number of {width}-byte values",
                buffer.len()
            )))
        }
    };
    builder = match data_type {
        DataType::Null => builder,
        DataType::Utf8 | DataType::Binary | DataType::LargeUtf8 | DataType::LargeBinary => {
            let width = if matches!(data_type, DataType::Utf8 | DataType::Binary) {
                4
            } else {
                8
            };
            let offsets = whole(next()?, width, "offsets")?;
            let values = next()?;
            builder
                .add_buffer(offsets)
                .add_buffer(Buffer::from_vec(values))
        }
        DataType::List(item) => {
            let offsets = whole(next()?, 4, "offsets")?;
            let child = decode_array(item, nodes, buffers)?;
            builder.add_buffer(offsets).add_child_data(child)
        }
        DataType::Struct(children) => {
            for child in children.iter() {
                let data = decode_array(child, nodes, buffers)?;
                if data.len() != len {
                    return Err(malformed(format!(
                        "struct column '{name}': child '{}' has {} rows, not {len}",
                        child.name(),
                        data.len()
                    )));
                }
                builder = builder.add_child_data(data);
            }
            builder
        }
        _ => match data_type.primitive_width() {
            Some(width) => builder.add_buffer(whole(next()?, width, "values")?),
            None => builder.add_buffer(Buffer::from_vec(next()?)),
        },
    };
    builder
        .build()
        .map_err(|e| malformed(format!("column '{name}': {e}")))
}

/// The schema of fields, as a record batch schema.
pub fn schema_of(fields: &Fields) -> Arc<Schema> {
    Arc::new(Schema::new(fields.clone()))
}

#[cfg(test)]
mod tests {
    //! A guest's batch is untrusted: what `decode_batch` accepts must be valid Arrow, and
    //! every way a batch can lie is refused with a message that says how.

    use arrow::array::{
        BooleanArray, Decimal128Array, Int32Array, Int64Array, ListArray, StringArray, StructArray,
    };
    use arrow::datatypes::Int32Type;

    use super::*;

    /// Columns laid out for a guest and handed back unchanged, as an echoing guest would.
    fn round_trip(columns: &[ArrayRef]) -> Result<Vec<ArrayRef>, MarshalError> {
        let fields: Fields = columns
            .iter()
            .enumerate()
            .map(|(i, c)| Field::new(format!("c{i}"), c.data_type().clone(), true))
            .collect();
        let data: Vec<ArrayData> = columns.iter().map(|c| c.to_data()).collect();
        let rows = columns.first().map_or(0, |c| c.len());
        let batch = GuestBatch::new(rows, &data)?.into_owned_wit();
        decode_batch(&fields, batch)
    }

    fn int32_batch(rows: u32, nodes: Vec<wit::Node>, buffers: Vec<Vec<u8>>) -> wit::Batch {
        wit::Batch {
            num_rows: rows,
            nodes,
            buffers,
        }
    }

    fn node(length: u32, null_count: u32) -> wit::Node {
        wit::Node { length, null_count }
    }

    fn ints(values: &[i32]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    fn refused(fields: &Fields, batch: wit::Batch) -> String {
        match decode_batch(fields, batch) {
            Ok(columns) => panic!("accepted: {columns:?}"),
            Err(e) => e.to_string(),
        }
    }

    fn int32_field(nullable: bool) -> Fields {
        Fields::from(vec![Field::new("x", DataType::Int32, nullable)])
    }

    #[test]
    fn every_guest_type_comes_back_as_it_went() {
        let list = ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
            Some(vec![Some(1), None]),
            None,
            Some(vec![]),
        ]);
        let strukt = StructArray::from(vec![
            (
                Arc::new(Field::new("a", DataType::Int32, true)),
                Arc::new(Int32Array::from(vec![Some(1), None, Some(3)])) as ArrayRef,
            ),
            (
                Arc::new(Field::new("b", DataType::Utf8, true)),
                Arc::new(StringArray::from(vec!["x", "yy", ""])) as ArrayRef,
            ),
        ]);
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(vec![Some(-1), None, Some(i64::MAX)])),
            Arc::new(StringArray::from(vec![Some("é"), None, Some("abc")])),
            Arc::new(BooleanArray::from(vec![Some(true), Some(false), None])),
            Arc::new(
                Decimal128Array::from(vec![Some(12345), None, Some(-1)])
                    .with_precision_and_scale(10, 2)
                    .unwrap(),
            ),
            Arc::new(list),
            Arc::new(strukt),
        ];
        let back = round_trip(&columns).unwrap();
        assert_eq!(back.len(), columns.len());
        for (sent, received) in columns.iter().zip(&back) {
            assert_eq!(sent.to_data(), received.to_data());
        }
    }

    #[test]
    fn a_slice_goes_out_rebased() {
        let column: ArrayRef = Arc::new(StringArray::from(vec!["a", "bb", "ccc", "dddd"]));
        let sliced = column.slice(1, 2);
        let back = round_trip(std::slice::from_ref(&sliced)).unwrap();
        assert_eq!(back[0].as_ref(), sliced.as_ref());
    }

    #[test]
    fn a_buffer_too_short_for_its_rows_is_refused() {
        let batch = int32_batch(3, vec![node(3, 0)], vec![vec![], ints(&[1, 2])]);
        let message = refused(&int32_field(true), batch);
        assert!(!message.is_empty());
    }

    #[test]
    fn a_column_of_another_length_than_the_batch_is_refused() {
        let batch = int32_batch(4, vec![node(3, 0)], vec![vec![], ints(&[1, 2, 3])]);
        let message = refused(&int32_field(true), batch);
        assert!(
            message.contains("has 3 rows, the batch says 4"),
            "{message}"
        );
    }

    #[test]
    fn nulls_in_a_column_declared_not_null_are_refused() {
        let batch = int32_batch(3, vec![node(3, 1)], vec![vec![0b101], ints(&[1, 0, 3])]);
        let message = refused(&int32_field(false), batch);
        assert!(message.contains("declared not null"), "{message}");
    }

    /// A guest's null count is a claim; the validity bits decide, so the column is valid
    /// Arrow whatever it says.
    #[test]
    fn the_validity_bits_decide_the_nulls_not_the_claimed_count() {
        let batch = int32_batch(3, vec![node(3, 2)], vec![vec![0b101], ints(&[1, 0, 3])]);
        let columns = decode_batch(&int32_field(true), batch).unwrap();
        assert_eq!(columns[0].null_count(), 1);
        columns[0].to_data().validate_full().unwrap();
    }

    #[test]
    fn missing_nodes_or_buffers_are_refused() {
        refused(&int32_field(true), int32_batch(3, vec![], vec![]));
        refused(
            &int32_field(true),
            int32_batch(3, vec![node(3, 0)], vec![vec![]]),
        );
    }

    #[test]
    fn string_offsets_past_the_data_or_invalid_utf8_are_refused() {
        let fields = Fields::from(vec![Field::new("s", DataType::Utf8, true)]);
        let past_end = int32_batch(
            2,
            vec![node(2, 0)],
            vec![vec![], ints(&[0, 2, 9]), b"abc".to_vec()],
        );
        refused(&fields, past_end);
        let decreasing = int32_batch(
            2,
            vec![node(2, 0)],
            vec![vec![], ints(&[0, 2, 1]), b"abc".to_vec()],
        );
        refused(&fields, decreasing);
        let not_utf8 = int32_batch(
            1,
            vec![node(1, 0)],
            vec![vec![], ints(&[0, 2]), vec![0xff, 0xfe]],
        );
        refused(&fields, not_utf8);
    }

    /// Found by the guest_batch fuzz target: Arrow's validation panicked on these.
    #[test]
    fn buffers_that_are_not_whole_values_are_refused() {
        let strings = Fields::from(vec![Field::new("s", DataType::Utf8, true)]);
        let mut offsets = ints(&[0, 1, 2]);
        offsets.push(0);
        let batch = int32_batch(2, vec![node(2, 0)], vec![vec![], offsets, b"ab".to_vec()]);
        let message = refused(&strings, batch);
        assert!(message.contains("offsets buffer is 13 bytes"), "{message}");
        let mut values = ints(&[1, 2, 3]);
        values.push(0);
        let message = refused(
            &int32_field(true),
            int32_batch(3, vec![node(3, 0)], vec![vec![], values]),
        );
        assert!(message.contains("values buffer is 13 bytes"), "{message}");
    }

    #[test]
    fn list_offsets_past_the_child_are_refused() {
        let item = Arc::new(Field::new("item", DataType::Int32, true));
        let fields = Fields::from(vec![Field::new("l", DataType::List(item), true)]);
        let batch = int32_batch(
            1,
            vec![node(1, 0), node(2, 0)],
            vec![vec![], ints(&[0, 5]), vec![], ints(&[1, 2])],
        );
        refused(&fields, batch);
    }

    #[test]
    fn types_a_guest_cannot_take_are_named() {
        let field = Arc::new(Field::new("d", DataType::Duration(TimeUnit::Second), true));
        let message = match encode_schema([&field]) {
            Ok(_) => panic!("a duration was accepted"),
            Err(e) => e.to_string(),
        };
        assert!(message.contains("cannot be passed to a guest"), "{message}");
    }

    #[test]
    fn schemas_come_back_as_they_went() {
        let item = Arc::new(Field::new("item", DataType::Utf8, true));
        let fields: Fields = vec![
            Field::new("l", DataType::List(item), false),
            Field::new(
                "t",
                DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
                true,
            ),
            Field::new("d", DataType::Decimal128(20, 3), true),
        ]
        .into();
        let encoded = encode_schema(fields.iter()).unwrap();
        assert_eq!(decode_schema(&encoded).unwrap(), fields);
    }
}
