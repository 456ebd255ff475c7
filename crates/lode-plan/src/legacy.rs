//! Upgrading pre-URN plans (Substrait before 0.74) to extension URNs.
//!
//! Older producers (Isthmus, older DataFusion, DuckDB's extension) declare extensions by URI
//! (`Plan.extension_uris`, field 1; `extension_uri_reference`, field 1 of each declaration).
//! Current Substrait reserved those fields, so a current decoder silently drops them and every
//! function would point at an undeclared extension. Lode reads the old fields itself and turns
//! each URI into a URN, so such plans link and validate like current ones.

use prost::Message;
use serde_json::Value;
use substrait::proto::Plan;
use substrait::proto::extensions::SimpleExtensionUrn;
use substrait::proto::extensions::simple_extension_declaration::MappingType;

/// One extension URI of an older plan and the URN Lode gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradedUri {
    pub anchor: u32,
    pub uri: String,
    pub urn: String,
    /// `true` when the URI named one of the standard Substrait extension files.
    pub standard: bool,
}

/// The URN for an extension URI: the standard files (`…/functions_arithmetic.yaml`) become
/// `extension:io.substrait:functions_arithmetic`; anything else keeps its URI inside the URN
/// so it stays unique and recognisable.
pub fn urn_for_uri(uri: &str) -> (String, bool) {
    let file = uri.rsplit('/').next().unwrap_or(uri);
    let stem = file
        .strip_suffix(".yaml")
        .or_else(|| file.strip_suffix(".yml"));
    match stem {
        Some(stem) if is_standard_extension(stem) && mentions_substrait(uri) => {
            (format!("extension:io.substrait:{stem}"), true)
        }
        _ => (format!("extension:legacy-uri:{uri}"), false),
    }
}

fn is_standard_extension(stem: &str) -> bool {
    (stem.starts_with("functions_")
        || stem.starts_with("extension_types")
        || stem == "type_variations")
        && stem
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Isthmus writes bare `/functions_x.yaml`; others the GitHub URL of the spec repository.
fn mentions_substrait(uri: &str) -> bool {
    uri.starts_with('/') || uri.contains("substrait")
}

// The reserved fields, declared only to read them.
#[derive(Clone, PartialEq, Message)]
struct LegacyPlan {
    #[prost(message, repeated, tag = "1")]
    extension_uris: Vec<LegacyUri>,
    #[prost(message, repeated, tag = "2")]
    extensions: Vec<LegacyDeclaration>,
}

#[derive(Clone, PartialEq, Message)]
struct LegacyUri {
    #[prost(uint32, tag = "1")]
    anchor: u32,
    #[prost(string, tag = "2")]
    uri: String,
}

#[derive(Clone, PartialEq, Message)]
struct LegacyDeclaration {
    #[prost(message, optional, tag = "1")]
    extension_type: Option<LegacyReference>,
    #[prost(message, optional, tag = "2")]
    extension_type_variation: Option<LegacyReference>,
    #[prost(message, optional, tag = "3")]
    extension_function: Option<LegacyReference>,
}

#[derive(Clone, PartialEq, Message)]
struct LegacyReference {
    #[prost(uint32, tag = "1")]
    extension_uri_reference: u32,
}

impl LegacyDeclaration {
    fn reference(&self) -> Option<u32> {
        [
            &self.extension_type,
            &self.extension_type_variation,
            &self.extension_function,
        ]
        .into_iter()
        .flatten()
        .map(|r| r.extension_uri_reference)
        .next()
    }
}

/// Reads the reserved URI fields of a binary plan and adds the equivalent URNs to `plan`.
/// Returns what was upgraded (empty for a current plan).
pub fn upgrade_binary(bytes: &[u8], plan: &mut Plan) -> Vec<UpgradedUri> {
    let Ok(legacy) = LegacyPlan::decode(bytes) else {
        return Vec::new();
    };
    if legacy.extension_uris.is_empty() {
        return Vec::new();
    }
    let upgraded = add_urns(
        plan,
        legacy
            .extension_uris
            .iter()
            .map(|u| (u.anchor, u.uri.as_str())),
    );
    for (decl, old) in plan.extensions.iter_mut().zip(&legacy.extensions) {
        if let Some(uri_ref) = old.reference() {
            set_urn_reference(decl.mapping_type.as_mut(), uri_ref);
        }
    }
    upgraded
}

/// Rewrites the URI fields of a JSON plan (camelCase or snake_case) into URN fields.
pub fn upgrade_json(plan: &mut Value) -> Vec<UpgradedUri> {
    let Some(obj) = plan.as_object_mut() else {
        return Vec::new();
    };
    let uris = obj
        .remove("extensionUris")
        .or_else(|| obj.remove("extension_uris"));
    let Some(Value::Array(uris)) = uris else {
        return Vec::new();
    };
    let mut upgraded = Vec::new();
    let mut urns = Vec::new();
    for entry in &uris {
        let anchor = json_u32(entry, &["extensionUriAnchor", "extension_uri_anchor"]).unwrap_or(0);
        let uri = entry.get("uri").and_then(Value::as_str).unwrap_or_default();
        let (urn, standard) = urn_for_uri(uri);
        urns.push(serde_json::json!({ "extensionUrnAnchor": anchor, "urn": urn }));
        upgraded.push(UpgradedUri {
            anchor,
            uri: uri.to_string(),
            urn,
            standard,
        });
    }
    let existing = obj
        .entry("extensionUrns")
        .or_insert_with(|| Value::Array(Vec::new()));
    if let Value::Array(list) = existing {
        list.extend(urns);
    }
    if let Some(Value::Array(decls)) = obj.get_mut("extensions") {
        for decl in decls.iter_mut().filter_map(Value::as_object_mut) {
            for mapping in decl.values_mut().filter_map(Value::as_object_mut) {
                let old = mapping
                    .remove("extensionUriReference")
                    .or_else(|| mapping.remove("extension_uri_reference"));
                let has_urn = mapping.contains_key("extensionUrnReference")
                    || mapping.contains_key("extension_urn_reference");
                if let (Some(old), false) = (old, has_urn) {
                    mapping.insert("extensionUrnReference".into(), old);
                }
            }
        }
    }
    upgraded
}

fn json_u32(value: &Value, keys: &[&str]) -> Option<u32> {
    keys.iter()
        .filter_map(|k| value.get(*k))
        .find_map(|v| match v {
            Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
            Value::String(s) => s.parse().ok(),
            _ => None,
        })
}

fn add_urns<'a>(plan: &mut Plan, uris: impl Iterator<Item = (u32, &'a str)>) -> Vec<UpgradedUri> {
    let mut upgraded = Vec::new();
    for (anchor, uri) in uris {
        let (urn, standard) = urn_for_uri(uri);
        plan.extension_urns.push(SimpleExtensionUrn {
            extension_urn_anchor: anchor,
            urn: urn.clone(),
        });
        upgraded.push(UpgradedUri {
            anchor,
            uri: uri.to_string(),
            urn,
            standard,
        });
    }
    upgraded
}

