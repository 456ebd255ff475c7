//! Plan validation: structure, references, field bounds and executor support, each finding a
//! coded [`Diagnostic`] with the plan path where it was found.
//!
//! The walker derives the *schema* of every relation's output: its field count, so that every
//! field reference, emit mapping and grouping reference can be bounds-checked, and each field's
//! type, so that every expression is typed and every call is resolved to an implementation of
//! its extension (see [`crate::overload`]). Extension relations are typed by their declared
//! output, which the executor checks against the guest's bind. Where a count cannot be known,
//! checks above it are skipped; where a type cannot be, it stays unknown (`None`) and the
//! checks that need it are skipped, never guessed.

mod expr;
mod rel;

use std::collections::HashMap;

use substrait::proto::Plan;
use substrait::proto::extensions::simple_extension_declaration::MappingType;
use substrait::proto::plan_rel::RelType as PlanRelType;

use crate::decode::DecodedPlan;
use crate::diagnostic::{Code, Diagnostic};
use crate::dialect::{Dialect, Hook};
use crate::path::PlanPath;
use crate::types::DataType;

/// The fields a relation produces: each one's type, `None` where it cannot be derived.
pub(crate) type Schema = Vec<Option<DataType>>;

/// What validation found, and the plan's output as it derived it.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub diagnostics: Vec<Diagnostic>,
    /// The root relation's columns, when their number is known.
    pub output: Option<Vec<OutputColumn>>,
}

/// One column of a plan's output.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct OutputColumn {
    pub name: String,
    /// The type as a type string (`decimal?<38, 2>`); `None` when it cannot be derived.
    #[serde(rename = "type", serialize_with = "serialize_type")]
    pub data_type: Option<DataType>,
}

fn serialize_type<S: serde::Serializer>(t: &Option<DataType>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.collect_str(t),
        None => s.serialize_none(),
    }
}

/// What the executor can run, asked by the validator so it can reject a plan before execution
/// instead of failing half-way. `lode-exec` implements it over DataFusion's function registry.
pub trait ExecutorSupport {
    /// Is there a scalar function (or operator) with this Substrait name (no signature suffix)?
    fn scalar_function(&self, name: &str) -> bool;
    /// Is there an aggregate function with this Substrait name for this call?
    fn aggregate_function(&self, name: &str, call: Call<'_>) -> bool;
    /// Is there a window function with this Substrait name for this call (aggregates count as
    /// window functions)?
    fn window_function(&self, name: &str, call: Call<'_>) -> bool;
    /// Why the executor cannot hold values of this type in `plan`, or `None` when it can.
    fn data_type(&self, plan: &Plan, ty: &substrait::proto::Type) -> Option<String>;
    /// Was the executor given the Wasm module with this sha256 outside the plan?
    fn supplies_module(&self, _sha256: &str) -> bool {
        false
    }
    /// Types a call of function `name` of the Wasm module with this sha256 as the executor
    /// will run it: `Some(Ok(result))` when the module takes these argument types (`result`
    /// is `None` when the module does not say), `Some(Err(why))` when it takes none of them,
    /// `None` when the executor does not have the module or cannot tell.
    fn wasm_call(
        &self,
        _sha256: &str,
        _name: &str,
        _aggregate: bool,
        _args: &[crate::types::DataType],
    ) -> Option<Result<Option<crate::types::DataType>, String>> {
        None
    }
}

/// What an executor may choose a function's implementation by, besides its name: the enum
/// arguments and options of the call (`variance(SAMPLE, x)` and `sum(x) overflow: ERROR` may run
/// as other functions than `variance` and `sum`).
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    pub arguments: &'a [substrait::proto::FunctionArgument],
    pub options: &'a [substrait::proto::FunctionOption],
}

/// Validates a decoded plan, including what its decoding had to upgrade.
pub fn validate_decoded(
    decoded: &DecodedPlan,
    support: Option<&dyn ExecutorSupport>,
) -> Vec<Diagnostic> {
    analyze_decoded(decoded, support).diagnostics
}

/// Validates a decoded plan and derives the types of its output.
pub fn analyze_decoded(decoded: &DecodedPlan, support: Option<&dyn ExecutorSupport>) -> Analysis {
    let mut diagnostics = Vec::new();
    for upgraded in &decoded.upgraded_uris {
        let path = PlanPath::root().field("extension_uris");
        diagnostics.push(Diagnostic::new(
            Code::LegacyExtensionUri,
            path.clone(),
            format!(
                "extension URI `{}` (anchor {}) read as URN `{}`",
                upgraded.uri, upgraded.anchor, upgraded.urn
            ),
        ));
        if !upgraded.standard {
            diagnostics.push(
                Diagnostic::new(Code::NonStandardUrn, path, format!("extension URI `{}` is not a standard Substrait extension file", upgraded.uri))
                    .with_hint("functions from it are matched by name only; check that the executor's function of that name has the same semantics"),
            );
        }
    }
    for (hook, count) in &decoded.decode_hooks {
        diagnostics.push(dialect_hook(*hook, PlanPath::root(), *count));
    }
    let mut v = Validator::new(&decoded.plan, support);
    v.check_extensions();
    let output = v.check_relations();
    v.report_dialect_hooks();
    diagnostics.append(&mut v.diagnostics);
    Analysis {
        diagnostics,
        output,
    }
}

/// Validates a plan. `support` adds the executor checks (functions it cannot run).
pub fn validate_plan(plan: &Plan, support: Option<&dyn ExecutorSupport>) -> Vec<Diagnostic> {
    let mut v = Validator::new(plan, support);
    v.check_extensions();
    v.check_relations();
    v.report_dialect_hooks();
    v.diagnostics
}

/// A function declared in the plan's extensions.
#[derive(Debug, Clone)]
struct DeclaredFunction<'a> {
    /// The compound name as declared (`add:i64_i64`).
    compound: &'a str,
    /// The URN of the extension that defines it, when the plan declares one.
    urn: Option<&'a str>,
}

