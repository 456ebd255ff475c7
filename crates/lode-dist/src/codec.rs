//! Stage plans on the wire: datafusion-proto for DataFusion's operators, plus Lode's own nodes
//! (shuffle readers, Wasm relations), Wasm functions by module hash and name, Lode's
//! implementations of standard functions by the call they implement, and the values of scalar
//! subqueries computed by earlier stages.

use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, Schema, SchemaRef};
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{AggregateUDF, ScalarUDF};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::Literal;
use datafusion::physical_expr::scalar_subquery::ScalarSubqueryExpr;
use datafusion::physical_plan::{ColumnarValue, ExecutionPlan, Partitioning};
use datafusion_proto::physical_plan::from_proto::parse_protobuf_partitioning;
use datafusion_proto::physical_plan::to_proto::{
    serialize_partitioning, serialize_physical_expr_with_converter,
};
use datafusion_proto::physical_plan::{
    DefaultPhysicalProtoConverter, PhysicalExtensionCodec, PhysicalPlanDecodeContext,
    PhysicalPlanNodeExt, PhysicalProtoConverterExtension,
};
use datafusion_proto::protobuf;
use datafusion_proto::protobuf::physical_plan_node::PhysicalPlanType;
use lode_exec::{PlanModules, SpecCall, WasmFunctionRef};
use prost::Message;

use crate::proto;
use crate::shuffle::{PieceSource, ShuffleReaderExec};
use crate::stored::StoredTableExec;

/// Encodes and decodes Lode's physical plan nodes and Wasm functions. The coordinator only
/// encodes; an executor decodes readers that fetch their pieces through `source`, and Wasm
/// functions and relations of its own copies of the job's `modules`.
#[derive(Default)]
pub struct LodeCodec {
    source: Option<Arc<dyn PieceSource>>,
    modules: Option<Arc<PlanModules>>,
}

impl std::fmt::Debug for LodeCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LodeCodec")
            .field("source", &self.source)
            .field("modules", &self.modules.is_some())
            .finish()
    }
}

impl LodeCodec {
    /// A codec whose decoded readers fetch through `source` and whose Wasm functions and
    /// relations come from `modules`.
    pub fn for_executor(source: Arc<dyn PieceSource>, modules: Arc<PlanModules>) -> Self {
        LodeCodec {
            source: Some(source),
            modules: Some(modules),
        }
    }

    fn modules(&self, what: &str) -> DfResult<&PlanModules> {
        self.modules.as_deref().ok_or_else(|| {
            DataFusionError::Internal(format!(
                "{what} needs the job's Wasm modules, which this codec lacks"
            ))
        })
    }
}

/// What a `fun_definition` says of a function of Lode's; `None` for an empty one (a function
/// DataFusion resolves by name).
fn function_definition(
    name: &str,
    buf: &[u8],
) -> DfResult<Option<proto::function_definition::Kind>> {
    if buf.is_empty() {
        return Ok(None);
    }
    proto::FunctionDefinition::decode(buf)
        .map(|definition| definition.kind)
        .map_err(|e| DataFusionError::Internal(format!("function '{name}': {e}")))
}

fn encode_definition(kind: proto::function_definition::Kind, buf: &mut Vec<u8>) -> DfResult<()> {
    proto::FunctionDefinition { kind: Some(kind) }
        .encode(buf)
        .map_err(|e| DataFusionError::Internal(format!("encoding a function: {e}")))
}

fn wasm_definition(reference: WasmFunctionRef) -> proto::function_definition::Kind {
    proto::function_definition::Kind::Wasm(proto::WasmFunction {
        module: reference.module,
        function: reference.function,
    })
}

fn wasm_reference(function: proto::WasmFunction) -> WasmFunctionRef {
    WasmFunctionRef {
        module: function.module,
        function: function.function,
    }
}

