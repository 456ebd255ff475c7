//! The standard Substrait function extensions (bundled with the `substrait` crate), and
//! linking a plan's function declarations to the URNs that define them.
//!
//! DataFusion's producer declares functions by bare name with no URN (`extension_urn_reference`
//! = u32::MAX). Such a plan does not say *which* `add` it means. [`link_standard_extensions`]
//! declares the standard URN for each function it finds there, so plans written by `lode sql` are
//! standard Substrait that other consumers can resolve.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde_json::Value;

use crate::declarations::{UrnAnchors, function_name};
use substrait::proto::Plan;
use substrait::proto::extensions::simple_extension_declaration::MappingType;

/// The URN under which Lode declares functions that no standard extension defines: DataFusion's
/// built-in function of that name (e.g. `date_part`), which is what Lode executes.
pub const DATAFUSION_FUNCTIONS_URN: &str = "extension:org.apache.datafusion:functions";

/// The kind of a function in an extension file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FunctionKind {
    Scalar,
    Aggregate,
    Window,
}

/// The standard extensions bundled with the `substrait` crate: each URN with the (lower-case)
/// names of the scalar, aggregate and window functions it defines.
pub fn standard_functions() -> impl Iterator<Item = (String, Vec<String>)> {
    substrait::extensions::EXTENSIONS.iter().map(|(urn, ext)| {
        let names = ext
            .scalar_functions
            .iter()
            .map(|f| &f.name)
            .chain(ext.aggregate_functions.iter().map(|f| &f.name))
            .chain(ext.window_functions.iter().map(|f| &f.name))
            .map(|n| n.to_lowercase())
            .collect();
        (urn.to_string(), names)
    })
}

/// Function name -> the standard URNs defining it (sorted, so choices are deterministic).
static STANDARD: LazyLock<HashMap<String, Vec<String>>> = LazyLock::new(|| {
    let mut by_name: HashMap<String, Vec<String>> = HashMap::new();
    for (urn, names) in standard_functions() {
        for name in names {
            by_name.entry(name).or_default().push(urn.clone());
        }
    }
    for urns in by_name.values_mut() {
        urns.sort();
        urns.dedup();
    }
    by_name
});

/// The standard URNs that define a function of this name (no signature suffix).
pub fn standard_urns(name: &str) -> &'static [String] {
    STANDARD
        .get(&name.to_lowercase())
        .map_or(&[], Vec::as_slice)
}

/// Declares URNs for function declarations whose URN reference resolves to nothing: the
/// standard extension defining the name, or [`DATAFUSION_FUNCTIONS_URN`]. Where several
/// standard files define a name (`add` in `functions_arithmetic` and
/// `functions_arithmetic_decimal`), the declared output types of the plan's calls choose.
/// Returns the number of declarations linked.
pub fn link_standard_extensions(plan: &mut Plan) -> usize {
    // DataFusion emits declarations in hash order; sorting first keeps written plans (and
    // the URN anchors assigned below) reproducible.
    plan.extensions.sort_by_key(declaration_anchor);
    let decimal_outputs = anchors_with_decimal_output(plan);
    let mut anchors = UrnAnchors::of(plan);
    let mut linked = 0;
    for decl in &mut plan.extensions {
        let Some(MappingType::ExtensionFunction(f)) = &mut decl.mapping_type else {
            continue;
        };
        if anchors.was_declared(f.extension_urn_reference) {
            continue;
        }
        let urn = choose_urn(
            function_name(&f.name),
            decimal_outputs.contains(&f.function_anchor),
        );
        f.extension_urn_reference = anchors.anchor(&urn);
        linked += 1;
    }
    anchors.declare_new(plan);
    linked
}

fn declaration_anchor(
    decl: &substrait::proto::extensions::SimpleExtensionDeclaration,
) -> (u8, u32) {
    match &decl.mapping_type {
        Some(MappingType::ExtensionType(t)) => (0, t.type_anchor),
        Some(MappingType::ExtensionTypeVariation(v)) => (1, v.type_variation_anchor),
        Some(MappingType::ExtensionFunction(f)) => (2, f.function_anchor),
        None => (3, 0),
    }
}

fn choose_urn(name: &str, decimal: bool) -> String {
    let urns = standard_urns(name);
    let preferred = urns
        .iter()
        .find(|u| u.contains("decimal") == decimal)
        .or_else(|| urns.first());
    preferred
        .cloned()
        .unwrap_or_else(|| DATAFUSION_FUNCTIONS_URN.to_string())
}

/// Function anchors whose calls are decimal: a scalar call declaring a decimal output type, or
/// an aggregate (DataFusion writes no output type for those) over a decimal-typed call.
/// DataFusion declares one anchor per function name, so a plan mixing decimal and integer
/// `sum` gets one URN for both; per-signature anchors need type derivation.
fn anchors_with_decimal_output(plan: &Plan) -> Vec<u32> {
    fn walk(v: &Value, out: &mut Vec<u32>) {
        match v {
            Value::Object(map) => {
                // A function call: proto3 JSON omits `functionReference` when it is 0.
                let is_call =
                    map.contains_key("functionReference") || map.contains_key("arguments");
                if is_call {
                    let decimal = match map.get("outputType") {
                        Some(output) => output.get("decimal").is_some(),
                        None => {
                            map.get("arguments")
                                .and_then(Value::as_array)
                                .is_some_and(|args| {
                                    args.iter().any(|a| {
                                        a.pointer("/value/scalarFunction/outputType/decimal")
                                            .is_some()
                                    })
                                })
                        }
                    };
                    let anchor = map.get("functionReference").map_or(Some(0), Value::as_u64);
                    if let (Some(a), true) = (anchor.and_then(|a| u32::try_from(a).ok()), decimal) {
                        out.push(a);
                    }
                }
                map.values().for_each(|x| walk(x, out));
            }
            Value::Array(items) => items.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    // The JSON form is the one generic walk over every expression the proto types offer.
    if let Ok(json) = serde_json::to_value(plan) {
        walk(&json, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_the_standard_files() {
        assert!(
            standard_urns("add")
                .contains(&"extension:io.substrait:functions_arithmetic".to_string())
        );
        assert!(
            standard_urns("count")
                .iter()
                .any(|u| u.ends_with("functions_aggregate_generic"))
        );
        assert!(standard_urns("no_such_function").is_empty());
    }

    #[test]
    fn decimal_outputs_choose_the_decimal_file() {
        assert_eq!(
            choose_urn("sum", true),
            "extension:io.substrait:functions_arithmetic_decimal"
        );
        assert_eq!(
            choose_urn("sum", false),
            "extension:io.substrait:functions_arithmetic"
        );
        assert_eq!(
            choose_urn("count", false),
            "extension:io.substrait:functions_aggregate_generic"
        );
        assert_eq!(choose_urn("date_part", false), DATAFUSION_FUNCTIONS_URN);
    }
}
