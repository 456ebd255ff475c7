//! Linking a plan's function declarations to the URNs that define them.
//!
//! DataFusion's producer declares functions by bare name with no URN (`extension_urn_reference`
//! = u32::MAX). Such a plan does not say *which* `add` it means. [`link_standard_extensions`]
//! declares the standard URN for each function it finds there, so plans written by `lode sql` are
//! standard Substrait that other consumers can resolve.

use std::collections::HashMap;

use serde_json::Value;

use crate::declarations::{UrnAnchors, function_name, next_function_anchor};
use crate::overload::{self, Argument};
use crate::path::PlanPath;
use crate::standard::{DATAFUSION_FUNCTIONS_URN, standard_urns};
use crate::types::{DataType, Kind};
use crate::validate::CallSite;
use substrait::proto::Plan;
use substrait::proto::extensions::SimpleExtensionDeclaration;
use substrait::proto::extensions::simple_extension_declaration::ExtensionFunction;
use substrait::proto::extensions::simple_extension_declaration::MappingType;

/// Declares URNs for function declarations whose URN reference resolves to nothing: the
/// standard extension defining the name, or [`DATAFUSION_FUNCTIONS_URN`]. Where several
/// standard files define a name (`add` in `functions_arithmetic` and
/// `functions_arithmetic_decimal`), the argument types of the plan's calls choose: the file
/// with an implementation taking every call's arguments. Also writes DataFusion's `like` and
/// `ilike` calls without an escape character as the standard two-argument calls.
/// Returns the number of declarations linked.
pub fn link_standard_extensions(plan: &mut Plan) -> usize {
    // DataFusion emits declarations in hash order; sorting first keeps written plans (and
    // the URN anchors assigned below) reproducible.
    plan.extensions.sort_by_key(declaration_anchor);
    drop_null_like_escapes(plan);
    let original_urns = plan.extension_urns.len();
    let mut anchors = UrnAnchors::of(plan);
    let mut linked = Vec::new();
    for decl in &mut plan.extensions {
        let Some(MappingType::ExtensionFunction(f)) = &mut decl.mapping_type else {
            continue;
        };
        if anchors.was_declared(f.extension_urn_reference) {
            continue;
        }
        // Until the argument types choose: the general file before a `*_decimal` one
        // (`count` is in both; the decimal one returns a decimal).
        let urns = standard_urns(function_name(&f.name));
        let urn = urns
            .iter()
            .find(|u| !u.contains("decimal"))
            .or_else(|| urns.first())
            .cloned()
            .unwrap_or_else(|| DATAFUSION_FUNCTIONS_URN.to_string());
        f.extension_urn_reference = anchors.anchor(&urn);
        linked.push(f.function_anchor);
    }
    anchors.declare_new(plan);
    // A call's argument types can depend on the file chosen for an inner call (an aggregate
    // declares no output type), so choose again until nothing changes.
    for _ in 0..4 {
        let narrowed = narrow_integer_literals(plan, &linked);
        if !link_by_argument_types(plan, &mut linked) && !narrowed {
            break;
        }
    }
    drop_unused_urns(plan, original_urns);
    linked.len()
}

