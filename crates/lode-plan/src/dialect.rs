//! Producer dialects: where a known producer departs from the Substrait spec, how Lode
//! detects it and reads the plan as the producer meant it.
//!
//! Each departure has a named [`Hook`]. Both the validator and the executor's consumer ask
//! [`Dialect::of`] which hooks apply to a plan, so what `lode validate` derives is what
//! `lode run` binds; the validator reports every hook it applies (D003) with the place it
//! applied it first. Hooks are detected from what the plan says of itself (`version.producer`)
//! and from its shape, never from the query; a plan in the spec's form is never touched.
//!
//! | hook | departure | producers |
//! |---|---|---|
//! | [`Hook::ProjectEmitsExpressionsOnly`] | a `ProjectRel` without `emit` outputs only its expressions (the spec: its input's fields, then its expressions) | DuckDB's substrait extension (1.1.3) |
//! | [`Hook::DecimalTypesFromTheExtension`] | decimal results declared with the inputs' precision and scale (`multiply(decimal<15,2>, decimal<15,2>)` declared `decimal<15,2>`, the extension's is `decimal<31,4>`) | ibis-substrait (4.0) |
//! | [`Hook::FunctionsWithoutExtension`] | functions declared with no extension (URN anchor 0) beside others that have one | DuckDB (1.1.3: `substring`, `constant_or_null`, …) |
//! | [`Hook::UntypedNullLiteral`] | a null literal whose type has no kind, under a cast to the type meant | DuckDB (1.1.3) |
//! | [`Hook::IfThenWithBase`] | a simple `CASE x WHEN v THEN r` as an `IfThen` whose first clause is `x` with no `then` (Substrait's form is `SwitchExpression`) | DataFusion's producer (55) |
//! | [`Hook::NullTypeWithoutExtension`] | the type of a null not yet typed, as a user-defined type named `null` declared with URN anchor 4294967295 (never declared) | DataFusion's producer (55), before its type coercion |
//! | [`Hook::GroupingIdAfterKeys`] | an aggregate over several grouping sets outputs its grouping-set column after the keys, as a bitmask of the keys each set leaves out (the spec: after the measures, the set's `i32` index) | DataFusion's producer (55), `lode sql` |
//! | [`Hook::SetInputsWidened`] | a set relation whose inputs' numeric fields differ in width, precision or scale | DataFusion's producer (55), before its type coercion |
//! | [`Hook::LegacyJoinTypeNames`] | JSON join types by their pre-0.44 names (`JOIN_TYPE_SEMI`, `JOIN_TYPE_ANTI`, `JOIN_TYPE_SINGLE`) | DuckDB (1.1.3) |
//!
//! Hooks that are about one expression (enum arguments, `var_char` literals, upper-case
//! names, …) live in the executor's consumer; see `lode-exec`'s `consumer` module.

use std::fmt;

use serde_json::Value;
use substrait::proto::rel_common::EmitKind;
use substrait::proto::r#type::Kind;
use substrait::proto::{Plan, ProjectRel, Type};