impl DeclaredFunction<'_> {
    /// The name without its signature suffix (`add`), lower-cased as executors match it.
    fn name(&self) -> String {
        crate::declarations::function_name(self.compound).to_ascii_lowercase()
    }
}

pub(crate) struct Validator<'a> {
    plan: &'a Plan,
    support: Option<&'a dyn ExecutorSupport>,
    functions: HashMap<u32, DeclaredFunction<'a>>,
    diagnostics: Vec<Diagnostic>,
    /// Schema of `plan.relations[i]` once derived (for `ReferenceRel`).
    subtree_schema: HashMap<usize, Option<Schema>>,
    /// Subtrees being walked, to detect reference cycles.
    visiting: Vec<usize>,
    /// Schemas of the enclosing relations' inputs, innermost last (for outer references).
    /// Shared, so that an outer reference does not copy the enclosing schema.
    outer: Vec<Option<std::rc::Rc<Schema>>>,
    /// Hashes of the modules in the plan's module table.
    module_hashes: std::collections::HashSet<String>,
    /// Every function call with its derived arguments, when the caller asked for them.
    calls: Option<Vec<CallSite>>,
    /// The producer departures this plan is read with.
    dialect: Dialect,
    /// Each dialect hook applied while walking: where first, and how often.
    hooks_applied: Vec<(Hook, PlanPath, usize)>,
}

/// The D003 diagnostic for a dialect hook applied `count` times, first at `path`.
fn dialect_hook(hook: Hook, path: PlanPath, count: usize) -> Diagnostic {
    let times = if count == 1 {
        "once".to_string()
    } else {
        format!("{count} times, first here")
    };
    Diagnostic::new(
        Code::DialectHook,
        path,
        format!("dialect hook `{hook}` applied {times}: {}", hook.description()),
    )
    .with_hint("the producer's departure from the spec; a consumer that reads the plan by the spec alone gets another result or rejects it")
}

