//! Writing Avro object container files, as Iceberg's manifests and manifest lists are: a
//! header carrying the writer's schema (with Iceberg's field ids, which a generic writer
//! derived from Arrow would not carry) and key-value metadata, then one uncompressed block
//! of records the caller encodes with the `put_*` functions, in schema order.

/// An Avro object container file being written.
pub(crate) struct AvroFile {
    metadata: Vec<(String, Vec<u8>)>,
    records: Vec<u8>,
    count: i64,
}

impl AvroFile {
    /// A file whose records follow `schema` (Avro schema JSON), with `metadata` beside it.
    pub(crate) fn new(schema: &str, metadata: &[(&str, String)]) -> AvroFile {
        let mut all = vec![
            ("avro.schema".to_string(), schema.as_bytes().to_vec()),
            ("avro.codec".to_string(), b"null".to_vec()),
        ];
        all.extend(
            metadata
                .iter()
                .map(|(key, value)| (key.to_string(), value.as_bytes().to_vec())),
        );
        AvroFile {
            metadata: all,
            records: Vec::new(),
            count: 0,
        }
    }

    /// The buffer the next record is encoded into; call once per record.
    pub(crate) fn record(&mut self) -> &mut Vec<u8> {
        self.count += 1;
        &mut self.records
    }

    /// The file's bytes.
    pub(crate) fn finish(self) -> Vec<u8> {
        let sync: Vec<u8> = [super::random_u64(), super::random_u64()]
            .iter()
            .flat_map(|n| n.to_le_bytes())
            .collect();
        let mut out = b"Obj\x01".to_vec();
        put_long(&mut out, self.metadata.len() as i64);
        for (key, value) in &self.metadata {
            put_string(&mut out, key);
            put_bytes(&mut out, value);
        }
        put_long(&mut out, 0);
        out.extend_from_slice(&sync);
        if self.count > 0 {
            put_long(&mut out, self.count);
            put_long(&mut out, self.records.len() as i64);
            out.extend_from_slice(&self.records);
            out.extend_from_slice(&sync);
        }
        out
    }
}

/// An Avro `long` (or `int`): zig-zag, then variable length.
pub(crate) fn put_long(out: &mut Vec<u8>, value: i64) {
    let mut n = ((value << 1) ^ (value >> 63)) as u64;
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

pub(crate) fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_long(out, bytes.len() as i64);
    out.extend_from_slice(bytes);
}

pub(crate) fn put_string(out: &mut Vec<u8>, value: &str) {
    put_bytes(out, value.as_bytes());
}

/// A `["null", T]` union: `None` as its null branch; `Some` selects `T`, which the caller
/// then encodes.
pub(crate) fn put_optional(out: &mut Vec<u8>, present: bool) {
    put_long(out, i64::from(present));
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_avro::reader::ReaderBuilder;
    use datafusion::arrow::array::{Array, AsArray, Int64Array};
    use datafusion::arrow::datatypes::Int64Type;

    #[test]
    fn a_written_file_reads_back_with_arrow_avro() {
        let schema = r#"{"type": "record", "name": "r", "fields": [
            {"name": "n", "type": "long", "field-id": 1},
            {"name": "s", "type": "string", "field-id": 2},
            {"name": "o", "type": ["null", "long"], "field-id": 3}]}"#;
        let mut file = AvroFile::new(schema, &[("format-version", "2".into())]);
        for (n, s, o) in [(-3i64, "x", None), (300, "long text", Some(7i64))] {
            let record = file.record();
            put_long(record, n);
            put_string(record, s);
            put_optional(record, o.is_some());
            if let Some(o) = o {
                put_long(record, o);
            }
        }
        let bytes = file.finish();
        let reader = ReaderBuilder::new()
            .build(std::io::Cursor::new(bytes))
            .expect("reader");
        let batches: Vec<_> = reader.collect::<Result<_, _>>().expect("batches");
        let batch = &batches[0];
        let n = batch.column(0).as_primitive::<Int64Type>();
        assert_eq!(n.values(), &[-3, 300]);
        assert_eq!(batch.column(1).as_string::<i32>().value(1), "long text");
        let o = batch
            .column(2)
            .as_any()
            .downcast_ref::<Int64Array>()
            .expect("long");
        assert!(o.is_null(0));
        assert_eq!(o.value(1), 7);
    }
}
