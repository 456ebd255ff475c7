//! Reading Substrait plans: binary protobuf or the proto3 JSON mapping, auto-detected.

use std::path::Path;

use prost::Message;
use substrait::proto::Plan;
use tracing::debug;

use crate::dialect::{self, Hook};
use crate::error::{PlanError, Result};
use crate::legacy;

/// The two encodings of a Substrait plan Lode accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanFormat {
    /// `substrait.Plan` as binary protobuf (`.pb`, `.bin`, `.substrait`).
    Binary,
    /// The proto3 JSON mapping of `substrait.Plan`, as other Substrait tools write it.
    Json,
}

impl PlanFormat {
    /// The format to *write* for a file name: `.json` is JSON, anything else binary.
    pub fn for_output_path(path: &Path) -> PlanFormat {
        match path.extension().and_then(|e| e.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("json") => PlanFormat::Json,
            _ => PlanFormat::Binary,
        }
    }

    /// Detects the encoding from the content, never from the file name: a JSON plan starts
    /// with `{` after optional whitespace or a byte-order mark. No binary `Plan` can start with
    /// `{` (0x7B would be field 15 with the deprecated group wire type, which `Plan` lacks).
    pub fn detect(bytes: &[u8]) -> PlanFormat {
        let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        match text.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') => PlanFormat::Json,
            _ => PlanFormat::Binary,
        }
    }
}

/// A plan as read, with what the reader had to do to it.
#[derive(Debug, Clone)]
pub struct DecodedPlan {
    pub plan: Plan,
    pub format: PlanFormat,
    /// Extension URIs of a pre-URN plan (Substrait < 0.74) that were turned into URNs.
    pub upgraded_uris: Vec<legacy::UpgradedUri>,
    /// Producer departures from the spec that decoding had to read as the producer meant them,
    /// with how often each occurred.
    pub decode_hooks: Vec<(Hook, usize)>,
}

impl DecodedPlan {
    /// A plan built in memory, which decoding had nothing to upgrade in.
    pub fn new(plan: Plan, format: PlanFormat) -> Self {
        DecodedPlan {
            plan,
            format,
            upgraded_uris: Vec::new(),
            decode_hooks: Vec::new(),
        }
    }
}

/// Reads a plan file (binary or JSON, detected from the content).
pub fn read_plan_file(path: &Path) -> Result<DecodedPlan> {
    let bytes = std::fs::read(path).map_err(|source| PlanError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    decode_plan(&bytes)
}

/// Decodes a plan from bytes (binary or JSON, detected from the content).
pub fn decode_plan(bytes: &[u8]) -> Result<DecodedPlan> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(PlanError::Empty);
    }
    let format = PlanFormat::detect(bytes);
    let _span = tracing::debug_span!("decode", ?format, bytes = bytes.len()).entered();
    let decoded = match format {
        PlanFormat::Binary => decode_binary(bytes)?,
        PlanFormat::Json => decode_json(bytes)?,
    };
    debug!(
        relations = decoded.plan.relations.len(),
        upgraded_uris = decoded.upgraded_uris.len(),
        "plan decoded"
    );
    Ok(decoded)
}

fn decode_binary(bytes: &[u8]) -> Result<DecodedPlan> {
    match Plan::decode(bytes) {
        Ok(mut plan) => {
            let upgraded_uris = legacy::upgrade_binary(bytes, &mut plan);
            Ok(DecodedPlan {
                plan,
                format: PlanFormat::Binary,
                upgraded_uris,
                decode_hooks: Vec::new(),
            })
        }
        Err(err) => Err(PlanError::Binary {
            message: err.to_string(),
            offset: first_malformed_field_offset(bytes),
        }),
    }
}