/// A call of a declared function, as validation derived it.
#[derive(Debug, Clone)]
pub(crate) struct CallSite {
    pub anchor: u32,
    pub arguments: Vec<crate::overload::Argument>,
    /// For each argument, its value when it is a non-null `i64` literal.
    pub integer_literals: Vec<Option<i64>>,
    /// The call (`….scalar_function`, `….measure`, `….window_function`).
    pub path: PlanPath,
}

/// Every call of the plan whose result is its function's (partial aggregates are not) with
/// the argument types validation derives.
pub(crate) fn call_sites(plan: &Plan) -> Vec<CallSite> {
    let mut v = Validator::new(plan, None);
    v.calls = Some(Vec::new());
    v.check_extensions();
    v.check_relations();
    v.calls.unwrap_or_default()
}

impl<'a> Validator<'a> {
    fn new(plan: &'a Plan, support: Option<&'a dyn ExecutorSupport>) -> Self {
        Validator {
            plan,
            support,
            functions: HashMap::new(),
            diagnostics: Vec::new(),
            subtree_schema: HashMap::new(),
            visiting: Vec::new(),
            outer: Vec::new(),
            // An unreadable module table is the engine's error to report (M005), with its cause.
            module_hashes: crate::ext::module_table(plan)
                .map(|t| t.modules.into_iter().map(|m| m.sha256).collect())
                .unwrap_or_default(),
            calls: None,
            dialect: Dialect::of(plan),
            hooks_applied: Vec::new(),
        }
    }

    /// Records that `hook` was applied at `path`.
    fn applied(&mut self, hook: Hook, path: &PlanPath) {
        match self.hooks_applied.iter_mut().find(|(h, _, _)| *h == hook) {
            Some((_, _, count)) => *count += 1,
            None => self.hooks_applied.push((hook, path.clone(), 1)),
        }
    }

    fn report_dialect_hooks(&mut self) {
        for (hook, path, count) in std::mem::take(&mut self.hooks_applied) {
            self.report(dialect_hook(hook, path, count));
        }
    }

    /// True when the plan's module table carries a module with this hash.
    fn module_in_plan(&self, sha256: &str) -> bool {
        self.module_hashes.contains(sha256)
    }

