//! Relation checks and output-arity derivation.

use substrait::proto::join_rel::JoinType;
use substrait::proto::read_rel::ReadType;
use substrait::proto::rel::RelType;
use substrait::proto::rel_common::EmitKind;
use substrait::proto::sort_field::{SortDirection, SortKind};
use substrait::proto::{AggregateRel, Expression, ReadRel, Rel, RelCommon, SortField};

use super::Validator;
use crate::diagnostic::{Code, Diagnostic};
use crate::ext;
use crate::path::PlanPath;

impl Validator<'_> {
    /// Checks a relation and returns its output arity, `None` where it cannot be known.
    pub(super) fn check_rel(&mut self, rel: &Rel, path: &PlanPath) -> Option<usize> {
        let Some(rel_type) = &rel.rel_type else {
            self.report(Diagnostic::new(
                Code::MissingRelType,
                path.clone(),
                "relation has no type (rel_type is not set)",
            ));
            return None;
        };
        let (arity, common) = match rel_type {
            RelType::Read(read) => (
                self.check_read(read, &path.field("read")),
                read.common.as_ref(),
            ),
            RelType::Filter(f) => {
                let p = path.field("filter");
                let arity = self.input(f.input.as_deref(), &p.field("input"));
                self.required_expr(f.condition.as_deref(), arity, &p.field("condition"));
                (arity, f.common.as_ref())
            }
            RelType::Fetch(f) => (
                self.input(f.input.as_deref(), &path.field("fetch").field("input")),
                f.common.as_ref(),
            ),
            RelType::Sort(s) => {
                let p = path.field("sort");
                let arity = self.input(s.input.as_deref(), &p.field("input"));
                self.sorts(&s.sorts, arity, &p);
                (arity, s.common.as_ref())
            }
            RelType::Project(pr) => {
                let p = path.field("project");
                let input = self.input(pr.input.as_deref(), &p.field("input"));
                for (i, e) in pr.expressions.iter().enumerate() {
                    self.check_expr(e, input, &p.index("expressions", i));
                }
                (input.map(|n| n + pr.expressions.len()), pr.common.as_ref())
            }
            RelType::Aggregate(a) => (
                self.check_aggregate(a, &path.field("aggregate")),
                a.common.as_ref(),
            ),
            RelType::Join(j) => {
                let p = path.field("join");
                let left = self.input(j.left.as_deref(), &p.field("left"));
                let right = self.input(j.right.as_deref(), &p.field("right"));
                let both = left.zip(right).map(|(l, r)| l + r);
                // No condition pairs every left row with every right row: DataFusion's producer
                // (and so `lode sql`) writes cross joins this way, and its consumer reads them.
                if let Some(e) = j.expression.as_deref() {
                    self.check_expr(e, both, &p.field("expression"));
                }
                if let Some(e) = j.post_join_filter.as_deref() {
                    self.check_expr(e, both, &p.field("post_join_filter"));
                }
                let arity = match JoinType::try_from(j.r#type).unwrap_or(JoinType::Unspecified) {
                    JoinType::LeftSemi | JoinType::LeftAnti => left,
                    JoinType::RightSemi | JoinType::RightAnti => right,
                    JoinType::LeftMark => left.map(|l| l + 1),
                    JoinType::RightMark => right.map(|r| r + 1),
                    _ => both,
                };
                (arity, j.common.as_ref())
            }
            RelType::Cross(c) => {
                let p = path.field("cross");
                let left = self.input(c.left.as_deref(), &p.field("left"));
                let right = self.input(c.right.as_deref(), &p.field("right"));
                (left.zip(right).map(|(l, r)| l + r), c.common.as_ref())
            }
            RelType::Set(s) => {
                let p = path.field("set");
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
                let arities: Vec<Option<usize>> = s
                    .inputs
                    .iter()
                    .enumerate()
                    .map(|(i, r)| self.check_rel(r, &p.index("inputs", i)))
                    .collect();
                (arities.first().copied().flatten(), s.common.as_ref())
            }
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
                    self.wasm_rel(e.detail.as_ref(), &[input], &p),
                    e.common.as_ref(),
                )
            }
            RelType::ExtensionMulti(e) => {
                let p = path.field("extension_multi");
                let inputs: Vec<Option<usize>> = e
                    .inputs
                    .iter()
                    .enumerate()
                    .map(|(i, r)| self.check_rel(r, &p.index("inputs", i)))
                    .collect();
                if inputs.is_empty() {
                    self.report(Diagnostic::new(
                        Code::MissingInput,
                        p.field("inputs"),
                        "ExtensionMultiRel has no inputs",
                    ));
                }
                (
                    self.wasm_rel(e.detail.as_ref(), &inputs, &p),
                    e.common.as_ref(),
                )
            }
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
        self.apply_emit(common, arity, &path.field(kind))
    }

    /// Checks the relation in an input slot (`path` is the slot: `….filter.input`, `….join.left`).
    fn input(&mut self, input: Option<&Rel>, path: &PlanPath) -> Option<usize> {
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

    fn required_expr(&mut self, expr: Option<&Expression>, arity: Option<usize>, path: &PlanPath) {
        match expr {
            Some(e) => self.check_expr(e, arity, path),
            None => self.report(Diagnostic::new(
                Code::MissingExpression,
                path.clone(),
                "required expression is missing",
            )),
        }
    }

    pub(super) fn sorts(&mut self, sorts: &[SortField], arity: Option<usize>, path: &PlanPath) {
        for (i, s) in sorts.iter().enumerate() {
            let p = path.index("sorts", i);
            self.required_expr(s.expr.as_ref(), arity, &p.field("expr"));
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
        arity: Option<usize>,
        path: &PlanPath,
    ) -> Option<usize> {
        let Some(EmitKind::Emit(emit)) = common.and_then(|c| c.emit_kind.as_ref()) else {
            return arity;
        };
        if let Some(arity) = arity {
            for (i, &field) in emit.output_mapping.iter().enumerate() {
                if usize::try_from(field).map_or(true, |f| f >= arity) {
                    self.report(Diagnostic::new(
                        Code::EmitOutOfRange,
                        path.field("common").field("emit").index("output_mapping", i),
                        format!("emit selects field {field}, but the relation produces {arity} fields (0..{arity})"),
                    ));
                }
            }
        }
        Some(emit.output_mapping.len())
    }

    /// Checks an extension relation's `WasmRel` detail against the plan and the inputs'
    /// arities; returns the relation's arity when the plan declares its output.
    fn wasm_rel(
        &mut self,
        detail: Option<&pbjson_types::Any>,
        inputs: &[Option<usize>],
        path: &PlanPath,
    ) -> Option<usize> {
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
        (!rel.output.is_empty()).then_some(rel.output.len())
    }

    fn check_read(&mut self, read: &ReadRel, path: &PlanPath) -> Option<usize> {
        let Some(schema) = &read.base_schema else {
            self.report(Diagnostic::new(Code::MissingBaseSchema, path.field("base_schema"), "a read relation must declare its base_schema (names and types of the table's fields)"));
            return None;
        };
        let width = schema
            .r#struct
            .as_ref()
            .map_or(schema.names.len(), |s| s.types.len());
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
            self.check_expr(filter, Some(width), &path.field("filter"));
        }
        let projected = read
            .projection
            .as_ref()
            .and_then(|m| m.select.as_ref())
            .map(|s| s.struct_items.len())
            .filter(|&n| n > 0);
        if let Some(items) = read.projection.as_ref().and_then(|m| m.select.as_ref()) {
            for (i, item) in items.struct_items.iter().enumerate() {
                if usize::try_from(item.field).map_or(true, |f| f >= width) {
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
        Some(projected.unwrap_or(width))
    }

    fn check_aggregate(&mut self, a: &AggregateRel, path: &PlanPath) -> Option<usize> {
        let input = self.input(a.input.as_deref(), &path.field("input"));
        for (i, e) in a.grouping_expressions.iter().enumerate() {
            self.check_expr(e, input, &path.index("grouping_expressions", i));
        }
        let mut distinct_keys: Vec<&Expression> = Vec::new();
        for (g, grouping) in a.groupings.iter().enumerate() {
            let gp = path.index("groupings", g);
            #[allow(deprecated)]
            for (i, e) in grouping.grouping_expressions.iter().enumerate() {
                self.check_expr(e, input, &gp.index("grouping_expressions", i));
                if !distinct_keys.contains(&e) {
                    distinct_keys.push(e);
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
        for (i, m) in a.measures.iter().enumerate() {
            let mp = path.index("measures", i);
            match &m.measure {
                Some(f) => self.check_aggregate_function(f, input, &mp.field("measure")),
                None => self.report(Diagnostic::new(
                    Code::MissingMeasure,
                    mp.field("measure"),
                    "aggregate measure has no function",
                )),
            }
            if let Some(filter) = &m.filter {
                self.check_expr(filter, input, &mp.field("filter"));
            }
        }
        let keys = if a.grouping_expressions.is_empty() {
            distinct_keys.len()
        } else {
            a.grouping_expressions.len()
        };
        // Several grouping sets add a column saying which set produced the row.
        let set_index = usize::from(a.groupings.len() > 1);
        Some(keys + set_index + a.measures.len())
    }
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