/// One producer departure from the spec that Lode reads as the producer meant it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Hook {
    /// DuckDB writes every `ProjectRel` without an `emit` and means its output to be the
    /// expressions alone; by the spec it is the input's fields followed by the expressions.
    ProjectEmitsExpressionsOnly,
    /// Join types written by their names before Substrait 0.44 renamed them
    /// (`JOIN_TYPE_SEMI` is now `JOIN_TYPE_LEFT_SEMI`; the numbers did not change, so only
    /// JSON plans are affected).
    LegacyJoinTypeNames,
    /// ibis-substrait declares the result of decimal arithmetic with its first input's
    /// precision and scale; reading that type would round every product to the inputs'
    /// scale. The call is typed as its extension returns it.
    DecimalTypesFromTheExtension,
    /// DuckDB declares some functions with no extension at all (URN anchor 0, which it
    /// never declares) beside functions of standard extensions; they are linked by name.
    FunctionsWithoutExtension,
    /// DuckDB writes a null literal whose type has no kind (`{"null": {}}`) inside a cast to
    /// the type it means; Lode reads it as a null of the cast's type.
    UntypedNullLiteral,
    /// DataFusion writes `CASE x WHEN v THEN r` as an `IfThen` whose first clause holds the
    /// base `x` and no `then`; each later clause's `if` is a value compared with it. Its own
    /// consumer reads that form back, and so does Lode's; the validator types it so.
    IfThenWithBase,
    /// DataFusion writes the type of a null its type coercion has not typed yet (`CASE ...
    /// ELSE NULL`, `SELECT NULL` in one input of a union) as a user-defined type named
    /// `null`, declared with URN anchor 4294967295, which no plan declares. Substrait has no
    /// null type; Lode reads it as DataFusion does, a null whose type comes from where it is
    /// used, so such a value never fixes a type the validator derives.
    NullTypeWithoutExtension,
    /// DataFusion lays out an aggregate over several grouping sets as its keys, its
    /// `__grouping_id` (a bitmask of the keys a set leaves out, the first key the most
    /// significant bit), then its measures; the spec as its keys, its measures, then the
    /// set's `i32` index. Plans DataFusion writes reference fields by its layout.
    GroupingIdAfterKeys,
    /// DataFusion, before its type coercion, writes set relations whose inputs' numeric
    /// fields differ (`decimal<22,2>` in one input, `decimal<38,2>` in another); the spec
    /// asks for equal types. Its type coercion widens them, and so does Lode's run.
    SetInputsWidened,
}

impl Hook {
    /// The hook's stable name, as diagnostics and documents spell it.
    pub fn name(self) -> &'static str {
        match self {
            Hook::ProjectEmitsExpressionsOnly => "project-emits-expressions-only",
            Hook::LegacyJoinTypeNames => "legacy-join-type-names",
            Hook::DecimalTypesFromTheExtension => "decimal-types-from-the-extension",
            Hook::FunctionsWithoutExtension => "functions-without-extension",
            Hook::UntypedNullLiteral => "untyped-null-literal",
            Hook::IfThenWithBase => "if-then-with-base",
            Hook::NullTypeWithoutExtension => "null-type-without-extension",
            Hook::GroupingIdAfterKeys => "grouping-id-after-keys",
            Hook::SetInputsWidened => "set-inputs-widened",
        }
    }

    /// What the producer wrote and how Lode reads it.
    pub fn description(self) -> &'static str {
        match self {
            Hook::ProjectEmitsExpressionsOnly => {
                "the producer writes projects without an emit and means them to output only their expressions (the spec: the input's fields, then the expressions); Lode reads them as the producer meant"
            }
            Hook::LegacyJoinTypeNames => {
                "join types are written by their names before Substrait 0.44 (JOIN_TYPE_SEMI, JOIN_TYPE_ANTI, JOIN_TYPE_SINGLE); Lode reads them as the LEFT_ variants they were renamed to"
            }
            Hook::FunctionsWithoutExtension => {
                "functions are declared with no extension (URN anchor 0, never declared) beside functions of declared extensions; Lode links them by name"
            }
            Hook::UntypedNullLiteral => {
                "a null literal's type has no kind; Lode reads it as a null of the type of the cast around it"
            }
            Hook::IfThenWithBase => {
                "a simple CASE is written as an if-then whose first clause is the value compared, with no then; Lode reads each later clause's if as a value equal to it"
            }
            Hook::NullTypeWithoutExtension => {
                "a null is typed by a user-defined type named `null` from an extension the plan does not declare; Lode reads it as a null whose type comes from where it is used (a CASE's other results, a union's other inputs)"
            }
            Hook::GroupingIdAfterKeys => {
                "an aggregate over several grouping sets outputs the keys, DataFusion's __grouping_id (a bitmask of the keys each set leaves out), then the measures (the spec: the keys, the measures, then the set's i32 index); Lode lays it out as DataFusion does"
            }
            Hook::SetInputsWidened => {
                "a set relation's inputs have numeric fields of different widths, precisions or scales (the spec: equal types); Lode widens them as DataFusion's type coercion does"
            }
            Hook::DecimalTypesFromTheExtension => {
                "the producer declares decimal results with its inputs' precision and scale (a product of decimal<15,2> declared decimal<15,2>); Lode types such calls as their extension returns them, so no digit is rounded away"
            }
        }
    }
}

