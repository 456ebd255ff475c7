//! Relation checks and output-schema derivation.

use substrait::proto::join_rel::JoinType;
use substrait::proto::read_rel::ReadType;
use substrait::proto::rel::RelType;
use substrait::proto::rel_common::EmitKind;
use substrait::proto::sort_field::{SortDirection, SortKind};
use substrait::proto::{
    AggregateRel, Expression, ExtensionMultiRel, JoinRel, ProjectRel, ReadRel, Rel, RelCommon,
    SetRel, SortField,
};

use super::{Schema, Validator};
use crate::diagnostic::{Code, Diagnostic};
use crate::dialect::Hook;
use crate::ext;
use crate::path::PlanPath;
use crate::types::{DataType, Kind};

impl Validator<'_> {
    /// Checks a relation and returns its output schema, `None` where even its field count
    /// cannot be known.
    pub(super) fn check_rel(&mut self, rel: &Rel, path: &PlanPath) -> Option<Schema> {
        let Some(rel_type) = &rel.rel_type else {
            self.report(Diagnostic::new(
                Code::MissingRelType,
                path.clone(),
                "relation has no type (rel_type is not set)",
            ));
            return None;
        };
        let (schema, common) = match rel_type {
            RelType::Read(read) => (
                self.check_read(read, &path.field("read")),
                read.common.as_ref(),
            ),
            RelType::Filter(f) => {
                let p = path.field("filter");
                let input = self.input(f.input.as_deref(), &p.field("input"));
                self.condition(
                    f.condition.as_deref(),
                    input.as_ref(),
                    &p.field("condition"),
                );
                (input, f.common.as_ref())
            }
            RelType::Fetch(f) => (
                self.input(f.input.as_deref(), &path.field("fetch").field("input")),
                f.common.as_ref(),
            ),
            RelType::Sort(s) => {
                let p = path.field("sort");
                let input = self.input(s.input.as_deref(), &p.field("input"));
                self.sorts(&s.sorts, input.as_ref(), &p);
                (input, s.common.as_ref())
            }
            RelType::Project(pr) => (
                self.check_project(pr, &path.field("project")),
                pr.common.as_ref(),
            ),
            RelType::Aggregate(a) => (
                self.check_aggregate(a, &path.field("aggregate")),
                a.common.as_ref(),
            ),
            RelType::Join(j) => (self.check_join(j, &path.field("join")), j.common.as_ref()),
            RelType::Cross(c) => {
                let p = path.field("cross");
                let left = self.input(c.left.as_deref(), &p.field("left"));
                let right = self.input(c.right.as_deref(), &p.field("right"));
                (concat(left.as_ref(), right.as_ref()), c.common.as_ref())
            }
            RelType::Set(s) => (self.check_set(s, &path.field("set")), s.common.as_ref()),
            RelType::Reference(r) => {
                let Ok(ordinal) = usize::try_from(r.subtree_ordinal) else {
                    self.report(Diagnostic::new(
                        Code::BadSubtreeReference,
                        path.field("reference"),
                        format!("subtree ordinal {} is negative", r.subtree_ordinal),
                    ));
                    return None;
                };
                (
                    self.subtree(ordinal, &path.field("reference").field("subtree_ordinal")),
                    None,
                )
            }
            RelType::Exchange(e) => (
                self.input(e.input.as_deref(), &path.field("exchange").field("input")),
                e.common.as_ref(),
            ),
            RelType::ExtensionLeaf(e) => {
                let p = path.field("extension_leaf");
                (self.wasm_rel(e.detail.as_ref(), &[], &p), e.common.as_ref())
            }
            RelType::ExtensionSingle(e) => {
                let p = path.field("extension_single");
                let input = self.input(e.input.as_deref(), &p.field("input"));
                (
                    self.wasm_rel(e.detail.as_ref(), &[input.map(|s| s.len())], &p),
                    e.common.as_ref(),
                )
            }
            RelType::ExtensionMulti(e) => (
                self.check_extension_multi(e, &path.field("extension_multi")),
                e.common.as_ref(),
            ),
            other => {
                let name = rel_kind(other);
                self.report(
                    Diagnostic::new(Code::UnsupportedRelation, path.field(name), format!("`{name}` relations are not supported by Lode's executor"))
                        .with_hint("supported: read, filter, fetch, sort, project, aggregate, join, cross, set, reference, exchange and the extension relations"),
                );
                return None;
            }
        };
        let kind = rel_kind(rel_type);
        self.apply_emit(common, schema, &path.field(kind))
    }

    /// A project's output: its input's fields and its expressions' (or only the expressions',
    /// as DuckDB writes projects without `emit`).
    fn check_project(&mut self, pr: &ProjectRel, p: &PlanPath) -> Option<Schema> {
        let input = self.input(pr.input.as_deref(), &p.field("input"));
        let computed: Schema = pr
            .expressions
            .iter()
            .enumerate()
            .map(|(i, e)| self.check_expr(e, input.as_ref(), &p.index("expressions", i)))
            .collect();
        if self.dialect.project_outputs_expressions_only(pr) {
            self.applied(Hook::ProjectEmitsExpressionsOnly, p);
            Some(computed)
        } else {
            input.map(|mut fields| {
                fields.extend(computed);
                fields
            })
        }
    }

    /// A join's output: both sides' fields (one side for semi, anti and mark joins), the side
    /// whose rows may go unmatched made nullable.
    fn check_join(&mut self, j: &JoinRel, p: &PlanPath) -> Option<Schema> {
        let left = self.input(j.left.as_deref(), &p.field("left"));
        let right = self.input(j.right.as_deref(), &p.field("right"));
        let both = concat(left.as_ref(), right.as_ref());
        // No condition pairs every left row with every right row: DataFusion's producer
        // (and so `lode sql`) writes cross joins this way, and its consumer reads them.
        if let Some(e) = j.expression.as_deref() {
            self.condition(Some(e), both.as_ref(), &p.field("expression"));
        }
        if let Some(e) = j.post_join_filter.as_deref() {
            self.condition(Some(e), both.as_ref(), &p.field("post_join_filter"));
        }
        let join_type = JoinType::try_from(j.r#type).unwrap_or(JoinType::Unspecified);
        // The side whose rows may be missing from a match has every field nullable.
        match join_type {
            JoinType::LeftSemi | JoinType::LeftAnti => left,
            JoinType::RightSemi | JoinType::RightAnti => right,
            JoinType::LeftMark => left.map(with_mark),
            JoinType::RightMark => right.map(with_mark),
            JoinType::Left | JoinType::LeftSingle => {
                concat(left.as_ref(), right.map(nullable).as_ref())
            }
            JoinType::Right | JoinType::RightSingle => {
                concat(left.map(nullable).as_ref(), right.as_ref())
            }
            JoinType::Outer => concat(left.map(nullable).as_ref(), right.map(nullable).as_ref()),
            _ => both,
        }
    }

    /// A set relation's output, from at least two inputs of matching shape.
    fn check_set(&mut self, s: &SetRel, p: &PlanPath) -> Option<Schema> {
        if s.inputs.len() < 2 {
            self.report(Diagnostic::new(
                Code::MissingInput,
                p.field("inputs"),
                format!(
                    "a set relation needs at least two inputs, it has {}",
                    s.inputs.len()
                ),
            ));
        }
        let inputs: Vec<Option<Schema>> = s
            .inputs
            .iter()
            .enumerate()
            .map(|(i, r)| self.check_rel(r, &p.index("inputs", i)))
            .collect();
        self.set_output(&inputs, p)
    }

    /// A Wasm operator over several inputs.
    fn check_extension_multi(&mut self, e: &ExtensionMultiRel, p: &PlanPath) -> Option<Schema> {
        let inputs: Vec<Option<usize>> = e
            .inputs
            .iter()
            .enumerate()
            .map(|(i, r)| self.check_rel(r, &p.index("inputs", i)).map(|s| s.len()))
            .collect();
        if inputs.is_empty() {
            self.report(Diagnostic::new(
                Code::MissingInput,
                p.field("inputs"),
                "ExtensionMultiRel has no inputs",
            ));
        }
        self.wasm_rel(e.detail.as_ref(), &inputs, p)
    }

    /// Checks the relation in an input slot (`path` is the slot: `….filter.input`, `….join.left`).
    fn input(&mut self, input: Option<&Rel>, path: &PlanPath) -> Option<Schema> {
        match input {
            Some(rel) => self.check_rel(rel, path),
            None => {
                self.report(Diagnostic::new(
                    Code::MissingInput,
                    path.clone(),
                    "required input relation is missing",
                ));
                None
            }
        }
    }

    /// The output of a set relation: the first input's fields, each nullable when it is in any
    /// input. Inputs must agree in field count and types.
    fn set_output(&mut self, inputs: &[Option<Schema>], path: &PlanPath) -> Option<Schema> {
        let mut known = inputs
            .iter()
            .enumerate()
            .filter_map(|(i, s)| Some((i, s.as_ref()?)));
        let (first_index, first) = known.next()?;
        let mut output = first.clone();
        for (i, schema) in known {
            if schema.len() != first.len() {
                self.report(Diagnostic::new(
                    Code::SetInputsDiffer,
                    path.index("inputs", i),
                    format!(
                        "input {i} has {} fields but input {first_index} has {}",
                        schema.len(),
                        first.len()
                    ),
                ));
                continue;
            }
            for (f, (out, ty)) in output.iter_mut().zip(schema).enumerate() {
                match (out.as_mut(), ty) {
                    // DataFusion's type coercion widens them; the width it picks is its own.
                    (Some(a), Some(b))
                        if !a.same_kind(b)
                            && a.is_numeric()
                            && b.is_numeric()
                            && self.dialect.widens_set_inputs() =>
                    {
                        self.applied(Hook::SetInputsWidened, &path.index("inputs", i));
                        *out = None;
                    }
                    (Some(a), Some(b)) if !a.same_kind(b) => self.report(
                        Diagnostic::new(
                            Code::SetInputsDiffer,
                            path.index("inputs", i),
                            format!("field {f} is {b} in input {i} but {a} in input {first_index}"),
                        )
                        .with_hint("cast one side so that every input has the same field types"),
                    ),
                    (Some(a), Some(b)) => a.nullable |= b.nullable,
                    _ => *out = None,
                }
            }
        }
        Some(output)
    }

    pub(super) fn sorts(&mut self, sorts: &[SortField], input: Option<&Schema>, path: &PlanPath) {
        for (i, s) in sorts.iter().enumerate() {
            let p = path.index("sorts", i);
            self.required(s.expr.as_ref(), input, &p.field("expr"));
            let problem = match &s.sort_kind {
                Some(SortKind::Direction(d)) => match SortDirection::try_from(*d) {
                    Ok(SortDirection::Unspecified) => {
                        Some("the sort direction is unspecified".to_string())
                    }
                    Ok(SortDirection::Clustered) => {
                        Some("clustered sorts are not supported".to_string())
                    }
                    Ok(_) => None,
                    Err(_) => Some(format!("unknown sort direction {d}")),
                },
                Some(SortKind::ComparisonFunctionReference(_)) => {
                    Some("sorting by a comparison function is not supported".to_string())
                }
                None => Some("the sort field sets no direction".to_string()),
            };
            if let Some(problem) = problem {
                self.report(
                    Diagnostic::new(Code::UnsupportedSort, p.field("direction"), problem)
                        .with_hint("use one of SORT_DIRECTION_ASC_NULLS_FIRST/_LAST, SORT_DIRECTION_DESC_NULLS_FIRST/_LAST"),
                );
            }
        }
    }

    fn apply_emit(
        &mut self,
        common: Option<&RelCommon>,
        schema: Option<Schema>,
        path: &PlanPath,
    ) -> Option<Schema> {
        let Some(EmitKind::Emit(emit)) = common.and_then(|c| c.emit_kind.as_ref()) else {
            return schema;
        };
        let mut output = Vec::with_capacity(emit.output_mapping.len());
        for (i, &field) in emit.output_mapping.iter().enumerate() {
            let Some(schema) = &schema else {
                output.push(None);
                continue;
            };
            let arity = schema.len();
            match usize::try_from(field).ok().and_then(|f| schema.get(f)) {
                Some(ty) => output.push(ty.clone()),
                None => {
                    self.report(Diagnostic::new(
                        Code::EmitOutOfRange,
                        path.field("common").field("emit").index("output_mapping", i),
                        format!("emit selects field {field}, but the relation produces {arity} fields (0..{arity})"),
                    ));
                    output.push(None);
                }
            }
        }
        Some(output)
    }

    /// Checks an extension relation's `WasmRel` detail against the plan and the inputs'
    /// arities; returns the relation's schema when the plan declares its output (the executor
    /// rejects a declared output that differs from the guest's bind).
    fn wasm_rel(
        &mut self,
        detail: Option<&pbjson_types::Any>,
        inputs: &[Option<usize>],
        path: &PlanPath,
    ) -> Option<Schema> {
        let detail_path = path.field("detail");
        let Some(detail) = detail else {
            self.report(
                Diagnostic::new(
                    Code::UnknownExtensionDetail,
                    detail_path,
                    "the extension relation has no detail",
                )
                .with_hint(format!(
                    "Lode runs extension relations whose detail is a {}",
                    ext::WASM_REL_TYPE_URL
                )),
            );
            return None;
        };
        let rel = match ext::wasm_rel(detail, &detail_path.to_string()) {
            Ok(rel) => rel,
            Err(ext::ExtError::UnknownDetail { type_url, .. }) => {
                self.report(
                    Diagnostic::new(
                        Code::UnknownExtensionDetail,
                        detail_path.field("type_url"),
                        format!("detail type '{type_url}' is not one Lode knows"),
                    )
                    .with_hint(format!(
                        "Lode runs extension relations whose detail is a {}",
                        ext::WASM_REL_TYPE_URL
                    )),
                );
                return None;
            }
            Err(e) => {
                self.report(Diagnostic::new(
                    Code::BadWasmRel,
                    detail_path,
                    e.to_string(),
                ));
                return None;
            }
        };
        if rel.name.is_empty() {
            self.report(Diagnostic::new(
                Code::BadWasmRel,
                detail_path.field("name"),
                "the WasmRel names no table function or operator",
            ));
        }
        if rel.module.is_empty() {
            self.report(Diagnostic::new(
                Code::BadWasmRel,
                detail_path.field("module"),
                "the WasmRel names no module",
            ));
        } else if ext::is_sha256(&rel.module)
            && !self.module_in_plan(&rel.module)
            && !self.support.is_some_and(|s| s.supplies_module(&rel.module))
        {
            self.report(
                Diagnostic::new(
                    Code::ModuleNotInPlan,
                    detail_path.field("module"),
                    format!("module {} is not in the plan's module table", rel.module),
                )
                .with_hint("embed the module (lode sql --module does), or supply it to the consumer (lode run --module FILE)"),
            );
        }
        if let Some(d) = &rel.distribution
            && d.kind == ext::proto::distribution::Kind::Hash as i32
        {
            for (i, input) in inputs.iter().enumerate() {
                let Some(width) = input else { continue };
                for (j, field) in d.fields.iter().enumerate() {
                    if *field as usize >= *width {
                        self.report(Diagnostic::new(
                            Code::DistributionOutOfRange,
                            detail_path.field("distribution").index("fields", j),
                            format!("hash distribution field {field} is out of range: input {i} has {width} fields"),
                        ));
                    }
                }
            }
        }
        (!rel.output.is_empty()).then(|| rel.output.iter().map(column_type).collect())
    }

    fn check_read(&mut self, read: &ReadRel, path: &PlanPath) -> Option<Schema> {
        let Some(schema) = &read.base_schema else {
            self.report(Diagnostic::new(Code::MissingBaseSchema, path.field("base_schema"), "a read relation must declare its base_schema (names and types of the table's fields)"));
            return None;
        };
        let fields: Schema = match &schema.r#struct {
            Some(st) => st.types.iter().map(DataType::from_proto).collect(),
            None => vec![None; schema.names.len()],
        };
        let width = fields.len();
        if let (Some(support), Some(st)) = (self.support, &schema.r#struct) {
            for (i, ty) in st.types.iter().enumerate() {
                if let Some(why) = support.data_type(self.plan, ty) {
                    let name = schema.names.get(i).map_or("?", String::as_str);
                    self.report(Diagnostic::new(
                        Code::UnsupportedType,
                        path.field("base_schema").field("struct").index("types", i),
                        format!("column `{name}`: {why}"),
                    ));
                }
            }
        }
        match &read.read_type {
            Some(ReadType::NamedTable(t)) if t.names.is_empty() => {
                self.report(Diagnostic::new(
                    Code::EmptyTableName,
                    path.field("named_table").field("names"),
                    "named table has an empty name",
                ));
            }
            Some(ReadType::NamedTable(_))
            | Some(ReadType::VirtualTable(_))
            | Some(ReadType::LocalFiles(_)) => {}
            Some(ReadType::ExtensionTable(_)) | Some(ReadType::IcebergTable(_)) => {
                self.report(Diagnostic::new(Code::UnsupportedRead, path.clone(), "extension and Iceberg table reads are not supported; use named_table, local_files or virtual_table"));
            }
            None => self.report(Diagnostic::new(
                Code::UnsupportedRead,
                path.clone(),
                "the read sets no read_type",
            )),
        }
        if let Some(filter) = read.filter.as_deref() {
            self.condition(Some(filter), Some(&fields), &path.field("filter"));
        }
        let mut projected = Vec::new();
        if let Some(items) = read.projection.as_ref().and_then(|m| m.select.as_ref()) {
            for (i, item) in items.struct_items.iter().enumerate() {
                let field = usize::try_from(item.field).ok().and_then(|f| fields.get(f));
                projected.push(field.cloned().flatten());
                if field.is_none() {
                    self.report(Diagnostic::new(
                        Code::FieldOutOfRange,
                        path.field("projection")
                            .field("select")
                            .index("struct_items", i),
                        format!(
                            "projection selects field {}, but the base schema has {width} fields",
                            item.field
                        ),
                    ));
                }
            }
        }
        Some(if projected.is_empty() {
            fields
        } else {
            projected
        })
    }

    fn check_aggregate(&mut self, a: &AggregateRel, path: &PlanPath) -> Option<Schema> {
        let input = self.input(a.input.as_deref(), &path.field("input"));
        let input = input.as_ref();
        let key_types: Schema = a
            .grouping_expressions
            .iter()
            .enumerate()
            .map(|(i, e)| self.check_expr(e, input, &path.index("grouping_expressions", i)))
            .collect();
        let mut distinct_keys: Vec<(&Expression, Option<DataType>)> = Vec::new();
        for (g, grouping) in a.groupings.iter().enumerate() {
            let gp = path.index("groupings", g);
            #[allow(deprecated)]
            for (i, e) in grouping.grouping_expressions.iter().enumerate() {
                let ty = self.check_expr(e, input, &gp.index("grouping_expressions", i));
                if !distinct_keys.iter().any(|(k, _)| *k == e) {
                    distinct_keys.push((e, ty));
                }
            }
            for (i, &r) in grouping.expression_references.iter().enumerate() {
                if usize::try_from(r).map_or(true, |r| r >= a.grouping_expressions.len()) {
                    self.report(Diagnostic::new(
                        Code::GroupingReferenceOutOfRange,
                        gp.index("expression_references", i),
                        format!("grouping references expression {r}, but the aggregate has {} grouping_expressions", a.grouping_expressions.len()),
                    ));
                }
            }
        }
        let mut measures = Vec::with_capacity(a.measures.len());
        for (i, m) in a.measures.iter().enumerate() {
            let mp = path.index("measures", i);
            measures.push(match &m.measure {
                Some(f) => self.check_aggregate_function(f, input, &mp.field("measure")),
                None => {
                    self.report(Diagnostic::new(
                        Code::MissingMeasure,
                        mp.field("measure"),
                        "aggregate measure has no function",
                    ));
                    None
                }
            });
            if let Some(filter) = &m.filter {
                self.condition(Some(filter), input, &mp.field("filter"));
            }
        }
        let mut output: Schema = if a.grouping_expressions.is_empty() {
            distinct_keys.into_iter().map(|(_, ty)| ty).collect()
        } else {
            key_types
        };
        if a.groupings.len() <= 1 {
            output.extend(measures);
            return Some(output);
        }
        // A key absent from some grouping set is null in that set's rows, and a column says
        // which set produced the row: the spec's i32 index after the measures, or DataFusion's
        // bitmask (an unsigned integer as narrow as its bits) after the keys.
        output = nullable(output);
        if self.dialect.grouping_id_after_keys() {
            self.applied(Hook::GroupingIdAfterKeys, path);
            output.push(None);
            output.extend(measures);
        } else {
            output.extend(measures);
            output.push(Some(DataType::required(Kind::I32)));
        }
        Some(output)
    }
}

