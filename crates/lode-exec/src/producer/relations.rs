//! Logical plans to Substrait: DataFusion's producer, with Wasm table functions and operators
//! written as extension relations carrying `WasmRel` details.

use std::any::Any;
use std::collections::BTreeSet;

use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, plan_err};
use datafusion::datasource::source_as_provider;
use datafusion::execution::SessionState;
use datafusion::logical_expr::{Extension, LogicalPlan, TableScan};
use datafusion_substrait::extensions::Extensions;
use datafusion_substrait::logical_plan::producer::{DefaultSubstraitProducer, SubstraitProducer};
use lode_plan::ext;
use prost::Message;
use substrait::proto::rel::RelType;
use substrait::proto::rel_common::{Emit, EmitKind};
use substrait::proto::{
    ExtensionLeafRel, ExtensionMultiRel, ExtensionSingleRel, Plan, PlanRel, Rel, RelCommon,
    RelRoot, plan_rel,
};

use crate::wasm::{WasmRelNode, WasmRelation, WasmTable};

/// Converts a logical plan to Substrait like DataFusion's `to_substrait_plan`, writing Wasm
/// table functions and operators as extension relations. Returns the plan and the hashes of
/// the modules its relations use.
pub(crate) fn to_substrait_plan(
    plan: &LogicalPlan,
    state: &SessionState,
) -> Result<(Plan, BTreeSet<String>)> {
    let mut producer = LodeProducer {
        inner: DefaultSubstraitProducer::new(state),
        modules: BTreeSet::new(),
    };
    let root = producer.handle_plan(plan)?;
    let mut names = Vec::new();
    for field in plan.schema().fields() {
        flatten_names(field, false, &mut names);
    }
    let modules = std::mem::take(&mut producer.modules);
    let extensions = producer.get_extensions();
    let plan = Plan {
        version: Some(substrait::version::version_with_producer("lode")),
        extensions: extensions.into(),
        relations: vec![PlanRel {
            rel_type: Some(plan_rel::RelType::Root(RelRoot {
                input: Some(*root),
                names,
            })),
        }],
        ..Default::default()
    };
    Ok((plan, modules))
}

/// A root's output names as Substrait lists them: depth first, struct fields named, list
/// items and map entries not (datafusion-substrait keeps its own version private).
fn flatten_names(field: &Field, skip_self: bool, names: &mut Vec<String>) {
    if !skip_self {
        names.push(field.name().clone());
    }
    match field.data_type() {
        DataType::Struct(fields) => fields.iter().for_each(|f| flatten_names(f, false, names)),
        DataType::List(item) | DataType::LargeList(item) => flatten_names(item, true, names),
        DataType::Map(entries, _) => {
            if let DataType::Struct(kv) = entries.data_type() {
                kv.iter().for_each(|f| flatten_names(f, true, names));
            }
        }
        _ => {}
    }
}

struct LodeProducer<'a> {
    inner: DefaultSubstraitProducer<'a>,
    /// Modules used by the relations produced so far.
    modules: BTreeSet<String>,
}

impl LodeProducer<'_> {
    fn wasm_rel(&mut self, relation: &WasmRelation, inputs: Vec<Rel>) -> Result<Box<Rel>> {
        let detail = pbjson_types::Any {
            type_url: ext::WASM_REL_TYPE_URL.into(),
            value: relation.to_wasm_rel()?.encode_to_vec().into(),
        };
        self.modules
            .insert(relation.pool.module().sha256().to_string());
        let mut inputs = inputs;
        let rel_type = match inputs.len() {
            0 => RelType::ExtensionLeaf(ExtensionLeafRel {
                common: None,
                detail: Some(detail),
            }),
            1 => RelType::ExtensionSingle(Box::new(ExtensionSingleRel {
                common: None,
                detail: Some(detail),
                input: inputs.pop().map(Box::new),
            })),
            _ => RelType::ExtensionMulti(ExtensionMultiRel {
                common: None,
                detail: Some(detail),
                inputs,
            }),
        };
        Ok(Box::new(Rel {
            rel_type: Some(rel_type),
        }))
    }
}

impl SubstraitProducer for LodeProducer<'_> {
    fn register_function(&mut self, signature: String) -> u32 {
        self.inner.register_function(signature)
    }

    fn register_type(&mut self, name: String) -> u32 {
        self.inner.register_type(name)
    }

    fn get_extensions(self) -> Extensions {
        self.inner.get_extensions()
    }

    fn handle_table_scan(&mut self, scan: &TableScan) -> Result<Box<Rel>> {
        let provider = source_as_provider(&scan.source)?;
        let Some(table) = (provider.as_ref() as &dyn Any).downcast_ref::<WasmTable>() else {
            return datafusion_substrait::logical_plan::producer::from_table_scan(self, scan);
        };
        if !scan.filters.is_empty() {
            return plan_err!(
                "filters cannot be pushed into Wasm table function {:?}",
                table.relation
            );
        }
        let mut rel = self.wasm_rel(&table.relation, Vec::new())?;
        if let (Some(projection), Some(RelType::ExtensionLeaf(leaf))) =
            (&scan.projection, &mut rel.rel_type)
        {
            leaf.common = Some(RelCommon {
                emit_kind: Some(EmitKind::Emit(Emit {
                    output_mapping: projection.iter().map(|i| *i as i32).collect(),
                })),
                ..Default::default()
            });
        }
        Ok(rel)
    }

    fn handle_extension(&mut self, plan: &Extension) -> Result<Box<Rel>> {
        let Some(node) = plan.node.as_any().downcast_ref::<WasmRelNode>() else {
            return plan_err!(
                "Lode cannot write extension node {} to Substrait",
                plan.node.name()
            );
        };
        let inputs = plan
            .node
            .inputs()
            .into_iter()
            .map(|input| self.handle_plan(input).map(|r| *r))
            .collect::<Result<Vec<_>>>()?;
        self.wasm_rel(&node.relation, inputs)
    }

    fn push_lambda_parameters(&mut self, parameters: Vec<FieldRef>) -> Result<()> {
        self.inner.push_lambda_parameters(parameters)
    }

    fn pop_lambda_parameters(&mut self) -> Result<()> {
        self.inner.pop_lambda_parameters()
    }

    fn lambda_variable(&self, name: &str) -> Result<(u32, i32)> {
        self.inner.lambda_variable(name)
    }

    fn lambda_parameter_type(&self, name: &str) -> Result<substrait::proto::Type> {
        self.inner.lambda_parameter_type(name)
    }
}
