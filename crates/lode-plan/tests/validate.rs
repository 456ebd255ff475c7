//! Each check of the validator, triggered by a small plan: the code and the plan path.

use lode_plan::{Code, Diagnostic, Severity, analyze_decoded, decode_plan, validate_decoded};
use serde_json::{Value, json};

fn read(names: &[&str]) -> Value {
    let types: Vec<Value> = names
        .iter()
        .map(|_| json!({"i64": {"nullability": "NULLABILITY_NULLABLE"}}))
        .collect();
    json!({"read": {"baseSchema": {"names": names, "struct": {"types": types}}, "namedTable": {"names": ["t"]}}})
}

fn field(i: i64) -> Value {
    json!({"selection": {"directReference": {"structField": {"field": i}}, "rootReference": {}}})
}

fn with_root(input: Value) -> Value {
    json!({
        "extensionUrns": [{"extensionUrnAnchor": 1, "urn": "extension:io.substrait:functions_comparison"}],
        "extensions": [{"extensionFunction": {"extensionUrnReference": 1, "functionAnchor": 1, "name": "equal:any_any"}}],
        "relations": [{"root": {"input": input, "names": []}}]
    })
}

fn diagnose(plan: &Value) -> Vec<Diagnostic> {
    let decoded = decode_plan(plan.to_string().as_bytes()).expect("decodes");
    validate_decoded(&decoded, None)
}

fn expect(plan: Value, code: Code, path: &str) {
    let diagnostics = diagnose(&plan);
    assert!(
        diagnostics
            .iter()
            .any(|d| d.code == code && d.path.to_string() == path),
        "expected {code} at {path}, got {diagnostics:#?}"
    );
}

#[test]
fn a_well_formed_plan_has_no_diagnostics() {
    let plan = with_root(json!({"filter": {"input": read(&["a", "b"]), "condition":
        {"scalarFunction": {"functionReference": 1, "arguments": [{"value": field(0)}, {"value": field(1)}]}}}}));
    assert_eq!(diagnose(&plan), vec![]);
}

#[test]
fn field_reference_out_of_range() {
    let plan =
        with_root(json!({"project": {"input": read(&["a", "b"]), "expressions": [field(2)]}}));
    expect(
        plan,
        Code::FieldOutOfRange,
        "relations[0].root.input.project.expressions[0].selection.direct_reference.struct_field.field",
    );
}

#[test]
fn field_reference_sees_project_outputs_and_emit() {
    // project adds one field (3 in all); the emit keeps [2]; the filter above sees one field.
    let project = json!({"project": {"common": {"emit": {"outputMapping": [2]}}, "input": read(&["a", "b"]), "expressions": [field(1)]}});
    let ok = with_root(json!({"filter": {"input": project.clone(), "condition":
        {"scalarFunction": {"functionReference": 1, "arguments": [{"value": field(0)}, {"value": field(0)}]}}}}));
    assert_eq!(diagnose(&ok), vec![]);
    let bad = with_root(json!({"filter": {"input": project, "condition":
        {"scalarFunction": {"functionReference": 1, "arguments": [{"value": field(0)}, {"value": field(1)}]}}}}));
    expect(
        bad,
        Code::FieldOutOfRange,
        "relations[0].root.input.filter.condition.scalar_function.arguments[1].value.selection.direct_reference.struct_field.field",
    );
}

#[test]
fn undeclared_function_anchor() {
    let plan = with_root(json!({"filter": {"input": read(&["a"]), "condition":
        {"scalarFunction": {"functionReference": 9, "arguments": []}}}}));
    expect(
        plan,
        Code::UndeclaredFunction,
        "relations[0].root.input.filter.condition.scalar_function.function_reference",
    );
}

#[test]
fn undeclared_urn() {
    let mut plan = with_root(read(&["a"]));
    plan["extensions"][0]["extensionFunction"]["extensionUrnReference"] = json!(5);
    expect(plan, Code::UndeclaredUrn, "extensions[0]");
}