fn decode_json(bytes: &[u8]) -> Result<DecodedPlan> {
    let text =
        std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)).map_err(|e| {
            let (line, column) = line_column(bytes, e.valid_up_to());
            PlanError::JsonSyntax {
                line,
                column,
                message: "invalid UTF-8".into(),
            }
        })?;
    let mut value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| PlanError::JsonSyntax {
            line: e.line(),
            column: e.column(),
            message: strip_position(&e),
        })?;
    let upgraded_uris = legacy::upgrade_json(&mut value);
    let renamed_join_types = dialect::upgrade_json_join_types(&mut value);
    let packed = crate::ext::pack_expanded_any(&mut value).map_err(|(path, message)| {
        PlanError::JsonSchema {
            path,
            line: None,
            column: None,
            message,
        }
    })?;
    let plan = if upgraded_uris.is_empty() && packed == 0 && renamed_join_types == 0 {
        // Straight from the text, so schema errors carry a line and column.
        let mut de = serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize::<_, Plan>(&mut de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            PlanError::JsonSchema {
                path,
                line: Some(inner.line()),
                column: Some(inner.column()),
                message: strip_position(&inner),
            }
        })?
    } else {
        serde_path_to_error::deserialize::<_, Plan>(value).map_err(|e| PlanError::JsonSchema {
            path: e.path().to_string(),
            line: None,
            column: None,
            message: e.into_inner().to_string(),
        })?
    };
    let decode_hooks = (renamed_join_types > 0)
        .then_some((Hook::LegacyJoinTypeNames, renamed_join_types))
        .into_iter()
        .collect();
    Ok(DecodedPlan {
        plan,
        format: PlanFormat::Json,
        upgraded_uris,
        decode_hooks,
    })
}

/// serde_json appends " at line L column C" to its messages; Lode reports those separately.
fn strip_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

fn line_column(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
    (line, column)
}

/// Walks the top-level protobuf fields and returns the offset of the first one that is not
/// well-formed (bad key, truncated varint or length, length past the end). Protobuf carries no
/// schema, so deeper problems are located by prost's field path in the message instead.
fn first_malformed_field_offset(bytes: &[u8]) -> Option<usize> {
    let mut pos = 0;
    while pos < bytes.len() {
        let field_start = pos;
        let Some((key, next)) = read_varint(bytes, pos) else {
            return Some(field_start);
        };
        pos = next;
        if key >> 3 == 0 {
            return Some(field_start);
        }
        pos = match key & 7 {
            0 => match read_varint(bytes, pos) {
                Some((_, next)) => next,
                None => return Some(field_start),
            },
            1 => pos + 8,
            2 => match read_varint(bytes, pos) {
                Some((len, next)) => {
                    match usize::try_from(len).ok().and_then(|l| next.checked_add(l)) {
                        Some(end) => end,
                        None => return Some(field_start),
                    }
                }
                None => return Some(field_start),
            },
            5 => pos + 4,
            _ => return Some(field_start),
        };
        if pos > bytes.len() {
            return Some(field_start);
        }
    }
    None
}

fn read_varint(bytes: &[u8], mut pos: usize) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(pos)?;
        pos += 1;
        value |= u64::from(byte & 0x7F) << shift;
        if byte & 0x80 == 0 {
            return Some((value, pos));
        }
    }
    None
}

/// Encodes a plan in the requested format (JSON is pretty-printed, as committed in `plans/`).
pub fn encode_plan(plan: &Plan, format: PlanFormat) -> Result<Vec<u8>> {
    match format {
        PlanFormat::Binary => Ok(plan.encode_to_vec()),
        PlanFormat::Json => {
            let mut out = serde_json::to_vec_pretty(plan).map_err(|e| PlanError::Encode {
                message: e.to_string(),
            })?;
            out.push(b'\n');
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_json_after_whitespace_and_bom() {
        assert_eq!(PlanFormat::detect(b"  \n{}"), PlanFormat::Json);
        assert_eq!(PlanFormat::detect(b"\xEF\xBB\xBF{}"), PlanFormat::Json);
        assert_eq!(PlanFormat::detect(&[0x1a, 0x00]), PlanFormat::Binary);
    }

    #[test]
    fn json_syntax_error_has_line_and_column() {
        let err = decode_plan(b"{\n  \"relations\": [\n    {,\n  ]\n}").unwrap_err();
        match err {
            PlanError::JsonSyntax { line, column, .. } => assert_eq!((line, column), (3, 6)),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn json_schema_error_has_path() {
        let err = decode_plan(br#"{"relations": [{"root": {"names": 7}}]}"#).unwrap_err();
        match err {
            PlanError::JsonSchema { path, line, .. } => {
                assert_eq!(path, "relations[0].root.names");
                assert_eq!(line, Some(1));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn truncated_binary_reports_offset() {
        // Field 3 (relations), length-delimited, declares 100 bytes but 2 follow.
        let err = decode_plan(&[0x1a, 100, 0x0a, 0x00]).unwrap_err();
        match err {
            PlanError::Binary { offset, .. } => assert_eq!(offset, Some(0)),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn empty_input_is_its_own_error() {
        assert!(matches!(decode_plan(b"  \n"), Err(PlanError::Empty)));
    }
}
