//! Expression checks and type derivation: field bounds, function anchors, overload resolution
//! against the function's extension, executor support, nested relations.

use substrait::proto::AggregationPhase;
use substrait::proto::expression::cast::FailureBehavior;
use substrait::proto::expression::field_reference::{ReferenceType, RootType};
use substrait::proto::expression::reference_segment::ReferenceType as SegmentType;
use substrait::proto::expression::{
    Cast, FieldReference, IfThen, Literal, MultiOrList, Nested, RexType, SingularOrList,
    SwitchExpression, WindowFunction, nested::NestedType, subquery::SubqueryType,
};
use substrait::proto::function_argument::ArgType;
use substrait::proto::{AggregateFunction, Expression, FunctionArgument};

use super::{Call, CallSite, Schema, Validator};
use crate::diagnostic::{Code, Diagnostic};
use crate::dialect::Hook;
use crate::overload::{self, Argument};
use crate::path::PlanPath;
use crate::types::{DataType, Kind};
use substrait::proto::expression::literal::LiteralType;

/// Which registry of the executor a function must be found in (aggregates and window functions
/// with the call, which may choose among implementations).
#[derive(Clone, Copy)]
enum FunctionKind<'a> {
    Scalar,
    Aggregate(Call<'a>),
    Window(Call<'a>),
}

impl Validator<'_> {
    /// Checks an expression evaluated over `input` (`None`: its fields are not known) and
    /// returns its type, `None` where it cannot be derived.
    pub(super) fn check_expr(
        &mut self,
        expr: &Expression,
        input: Option<&Schema>,
        path: &PlanPath,
    ) -> Option<DataType> {
        let Some(rex) = &expr.rex_type else {
            self.report(Diagnostic::new(
                Code::MissingExpression,
                path.clone(),
                "expression has no kind (rex_type is not set)",
            ));
            return None;
        };
        match rex {
            RexType::Literal(l) => self.check_literal(l, path),
            RexType::DynamicParameter(d) => d.r#type.as_ref().and_then(DataType::from_proto),
            RexType::Selection(f) => self.check_field_reference(f, input, &path.field("selection")),
            RexType::ScalarFunction(f) => {
                let p = path.field("scalar_function");
                let args = self.check_arguments(&f.arguments, input, &p);
                self.check_function(
                    f.function_reference,
                    FunctionKind::Scalar,
                    &f.arguments,
                    Some(&args),
                    f.output_type.as_ref(),
                    &p,
                )
            }
            RexType::WindowFunction(f) => {
                self.check_window_function(f, input, &path.field("window_function"))
            }
            RexType::IfThen(it) => self.check_if_then(it, input, &path.field("if_then")),
            RexType::SwitchExpression(sw) => {
                self.check_switch(sw, input, &path.field("switch_expression"))
            }
            RexType::SingularOrList(l) => {
                self.check_singular_or_list(l, input, &path.field("singular_or_list"))
            }
            RexType::MultiOrList(l) => {
                self.check_multi_or_list(l, input, &path.field("multi_or_list"))
            }
            RexType::Cast(c) => self.check_cast(c, input, path),
            RexType::Subquery(s) => {
                self.check_subquery(s.subquery_type.as_ref(), input, &path.field("subquery"))
            }
            RexType::Nested(n) => self.check_nested(n, input, &path.field("nested")),
            #[allow(deprecated)]
            RexType::Enum(_) => {
                self.report(Diagnostic::new(Code::UnsupportedExpression, path.field("enum"), "the deprecated `enum` expression is not supported; pass enums as function arguments"));
                None
            }
            RexType::Lambda(_) | RexType::LambdaInvocation(_) => None,
        }
    }

    /// A literal's type; typeless nulls as the producer's dialect reads them.
    fn check_literal(&mut self, l: &Literal, path: &PlanPath) -> Option<DataType> {
        if let Some(LiteralType::Null(t)) = &l.literal_type
            && self.dialect.is_null_type(t)
        {
            // Typed where it is used, as DataFusion's type coercion types it.
            self.applied(
                Hook::NullTypeWithoutExtension,
                &path.field("literal").field("null"),
            );
            return None;
        }
        if let Some(LiteralType::Null(t)) = &l.literal_type
            && t.kind.is_none()
        {
            let p = path.field("literal").field("null");
            if self.dialect.reads_untyped_nulls() {
                self.applied(Hook::UntypedNullLiteral, &p);
            } else {
                self.report(
                    Diagnostic::new(Code::UnsupportedType, p, "a null literal whose type has no kind")
                        .with_hint("a typed null names its type: `{\"null\": {\"i64\": {\"nullability\": \"NULLABILITY_NULLABLE\"}}}`"),
                );
            }
        }
        literal_type(l)
    }

    /// A window function call: its arguments, partitions, sorts and overload.
    fn check_window_function(
        &mut self,
        f: &WindowFunction,
        input: Option<&Schema>,
        p: &PlanPath,
    ) -> Option<DataType> {
        let call = Call {
            arguments: &f.arguments,
            options: &f.options,
        };
        let args = self.check_arguments(&f.arguments, input, p);
        for (i, e) in f.partitions.iter().enumerate() {
            self.check_expr(e, input, &p.index("partitions", i));
        }
        self.sorts(&f.sorts, input, p);
        self.check_function(
            f.function_reference,
            FunctionKind::Window(call),
            &f.arguments,
            Some(&args),
            f.output_type.as_ref(),
            p,
        )
    }

    /// `if_then`: conditions, results and their common type (DataFusion's simple CASE included).
    fn check_if_then(
        &mut self,
        it: &IfThen,
        input: Option<&Schema>,
        p: &PlanPath,
    ) -> Option<DataType> {
        // DataFusion's simple CASE: the first clause is the value the others match.
        let base = match it.ifs.as_slice() {
            [first, _, ..] if first.then.is_none() && first.r#if.is_some() => {
                self.applied(Hook::IfThenWithBase, p);
                Some(self.required(first.r#if.as_ref(), input, &p.index("ifs", 0).field("if")))
            }
            _ => None,
        };
        let mut results = Vec::new();
        for (i, clause) in it.ifs.iter().enumerate().skip(usize::from(base.is_some())) {
            let cp = p.index("ifs", i);
            if base.is_some() {
                self.required(clause.r#if.as_ref(), input, &cp.field("if"));
            } else {
                self.condition(clause.r#if.as_ref(), input, &cp.field("if"));
            }
            let then = self.required(clause.then.as_ref(), input, &cp.field("then"));
            results.push((cp.field("then"), then));
        }
        let otherwise = it
            .r#else
            .as_deref()
            .map(|e| (p.field("else"), self.check_expr(e, input, &p.field("else"))));
        let result = self.branches(results, otherwise);
        match base {
            // A null value matches no clause, as in a switch.
            Some(value) => result.map(|t| {
                let nullable = t.nullable || value.as_ref().is_none_or(|v| v.nullable);
                t.with_nullable(nullable)
            }),
            None => result,
        }
    }

    /// `switch_expression`: the value, each clause's result and their common type.
    fn check_switch(
        &mut self,
        sw: &SwitchExpression,
        input: Option<&Schema>,
        p: &PlanPath,
    ) -> Option<DataType> {
        let value = self.required(sw.r#match.as_deref(), input, &p.field("match"));
        let mut results = Vec::new();
        for (i, clause) in sw.ifs.iter().enumerate() {
            let cp = p.index("ifs", i);
            let then = self.required(clause.then.as_ref(), input, &cp.field("then"));
            results.push((cp.field("then"), then));
        }
        let otherwise = sw
            .r#else
            .as_deref()
            .map(|e| (p.field("else"), self.check_expr(e, input, &p.field("else"))));
        let result = self.branches(results, otherwise);
        // A null value matches no clause.
        result.map(|t| {
            let nullable = t.nullable || value.as_ref().is_none_or(|v| v.nullable);
            t.with_nullable(nullable)
        })
    }

    /// `singular_or_list` (`IN (...)`): boolean, nullable when any side is.
    fn check_singular_or_list(
        &mut self,
        l: &SingularOrList,
        input: Option<&Schema>,
        p: &PlanPath,
    ) -> Option<DataType> {
        let value = self.required(l.value.as_deref(), input, &p.field("value"));
        let mut nullable = value.as_ref().is_none_or(|v| v.nullable);
        for (i, e) in l.options.iter().enumerate() {
            let option = self.check_expr(e, input, &p.index("options", i));
            nullable |= option.is_none_or(|o| o.nullable);
        }
        Some(DataType::new(Kind::Boolean, nullable))
    }

    /// `multi_or_list` (`(a, b) IN (...)`): boolean.
    fn check_multi_or_list(
        &mut self,
        l: &MultiOrList,
        input: Option<&Schema>,
        p: &PlanPath,
    ) -> Option<DataType> {
        for (i, e) in l.value.iter().enumerate() {
            self.check_expr(e, input, &p.index("value", i));
        }
        for (i, record) in l.options.iter().enumerate() {
            for (j, e) in record.fields.iter().enumerate() {
                self.check_expr(e, input, &p.index("options", i).index("fields", j));
            }
        }
        Some(DataType::new(Kind::Boolean, true))
    }

    /// A cast's target type, nullable as its input and failure behaviour make it.
    fn check_cast(
        &mut self,
        c: &Cast,
        input: Option<&Schema>,
        path: &PlanPath,
    ) -> Option<DataType> {
        let value = self.required(
            c.input.as_deref(),
            input,
            &path.field("cast").field("input"),
        );
        let target = c.r#type.as_ref().and_then(DataType::from_proto)?;
        // A cast that fails with an error gives null only for null; producers often
        // write the target as nullable whatever the input is.
        let returns_null = c.failure_behavior == FailureBehavior::ReturnNull as i32;
        let nullable = match value {
            Some(v) if !returns_null => v.nullable,
            _ => target.nullable,
        };
        Some(target.with_nullable(nullable))
    }

    /// A struct, list or map built from expressions.
    fn check_nested(
        &mut self,
        n: &Nested,
        input: Option<&Schema>,
        p: &PlanPath,
    ) -> Option<DataType> {
        let kind = match &n.nested_type {
            Some(NestedType::Struct(s)) => {
                let fields: Option<Vec<DataType>> = s
                    .fields
                    .iter()
                    .enumerate()
                    .map(|(i, e)| self.check_expr(e, input, &p.field("struct").index("fields", i)))
                    .collect::<Vec<_>>()
                    .into_iter()
                    .collect();
                fields.map(Kind::Struct)
            }
            Some(NestedType::List(l)) => {
                let values: Vec<Option<DataType>> = l
                    .values
                    .iter()
                    .enumerate()
                    .map(|(i, e)| self.check_expr(e, input, &p.field("list").index("values", i)))
                    .collect();
                values
                    .into_iter()
                    .next()
                    .flatten()
                    .map(|t| Kind::List(Box::new(t)))
            }
            Some(NestedType::Map(m)) => {
                let mut first = None;
                for (i, kv) in m.key_values.iter().enumerate() {
                    let kp = p.field("map").index("key_values", i);
                    let key = self.required(kv.key.as_ref(), input, &kp.field("key"));
                    let value = self.required(kv.value.as_ref(), input, &kp.field("value"));
                    first.get_or_insert((key, value));
                }
                match first {
                    Some((Some(k), Some(v))) => Some(Kind::Map(Box::new(k), Box::new(v))),
                    _ => None,
                }
            }
            None => {
                self.report(Diagnostic::new(
                    Code::MissingExpression,
                    p.clone(),
                    "nested expression sets no struct, list or map",
                ));
                None
            }
        };
        kind.map(|k| DataType::new(k, n.nullable))
    }

    pub(super) fn required(
        &mut self,
        expr: Option<&Expression>,
        input: Option<&Schema>,
        path: &PlanPath,
    ) -> Option<DataType> {
        match expr {
            Some(e) => self.check_expr(e, input, path),
            None => {
                self.report(Diagnostic::new(
                    Code::MissingExpression,
                    path.clone(),
                    "required expression is missing",
                ));
                None
            }
        }
    }

    /// Checks an expression that decides which rows pass or match: it must be boolean.
    pub(super) fn condition(
        &mut self,
        expr: Option<&Expression>,
        input: Option<&Schema>,
        path: &PlanPath,
    ) {
        let Some(ty) = self.required(expr, input, path) else {
            return;
        };
        if ty.kind != Kind::Boolean {
            self.report(
                Diagnostic::new(Code::NotBoolean, path.clone(), format!("this condition is {ty}, not boolean"))
                    .with_hint("compare the value (for example with `equal` or `is_not_null`) to make it a condition"),
            );
        }
    }

    /// The type of a conditional's result: the first known branch's, nullable when any
    /// branch is or when there is no `else`. Branches of other types are reported.
    fn branches(
        &mut self,
        results: Vec<(PlanPath, Option<DataType>)>,
        otherwise: Option<(PlanPath, Option<DataType>)>,
    ) -> Option<DataType> {
        let has_else = otherwise.is_some();
        let all: Vec<(PlanPath, Option<DataType>)> = results.into_iter().chain(otherwise).collect();
        let mut result: Option<DataType> = None;
        let mut nullable = !has_else;
        for (path, ty) in all {
            let Some(ty) = ty else {
                nullable = true;
                continue;
            };
            nullable |= ty.nullable;
            match &result {
                None => result = Some(ty),
                Some(first) if !first.same_kind(&ty) => self.report(
                    Diagnostic::new(
                        Code::BranchTypesDiffer,
                        path,
                        format!("this result is {ty}, but the first result is {first}"),
                    )
                    .with_hint("cast the results to one type"),
                ),
                Some(_) => {}
            }
        }
        result.map(|t| t.with_nullable(nullable))
    }

    /// Checks an aggregate call and returns the type of its result.
    pub(super) fn check_aggregate_function(
        &mut self,
        f: &AggregateFunction,
        input: Option<&Schema>,
        path: &PlanPath,
    ) -> Option<DataType> {
        let call = Call {
            arguments: &f.arguments,
            options: &f.options,
        };
        let args = self.check_arguments(&f.arguments, input, path);
        self.sorts(&f.sorts, input, path);
        // A partial phase returns the intermediate state, not the function's result.
        let phase = AggregationPhase::try_from(f.phase).unwrap_or(AggregationPhase::Unspecified);
        let returns_result = matches!(
            phase,
            AggregationPhase::Unspecified | AggregationPhase::InitialToResult
        );
        self.check_function(
            f.function_reference,
            FunctionKind::Aggregate(call),
            &f.arguments,
            returns_result.then_some(&args[..]),
            f.output_type.as_ref(),
            path,
        )
    }

    /// Checks a call's arguments and returns them as overload resolution reads them.
    fn check_arguments(
        &mut self,
        args: &[FunctionArgument],
        input: Option<&Schema>,
        path: &PlanPath,
    ) -> Vec<Argument> {
        let mut derived = Vec::with_capacity(args.len());
        for (i, arg) in args.iter().enumerate() {
            let p = path.index("arguments", i);
            match &arg.arg_type {
                Some(ArgType::Value(e)) => {
                    derived.push(Argument::Value(self.check_expr(
                        e,
                        input,
                        &p.field("value"),
                    )));
                }
                Some(ArgType::Enum(e)) => derived.push(Argument::Enum(e.clone())),
                Some(ArgType::Type(_)) => derived.push(Argument::Type),
                None => {
                    self.report(Diagnostic::new(
                        Code::MissingExpression,
                        p,
                        "function argument sets none of value, type, enum",
                    ));
                    derived.push(Argument::Value(None));
                }
            }
        }
        derived
    }

    /// Checks a call of the function at `anchor`: declared, run by the executor, and taking
    /// `args` in its extension. Returns the call's type: the declared output type, else the
    /// one its implementation returns. `args` is `None` when the call's result is not the
    /// function's (a partial aggregate), which skips resolution.
    fn check_function(
        &mut self,
        anchor: u32,
        kind: FunctionKind,
        raw_args: &[FunctionArgument],
        args: Option<&[Argument]>,
        output_type: Option<&substrait::proto::Type>,
        path: &PlanPath,
    ) -> Option<DataType> {
        let output_type = match output_type {
            Some(t) if !self.dialect.reads_declared_output(t) => {
                self.applied(Hook::DecimalTypesFromTheExtension, path);
                None
            }
            other => other,
        };
        let declared_output = output_type.and_then(DataType::from_proto);
        let reference = path.field("function_reference");
        let Some(declared) = self.functions.get(&anchor).cloned() else {
            let mut declared: Vec<u32> = self.functions.keys().copied().collect();
            declared.sort_unstable();
            self.report(
                Diagnostic::new(
                    Code::UndeclaredFunction,
                    reference,
                    format!("function anchor {anchor} is not declared in the plan's extensions"),
                )
                .with_hint(format!("declared function anchors: {declared:?}")),
            );
            return declared_output;
        };
        let name = declared.name();
        if let Some(support) = self.support {
            let (supported, what) = match kind {
                FunctionKind::Scalar => (support.scalar_function(&name), "scalar"),
                FunctionKind::Aggregate(call) => {
                    (support.aggregate_function(&name, call), "aggregate")
                }
                FunctionKind::Window(call) => (support.window_function(&name, call), "window"),
            };
            if !supported {
                self.report(Diagnostic::new(
                    Code::UnsupportedFunction,
                    reference.clone(),
                    format!(
                        "no {what} function `{name}` (declared as `{}`) in Lode's executor",
                        declared.compound
                    ),
                ));
            }
        }
        if let (Some(calls), Some(args)) = (&mut self.calls, args) {
            calls.push(CallSite {
                anchor,
                arguments: args.to_vec(),
                integer_literals: raw_args.iter().map(integer_literal).collect(),
                path: path.clone(),
            });
        }
        let module = declared.urn.and_then(crate::ext::module_of_urn);
        if let (Some(sha256), Some(args)) = (module, args) {
            let aggregate = !matches!(kind, FunctionKind::Scalar);
            return match self.wasm_call(sha256, &name, aggregate, args, &reference) {
                Some(derived) => declared_output.or(Some(derived)),
                None => declared_output,
            };
        }
        let resolvable = declared
            .urn
            .zip(args)
            .and_then(|(urn, args)| Some((urn, args, overload::implementations(urn, &name)?)));
        let Some((urn, args, implementations)) = resolvable else {
            return declared_output;
        };
        let Some(returns) = implementations.iter().find_map(|i| i.resolve(args).ok()) else {
            self.report_no_implementation(&name, urn, implementations, args, &reference);
            return declared_output;
        };
        match (declared_output, returns) {
            (Some(declared), Some(derived)) => {
                let differs =
                    declared.name() != derived.name() || (!declared.nullable && derived.nullable);
                if differs {
                    self.report(
                        Diagnostic::new(
                            Code::OutputTypeMismatch,
                            path.field("output_type"),
                            format!("the call declares output type {declared}, but `{name}` of {urn} returns {derived} for ({})", render_arguments(args)),
                        )
                        .with_hint("a consumer following the extension may read the result as the type it returns"),
                    );
                }
                Some(declared)
            }
            (declared, derived) => declared.or(derived),
        }
    }

    /// Types a call of a Wasm module's function by the executor's reading of the module's
    /// signatures, reporting argument types it takes none of.
    fn wasm_call(
        &mut self,
        sha256: &str,
        name: &str,
        aggregate: bool,
        args: &[Argument],
        reference: &PlanPath,
    ) -> Option<DataType> {
        let types: Option<Vec<DataType>> = args
            .iter()
            .map(|a| match a {
                Argument::Value(t) => t.clone(),
                _ => None,
            })
            .collect();
        match self.support?.wasm_call(sha256, name, aggregate, &types?)? {
            Ok(result) => result,
            Err(why) => {
                self.report(
                    Diagnostic::new(
                        Code::WasmArgumentTypes,
                        reference.clone(),
                        format!(
                            "Wasm function `{name}` (module {}) does not take ({}): {why}",
                            &sha256[..sha256.len().min(12)],
                            render_arguments(args)
                        ),
                    )
                    .with_hint("cast the arguments to a signature `lode module inspect` shows for the module"),
                );
                None
            }
        }
    }

    fn report_no_implementation(
        &mut self,
        name: &str,
        urn: &str,
        implementations: &[overload::Implementation],
        args: &[Argument],
        path: &PlanPath,
    ) {
        // Another standard extension may define a function of this name that takes them.
        let elsewhere: Vec<&String> = crate::standard::standard_urns(name)
            .iter()
            .filter(|u| u.as_str() != urn)
            .filter(|u| overload::takes(u, name, args))
            .collect();
        let hint = match elsewhere.first() {
            Some(other) => {
                format!("`{name}` of {other} takes them: declare the function from that extension")
            }
            None => {
                let known: Vec<&str> = implementations
                    .iter()
                    .take(8)
                    .map(|i| i.signature())
                    .collect();
                let more = if implementations.len() > known.len() {
                    ", …"
                } else {
                    ""
                };
                format!("its implementations: {}{more}", known.join(", "))
            }
        };
        self.report(
            Diagnostic::new(
                Code::NoImplementationForTypes,
                path.clone(),
                format!(
                    "no implementation of `{name}` in {urn} takes ({})",
                    render_arguments(args)
                ),
            )
            .with_hint(hint),
        );
    }

    /// Checks a field reference and returns the referenced field's type.
    fn check_field_reference(
        &mut self,
        f: &FieldReference,
        input: Option<&Schema>,
        path: &PlanPath,
    ) -> Option<DataType> {
        let outer;
        let scope = match &f.root_type {
            Some(RootType::RootReference(_)) | None => input,
            Some(RootType::OuterReference(o)) => {
                let steps = usize::try_from(o.steps_out).unwrap_or(0);
                match steps
                    .checked_sub(1)
                    .and_then(|s| self.outer.len().checked_sub(s + 1))
                {
                    Some(i) => {
                        outer = self.outer[i].clone();
                        outer.as_deref()
                    }
                    None => {
                        self.report(Diagnostic::new(
                            Code::FieldOutOfRange,
                            path.field("outer_reference").field("steps_out"),
                            format!("outer reference steps out {} levels, but it is nested in {} subquery levels", o.steps_out, self.outer.len()),
                        ));
                        return None;
                    }
                }
            }
            Some(RootType::Expression(e)) => {
                self.check_expr(e, input, &path.field("expression"));
                None
            }
            Some(RootType::LambdaParameterReference(_)) => None,
        };
        let Some(ReferenceType::DirectReference(segment)) = &f.reference_type else {
            return None;
        };
        let Some(SegmentType::StructField(field)) = &segment.reference_type else {
            return None;
        };
        let scope = scope?;
        let Some(ty) = usize::try_from(field.field).ok().and_then(|i| scope.get(i)) else {
            let arity = scope.len();
            self.report(
                Diagnostic::new(
                    Code::FieldOutOfRange,
                    path.field("direct_reference").field("struct_field").field("field"),
                    format!("field reference {} is out of range: the input has {arity} fields (0..{arity})", field.field),
                )
                .with_hint("field references are 0-based ordinals into the input relation's output, after its emit"),
            );
            return None;
        };
        // Inner struct fields: nullable when any struct on the way is.
        let mut ty = ty.clone()?;
        let mut child = field.child.as_deref();
        while let Some(segment) = child {
            let Some(SegmentType::StructField(inner)) = &segment.reference_type else {
                return None;
            };
            let Kind::Struct(fields) = &ty.kind else {
                return None;
            };
            let nullable = ty.nullable;
            let inner_ty = usize::try_from(inner.field)
                .ok()
                .and_then(|i| fields.get(i))?;
            ty = inner_ty
                .clone()
                .with_nullable(inner_ty.nullable || nullable);
            child = inner.child.as_deref();
        }
        Some(ty)
    }

    /// Checks a subquery and returns the type of its value.
    fn check_subquery(
        &mut self,
        subquery: Option<&SubqueryType>,
        input: Option<&Schema>,
        path: &PlanPath,
    ) -> Option<DataType> {
        let scope = input.cloned().map(std::rc::Rc::new);
        self.outer.push(scope.clone());
        let ty = match subquery {
            Some(SubqueryType::Scalar(s)) => {
                let schema =
                    self.nested_rel(s.input.as_deref(), &path.field("scalar").field("input"));
                // No row gives null.
                schema
                    .and_then(|s| s.into_iter().next().flatten())
                    .map(|t| t.with_nullable(true))
            }
            Some(SubqueryType::InPredicate(p)) => {
                self.outer.pop();
                for (i, e) in p.needles.iter().enumerate() {
                    self.check_expr(e, input, &path.field("in_predicate").index("needles", i));
                }
                self.outer.push(scope.clone());
                self.nested_rel(
                    p.haystack.as_deref(),
                    &path.field("in_predicate").field("haystack"),
                );
                Some(DataType::new(Kind::Boolean, true))
            }
            Some(SubqueryType::SetPredicate(p)) => {
                self.nested_rel(
                    p.tuples.as_deref(),
                    &path.field("set_predicate").field("tuples"),
                );
                Some(DataType::required(Kind::Boolean))
            }
            Some(SubqueryType::SetComparison(c)) => {
                self.outer.pop();
                self.required(
                    c.left.as_deref(),
                    input,
                    &path.field("set_comparison").field("left"),
                );
                self.outer.push(scope.clone());
                self.nested_rel(
                    c.right.as_deref(),
                    &path.field("set_comparison").field("right"),
                );
                Some(DataType::new(Kind::Boolean, true))
            }
            None => {
                self.report(Diagnostic::new(
                    Code::MissingExpression,
                    path.clone(),
                    "subquery sets no subquery_type",
                ));
                None
            }
        };
        self.outer.pop();
        ty
    }

    fn nested_rel(
        &mut self,
        rel: Option<&substrait::proto::Rel>,
        path: &PlanPath,
    ) -> Option<Schema> {
        match rel {
            Some(r) => self.check_rel(r, path),
            None => {
                self.report(Diagnostic::new(
                    Code::MissingInput,
                    path.clone(),
                    "subquery has no relation",
                ));
                None
            }
        }
    }
}

/// The value of an argument that is a non-null `i64` literal.
fn integer_literal(arg: &FunctionArgument) -> Option<i64> {
    let Some(ArgType::Value(Expression {
        rex_type: Some(RexType::Literal(literal)),
    })) = &arg.arg_type
    else {
        return None;
    };
    match literal.literal_type {
        Some(LiteralType::I64(v)) if !literal.nullable => Some(v),
        _ => None,
    }
}

/// `i32, decimal<15, 2>?, ?` for messages (`?` alone: not derivable).
fn render_arguments(args: &[Argument]) -> String {
    args.iter()
        .map(|a| match a {
            Argument::Value(Some(t)) => t.to_string(),
            Argument::Value(None) => "?".to_string(),
            Argument::Enum(e) => e.clone(),
            Argument::Type => "type".to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The type of a literal, `None` for kinds whose type it does not say in itself.
fn literal_type(l: &substrait::proto::expression::Literal) -> Option<DataType> {
    use substrait::proto::expression::literal::LiteralType as L;
    let kind = match l.literal_type.as_ref()? {
        L::Boolean(_) => Kind::Boolean,
        L::I8(_) => Kind::I8,
        L::I16(_) => Kind::I16,
        L::I32(_) => Kind::I32,
        L::I64(_) => Kind::I64,
        L::Fp32(_) => Kind::Fp32,
        L::Fp64(_) => Kind::Fp64,
        L::String(_) => Kind::String,
        L::Binary(_) => Kind::Binary,
        #[allow(deprecated)]
        L::Timestamp(_) => Kind::Timestamp,
        #[allow(deprecated)]
        L::TimestampTz(_) => Kind::TimestampTz,
        L::Date(_) => Kind::Date,
        #[allow(deprecated)]
        L::Time(_) => Kind::Time,
        L::IntervalYearToMonth(_) => Kind::IntervalYear,
        L::FixedChar(s) => Kind::FixedChar(i32::try_from(s.chars().count()).ok()?),
        L::VarChar(v) => Kind::VarChar(i32::try_from(v.length).ok()?),
        L::FixedBinary(b) => Kind::FixedBinary(i32::try_from(b.len()).ok()?),
        L::Decimal(d) => Kind::Decimal {
            precision: d.precision,
            scale: d.scale,
        },
        L::PrecisionTime(t) => Kind::PrecisionTime(t.precision),
        L::PrecisionTimestamp(t) => Kind::PrecisionTimestamp(t.precision),
        L::PrecisionTimestampTz(t) => Kind::PrecisionTimestampTz(t.precision),
        L::Uuid(_) => Kind::Uuid,
        L::Null(t) => return DataType::from_proto(t),
        L::EmptyList(t) => Kind::List(Box::new(DataType::from_proto(t.r#type.as_deref()?)?)),
        L::EmptyMap(t) => Kind::Map(
            Box::new(DataType::from_proto(t.key.as_deref()?)?),
            Box::new(DataType::from_proto(t.value.as_deref()?)?),
        ),
        L::Struct(s) => Kind::Struct(s.fields.iter().map(literal_type).collect::<Option<_>>()?),
        L::List(list) => Kind::List(Box::new(literal_type(list.values.first()?)?)),
        _ => return None,
    };
    Some(DataType::new(kind, l.nullable))
}
