//! Expression checks: field bounds, function anchors, executor support, nested relations.

use substrait::proto::expression::field_reference::{ReferenceType, RootType};
use substrait::proto::expression::reference_segment::ReferenceType as SegmentType;
use substrait::proto::expression::{
    FieldReference, RexType, nested::NestedType, subquery::SubqueryType,
};
use substrait::proto::function_argument::ArgType;
use substrait::proto::{AggregateFunction, Expression, FunctionArgument};

use super::Validator;
use crate::diagnostic::{Code, Diagnostic};
use crate::path::PlanPath;

/// Which registry of the executor a function must be found in.
#[derive(Clone, Copy)]
enum FunctionKind {
    Scalar,
    Aggregate,
    Window,
}

impl Validator<'_> {
    /// Checks an expression evaluated over an input of `arity` fields (`None`: unknown).
    pub(super) fn check_expr(&mut self, expr: &Expression, arity: Option<usize>, path: &PlanPath) {
        let Some(rex) = &expr.rex_type else {
            self.report(Diagnostic::new(
                Code::MissingExpression,
                path.clone(),
                "expression has no kind (rex_type is not set)",
            ));
            return;
        };
        match rex {
            RexType::Literal(_) | RexType::DynamicParameter(_) => {}
            RexType::Selection(f) => self.check_field_reference(f, arity, &path.field("selection")),
            RexType::ScalarFunction(f) => {
                let p = path.field("scalar_function");
                self.check_function(f.function_reference, FunctionKind::Scalar, &p);
                self.check_arguments(&f.arguments, arity, &p);
            }
            RexType::WindowFunction(f) => {
                let p = path.field("window_function");
                self.check_function(f.function_reference, FunctionKind::Window, &p);
                self.check_arguments(&f.arguments, arity, &p);
                for (i, e) in f.partitions.iter().enumerate() {
                    self.check_expr(e, arity, &p.index("partitions", i));
                }
                self.sorts(&f.sorts, arity, &p);
            }
            RexType::IfThen(it) => {
                let p = path.field("if_then");
                for (i, clause) in it.ifs.iter().enumerate() {
                    let cp = p.index("ifs", i);
                    self.required(clause.r#if.as_ref(), arity, &cp.field("if"));
                    self.required(clause.then.as_ref(), arity, &cp.field("then"));
                }
                if let Some(e) = it.r#else.as_deref() {
                    self.check_expr(e, arity, &p.field("else"));
                }
            }
            RexType::SwitchExpression(sw) => {
                let p = path.field("switch_expression");
                self.required(sw.r#match.as_deref(), arity, &p.field("match"));
                for (i, clause) in sw.ifs.iter().enumerate() {
                    self.required(clause.then.as_ref(), arity, &p.index("ifs", i).field("then"));
                }
                if let Some(e) = sw.r#else.as_deref() {
                    self.check_expr(e, arity, &p.field("else"));
                }
            }
            RexType::SingularOrList(l) => {
                let p = path.field("singular_or_list");
                self.required(l.value.as_deref(), arity, &p.field("value"));
                for (i, e) in l.options.iter().enumerate() {
                    self.check_expr(e, arity, &p.index("options", i));
                }
            }
            RexType::MultiOrList(l) => {
                let p = path.field("multi_or_list");
                for (i, e) in l.value.iter().enumerate() {
                    self.check_expr(e, arity, &p.index("value", i));
                }
                for (i, record) in l.options.iter().enumerate() {
                    for (j, e) in record.fields.iter().enumerate() {
                        self.check_expr(e, arity, &p.index("options", i).index("fields", j));
                    }
                }
            }
            RexType::Cast(c) => self.required(c.input.as_deref(), arity, &path.field("cast").field("input")),
            RexType::Subquery(s) => self.check_subquery(s.subquery_type.as_ref(), arity, &path.field("subquery")),
            RexType::Nested(n) => {
                let p = path.field("nested");
                match &n.nested_type {
                    Some(NestedType::Struct(s)) => {
                        for (i, e) in s.fields.iter().enumerate() {
                            self.check_expr(e, arity, &p.field("struct").index("fields", i));
                        }
                    }
                    Some(NestedType::List(l)) => {
                        for (i, e) in l.values.iter().enumerate() {
                            self.check_expr(e, arity, &p.field("list").index("values", i));
                        }
                    }
                    Some(NestedType::Map(m)) => {
                        for (i, kv) in m.key_values.iter().enumerate() {
                            let kp = p.field("map").index("key_values", i);
                            self.required(kv.key.as_ref(), arity, &kp.field("key"));
                            self.required(kv.value.as_ref(), arity, &kp.field("value"));
                        }
                    }
                    None => self.report(Diagnostic::new(Code::MissingExpression, p, "nested expression sets no struct, list or map")),
                }
            }
            #[allow(deprecated)]
            RexType::Enum(_) => self.report(Diagnostic::new(Code::UnsupportedExpression, path.field("enum"), "the deprecated `enum` expression is not supported; pass enums as function arguments")),
            RexType::Lambda(_) | RexType::LambdaInvocation(_) => {}
        }
    }

    fn required(&mut self, expr: Option<&Expression>, arity: Option<usize>, path: &PlanPath) {
        match expr {
            Some(e) => self.check_expr(e, arity, path),
            None => self.report(Diagnostic::new(
                Code::MissingExpression,
                path.clone(),
                "required expression is missing",
            )),
        }
    }

    pub(super) fn check_aggregate_function(
        &mut self,
        f: &AggregateFunction,
        arity: Option<usize>,
        path: &PlanPath,
    ) {
        self.check_function(f.function_reference, FunctionKind::Aggregate, path);
        self.check_arguments(&f.arguments, arity, path);
        self.sorts(&f.sorts, arity, path);
    }

    fn check_arguments(
        &mut self,
        args: &[FunctionArgument],
        arity: Option<usize>,
        path: &PlanPath,
    ) {
        for (i, arg) in args.iter().enumerate() {
            let p = path.index("arguments", i);
            match &arg.arg_type {
                Some(ArgType::Value(e)) => self.check_expr(e, arity, &p.field("value")),
                Some(ArgType::Enum(_)) | Some(ArgType::Type(_)) => {}
                None => self.report(Diagnostic::new(
                    Code::MissingExpression,
                    p,
                    "function argument sets none of value, type, enum",
                )),
            }
        }
    }

    fn check_function(&mut self, anchor: u32, kind: FunctionKind, path: &PlanPath) {
        let path = path.field("function_reference");
        let Some(declared) = self.functions.get(&anchor).cloned() else {
            let mut declared: Vec<u32> = self.functions.keys().copied().collect();
            declared.sort_unstable();
            self.report(
                Diagnostic::new(
                    Code::UndeclaredFunction,
                    path,
                    format!("function anchor {anchor} is not declared in the plan's extensions"),
                )
                .with_hint(format!("declared function anchors: {declared:?}")),
            );
            return;
        };
        let Some(support) = self.support else { return };
        let name = declared.name();
        let (supported, what) = match kind {
            FunctionKind::Scalar => (support.scalar_function(&name), "scalar"),
            FunctionKind::Aggregate => (support.aggregate_function(&name), "aggregate"),
            FunctionKind::Window => (support.window_function(&name), "window"),
        };
        if !supported {
            self.report(Diagnostic::new(
                Code::UnsupportedFunction,
                path,
                format!(
                    "no {what} function `{name}` (declared as `{}`) in Lode's executor",
                    declared.compound
                ),
            ));
        }
    }

    fn check_field_reference(&mut self, f: &FieldReference, arity: Option<usize>, path: &PlanPath) {
        let scope = match &f.root_type {
            Some(RootType::RootReference(_)) | None => arity,
            Some(RootType::OuterReference(o)) => {
                let steps = usize::try_from(o.steps_out).unwrap_or(0);
                match steps
                    .checked_sub(1)
                    .and_then(|s| self.outer.len().checked_sub(s + 1))
                {
                    Some(i) => self.outer[i],
                    None => {
                        self.report(Diagnostic::new(
                            Code::FieldOutOfRange,
                            path.field("outer_reference").field("steps_out"),
                            format!("outer reference steps out {} levels, but it is nested in {} subquery levels", o.steps_out, self.outer.len()),
                        ));
                        return;
                    }
                }
            }
            Some(RootType::Expression(e)) => {
                self.check_expr(e, arity, &path.field("expression"));
                None
            }
            Some(RootType::LambdaParameterReference(_)) => None,
        };
        let Some(ReferenceType::DirectReference(segment)) = &f.reference_type else {
            return;
        };
        let Some(SegmentType::StructField(field)) = &segment.reference_type else {
            return;
        };
        if let Some(scope) = scope
            && usize::try_from(field.field).map_or(true, |i| i >= scope)
        {
            self.report(
                    Diagnostic::new(
                        Code::FieldOutOfRange,
                        path.field("direct_reference").field("struct_field").field("field"),
                        format!("field reference {} is out of range: the input has {scope} fields (0..{scope})", field.field),
                    )
                    .with_hint("field references are 0-based ordinals into the input relation's output, after its emit"),
                );
        }
    }

    fn check_subquery(
        &mut self,
        subquery: Option<&SubqueryType>,
        arity: Option<usize>,
        path: &PlanPath,
    ) {
        self.outer.push(arity);
        match subquery {
            Some(SubqueryType::Scalar(s)) => {
                self.nested_rel(s.input.as_deref(), &path.field("scalar").field("input"));
            }
            Some(SubqueryType::InPredicate(p)) => {
                self.outer.pop();
                for (i, e) in p.needles.iter().enumerate() {
                    self.check_expr(e, arity, &path.field("in_predicate").index("needles", i));
                }
                self.outer.push(arity);
                self.nested_rel(
                    p.haystack.as_deref(),
                    &path.field("in_predicate").field("haystack"),
                );
            }
            Some(SubqueryType::SetPredicate(p)) => {
                self.nested_rel(
                    p.tuples.as_deref(),
                    &path.field("set_predicate").field("tuples"),
                );
            }
            Some(SubqueryType::SetComparison(c)) => {
                self.outer.pop();
                self.required(
                    c.left.as_deref(),
                    arity,
                    &path.field("set_comparison").field("left"),
                );
                self.outer.push(arity);
                self.nested_rel(
                    c.right.as_deref(),
                    &path.field("set_comparison").field("right"),
                );
            }
            None => self.report(Diagnostic::new(
                Code::MissingExpression,
                path.clone(),
                "subquery sets no subquery_type",
            )),
        }
        self.outer.pop();
    }

    fn nested_rel(&mut self, rel: Option<&substrait::proto::Rel>, path: &PlanPath) {
        match rel {
            Some(r) => {
                self.check_rel(r, path);
            }
            None => self.report(Diagnostic::new(
                Code::MissingInput,
                path.clone(),
                "subquery has no relation",
            )),
        }
    }
}
