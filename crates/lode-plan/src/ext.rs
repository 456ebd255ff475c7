//! Lode's Substrait extension (substrait-ext/README.md): Wasm modules carried in
//! `Plan.advanced_extensions.enhancement` as a [`ModuleTable`], functions declared under
//! `extension:lode.wasm:<sha256>` URNs, and [`WasmRel`] details of extension relations.

use prost::Message;
use substrait::proto::Plan;
use substrait::proto::extensions::AdvancedExtension;

/// The generated messages of `substrait-ext/proto/lode/ext/v1/lode.proto`.
pub mod proto {
    include!(concat!(env!("OUT_DIR"), "/lode.ext.v1.rs"));
    include!(concat!(env!("OUT_DIR"), "/lode.ext.v1.serde.rs"));
}

pub use proto::{ModuleTable, WasmModule, WasmRel};

/// The URN prefix of a Wasm module's functions; the sha256 (lowercase hex) follows.
pub const WASM_URN_PREFIX: &str = "extension:lode.wasm:";
pub const MODULE_TABLE_TYPE_URL: &str = "type.googleapis.com/lode.ext.v1.ModuleTable";
pub const WASM_REL_TYPE_URL: &str = "type.googleapis.com/lode.ext.v1.WasmRel";

/// The URN of the module with this hash.
pub fn module_urn(sha256: &str) -> String {
    format!("{WASM_URN_PREFIX}{sha256}")
}

/// The module hash named by a Lode Wasm URN, if `urn` is one.
pub fn module_of_urn(urn: &str) -> Option<&str> {
    urn.strip_prefix(WASM_URN_PREFIX)
}

/// True for a lowercase hex sha256.
pub fn is_sha256(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Why a plan's Lode extension content cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ExtError {
    #[error(
        "advanced_extensions.enhancement has type '{0}', which Lode does not know; a consumer must reject a plan whose enhancement it does not understand"
    )]
    UnknownEnhancement(String),
    #[error("advanced_extensions.enhancement: the ModuleTable does not decode: {0}")]
    BadModuleTable(prost::DecodeError),
    #[error("{path}: the WasmRel detail does not decode: {source}")]
    BadWasmRel {
        path: String,
        source: prost::DecodeError,
    },
    #[error("{path}: detail has type '{type_url}', not {WASM_REL_TYPE_URL}")]
    UnknownDetail { path: String, type_url: String },
    /// The plan did not survive its proto3 JSON form (a bug, not a user error).
    #[error("the plan as proto3 JSON: {0}")]
    Json(String),
}

/// The plan's module table: empty when the plan carries none.
pub fn module_table(plan: &Plan) -> Result<ModuleTable, ExtError> {
    let Some(enhancement) = plan
        .advanced_extensions
        .as_ref()
        .and_then(|a| a.enhancement.as_ref())
    else {
        return Ok(ModuleTable::default());
    };
    if enhancement.type_url != MODULE_TABLE_TYPE_URL {
        return Err(ExtError::UnknownEnhancement(enhancement.type_url.clone()));
    }
    ModuleTable::decode(enhancement.value.as_ref()).map_err(ExtError::BadModuleTable)
}

/// Stores `table` as the plan's enhancement (replacing any).
pub fn set_module_table(plan: &mut Plan, table: &ModuleTable) {
    let any = pbjson_types::Any {
        type_url: MODULE_TABLE_TYPE_URL.into(),
        value: table.encode_to_vec().into(),
    };
    let advanced = plan
        .advanced_extensions
        .get_or_insert_with(AdvancedExtension::default);
    advanced.enhancement = Some(any);
}

/// Decodes the `WasmRel` detail of an extension relation at `path`.
pub fn wasm_rel(detail: &pbjson_types::Any, path: &str) -> Result<WasmRel, ExtError> {
    if detail.type_url != WASM_REL_TYPE_URL {
        return Err(ExtError::UnknownDetail {
            path: path.into(),
            type_url: detail.type_url.clone(),
        });
    }
    WasmRel::decode(detail.value.as_ref()).map_err(|source| ExtError::BadWasmRel {
        path: path.into(),
        source,
    })
}