#[test]
fn emit_out_of_range() {
    let mut r = read(&["a", "b"]);
    r["read"]["common"] = json!({"emit": {"outputMapping": [0, 2]}});
    expect(
        with_root(r),
        Code::EmitOutOfRange,
        "relations[0].root.input.read.common.emit.output_mapping[1]",
    );
}

#[test]
fn grouping_reference_out_of_range() {
    let plan = with_root(
        json!({"aggregate": {"input": read(&["a"]), "groupingExpressions": [field(0)],
        "groupings": [{"expressionReferences": [0, 3]}]}}),
    );
    expect(
        plan,
        Code::GroupingReferenceOutOfRange,
        "relations[0].root.input.aggregate.groupings[0].expression_references[1]",
    );
}

#[test]
fn missing_root_input() {
    let plan = json!({"relations": [{"root": {"names": ["x"]}}]});
    expect(plan, Code::MissingInput, "relations[0].root.input");
}

#[test]
fn missing_filter_input_and_condition() {
    let plan = with_root(json!({"filter": {}}));
    expect(
        plan.clone(),
        Code::MissingInput,
        "relations[0].root.input.filter.input",
    );
    expect(
        plan,
        Code::MissingExpression,
        "relations[0].root.input.filter.condition",
    );
}

#[test]
fn unsupported_relation() {
    let plan = with_root(json!({"ddl": {}}));
    expect(
        plan,
        Code::UnsupportedRelation,
        "relations[0].root.input.ddl",
    );
}

#[test]
fn reference_rel_cycle_and_bad_ordinal() {
    let plan = json!({"relations": [
        {"rel": {"reference": {"subtreeOrdinal": 0}}},
        {"root": {"input": {"reference": {"subtreeOrdinal": 7}}}}
    ]});
    expect(
        plan.clone(),
        Code::BadSubtreeReference,
        "relations[0].rel.reference.subtree_ordinal",
    );
    expect(
        plan,
        Code::BadSubtreeReference,
        "relations[1].root.input.reference.subtree_ordinal",
    );
}

#[test]
fn reference_rel_arity_flows_to_the_root() {
    let plan = json!({"relations": [
        {"rel": read(&["a", "b"])},
        {"root": {"input": {"project": {"input": {"reference": {"subtreeOrdinal": 0}}, "expressions": [field(5)]}}}}
    ]});
    expect(
        plan,
        Code::FieldOutOfRange,
        "relations[1].root.input.project.expressions[0].selection.direct_reference.struct_field.field",
    );
}

#[test]
fn outer_reference_beyond_nesting() {
    let outer = json!({"selection": {"directReference": {"structField": {"field": 0}}, "outerReference": {"stepsOut": 2}}});
    let sub = json!({"subquery": {"scalar": {"input": {"project": {"input": read(&["x"]), "expressions": [outer]}}}}});
    let plan = with_root(json!({"project": {"input": read(&["a"]), "expressions": [sub]}}));
    expect(
        plan,
        Code::FieldOutOfRange,
        "relations[0].root.input.project.expressions[0].subquery.scalar.input.project.expressions[0].selection.outer_reference.steps_out",
    );
}

#[test]
fn outer_reference_checked_against_the_outer_input() {
    let outer = |i: i64| json!({"selection": {"directReference": {"structField": {"field": i}}, "outerReference": {"stepsOut": 1}}});
    let plan = |i| {
        with_root(
            json!({"project": {"input": read(&["a", "b"]), "expressions": [
        {"subquery": {"scalar": {"input": {"project": {"input": read(&["x"]), "expressions": [outer(i)]}}}}}]}}),
        )
    };
    assert_eq!(diagnose(&plan(1)), vec![]);
    expect(
        plan(2),
        Code::FieldOutOfRange,
        "relations[0].root.input.project.expressions[0].subquery.scalar.input.project.expressions[0].selection.direct_reference.struct_field.field",
    );
}