/// Moves each declaration of `anchors` to the standard file whose implementations take the
/// arguments of all its calls, when the file it names does not. Where no file takes them all
/// (DataFusion declares `multiply` once for decimals and floats), the calls other files take
/// get a declaration of their own. Returns whether anything changed.
fn link_by_argument_types(plan: &mut Plan, anchors: &mut Vec<u32>) -> bool {
    let calls = crate::validate::call_sites(plan);
    let urn_of: HashMap<u32, String> = plan
        .extension_urns
        .iter()
        .map(|u| (u.extension_urn_anchor, u.urn.clone()))
        .collect();
    let mut urn_anchors = UrnAnchors::of(plan);
    let mut next_anchor = next_function_anchor(plan);
    let mut new_declarations = Vec::new();
    let mut moved_calls: Vec<(PlanPath, u32)> = Vec::new();
    let mut changed = false;
    for decl in &mut plan.extensions {
        let Some(MappingType::ExtensionFunction(f)) = &mut decl.mapping_type else {
            continue;
        };
        let name = function_name(&f.name).to_lowercase();
        let candidates = standard_urns(&name);
        if !anchors.contains(&f.function_anchor) || candidates.len() < 2 {
            continue;
        }
        let takes = |urn: &str, args: &[Argument]| overload::takes(urn, &name, args);
        let own: Vec<&CallSite> = calls
            .iter()
            .filter(|c| c.anchor == f.function_anchor)
            .collect();
        let takes_all = |urn: &str| own.iter().all(|c| takes(urn, &c.arguments));
        if urn_of
            .get(&f.extension_urn_reference)
            .is_some_and(|u| takes_all(u))
        {
            continue;
        }
        changed = true;
        if let Some(better) = candidates.iter().find(|u| takes_all(u)) {
            f.extension_urn_reference = urn_anchors.anchor(better);
            continue;
        }
        // Each call to the first file that takes it; the declaration keeps the largest group.
        let mut groups: Vec<(&String, Vec<&CallSite>)> = Vec::new();
        for call in &own {
            let Some(urn) = candidates.iter().find(|u| takes(u, &call.arguments)) else {
                continue;
            };
            match groups.iter_mut().find(|(u, _)| *u == urn) {
                Some((_, group)) => group.push(call),
                None => groups.push((urn, vec![call])),
            }
        }
        groups.sort_by_key(|(_, group)| std::cmp::Reverse(group.len()));
        let mut groups = groups.into_iter();
        if let Some((urn, _)) = groups.next() {
            f.extension_urn_reference = urn_anchors.anchor(urn);
        }
        for (urn, group) in groups {
            // A plan using anchor u32::MAX has none free: those calls stay where they are.
            let Some(anchor) = next_anchor else { break };
            next_anchor = anchor.checked_add(1);
            anchors.push(anchor);
            new_declarations.push(SimpleExtensionDeclaration {
                mapping_type: Some(MappingType::ExtensionFunction(ExtensionFunction {
                    extension_urn_reference: urn_anchors.anchor(urn),
                    function_anchor: anchor,
                    name: f.name.clone(),
                })),
            });
            moved_calls.extend(group.iter().map(|c| (c.path.clone(), anchor)));
        }
    }
    urn_anchors.declare_new(plan);
    plan.extensions.extend(new_declarations);
    if !moved_calls.is_empty() {
        set_function_references(plan, &moved_calls);
    }
    changed
}

/// DataFusion writes every integer literal as `i64`; where a standard function takes `i32`
/// there (`substring(s, 1, 2)`), and no implementation takes the call as written, the literals
/// that fit are written as `i32`. Returns whether any was.
fn narrow_integer_literals(plan: &mut Plan, anchors: &[u32]) -> bool {
    let names: HashMap<u32, String> = plan
        .extensions
        .iter()
        .filter_map(|d| match &d.mapping_type {
            Some(MappingType::ExtensionFunction(f)) if anchors.contains(&f.function_anchor) => {
                Some((f.function_anchor, function_name(&f.name).to_lowercase()))
            }
            _ => None,
        })
        .collect();
    let mut narrowed: Vec<(PlanPath, i32)> = Vec::new();
    for call in crate::validate::call_sites(plan) {
        let Some(name) = names.get(&call.anchor) else {
            continue;
        };
        let takes = |args: &[Argument]| {
            standard_urns(name)
                .iter()
                .any(|urn| overload::takes(urn, name, args))
        };
        if takes(&call.arguments) {
            continue;
        }
        let small: Vec<Option<i32>> = call
            .integer_literals
            .iter()
            .map(|v| v.and_then(|v| i32::try_from(v).ok()))
            .collect();
        let mut args = call.arguments.clone();
        for (arg, value) in args.iter_mut().zip(&small) {
            if value.is_some() {
                *arg = Argument::Value(Some(DataType::required(Kind::I32)));
            }
        }
        if small.iter().any(Option::is_some) && takes(&args) {
            narrowed.extend(small.iter().enumerate().filter_map(|(i, v)| {
                let literal = call
                    .path
                    .index("arguments", i)
                    .field("value")
                    .field("literal");
                v.map(|v| (literal, v))
            }));
        }
    }
    if narrowed.is_empty() {
        return false;
    }
    rewrite_json(plan, |json| {
        for (path, value) in &narrowed {
            if let Some(literal) = json.pointer_mut(&path.json_pointer()) {
                *literal = serde_json::json!({"i32": value});
            }
        }
    });
    true
}

/// Rewrites the plan through its proto3 JSON form: the one generic way to reach any
/// expression by its path. A rewrite that does not read back as a plan is not applied.
fn rewrite_json(plan: &mut Plan, rewrite: impl FnOnce(&mut Value)) {
    let Ok(mut json) = serde_json::to_value(&*plan) else {
        return;
    };
    rewrite(&mut json);
    if let Ok(rewritten) = serde_json::from_value::<Plan>(json) {
        *plan = rewritten;
    }
}

/// Points the calls at `paths` to new function anchors.
fn set_function_references(plan: &mut Plan, calls: &[(PlanPath, u32)]) {
    rewrite_json(plan, |json| {
        for (path, anchor) in calls {
            if let Some(Value::Object(call)) = json.pointer_mut(&path.json_pointer()) {
                call.insert("functionReference".to_string(), Value::from(*anchor));
            }
        }
    });
}