impl fmt::Display for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The dialect a plan is written in: which hooks apply to it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Dialect {
    /// DuckDB's departures: projects without emit, functions without an extension, untyped
    /// null literals.
    duckdb: bool,
    decimal_types_from_the_extension: bool,
    /// DataFusion's layout of aggregates over grouping sets ([`Hook::GroupingIdAfterKeys`])
    /// and its set relations of inputs not yet coerced ([`Hook::SetInputsWidened`]).
    datafusion: bool,
    /// The anchor of DataFusion's `null` type ([`Hook::NullTypeWithoutExtension`]).
    null_type: Option<u32>,
}

impl Dialect {
    /// The dialect of `plan`, from the producer it names.
    pub fn of(plan: &Plan) -> Dialect {
        let producer = plan
            .version
            .as_ref()
            .map(|v| v.producer.to_ascii_lowercase())
            .unwrap_or_default();
        Dialect {
            duckdb: producer.contains("duckdb"),
            decimal_types_from_the_extension: producer.contains("ibis"),
            // `lode sql` writes DataFusion's plans under Lode's name.
            datafusion: producer.contains("datafusion") || producer == "lode",
            null_type: null_type_without_extension(plan),
        }
    }

    /// True when an aggregate over several grouping sets outputs DataFusion's
    /// `__grouping_id` after its keys ([`Hook::GroupingIdAfterKeys`]).
    pub fn grouping_id_after_keys(&self) -> bool {
        self.datafusion
    }

    /// True when a set relation's numeric fields that differ between inputs are widened to
    /// one type ([`Hook::SetInputsWidened`]).
    pub fn widens_set_inputs(&self) -> bool {
        self.datafusion
    }

    /// True when `anchor` is the plan's `null` type declared without an extension
    /// ([`Hook::NullTypeWithoutExtension`]).
    pub fn is_null_type_anchor(&self, anchor: u32) -> bool {
        self.null_type == Some(anchor)
    }

    /// True when `ty` is the plan's `null` type declared without an extension
    /// ([`Hook::NullTypeWithoutExtension`]).
    pub fn is_null_type(&self, ty: &Type) -> bool {
        matches!(&ty.kind, Some(Kind::UserDefined(u)) if self.is_null_type_anchor(u.type_reference))
    }

    /// True when functions declared with URN anchor 0 (none declared) are linked by name
    /// ([`Hook::FunctionsWithoutExtension`]).
    pub fn links_unanchored_functions_by_name(&self) -> bool {
        self.duckdb
    }

    /// True when a null literal without a type kind is a null of its context's type
    /// ([`Hook::UntypedNullLiteral`]).
    pub fn reads_untyped_nulls(&self) -> bool {
        self.duckdb
    }

    /// True when a call's declared output type is read as written; false for a decimal type
    /// the producer declares wrongly ([`Hook::DecimalTypesFromTheExtension`]), where the call
    /// has the type its extension returns.
    pub fn reads_declared_output(&self, declared: &Type) -> bool {
        !(self.decimal_types_from_the_extension && matches!(declared.kind, Some(Kind::Decimal(_))))
    }

