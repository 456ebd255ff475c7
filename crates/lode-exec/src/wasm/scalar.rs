//! Wasm scalar functions as DataFusion scalar UDFs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::{DataType, FieldRef, Fields};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature};
use lode_wasm::{FunctionSpec, WasmError, marshal};

use super::pool::InstancePool;
use super::{argument_fields, signature_of, to_datafusion};

/// A scalar function of a Wasm module. Each distinct list of argument types is bound once
/// (the guest's `bind-scalar`), and opened once per pooled instance.
#[derive(Debug)]
pub(crate) struct WasmScalar {
    /// The name the plan calls it by (unique within the query).
    name: String,
    spec: FunctionSpec,
    signature: Signature,
    pool: Arc<InstancePool>,
    bound: Mutex<HashMap<Vec<DataType>, Arc<Bound>>>,
}

/// A list of argument types, bound: what every call with those types needs.
#[derive(Debug)]
struct Bound {
    args: Fields,
    result: FieldRef,
    /// The key of the opened function in each pooled instance.
    key: String,
}

impl WasmScalar {
    pub fn new(name: String, spec: FunctionSpec, pool: Arc<InstancePool>) -> Self {
        let signature = signature_of(&spec);
        WasmScalar {
            name,
            spec,
            signature,
            pool,
            bound: Mutex::new(HashMap::new()),
        }
    }

    pub fn pool(&self) -> &InstancePool {
        &self.pool
    }

    pub fn spec(&self) -> &FunctionSpec {
        &self.spec
    }

    fn bind(&self, types: &[DataType]) -> Result<Arc<Bound>, WasmError> {
        if let Some(bound) = crate::lock(&self.bound).get(types) {
            return Ok(bound.clone());
        }
        let args = argument_fields(types);
        let result = self
            .pool
            .with(|p| p.instance.bind_scalar(&self.spec.name, &args))?;
        let bound = Arc::new(Bound {
            args,
            result,
            key: format!("{types:?}"),
        });
        crate::lock(&self.bound).insert(types.to_vec(), bound.clone());
        Ok(bound)
    }

    /// Adds the arguments of the failing row to a data error.
    fn explain_row(&self, error: WasmError, args: &[ArrayRef]) -> WasmError {
        match error {
            WasmError::Call {
                module,
                function,
                row: Some(row),
                message,
            } => {
                let values: Vec<String> = args
                    .iter()
                    .map(|a| match ScalarValue::try_from_array(a, row as usize) {
                        Ok(ScalarValue::Utf8(Some(s))) => format!("'{s}'"),
                        Ok(v) => v.to_string(),
                        Err(_) => "?".into(),
                    })
                    .collect();
                let message = format!("{message} (arguments: {})", values.join(", "));
                WasmError::Call {
                    module,
                    function,
                    row: Some(row),
                    message,
                }
            }
            other => other,
        }
    }
}

super::identity_by_module_and_name!(WasmScalar);

impl ScalarUDFImpl for WasmScalar {
    fn name(&self) -> &str {
        &self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        let types: Vec<DataType> = arg_types.iter().map(marshal::guest_type).collect();
        Ok(self
            .bind(&types)
            .map_err(to_datafusion)?
            .result
            .data_type()
            .clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let arrays = args
            .args
            .iter()
            .map(|a| {
                a.to_array(rows)
                    .and_then(|a| marshal::to_guest_array(&a).map_err(to_datafusion))
            })
            .collect::<Result<Vec<ArrayRef>>>()?;
        let types: Vec<DataType> = arrays.iter().map(|a| a.data_type().clone()).collect();
        let bound = self.bind(&types).map_err(to_datafusion)?;
        let function = &self.spec.name;
        let output = self.pool.with(|p| {
            let handle = p.handle(&bound.key, |instance| {
                instance.open_scalar(function, &bound.args)
            })?;
            p.instance
                .call_scalar(handle, function, &arrays, rows, &bound.result)
        });
        output
            .map(ColumnarValue::Array)
            .map_err(|e| to_datafusion(self.explain_row(e, &arrays)))
    }
}