/// Removes the URNs linking added (those after the first `original` entries) that no
/// declaration names any more.
fn drop_unused_urns(plan: &mut Plan, original: usize) {
    let used: Vec<u32> = plan
        .extensions
        .iter()
        .filter_map(|d| match &d.mapping_type {
            Some(MappingType::ExtensionFunction(f)) => Some(f.extension_urn_reference),
            Some(MappingType::ExtensionType(t)) => Some(t.extension_urn_reference),
            Some(MappingType::ExtensionTypeVariation(v)) => Some(v.extension_urn_reference),
            None => None,
        })
        .collect();
    let mut index = 0;
    plan.extension_urns.retain(|u| {
        index += 1;
        index <= original || used.contains(&u.extension_urn_anchor)
    });
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

/// DataFusion writes `x LIKE p` as `like(x, p, NULL)`: its escape character, none here, as a
/// third argument the standard `like` does not have. A null escape is dropped; any other is
/// kept (no standard form says it), and validation reports the call.
fn drop_null_like_escapes(plan: &mut Plan) {
    let like_anchors: Vec<u64> = plan
        .extensions
        .iter()
        .filter_map(|d| match &d.mapping_type {
            Some(MappingType::ExtensionFunction(f))
                if matches!(function_name(&f.name), "like" | "ilike") =>
            {
                Some(u64::from(f.function_anchor))
            }
            _ => None,
        })
        .collect();
    if like_anchors.is_empty() {
        return;
    }
    fn walk(v: &mut Value, like_anchors: &[u64]) {
        match v {
            Value::Object(map) => {
                if let Some(Value::Object(call)) = map.get_mut("scalarFunction") {
                    // proto3 JSON omits `functionReference` when it is 0.
                    let anchor = call.get("functionReference").map_or(Some(0), Value::as_u64);
                    if let (Some(anchor), Some(Value::Array(args))) =
                        (anchor, call.get_mut("arguments"))
                        && like_anchors.contains(&anchor)
                        && args.len() == 3
                        && args[2].pointer("/value/literal/null").is_some()
                    {
                        args.pop();
                    }
                }
                map.values_mut().for_each(|x| walk(x, like_anchors));
            }
            Value::Array(items) => items.iter_mut().for_each(|x| walk(x, like_anchors)),
            _ => {}
        }
    }
    rewrite_json(plan, |json| walk(json, &like_anchors));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What DataFusion's producer writes: bare names, URN references to nothing, `like` with a
    /// null escape; `sum` over a decimal column and `sum` over an integer one in two plans.
    fn datafusion_plan(sum_over: &str) -> Plan {
        let plan = serde_json::json!({
            "extensions": [
                {"extensionFunction": {"extensionUrnReference": 4294967295u32, "functionAnchor": 1, "name": "sum"}},
                {"extensionFunction": {"extensionUrnReference": 4294967295u32, "functionAnchor": 2, "name": "like"}}
            ],
            "relations": [{"root": {"names": ["total"], "input": {"aggregate": {
                "input": {"filter": {
                    "input": {"read": {"namedTable": {"names": ["t"]}, "baseSchema": {
                        "names": ["d", "n", "s"],
                        "struct": {"types": [
                            {"decimal": {"precision": 15, "scale": 2, "nullability": "NULLABILITY_NULLABLE"}},
                            {"i64": {"nullability": "NULLABILITY_REQUIRED"}},
                            {"string": {"nullability": "NULLABILITY_REQUIRED"}}]}}}},
                    "condition": {"scalarFunction": {"functionReference": 2, "arguments": [
                        {"value": {"selection": {"directReference": {"structField": {"field": 2}}, "rootReference": {}}}},
                        {"value": {"literal": {"string": "a%"}}},
                        {"value": {"literal": {"null": {"string": {"nullability": "NULLABILITY_NULLABLE"}}}}}]}}}},
                "groupings": [{}],
                "measures": [{"measure": {"functionReference": 1, "arguments": [
                    {"value": {"selection": {"directReference": {"structField": {"field": if sum_over == "decimal" { 0 } else { 1 }}}, "rootReference": {}}}}]}}]}}}}]
        });
        serde_json::from_value(plan).expect("a plan")
    }

    fn urn_of(plan: &Plan, name: &str) -> String {
        let reference = plan
            .extensions
            .iter()
            .find_map(|d| match &d.mapping_type {
                Some(MappingType::ExtensionFunction(f)) if f.name == name => {
                    Some(f.extension_urn_reference)
                }
                _ => None,
            })
            .expect("declared");
        plan.extension_urns
            .iter()
            .find(|u| u.extension_urn_anchor == reference)
            .map(|u| u.urn.clone())
            .expect("linked")
    }

    #[test]
    fn argument_types_choose_the_file() {
        let mut plan = datafusion_plan("decimal");
        assert_eq!(link_standard_extensions(&mut plan), 2);
        assert_eq!(
            urn_of(&plan, "sum"),
            "extension:io.substrait:functions_arithmetic_decimal"
        );
        assert_eq!(
            urn_of(&plan, "like"),
            "extension:io.substrait:functions_string"
        );
        // The general file, chosen by name first, is declared no more.
        assert_eq!(plan.extension_urns.len(), 2, "{:?}", plan.extension_urns);
        let mut plan = datafusion_plan("i64");
        link_standard_extensions(&mut plan);
        assert_eq!(
            urn_of(&plan, "sum"),
            "extension:io.substrait:functions_arithmetic"
        );
        assert!(crate::validate_plan(&plan, None).is_empty());
    }

    #[test]
    fn a_null_like_escape_is_dropped() {
        let mut plan = datafusion_plan("decimal");
        link_standard_extensions(&mut plan);
        let json = serde_json::to_value(&plan).expect("serializes");
        let condition = json
            .pointer(
                "/relations/0/root/input/aggregate/input/filter/condition/scalarFunction/arguments",
            )
            .and_then(Value::as_array)
            .expect("the like call");
        assert_eq!(condition.len(), 2);
        assert!(
            crate::validate_plan(&plan, None).is_empty(),
            "{:#?}",
            crate::validate_plan(&plan, None)
        );
    }

    #[test]
    fn calls_no_one_file_takes_are_split() {
        let field = |i: u32| serde_json::json!({"value": {"selection": {"directReference": {"structField": {"field": i}}, "rootReference": {}}}});
        let multiply = |a: u32| serde_json::json!({"scalarFunction": {"functionReference": 1, "arguments": [field(a), field(a)]}});
        let plan = serde_json::json!({
            "extensions": [{"extensionFunction": {"extensionUrnReference": 4294967295u32, "functionAnchor": 1, "name": "multiply"}}],
            "relations": [{"root": {"names": ["d", "f", "dd", "ff", "dd2"], "input": {"project": {
                "input": {"read": {"namedTable": {"names": ["t"]}, "baseSchema": {"names": ["d", "f"], "struct": {"types": [
                    {"decimal": {"precision": 15, "scale": 2, "nullability": "NULLABILITY_REQUIRED"}},
                    {"fp64": {"nullability": "NULLABILITY_REQUIRED"}}]}}}},
                "expressions": [multiply(0), multiply(1), multiply(0)]}}}}]
        });
        let mut plan: Plan = serde_json::from_value(plan).expect("a plan");
        link_standard_extensions(&mut plan);
        assert_eq!(crate::validate_plan(&plan, None), vec![]);
        let json = serde_json::to_value(&plan).expect("serializes");
        let anchor = |i: usize| {
            json.pointer(&format!(
                "/relations/0/root/input/project/expressions/{i}/scalarFunction/functionReference"
            ))
            .and_then(Value::as_u64)
        };
        // The decimal calls keep anchor 1 (two calls), the float call has its own.
        assert_eq!(
            (anchor(0), anchor(1), anchor(2)),
            (Some(1), Some(2), Some(1))
        );
        let names: Vec<(u32, String)> = plan
            .extensions
            .iter()
            .filter_map(|d| match &d.mapping_type {
                Some(MappingType::ExtensionFunction(f)) => {
                    Some((f.function_anchor, f.name.clone()))
                }
                _ => None,
            })
            .collect();
        assert_eq!(
            names,
            [(1, "multiply".to_string()), (2, "multiply".to_string())]
        );
    }

    #[test]
    fn integer_literals_narrow_where_the_standard_takes_i32() {
        let int = |v: &str| serde_json::json!({"value": {"literal": {"i64": v}}});
        let plan = serde_json::json!({
            "extensions": [{"extensionFunction": {"extensionUrnReference": 4294967295u32, "functionAnchor": 1, "name": "substring"}}],
            "relations": [{"root": {"names": ["s", "prefix"], "input": {"project": {
                "input": {"read": {"namedTable": {"names": ["t"]}, "baseSchema": {"names": ["s"], "struct": {"types": [
                    {"string": {"nullability": "NULLABILITY_REQUIRED"}}]}}}},
                "expressions": [{"scalarFunction": {"functionReference": 1, "arguments": [
                    {"value": {"selection": {"directReference": {"structField": {"field": 0}}, "rootReference": {}}}},
                    int("1"), int("2")]}}]}}}}]
        });
        let mut plan: Plan = serde_json::from_value(plan).expect("a plan");
        link_standard_extensions(&mut plan);
        assert_eq!(crate::validate_plan(&plan, None), vec![]);
        let json = serde_json::to_value(&plan).expect("serializes");
        assert_eq!(
            json.pointer("/relations/0/root/input/project/expressions/0/scalarFunction/arguments/2/value/literal"),
            Some(&serde_json::json!({"i32": 2}))
        );
    }
}