/// Calls `rewrite` on every `WasmRel` detail of the plan, wherever it is (relations, subqueries),
/// and stores what it left. Returns how many details there were. The plan travels through its
/// proto3 JSON form, so no relation or expression kind can be missed.
pub fn rewrite_wasm_rels(
    plan: &mut Plan,
    mut rewrite: impl FnMut(&mut WasmRel),
) -> Result<usize, ExtError> {
    fn walk(
        value: &mut serde_json::Value,
        rewrite: &mut dyn FnMut(&mut WasmRel),
        count: &mut usize,
    ) -> Result<(), ExtError> {
        match value {
            serde_json::Value::Object(fields) => {
                if fields.get("typeUrl").and_then(|t| t.as_str()) == Some(WASM_REL_TYPE_URL) {
                    let any: pbjson_types::Any = serde_json::from_value(value.clone())
                        .map_err(|e| ExtError::Json(e.to_string()))?;
                    let mut rel = wasm_rel(&any, "a WasmRel detail")?;
                    rewrite(&mut rel);
                    let any = pbjson_types::Any {
                        type_url: any.type_url,
                        value: rel.encode_to_vec().into(),
                    };
                    *value =
                        serde_json::to_value(any).map_err(|e| ExtError::Json(e.to_string()))?;
                    *count += 1;
                    return Ok(());
                }
                fields
                    .values_mut()
                    .try_for_each(|child| walk(child, rewrite, count))
            }
            serde_json::Value::Array(items) => items
                .iter_mut()
                .try_for_each(|child| walk(child, rewrite, count)),
            _ => Ok(()),
        }
    }
    let mut value = serde_json::to_value(&*plan).map_err(|e| ExtError::Json(e.to_string()))?;
    let mut count = 0;
    walk(&mut value, &mut rewrite, &mut count)?;
    if count > 0 {
        *plan = serde_json::from_value(value).map_err(|e| ExtError::Json(e.to_string()))?;
    }
    Ok(count)
}

/// Rewrites `google.protobuf.Any` values written out in proto3 JSON's expanded form
/// (`{"@type": "type.googleapis.com/lode.ext.v1.WasmRel", "name": ...}`) into the packed form
/// (`{"typeUrl": ..., "value": <base64>}`) the Substrait decoder reads. Returns how many it
/// packed; an expanded value that does not decode is an error naming its JSON path.
pub fn pack_expanded_any(value: &mut serde_json::Value) -> Result<usize, (String, String)> {
    fn walk(
        value: &mut serde_json::Value,
        path: &mut String,
        packed: &mut usize,
    ) -> Result<(), (String, String)> {
        match value {
            serde_json::Value::Object(fields) => {
                if let Some(serde_json::Value::String(type_url)) = fields.get("@type") {
                    let type_url = type_url.clone();
                    let mut body = fields.clone();
                    body.remove("@type");
                    let body = serde_json::Value::Object(body);
                    let bytes = match type_url.as_str() {
                        WASM_REL_TYPE_URL => serde_json::from_value::<WasmRel>(body)
                            .map(|m| m.encode_to_vec()),
                        MODULE_TABLE_TYPE_URL => serde_json::from_value::<ModuleTable>(body)
                            .map(|m| m.encode_to_vec()),
                        other => {
                            return Err((
                                path.clone(),
                                format!("`@type` '{other}' is not a message Lode knows ({WASM_REL_TYPE_URL} or {MODULE_TABLE_TYPE_URL})"),
                            ));
                        }
                    }
                    .map_err(|e| (path.clone(), format!("{type_url}: {e}")))?;
                    let any = pbjson_types::Any {
                        type_url,
                        value: bytes.into(),
                    };
                    *value =
                        serde_json::to_value(any).map_err(|e| (path.clone(), e.to_string()))?;
                    *packed += 1;
                    return Ok(());
                }
                for (key, child) in fields.iter_mut() {
                    let len = path.len();
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(key);
                    walk(child, path, packed)?;
                    path.truncate(len);
                }
                Ok(())
            }
            serde_json::Value::Array(items) => {
                for (i, child) in items.iter_mut().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    walk(child, path, packed)?;
                    path.truncate(len);
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
    let mut packed = 0;
    walk(value, &mut String::new(), &mut packed)?;
    Ok(packed)
}