    /// True when `project` outputs only its expressions: it has no `emit` and the plan's
    /// producer means that ([`Hook::ProjectEmitsExpressionsOnly`]).
    pub fn project_outputs_expressions_only(&self, project: &ProjectRel) -> bool {
        let emits = matches!(
            project.common.as_ref().and_then(|c| c.emit_kind.as_ref()),
            Some(EmitKind::Emit(_))
        );
        self.duckdb && !emits
    }
}

/// The anchor of a type declared by the name `null` with a URN anchor the plan does not
/// declare: DataFusion's stand-in for the type of a null it has not typed yet. Detected from
/// the declaration's shape, since `lode sql --unoptimized` writes it too under Lode's name.
fn null_type_without_extension(plan: &Plan) -> Option<u32> {
    use substrait::proto::extensions::simple_extension_declaration::MappingType;
    let declared = |urn: u32| {
        plan.extension_urns
            .iter()
            .any(|u| u.extension_urn_anchor == urn)
    };
    plan.extensions
        .iter()
        .find_map(|decl| match &decl.mapping_type {
            Some(MappingType::ExtensionType(t))
                if t.name == "null" && !declared(t.extension_urn_reference) =>
            {
                Some(t.type_anchor)
            }
            _ => None,
        })
}

/// Old join type names and the names Substrait gave the same numbers since.
const LEGACY_JOIN_TYPES: &[(&str, &str)] = &[
    ("JOIN_TYPE_SEMI", "JOIN_TYPE_LEFT_SEMI"),
    ("JOIN_TYPE_ANTI", "JOIN_TYPE_LEFT_ANTI"),
    ("JOIN_TYPE_SINGLE", "JOIN_TYPE_LEFT_SINGLE"),
];

/// Renames legacy join types in a JSON plan ([`Hook::LegacyJoinTypeNames`]); returns how many
/// it renamed.
pub(crate) fn upgrade_json_join_types(value: &mut Value) -> usize {
    let mut renamed = 0;
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(map) => {
                if let Some(Value::Object(join)) = map.get_mut("join")
                    && let Some(Value::String(t)) = join.get_mut("type")
                    && let Some((_, new)) = LEGACY_JOIN_TYPES.iter().find(|(old, _)| old == t)
                {
                    *t = (*new).to_string();
                    renamed += 1;
                }
                stack.extend(map.values_mut());
            }
            Value::Array(items) => stack.extend(items.iter_mut()),
            _ => {}
        }
    }
    renamed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duckdb_plans_have_projects_that_emit_expressions_only() {
        let project = ProjectRel::default();
        let mut plan = Plan::default();
        assert!(!Dialect::of(&plan).project_outputs_expressions_only(&project));
        plan.version = Some(substrait::proto::Version {
            producer: "DuckDB".into(),
            ..Default::default()
        });
        assert!(Dialect::of(&plan).project_outputs_expressions_only(&project));
        let emitting = ProjectRel {
            common: Some(substrait::proto::RelCommon {
                emit_kind: Some(EmitKind::Emit(Default::default())),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(!Dialect::of(&plan).project_outputs_expressions_only(&emitting));
    }

    #[test]
    fn legacy_join_types_are_renamed_in_joins_only() {
        let mut plan = serde_json::json!({
            "relations": [{"root": {"input": {"join": {"type": "JOIN_TYPE_SEMI",
                "left": {"join": {"type": "JOIN_TYPE_ANTI"}}, "right": {"join": {"type": "JOIN_TYPE_INNER"}}}}}}],
            "other": {"type": "JOIN_TYPE_SEMI"}
        });
        assert_eq!(upgrade_json_join_types(&mut plan), 2);
        let join = &plan["relations"][0]["root"]["input"]["join"];
        assert_eq!(join["type"], "JOIN_TYPE_LEFT_SEMI");
        assert_eq!(join["left"]["join"]["type"], "JOIN_TYPE_LEFT_ANTI");
        assert_eq!(join["right"]["join"]["type"], "JOIN_TYPE_INNER");
        assert_eq!(plan["other"]["type"], "JOIN_TYPE_SEMI");
    }
}