    fn report(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    fn check_extensions(&mut self) {
        let urns: Vec<u32> = self
            .plan
            .extension_urns
            .iter()
            .map(|u| u.extension_urn_anchor)
            .collect();
        let mut seen = HashMap::new();
        let plan = self.plan;
        for (i, decl) in plan.extensions.iter().enumerate() {
            let path = PlanPath::root().index("extensions", i);
            let (kind, anchor, urn_ref) = match &decl.mapping_type {
                Some(MappingType::ExtensionFunction(f)) => {
                    let urn = plan
                        .extension_urns
                        .iter()
                        .find(|u| u.extension_urn_anchor == f.extension_urn_reference)
                        .map(|u| u.urn.as_str());
                    let declared = DeclaredFunction {
                        compound: &f.name,
                        urn,
                    };
                    if let Some(previous) = self.functions.insert(f.function_anchor, declared) {
                        self.report(Diagnostic::new(
                            Code::DuplicateAnchor,
                            path.field("extension_function").field("function_anchor"),
                            format!(
                                "function anchor {} is declared for both `{}` and `{}`",
                                f.function_anchor, previous.compound, f.name
                            ),
                        ));
                    }
                    ("function", f.function_anchor, f.extension_urn_reference)
                }
                Some(MappingType::ExtensionType(t)) => {
                    ("type", t.type_anchor, t.extension_urn_reference)
                }
                Some(MappingType::ExtensionTypeVariation(t)) => (
                    "type variation",
                    t.type_variation_anchor,
                    t.extension_urn_reference,
                ),
                None => {
                    self.report(Diagnostic::new(Code::EmptyDeclaration, path, "extension declaration sets none of extension_function, extension_type, extension_type_variation"));
                    continue;
                }
            };
            if let Some(MappingType::ExtensionFunction(f)) = &decl.mapping_type {
                self.check_signature(f, &path);
            }
            if kind != "function"
                && let Some(previous) = seen.insert((kind, anchor), i)
            {
                self.report(Diagnostic::new(
                    Code::DuplicateAnchor,
                    path.clone(),
                    format!("{kind} anchor {anchor} is also declared at extensions[{previous}]"),
                ));
            }
            // A plan that declares no URNs at all links by name (DataFusion writes such plans);
            // once URNs are declared, every reference must resolve.
            if !urns.is_empty() && !urns.contains(&urn_ref) {
                if urn_ref == 0 && self.dialect.links_unanchored_functions_by_name() {
                    self.applied(Hook::FunctionsWithoutExtension, &path);
                    continue;
                }
                if kind == "type" && self.dialect.is_null_type_anchor(anchor) {
                    self.applied(Hook::NullTypeWithoutExtension, &path);
                    continue;
                }
                self.report(
                    Diagnostic::new(Code::UndeclaredUrn, path, format!("{kind} anchor {anchor} references extension URN anchor {urn_ref}, which extension_urns does not declare"))
                        .with_hint(format!("declared URN anchors: {urns:?}")),
                );
            }
        }
    }

    /// A declaration from a bundled standard extension must name a function it defines, with a
    /// signature (when it gives one) of one of its implementations.
    fn check_signature(
        &mut self,
        f: &substrait::proto::extensions::simple_extension_declaration::ExtensionFunction,
        path: &PlanPath,
    ) {
        let Some(urn) = self
            .plan
            .extension_urns
            .iter()
            .find(|u| u.extension_urn_anchor == f.extension_urn_reference)
        else {
            return;
        };
        let (name, declared) = match f.name.split_once(':') {
            Some((name, signature)) => (name, Some(signature)),
            None => (f.name.as_str(), None),
        };
        let Some(implementations) = crate::signature::signatures(&urn.urn, name) else {
            return;
        };
        let path = path.field("extension_function").field("name");
        if implementations.is_empty() {
            self.report(
                Diagnostic::new(
                    Code::FunctionNotInExtension,
                    path,
                    format!("`{name}` is not a function of {}", urn.urn),
                )
                .with_hint(match crate::standard::standard_urns(name) {
                    [] => "no standard extension defines it".to_string(),
                    urns => format!("it is defined by {}", urns.join(", ")),
                }),
            );
            return;
        }
        let Some(declared) = declared else { return };
        let args: Vec<&str> = if declared.is_empty() {
            Vec::new()
        } else {
            declared.split('_').collect()
        };
        if !implementations.iter().any(|s| s.accepts(&args)) {
            let known: Vec<String> = implementations
                .iter()
                .take(8)
                .map(|s| s.render(name))
                .collect();
            self.report(
                Diagnostic::new(
                    Code::NoMatchingOverload,
                    path,
                    format!(
                        "`{}` matches no implementation of `{name}` in {}",
                        f.name, urn.urn
                    ),
                )
                .with_hint(format!(
                    "its implementations: {}{}",
                    known.join(", "),
                    if implementations.len() > known.len() {
                        ", …"
                    } else {
                        ""
                    }
                )),
            );
        }
    }

    /// Checks every relation; returns the output columns of the root.
    fn check_relations(&mut self) -> Option<Vec<OutputColumn>> {
        let plan = self.plan;
        if plan.relations.is_empty() {
            self.report(Diagnostic::new(
                Code::NoRelations,
                PlanPath::root().field("relations"),
                "the plan has no relations; there is nothing to run",
            ));
            return None;
        }
        let roots: Vec<usize> = plan
            .relations
            .iter()
            .enumerate()
            .filter(|(_, r)| matches!(r.rel_type, Some(PlanRelType::Root(_))))
            .map(|(i, _)| i)
            .collect();
        let bare_rels = plan.relations.len() - roots.len();
        match roots.len() {
            0 if bare_rels == 1 => {} // a single un-rooted relation is the output itself
            1 => {}
            n => self.report(
                Diagnostic::new(Code::NoRoot, PlanPath::root().field("relations"), format!("the plan has {n} root relations; exactly one is needed to know what to return"))
                    .with_hint("shared subtrees (for ReferenceRel) are plain `rel` entries; only the output is a `root`"),
            ),
        }
        let mut output = None;
        for (i, plan_rel) in plan.relations.iter().enumerate() {
            let path = PlanPath::root().index("relations", i);
            match &plan_rel.rel_type {
                Some(PlanRelType::Root(root)) => {
                    let path = path.field("root");
                    let Some(input) = &root.input else {
                        self.report(Diagnostic::new(
                            Code::MissingInput,
                            path.field("input"),
                            "the root relation has no input",
                        ));
                        continue;
                    };
                    let schema = self.check_rel(input, &path.field("input"));
                    if let Some(schema) = &schema
                        && !root.names.is_empty()
                        && root.names.len() < schema.len()
                    {
                        self.report(Diagnostic::new(
                            Code::RootNamesMismatch,
                            path.field("names"),
                            format!(
                                "the root names {} output fields but its input produces {}",
                                root.names.len(),
                                schema.len()
                            ),
                        ));
                    }
                    output = schema.map(|schema| output_columns(schema, &root.names));
                }
                Some(PlanRelType::Rel(_)) => {
                    let schema = self.subtree(i, &path);
                    if roots.is_empty() && bare_rels == 1 {
                        output = schema.map(|schema| output_columns(schema, &[]));
                    }
                }
                None => self.report(Diagnostic::new(
                    Code::MissingRelType,
                    path,
                    "plan relation sets neither `rel` nor `root`",
                )),
            }
        }
        output
    }

    /// The schema of `plan.relations[ordinal]`, walking (and checking) it once.
    fn subtree(&mut self, ordinal: usize, path: &PlanPath) -> Option<Schema> {
        if let Some(schema) = self.subtree_schema.get(&ordinal) {
            return schema.clone();
        }
        if self.visiting.contains(&ordinal) {
            self.report(Diagnostic::new(
                Code::BadSubtreeReference,
                path.clone(),
                format!("relations[{ordinal}] references itself through a ReferenceRel cycle"),
            ));
            return None;
        }
        let plan = self.plan;
        let schema = match plan
            .relations
            .get(ordinal)
            .and_then(|r| r.rel_type.as_ref())
        {
            Some(PlanRelType::Rel(rel)) => {
                self.visiting.push(ordinal);
                // Outer references do not cross into a shared subtree.
                let outer = std::mem::take(&mut self.outer);
                let schema = self.check_rel(
                    rel,
                    &PlanPath::root().index("relations", ordinal).field("rel"),
                );
                self.outer = outer;
                self.visiting.pop();
                schema
            }
            Some(PlanRelType::Root(_)) | None => {
                self.report(Diagnostic::new(
                    Code::BadSubtreeReference,
                    path.clone(),
                    format!("subtree ordinal {ordinal} does not name a plain `rel` entry of plan.relations (the plan has {})", plan.relations.len()),
                ));
                None
            }
        };
        self.subtree_schema.insert(ordinal, schema.clone());
        schema
    }
}

/// The root's columns: its top-level names (the names of nested struct fields follow their
/// struct's in `names`, depth first), or `$0`, `$1`, … where it names none.
fn output_columns(schema: Schema, names: &[String]) -> Vec<OutputColumn> {
    let mut at = 0;
    schema
        .into_iter()
        .enumerate()
        .map(|(i, data_type)| {
            let name = names.get(at).cloned().unwrap_or_else(|| format!("${i}"));
            at += 1 + data_type.as_ref().map_or(0, nested_names);
            OutputColumn { name, data_type }
        })
        .collect()
}

/// How many names the fields nested in a type take in a `NamedStruct`.
fn nested_names(ty: &DataType) -> usize {
    use crate::types::Kind;
    match &ty.kind {
        Kind::Struct(fields) => fields.iter().map(|f| 1 + nested_names(f)).sum(),
        Kind::List(item) => nested_names(item),
        Kind::Map(k, v) => nested_names(k) + nested_names(v),
        _ => 0,
    }
}