/// The fields of two relations side by side (joins, cross products).
fn concat(left: Option<&Schema>, right: Option<&Schema>) -> Option<Schema> {
    let (left, right) = (left?, right?);
    Some(left.iter().chain(right).cloned().collect())
}

/// Every field made nullable.
fn nullable(schema: Schema) -> Schema {
    schema
        .into_iter()
        .map(|f| f.map(|t| t.with_nullable(true)))
        .collect()
}

/// A mark join's output: its input and the nullable boolean mark.
fn with_mark(mut schema: Schema) -> Schema {
    schema.push(Some(DataType::new(Kind::Boolean, true)));
    schema
}

/// A `WasmRel` output column's type: its type string with its nullability.
fn column_type(column: &ext::proto::Column) -> Option<DataType> {
    DataType::parse(&column.r#type).map(|t| t.with_nullable(column.nullable))
}

/// The proto field name of a relation kind (`read`, `filter`, …), as it appears in paths.
fn rel_kind(rel: &RelType) -> &'static str {
    match rel {
        RelType::Read(_) => "read",
        RelType::Filter(_) => "filter",
        RelType::Fetch(_) => "fetch",
        RelType::Aggregate(_) => "aggregate",
        RelType::Sort(_) => "sort",
        RelType::Join(_) => "join",
        RelType::Project(_) => "project",
        RelType::Set(_) => "set",
        RelType::ExtensionSingle(_) => "extension_single",
        RelType::ExtensionMulti(_) => "extension_multi",
        RelType::ExtensionLeaf(_) => "extension_leaf",
        RelType::Cross(_) => "cross",
        RelType::Reference(_) => "reference",
        RelType::Exchange(_) => "exchange",
        RelType::Write(_) => "write",
        RelType::Ddl(_) => "ddl",
        RelType::Update(_) => "update",
        RelType::HashJoin(_) => "hash_join",
        RelType::MergeJoin(_) => "merge_join",
        RelType::NestedLoopJoin(_) => "nested_loop_join",
        RelType::Window(_) => "window",
        RelType::Expand(_) => "expand",
    }
}