#[test]
fn no_relations_and_two_roots() {
    expect(json!({}), Code::NoRelations, "relations");
    let two = json!({"relations": [{"root": {"input": read(&["a"])}}, {"root": {"input": read(&["a"])}}]});
    expect(two, Code::NoRoot, "relations");
}

#[test]
fn read_without_base_schema() {
    let plan = with_root(json!({"read": {"namedTable": {"names": ["t"]}}}));
    expect(
        plan,
        Code::MissingBaseSchema,
        "relations[0].root.input.read.base_schema",
    );
}

#[test]
fn join_semi_output_is_the_left_side() {
    let join = |kind: &str| {
        json!({"join": {"left": read(&["a"]), "right": read(&["b", "c"]), "type": kind,
        "expression": {"literal": {"boolean": true}}}})
    };
    let over = |kind: &str| {
        with_root(json!({"project": {"input": join(kind), "expressions": [field(2)]}}))
    };
    assert_eq!(diagnose(&over("JOIN_TYPE_INNER")), vec![]);
    expect(
        over("JOIN_TYPE_LEFT_SEMI"),
        Code::FieldOutOfRange,
        "relations[0].root.input.project.expressions[0].selection.direct_reference.struct_field.field",
    );
}

/// A plan declaring one function of `functions_arithmetic` under `name`, called on a column.
fn declaring(name: &str) -> Value {
    json!({
        "extensionUrns": [{"extensionUrnAnchor": 1, "urn": "extension:io.substrait:functions_arithmetic"}],
        "extensions": [{"extensionFunction": {"extensionUrnReference": 1, "functionAnchor": 1, "name": name}}],
        "relations": [{"root": {"input": {"project": {"input": read(&["a"]), "expressions": [
            {"scalarFunction": {"functionReference": 1, "arguments": [{"value": field(0)}, {"value": field(0)}]}}
        ]}}, "names": []}}]
    })
}

#[test]
fn declarations_are_checked_against_the_extension_yaml() {
    const NAME: &str = "extensions[0].extension_function.name";
    assert_eq!(diagnose(&declaring("add:i64_i64")), vec![]);
    assert_eq!(
        diagnose(&declaring("add")),
        vec![],
        "no signature, nothing to match"
    );
    expect(declaring("add:i64_str"), Code::NoMatchingOverload, NAME);
    expect(
        declaring("concat:str_str"),
        Code::FunctionNotInExtension,
        NAME,
    );
    let hint = diagnose(&declaring("concat:str_str"))[0]
        .hint
        .clone()
        .unwrap_or_default();
    assert!(hint.contains("functions_string"), "{hint}");
}

#[test]
fn join_without_condition_is_a_cross_product() {
    // DataFusion's producer writes CROSS JOIN this way; its consumer reads it back.
    let plan = with_root(json!({"project": {
        "input": {"join": {"left": read(&["a"]), "right": read(&["b"]), "type": "JOIN_TYPE_INNER"}},
        "expressions": [field(1)]}}));
    assert_eq!(diagnose(&plan), vec![]);
}

#[test]
fn sort_without_direction() {
    let sort = |sort_field: Value| {
        with_root(json!({"sort": {"input": read(&["a"]), "sorts": [sort_field]}}))
    };
    expect(
        sort(json!({"expr": field(0)})),
        Code::UnsupportedSort,
        "relations[0].root.input.sort.sorts[0].direction",
    );
    expect(
        sort(json!({"expr": field(0), "direction": "SORT_DIRECTION_CLUSTERED"})),
        Code::UnsupportedSort,
        "relations[0].root.input.sort.sorts[0].direction",
    );
    assert_eq!(
        diagnose(&sort(
            json!({"expr": field(0), "direction": "SORT_DIRECTION_DESC_NULLS_LAST"})
        )),
        vec![]
    );
}

