//! Wasm scalar functions as DataFusion scalar UDFs.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, PoisonError};

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature};
use lode_wasm::{FunctionSpec, WasmError, marshal};

use super::pool::InstancePool;
use super::{signature_of, to_datafusion};

/// A scalar function of a Wasm module. Each distinct list of argument types is bound once
/// (the guest's `bind-scalar`), and opened once per pooled instance.
#[derive(Debug)]
pub(crate) struct WasmScalar {
    /// The name the plan calls it by (unique within the query).
    name: String,
    spec: FunctionSpec,
    signature: Signature,
    pool: Arc<InstancePool>,
    bound: Mutex<HashMap<Vec<DataType>, FieldRef>>,
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

    fn argument_fields(types: &[DataType]) -> Fields {
        types
            .iter()
            .enumerate()
            .map(|(i, t)| Field::new(format!("arg{i}"), t.clone(), true))
            .collect()
    }

    fn bind(&self, types: &[DataType]) -> Result<FieldRef, WasmError> {
        if let Some(field) = self
            .bound
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(types)
        {
            return Ok(field.clone());
        }
        let fields = Self::argument_fields(types);
        let field = self
            .pool
            .with(|p| p.instance.bind_scalar(&self.spec.name, &fields))?;
        self.bound
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(types.to_vec(), field.clone());
        Ok(field)
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

impl PartialEq for WasmScalar {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.pool.module().sha256() == other.pool.module().sha256()
    }
}

impl Eq for WasmScalar {}

impl Hash for WasmScalar {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        self.pool.module().sha256().hash(state);
    }
}

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
        let result = self.bind(&types).map_err(to_datafusion)?;
        let fields = Self::argument_fields(&types);
        let key = format!("{types:?}");
        let function = &self.spec.name;
        let output = self.pool.with(|p| {
            let handle = p.handle(&key, |instance| instance.open_scalar(function, &fields))?;
            p.instance
                .call_scalar(handle, function, &arrays, rows, &result)
        });
        output
            .map(ColumnarValue::Array)
            .map_err(|e| to_datafusion(self.explain_row(e, &arrays)))
    }
}