fn spec_definition(call: &SpecCall) -> proto::function_definition::Kind {
    proto::function_definition::Kind::Spec(proto::SpecFunction {
        name: call.name.clone(),
        options: call
            .options
            .iter()
            .map(|(name, value)| proto::SpecOption {
                name: name.clone(),
                value: value.clone(),
            })
            .collect(),
        argument_types: call.arg_types.iter().map(ToString::to_string).collect(),
    })
}

fn spec_call(function: proto::SpecFunction) -> DfResult<SpecCall> {
    let arg_types = function
        .argument_types
        .iter()
        .map(|t| {
            t.parse::<DataType>().map_err(|e| {
                DataFusionError::Internal(format!("function '{}': type {t}: {e}", function.name))
            })
        })
        .collect::<DfResult<Vec<_>>>()?;
    Ok(SpecCall {
        name: function.name,
        options: function
            .options
            .into_iter()
            .map(|o| (o.name, o.value))
            .collect(),
        arg_types,
    })
}

fn unknown_function(name: &str) -> DataFusionError {
    DataFusionError::Plan(format!(
        "function '{name}' is neither built in nor a Wasm function of the job's modules"
    ))
}

impl PhysicalExtensionCodec for LodeCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
        _ctx: &TaskContext,
        _converter: &dyn PhysicalProtoConverterExtension,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let extension = proto::PlanExtension::decode(buf)
            .map_err(|e| DataFusionError::Internal(format!("a Lode plan node: {e}")))?;
        match extension.kind {
            Some(proto::plan_extension::Kind::ShuffleReader(reader)) => {
                let source = self.source.clone().ok_or_else(|| {
                    DataFusionError::Internal("no piece source to read stage outputs from".into())
                })?;
                Ok(Arc::new(ShuffleReaderExec::from_proto(reader, source)?))
            }
            Some(proto::plan_extension::Kind::StoredTable(reader)) => {
                let source = self.source.clone().ok_or_else(|| {
                    DataFusionError::Internal("no piece source to read stored results from".into())
                })?;
                Ok(Arc::new(StoredTableExec::from_proto(reader, source)?))
            }
            Some(proto::plan_extension::Kind::WasmRelation(rel)) => self
                .modules("a Wasm relation")?
                .relation_plan(&rel, inputs.to_vec()),
            None => Err(DataFusionError::Internal(
                "a Lode plan node of a kind this executor does not know".into(),
            )),
        }
    }

    fn try_encode(
        &self,
        node: Arc<dyn ExecutionPlan>,
        buf: &mut Vec<u8>,
        _converter: &dyn PhysicalProtoConverterExtension,
    ) -> DfResult<()> {
        let kind = if let Some(reader) = node.downcast_ref::<ShuffleReaderExec>() {
            proto::plan_extension::Kind::ShuffleReader(reader.to_proto()?)
        } else if let Some(stored) = node.downcast_ref::<StoredTableExec>() {
            proto::plan_extension::Kind::StoredTable(stored.to_proto()?)
        } else if let Some(rel) = lode_exec::wasm_relation_of(node.as_ref()) {
            proto::plan_extension::Kind::WasmRelation(rel?)
        } else {
            return Err(DataFusionError::NotImplemented(format!(
                "{} cannot be sent to an executor",
                node.name()
            )));
        };
        proto::PlanExtension { kind: Some(kind) }
            .encode(buf)
            .map_err(|e| DataFusionError::Internal(format!("encoding {}: {e}", node.name())))
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> DfResult<Arc<ScalarUDF>> {
        match function_definition(name, buf)? {
            Some(proto::function_definition::Kind::Wasm(function)) => self
                .modules("a Wasm function")?
                .scalar_function(name, &wasm_reference(function)),
            Some(proto::function_definition::Kind::Spec(function)) => {
                lode_exec::spec_function(&spec_call(function)?)
            }
            None => Err(unknown_function(name)),
        }
    }

    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> DfResult<()> {
        if let Some(reference) = lode_exec::scalar_function_ref(node) {
            return encode_definition(wasm_definition(reference), buf);
        }
        match lode_exec::spec_call_of(node) {
            Some(call) => encode_definition(spec_definition(call), buf),
            None => Ok(()),
        }
    }

    fn try_decode_udaf(&self, name: &str, buf: &[u8]) -> DfResult<Arc<AggregateUDF>> {
        match function_definition(name, buf)? {
            Some(proto::function_definition::Kind::Wasm(function)) => self
                .modules("a Wasm aggregate")?
                .aggregate_function(name, &wasm_reference(function)),
            _ => Err(unknown_function(name)),
        }
    }

    fn try_encode_udaf(&self, node: &AggregateUDF, buf: &mut Vec<u8>) -> DfResult<()> {
        match lode_exec::aggregate_function_ref(node) {
            Some(reference) => encode_definition(wasm_definition(reference), buf),
            None => Ok(()),
        }
    }
}

