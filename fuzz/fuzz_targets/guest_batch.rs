//! A batch a guest hands back: any nodes and buffers, read against the fields the host bound
//! the call to. `decode_batch` must refuse what is malformed, and what it accepts must be
//! valid Arrow (a finding otherwise, as is a panic).
//!
//! Input: byte 0 picks the fields; then the row count (u32 LE), a node count byte and 8
//! bytes per node, then buffers as a u16 LE length and that many bytes, until the input ends.

#![no_main]

use std::sync::Arc;

use arrow::array::Array;
use arrow::datatypes::{DataType, Field, Fields, TimeUnit};
use libfuzzer_sys::fuzz_target;
use lode_wasm::marshal::decode_batch;
use lode_wasm::wit::{Batch, Node};

fn fields(choice: u8) -> Fields {
    let item = Arc::new(Field::new("item", DataType::Int32, true));
    let schemas: [Vec<Field>; 10] = [
        vec![Field::new("a", DataType::Int32, true)],
        vec![Field::new("a", DataType::Int64, false)],
        vec![Field::new("a", DataType::Utf8, true)],
        vec![Field::new("a", DataType::Boolean, true), Field::new("b", DataType::Float64, true)],
        vec![Field::new("a", DataType::Decimal128(38, 10), true)],
        vec![Field::new("a", DataType::List(item), true)],
        vec![Field::new(
            "a",
            DataType::Struct(Fields::from(vec![
                Field::new("x", DataType::Int32, true),
                Field::new("y", DataType::Utf8, false),
            ])),
            true,
        )],
        vec![
            Field::new("a", DataType::Date32, true),
            Field::new("b", DataType::Timestamp(TimeUnit::Microsecond, None), true),
        ],
        vec![Field::new("a", DataType::LargeBinary, true)],
        vec![Field::new("a", DataType::LargeUtf8, false), Field::new("b", DataType::UInt8, true)],
    ];
    Fields::from(schemas[choice as usize % schemas.len()].clone())
}

/// Reads `n` bytes from the front of `data`.
fn take<'a>(data: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    let (head, rest) = data.split_at_checked(n)?;
    *data = rest;
    Some(head)
}

fn batch(mut data: &[u8]) -> Option<(Fields, Batch)> {
    let fields = fields(take(&mut data, 1)?[0]);
    let num_rows = u32::from_le_bytes(take(&mut data, 4)?.try_into().ok()?);
    let count = take(&mut data, 1)?[0] as usize;
    let mut nodes = Vec::with_capacity(count);
    for _ in 0..count {
        let node = take(&mut data, 8)?;
        nodes.push(Node {
            length: u32::from_le_bytes(node[..4].try_into().ok()?),
            null_count: u32::from_le_bytes(node[4..].try_into().ok()?),
        });
    }
    let mut buffers = Vec::new();
    while let Some(length) = take(&mut data, 2) {
        let length = u16::from_le_bytes([length[0], length[1]]) as usize;
        let available = length.min(data.len());
        buffers.push(take(&mut data, available)?.to_vec());
    }
    Some((
        fields,
        Batch {
            num_rows,
            nodes,
            buffers,
        },
    ))
}

fuzz_target!(|data: &[u8]| {
    let Some((fields, batch)) = batch(data) else {
        return;
    };
    if let Ok(columns) = decode_batch(&fields, batch) {
        for column in columns {
            column
                .to_data()
                .validate_full()
                .expect("decode_batch accepted a column that is not valid Arrow");
        }
    }
});
