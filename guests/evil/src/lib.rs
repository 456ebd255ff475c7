//! A hostile guest for the host's tests. Each function misbehaves in one way; all take and
//! return i64 so plans can call them on any integer column.

use lode_guest::prelude::*;

fn i64_sig() -> Vec<Signature> {
    vec![Signature::new(vec![DataType::Int64], DataType::Int64)]
}

fn identity(batch: &Batch) -> Column {
    let x = batch.column(0);
    let mut out = PrimitiveBuilder::new(DataType::Int64, batch.num_rows);
    for row in 0..batch.num_rows {
        out.push(x.is_valid(row).then(|| x.values::<i64>()[row]));
    }
    out.finish()
}

#[allow(clippy::empty_loop)]
fn spin(_: &Batch) -> Result<Column, CallError> {
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

fn memory_bomb(_: &Batch) -> Result<Column, CallError> {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        hoard.push(vec![1u8; 16 << 20]);
        std::hint::black_box(&hoard);
    }
}

fn trap_mid_batch(batch: &Batch) -> Result<Column, CallError> {
    if batch.num_rows > 2 {
        panic!(
            "evil: deliberate panic in the middle of a batch of {} rows",
            batch.num_rows
        );
    }
    Ok(identity(batch))
}

fn wrong_length(batch: &Batch) -> Result<Column, CallError> {
    let mut out = PrimitiveBuilder::new(DataType::Int64, 1);
    out.push(Some(batch.num_rows as i64));
    Ok(out.finish())
}

fn malformed(batch: &Batch) -> Result<Column, CallError> {
    // Declares i64 values but writes one byte per row: the values buffer is too short.
    let mut out = PrimitiveBuilder::<u8>::new(DataType::Int64, batch.num_rows);
    for row in 0..batch.num_rows {
        out.push(Some(row as u8));
    }
    Ok(out.finish())
}

fn fail_on_negative(batch: &Batch) -> Result<Column, CallError> {
    let x = batch.column(0);
    for row in 0..batch.num_rows {
        if x.is_valid(row) && x.values::<i64>()[row] < 0 {
            return Err(CallError::at_row(row, "negative input"));
        }
    }
    Ok(identity(batch))
}

fn oversized(batch: &Batch) -> Result<Column, CallError> {
    // 64 MiB per row: a few rows exceed any sensible memory cap.
    let mut out = VariableBuilder::strings(batch.num_rows);
    let huge = "x".repeat(64 << 20);
    for _ in 0..batch.num_rows {
        out.push_str(Some(&huge));
    }
    Ok(out.finish())
}

/// Binds output (x: i64) but emits a string column.
struct Mislabeled;

impl Operator for Mislabeled {
    fn push(&mut self, _input: u32, batch: Batch) -> Result<Vec<Batch>, CallError> {
        let mut out = VariableBuilder::strings(batch.num_rows);
        for _ in 0..batch.num_rows {
            out.push_str(Some("not a number"));
        }
        Ok(vec![Batch::new(
            vec![Field::new("x", DataType::Utf8, true)],
            vec![out.finish()],
        )])
    }

    fn finish(&mut self) -> Result<Vec<Batch>, CallError> {
        Ok(Vec::new())
    }
}

fn module() -> Module {
    Module::new("evil")
        .scalar("spin", "loops forever", i64_sig(), spin)
        .scalar(
            "memory_bomb",
            "allocates until refused",
            i64_sig(),
            memory_bomb,
        )
        .scalar(
            "trap_mid_batch",
            "panics on batches of more than 2 rows",
            i64_sig(),
            trap_mid_batch,
        )
        .scalar(
            "wrong_length",
            "returns one row whatever the input",
            i64_sig(),
            wrong_length,
        )
        .scalar(
            "malformed",
            "returns a values buffer too short for its rows",
            i64_sig(),
            malformed,
        )
        .scalar(
            "fail_on_negative",
            "an error value naming the first negative row",
            i64_sig(),
            fail_on_negative,
        )
        .scalar(
            "identity",
            "returns its argument",
            i64_sig(),
            |b: &Batch| Ok(identity(b)),
        )
        .scalar(
            "oversized",
            "returns 64 MiB per row",
            vec![Signature::new(vec![DataType::Int64], DataType::Utf8)],
            oversized,
        )
        .operator(
            "mislabeled",
            "binds an i64 output but emits strings",
            |_, _| Ok(vec![Field::new("x", DataType::Int64, true)]),
            |_, _, _| Ok(Box::new(Mislabeled) as Box<dyn Operator>),
        )
}

lode_guest::export!(module);