/// Converts plans as datafusion-proto does, with two differences. Encoding, a scalar
/// subquery's value, already computed by its own stage, travels as a literal: executors have no
/// slot to read it from. Decoding, node kinds Lode never sends are refused at every depth before
/// datafusion-proto sees them: its Avro arm panics when the `avro` feature is off, and the bytes
/// come from the network.
struct LodeConverter;

impl PhysicalProtoConverterExtension for LodeConverter {
    fn proto_to_execution_plan(
        &self,
        proto: &protobuf::PhysicalPlanNode,
        ctx: &PhysicalPlanDecodeContext<'_>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        if let Some(PhysicalPlanType::AvroScan(_)) = proto.physical_plan_type {
            return Err(DataFusionError::Plan(
                "a stage plan holds an Avro scan, which Lode never sends".into(),
            ));
        }
        proto.try_into_physical_plan_with_context(ctx, self)
    }

    fn execution_plan_to_proto(
        &self,
        plan: &Arc<dyn ExecutionPlan>,
        codec: &dyn PhysicalExtensionCodec,
    ) -> DfResult<protobuf::PhysicalPlanNode> {
        protobuf::PhysicalPlanNode::try_from_physical_plan_with_converter(
            Arc::clone(plan),
            codec,
            self,
        )
    }

    fn proto_to_physical_expr(
        &self,
        proto: &protobuf::PhysicalExprNode,
        input_schema: &Schema,
        ctx: &PhysicalPlanDecodeContext<'_>,
    ) -> DfResult<Arc<dyn PhysicalExpr>> {
        DefaultPhysicalProtoConverter {}.proto_to_physical_expr(proto, input_schema, ctx)
    }

    fn physical_expr_to_proto(
        &self,
        expr: &Arc<dyn PhysicalExpr>,
        codec: &dyn PhysicalExtensionCodec,
    ) -> DfResult<protobuf::PhysicalExprNode> {
        if expr.downcast_ref::<ScalarSubqueryExpr>().is_some() {
            let no_rows = RecordBatch::new_empty(Arc::new(Schema::empty()));
            let ColumnarValue::Scalar(value) = expr.evaluate(&no_rows)? else {
                return Err(DataFusionError::Internal(
                    "a scalar subquery evaluated to an array".into(),
                ));
            };
            let literal: Arc<dyn PhysicalExpr> = Arc::new(Literal::new(value));
            return serialize_physical_expr_with_converter(&literal, codec, self);
        }
        serialize_physical_expr_with_converter(expr, codec, self)
    }
}

/// A stage plan (readers resolved, scalar subqueries computed) as bytes for an executor.
pub fn encode_plan(plan: &Arc<dyn ExecutionPlan>) -> DfResult<Vec<u8>> {
    let node = LodeConverter.execution_plan_to_proto(plan, &LodeCodec::default())?;
    Ok(node.encode_to_vec())
}

