//! Stage plans on the wire: datafusion-proto for DataFusion's operators, plus Lode's own nodes
//! (shuffle readers) and the values of scalar subqueries computed by earlier stages.

use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::TaskContext;
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
use prost::Message;

use crate::proto;
use crate::shuffle::{PieceSource, ShuffleReaderExec};

/// Encodes and decodes Lode's physical plan nodes. The coordinator only encodes; an executor
/// decodes readers that fetch their pieces through `source`.
#[derive(Debug, Default)]
pub struct LodeCodec {
    source: Option<Arc<dyn PieceSource>>,
}

impl LodeCodec {
    /// A codec whose decoded readers fetch through `source`.
    pub fn with_source(source: Arc<dyn PieceSource>) -> Self {
        LodeCodec {
            source: Some(source),
        }
    }
}

impl PhysicalExtensionCodec for LodeCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        _inputs: &[Arc<dyn ExecutionPlan>],
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
        let Some(reader) = node.downcast_ref::<ShuffleReaderExec>() else {
            return Err(DataFusionError::NotImplemented(format!(
                "{} cannot be sent to an executor yet",
                node.name()
            )));
        };
        let extension = proto::PlanExtension {
            kind: Some(proto::plan_extension::Kind::ShuffleReader(
                reader.to_proto()?,
            )),
        };
        extension
            .encode(buf)
            .map_err(|e| DataFusionError::Internal(format!("encoding {}: {e}", node.name())))
    }
}

/// Serializes expressions as datafusion-proto does, except that a scalar subquery's value,
/// already computed by its own stage, travels as a literal: executors have no slot to read it
/// from.
struct InliningConverter;

impl PhysicalProtoConverterExtension for InliningConverter {
    fn proto_to_execution_plan(
        &self,
        proto: &protobuf::PhysicalPlanNode,
        ctx: &PhysicalPlanDecodeContext<'_>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        DefaultPhysicalProtoConverter {}.proto_to_execution_plan(proto, ctx)
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
    let node = InliningConverter.execution_plan_to_proto(plan, &LodeCodec::default())?;
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
    DefaultPhysicalProtoConverter {}.proto_to_execution_plan(&node, &decode)
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