fn set_urn_reference(mapping: Option<&mut MappingType>, reference: u32) {
    let slot = match mapping {
        Some(MappingType::ExtensionFunction(f)) => &mut f.extension_urn_reference,
        Some(MappingType::ExtensionType(t)) => &mut t.extension_urn_reference,
        Some(MappingType::ExtensionTypeVariation(v)) => &mut v.extension_urn_reference,
        None => return,
    };
    if *slot == 0 {
        *slot = reference;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_uris_become_io_substrait_urns() {
        let (urn, std) = urn_for_uri(
            "https://github.com/substrait-io/substrait/blob/main/extensions/functions_arithmetic.yaml",
        );
        assert_eq!(urn, "extension:io.substrait:functions_arithmetic");
        assert!(std);
        assert_eq!(
            urn_for_uri("/functions_comparison.yaml").0,
            "extension:io.substrait:functions_comparison"
        );
        let (urn, std) = urn_for_uri("https://example.com/mine.yaml");
        assert_eq!(urn, "extension:legacy-uri:https://example.com/mine.yaml");
        assert!(!std);
    }

    #[test]
    fn binary_plan_with_uris_gets_urns_and_references() {
        use substrait::proto::extensions::simple_extension_declaration::ExtensionFunction;
        // One declaration as a pre-URN producer encodes it: the URI reference (field 1) next to
        // the anchor and name (fields 2 and 3) in the same ExtensionFunction message.
        let mut function = Vec::new();
        LegacyReference {
            extension_uri_reference: 7,
        }
        .encode(&mut function)
        .unwrap();
        ExtensionFunction {
            function_anchor: 1,
            name: "equal:any_any".into(),
            ..Default::default()
        }
        .encode(&mut function)
        .unwrap();
        let mut declaration = Vec::new();
        prost::encoding::bytes::encode(3, &function, &mut declaration);
        let mut bytes = Vec::new();
        let uri = LegacyUri {
            anchor: 7,
            uri: "/functions_comparison.yaml".into(),
        };
        prost::encoding::message::encode(1, &uri, &mut bytes);
        prost::encoding::bytes::encode(2, &declaration, &mut bytes);

        let mut plan = Plan::decode(bytes.as_slice()).unwrap();
        assert!(
            plan.extension_urns.is_empty(),
            "a current decoder drops the URIs"
        );
        let upgraded = upgrade_binary(&bytes, &mut plan);
        assert_eq!(upgraded.len(), 1);
        assert_eq!(
            plan.extension_urns[0].urn,
            "extension:io.substrait:functions_comparison"
        );
        assert_eq!(plan.extension_urns[0].extension_urn_anchor, 7);
        match &plan.extensions[0].mapping_type {
            Some(MappingType::ExtensionFunction(f)) => {
                assert_eq!(f.extension_urn_reference, 7);
                assert_eq!(f.name, "equal:any_any");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