/// A stage plan from `encode_plan`'s bytes; functions resolve in `context`'s registry.
pub fn decode_plan(
    bytes: &[u8],
    context: &TaskContext,
    codec: &LodeCodec,
) -> DfResult<Arc<dyn ExecutionPlan>> {
    let node = protobuf::PhysicalPlanNode::decode(bytes)
        .map_err(|e| DataFusionError::Internal(format!("a stage plan: {e}")))?;
    let decode = PhysicalPlanDecodeContext::new(context, codec);
    LodeConverter.proto_to_execution_plan(&node, &decode)
}

/// A stage's output partitioning as bytes.
pub fn encode_partitioning(partitioning: &Partitioning) -> DfResult<Vec<u8>> {
    let proto = serialize_partitioning(
        partitioning,
        &LodeCodec::default(),
        &DefaultPhysicalProtoConverter {},
    )?;
    Ok(proto.encode_to_vec())
}

/// A stage's output partitioning from `encode_partitioning`'s bytes, over `schema` (the
/// stage plan's output).
pub fn decode_partitioning(
    bytes: &[u8],
    context: &TaskContext,
    codec: &LodeCodec,
    schema: &Schema,
) -> DfResult<Partitioning> {
    let proto = protobuf::Partitioning::decode(bytes)
        .map_err(|e| DataFusionError::Internal(format!("a stage's partitioning: {e}")))?;
    let decode = PhysicalPlanDecodeContext::new(context, codec);
    parse_protobuf_partitioning(
        Some(&proto),
        &decode,
        schema,
        &DefaultPhysicalProtoConverter {},
    )?
    .ok_or_else(|| DataFusionError::Internal("a stage's partitioning is empty".into()))
}

/// An Arrow schema as bytes (a datafusion-proto `Schema`).
pub fn encode_schema(schema: &Schema) -> DfResult<Vec<u8>> {
    let proto = protobuf::Schema::try_from(schema)
        .map_err(|e| DataFusionError::Internal(format!("encoding a schema: {e}")))?;
    Ok(proto.encode_to_vec())
}

/// An Arrow schema from `encode_schema`'s bytes.
pub fn decode_schema(bytes: &[u8]) -> DfResult<SchemaRef> {
    let proto = protobuf::Schema::decode(bytes)
        .map_err(|e| DataFusionError::Internal(format!("a schema: {e}")))?;
    let schema = Schema::try_from(&proto)
        .map_err(|e| DataFusionError::Internal(format!("a schema: {e}")))?;
    Ok(Arc::new(schema))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn avro_scan() -> protobuf::PhysicalPlanNode {
        protobuf::PhysicalPlanNode {
            physical_plan_type: Some(PhysicalPlanType::AvroScan(protobuf::AvroScanExecNode {
                base_conf: None,
            })),
        }
    }

    fn refused(bytes: &[u8]) -> String {
        let context = TaskContext::default();
        match decode_plan(bytes, &context, &LodeCodec::default()) {
            Ok(plan) => panic!("decoded {}", plan.name()),
            Err(error) => error.to_string(),
        }
    }

    /// The cluster_codec fuzz target's first finding (fuzz/artifacts, kept in its corpus): an
    /// Avro scan made datafusion-proto panic on an executor.
    #[test]
    fn an_avro_scan_from_the_network_is_refused_not_a_panic() {
        let found_by_the_fuzzer = [138, 1, 0, 170, 203, 0, 1, 0];
        assert!(refused(&found_by_the_fuzzer).contains("Avro scan"));
        assert!(refused(&avro_scan().encode_to_vec()).contains("Avro scan"));
    }

    #[test]
    fn an_avro_scan_below_another_node_is_refused_too() {
        let limit = protobuf::PhysicalPlanNode {
            physical_plan_type: Some(PhysicalPlanType::GlobalLimit(Box::new(
                protobuf::GlobalLimitExecNode {
                    input: Some(Box::new(avro_scan())),
                    skip: 0,
                    fetch: 10,
                    ..Default::default()
                },
            ))),
        };
        assert!(refused(&limit.encode_to_vec()).contains("Avro scan"));
    }
}