#[test]
fn severities_default_by_code() {
    assert_eq!(Code::FieldOutOfRange.default_severity(), Severity::Error);
    assert_eq!(Code::NonStandardUrn.default_severity(), Severity::Warning);
    assert_eq!(Code::LegacyExtensionUri.default_severity(), Severity::Info);
}

fn wasm_rel(detail: Value) -> Value {
    let mut detail = detail;
    detail["@type"] = json!("type.googleapis.com/lode.ext.v1.WasmRel");
    detail
}

#[test]
fn extension_relations_need_a_wasm_rel_detail() {
    let plan = with_root(json!({"extensionLeaf": {}}));
    expect(
        plan,
        Code::UnknownExtensionDetail,
        "relations[0].root.input.extension_leaf.detail",
    );
    let plan = with_root(
        json!({"extensionLeaf": {"detail": {"typeUrl": "type.googleapis.com/x.Y", "value": ""}}}),
    );
    expect(
        plan,
        Code::UnknownExtensionDetail,
        "relations[0].root.input.extension_leaf.detail.type_url",
    );
    let plan = with_root(json!({"extensionLeaf": {"detail": wasm_rel(json!({"name": "f"}))}}));
    expect(
        plan,
        Code::BadWasmRel,
        "relations[0].root.input.extension_leaf.detail.module",
    );
}

#[test]
fn wasm_rel_module_hash_must_be_carried_and_distribution_in_range() {
    let sha = "ab".repeat(32);
    let detail = wasm_rel(json!({
        "module": sha, "name": "top_k",
        "distribution": {"kind": "KIND_HASH", "fields": [0, 5]},
    }));
    let plan =
        with_root(json!({"extensionSingle": {"input": read(&["a", "b"]), "detail": detail}}));
    let diagnostics = diagnose(&plan);
    let at = |code: Code| {
        diagnostics
            .iter()
            .filter(|d| d.code == code)
            .map(|d| d.path.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        at(Code::ModuleNotInPlan),
        ["relations[0].root.input.extension_single.detail.module"]
    );
    assert_eq!(
        at(Code::DistributionOutOfRange),
        ["relations[0].root.input.extension_single.detail.distribution.fields[1]"]
    );
    // A name (hand-written plans) is resolved by the consumer, not reported.
    let detail = wasm_rel(json!({"module": "top-k", "name": "top_k"}));
    let plan = with_root(json!({"extensionSingle": {"input": read(&["a"]), "detail": detail}}));
    assert_eq!(diagnose(&plan), vec![]);
}

#[test]
fn declared_wasm_output_types_the_fields_downstream() {
    let detail = wasm_rel(json!({
        "module": "word-count", "name": "split_words",
        "output": [{"name": "word", "type": "string"}],
    }));
    let ext = json!({"extensionSingle": {"input": read(&["a", "b"]), "detail": detail}});
    // The operator outputs one field, so field 1 downstream is out of range.
    let plan = with_root(json!({"filter": {"input": ext, "condition":
        {"scalarFunction": {"functionReference": 1, "arguments": [{"value": field(0)}, {"value": field(1)}]}}}}));
    expect(
        plan,
        Code::FieldOutOfRange,
        "relations[0].root.input.filter.condition.scalar_function.arguments[1].value.selection.direct_reference.struct_field.field",
    );
}

/// The output columns `analyze_decoded` derives, as `name type` strings.
fn output_types(plan: &Value) -> Vec<String> {
    let decoded = decode_plan(plan.to_string().as_bytes()).expect("decodes");
    let analysis = analyze_decoded(&decoded, None);
    assert_eq!(analysis.diagnostics, vec![], "no diagnostics expected");
    analysis
        .output
        .expect("the output is derived")
        .iter()
        .map(|c| match &c.data_type {
            Some(t) => format!("{} {t}", c.name),
            None => format!("{} ?", c.name),
        })
        .collect()
}

/// A read of `prices(id i64, price decimal<15,2>?)` under the standard decimal functions
/// (anchor 1: multiply, 2: sum) and the comparisons (3: equal).
fn typed_plan(input: Value, names: &[&str]) -> Value {
    json!({
        "extensionUrns": [
            {"extensionUrnAnchor": 1, "urn": "extension:io.substrait:functions_arithmetic_decimal"},
            {"extensionUrnAnchor": 2, "urn": "extension:io.substrait:functions_comparison"},
            {"extensionUrnAnchor": 3, "urn": "extension:io.substrait:functions_arithmetic"}
        ],
        "extensions": [
            {"extensionFunction": {"extensionUrnReference": 1, "functionAnchor": 1, "name": "multiply:dec_dec"}},
            {"extensionFunction": {"extensionUrnReference": 1, "functionAnchor": 2, "name": "sum:dec"}},
            {"extensionFunction": {"extensionUrnReference": 2, "functionAnchor": 3, "name": "equal:any_any"}},
            {"extensionFunction": {"extensionUrnReference": 3, "functionAnchor": 4, "name": "add:i64_i64"}}
        ],
        "relations": [{"root": {"input": input, "names": names}}]
    })
}

fn prices() -> Value {
    json!({"read": {"namedTable": {"names": ["prices"]}, "baseSchema": {
    "names": ["id", "price"],
    "struct": {"types": [
        {"i64": {"nullability": "NULLABILITY_REQUIRED"}},
        {"decimal": {"precision": 15, "scale": 2, "nullability": "NULLABILITY_NULLABLE"}}
    ]}}}})
}

fn call(anchor: u32, args: &[Value]) -> Value {
    let args: Vec<Value> = args.iter().map(|a| json!({"value": a})).collect();
    json!({"scalarFunction": {"functionReference": anchor, "arguments": args}})
}

#[test]
fn types_are_derived_through_relations_from_the_extension_yamls() {
    // price * price: the decimal rules give decimal<31,4> (nullable: price is); its sum per
    // id is decimal?<38,4>; no call declares an output type.
    let project =
        json!({"project": {"input": prices(), "expressions": [call(1, &[field(1), field(1)])]}});
    let aggregate = json!({"aggregate": {"input": project,
        "groupings": [{"groupingExpressions": [field(0)]}],
        "measures": [{"measure": {"functionReference": 2, "arguments": [{"value": field(2)}]}}]}});
    assert_eq!(
        output_types(&typed_plan(aggregate, &["id", "total"])),
        ["id i64", "total decimal?<38, 4>"]
    );
}

#[test]
fn outer_joins_make_the_missing_side_nullable() {
    let join = |join_type: &str| {
        json!({"join": {"left": prices(), "right": prices(), "type": join_type,
            "expression": call(3, &[field(0), field(2)])}})
    };
    let names = ["a", "ap", "b", "bp"];
    assert_eq!(
        output_types(&typed_plan(join("JOIN_TYPE_LEFT"), &names)),
        [
            "a i64",
            "ap decimal?<15, 2>",
            "b i64?",
            "bp decimal?<15, 2>"
        ]
    );
    assert_eq!(
        output_types(&typed_plan(join("JOIN_TYPE_INNER"), &names)),
        ["a i64", "ap decimal?<15, 2>", "b i64", "bp decimal?<15, 2>"]
    );
    assert_eq!(
        output_types(&typed_plan(join("JOIN_TYPE_LEFT_SEMI"), &names[..2])),
        ["a i64", "ap decimal?<15, 2>"]
    );
}

#[test]
fn declared_wasm_output_types_what_follows_it() {
    let detail = wasm_rel(json!({
        "module": "word-count", "name": "split_words",
        "output": [{"name": "word", "type": "string", "nullable": true},
                   {"name": "n", "type": "i64"}],
    }));
    let ext = json!({"extensionSingle": {"input": prices(), "detail": detail}});
    let plan = typed_plan(
        json!({"project": {"input": ext, "expressions": [call(4, &[field(1), field(1)])]}}),
        &[],
    );
    assert_eq!(output_types(&plan), ["$0 string?", "$1 i64", "$2 i64"]);
    // The guest's string column is no condition.
    let ext = json!({"extensionSingle": {"input": prices(), "detail": wasm_rel(json!({
        "module": "word-count", "name": "split_words",
        "output": [{"name": "word", "type": "string"}]}))}});
    expect(
        typed_plan(
            json!({"filter": {"input": ext, "condition": field(0)}}),
            &[],
        ),
        Code::NotBoolean,
        "relations[0].root.input.filter.condition",
    );
}

#[test]
fn a_condition_must_be_boolean() {
    expect(
        typed_plan(
            json!({"filter": {"input": prices(), "condition": field(0)}}),
            &[],
        ),
        Code::NotBoolean,
        "relations[0].root.input.filter.condition",
    );
}

#[test]
fn argument_types_must_match_an_implementation() {
    // add(i64, decimal) is in neither arithmetic file: i64 and decimal do not mix.
    let plan = typed_plan(
        json!({"project": {"input": prices(), "expressions": [call(4, &[field(0), field(1)])]}}),
        &[],
    );
    expect(
        plan,
        Code::NoImplementationForTypes,
        "relations[0].root.input.project.expressions[0].scalar_function.function_reference",
    );
    let diagnostics = diagnose(&typed_plan(
        json!({"project": {"input": prices(), "expressions": [call(4, &[field(0), field(1)])]}}),
        &[],
    ));
    assert!(
        diagnostics[0]
            .message
            .contains("takes (i64, decimal?<15, 2>)"),
        "{diagnostics:#?}"
    );
    // The other file's `add` takes two decimals, and the hint says so.
    let diagnostics = diagnose(&typed_plan(
        json!({"project": {"input": prices(), "expressions": [call(4, &[field(1), field(1)])]}}),
        &[],
    ));
    assert!(
        diagnostics[0]
            .hint
            .as_deref()
            .is_some_and(|h| h.contains("functions_arithmetic_decimal")),
        "{diagnostics:#?}"
    );
}

#[test]
fn a_declared_output_type_must_be_the_one_returned() {
    let mut equal = call(3, &[field(0), field(0)]);
    equal["scalarFunction"]["outputType"] = json!({"i64": {"nullability": "NULLABILITY_REQUIRED"}});
    expect(
        typed_plan(
            json!({"project": {"input": prices(), "expressions": [equal]}}),
            &[],
        ),
        Code::OutputTypeMismatch,
        "relations[0].root.input.project.expressions[0].scalar_function.output_type",
    );
}

#[test]
fn set_inputs_must_agree_in_fields_and_types() {
    let narrow = json!({"project": {"input": prices(), "common": {"emit": {"outputMapping": [0]}}, "expressions": []}});
    let flipped = json!({"project": {"input": prices(), "common": {"emit": {"outputMapping": [1, 0]}}, "expressions": []}});
    for (other, message) in [
        (narrow, "has 1 fields but input 0 has 2"),
        (
            flipped,
            "field 0 is decimal?<15, 2> in input 1 but i64 in input 0",
        ),
    ] {
        let plan = typed_plan(
            json!({"set": {"inputs": [prices(), other], "op": "SET_OP_UNION_ALL"}}),
            &[],
        );
        let diagnostics = diagnose(&plan);
        assert!(
            diagnostics.iter().any(|d| d.code == Code::SetInputsDiffer
                && d.path.to_string() == "relations[0].root.input.set.inputs[1]"
                && d.message.contains(message)),
            "{diagnostics:#?}"
        );
    }
}

#[test]
fn if_then_results_must_share_a_type() {
    let if_then = json!({"ifThen": {"ifs": [{"if": call(3, &[field(0), field(0)]), "then": field(0)}], "else": field(1)}});
    expect(
        typed_plan(
            json!({"project": {"input": prices(), "expressions": [if_then]}}),
            &[],
        ),
        Code::BranchTypesDiffer,
        "relations[0].root.input.project.expressions[0].if_then.else",
    );
}
