//! Wasm aggregates as DataFusion aggregate UDFs with real partial state: DataFusion's
//! two-phase aggregation calls the guest's `update` where rows are, `state` to serialize
//! partial results, and `merge` + `evaluate` where they meet.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, UInt32Array};
use datafusion::arrow::compute;
use datafusion::arrow::datatypes::{DataType, FieldRef, Fields, UInt32Type};
use datafusion::common::{Result, ScalarValue, not_impl_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, EmitTo, GroupsAccumulator, Signature,
};
use lode_wasm::{FunctionSpec, GroupedRows, Instance, ResourceAny, WasmError, marshal};

use super::pool::InstancePool;
use super::{argument_fields, signature_of, to_datafusion};

/// What one list of argument types binds to.
#[derive(Debug, Clone)]
struct Binding {
    args: Fields,
    state: Fields,
    result: FieldRef,
}

#[derive(Debug)]
pub(crate) struct WasmAggregate {
    name: String,
    spec: FunctionSpec,
    signature: Signature,
    pool: Arc<InstancePool>,
    bound: Mutex<HashMap<Vec<DataType>, Binding>>,
}

impl WasmAggregate {
    pub fn new(name: String, spec: FunctionSpec, pool: Arc<InstancePool>) -> Self {
        let signature = signature_of(&spec);
        WasmAggregate {
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

    fn bind(&self, types: &[DataType]) -> Result<Binding> {
        let types: Vec<DataType> = types.iter().map(marshal::guest_type).collect();
        if let Some(binding) = crate::lock(&self.bound).get(&types) {
            return Ok(binding.clone());
        }
        let args = argument_fields(&types);
        let (state, result) = self
            .pool
            .with(|p| p.instance.bind_aggregate(&self.spec.name, &args))
            .map_err(to_datafusion)?;
        let binding = Binding {
            args,
            state,
            result,
        };
        crate::lock(&self.bound).insert(types, binding.clone());
        Ok(binding)
    }

    fn groups(&self, args: &AccumulatorArgs) -> Result<WasmGroups> {
        if args.is_distinct {
            return not_impl_err!(
                "DISTINCT is not supported for the Wasm aggregate '{}'",
                self.name
            );
        }
        let types: Vec<DataType> = args
            .expr_fields
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        let binding = self.bind(&types)?;
        let mut instance = self.pool.instantiate().map_err(to_datafusion)?;
        let handle = instance
            .open_accumulator(&self.spec.name, &binding.args)
            .map_err(to_datafusion)?;
        Ok(WasmGroups {
            function: self.spec.name.clone(),
            binding,
            instance: Mutex::new(instance),
            handle,
            groups: 0,
        })
    }
}

super::identity_by_module_and_name!(WasmAggregate);

impl AggregateUDFImpl for WasmAggregate {
    fn name(&self) -> &str {
        &self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(self.bind(arg_types)?.result.data_type().clone())
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let types: Vec<DataType> = args
            .input_fields
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        let binding = self.bind(&types)?;
        // State columns of several aggregates share one schema: qualify them by the call.
        Ok(binding
            .state
            .iter()
            .map(|f| {
                Arc::new(
                    f.as_ref()
                        .clone()
                        .with_name(format!("{}[{}]", args.name, f.name())),
                )
            })
            .collect())
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let mut groups = self.groups(&args)?;
        groups.grow_to(1)?;
        Ok(Box::new(WasmAccumulator(groups)))
    }

    fn groups_accumulator_supported(&self, args: AccumulatorArgs) -> bool {
        !args.is_distinct
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(self.groups(&args)?))
    }
}

/// The guest's accumulator resource in an instance of its own.
#[derive(Debug)]
struct WasmGroups {
    function: String,
    binding: Binding,
    instance: Mutex<Instance>,
    handle: ResourceAny,
    /// Groups the guest holds.
    groups: usize,
}

impl WasmGroups {
    fn accumulate(
        &mut self,
        merge: bool,
        columns: &[ArrayRef],
        groups: &[usize],
        filter: Option<&BooleanArray>,
        total: usize,
    ) -> Result<()> {
        let mut groups = UInt32Array::from_iter_values(groups.iter().map(|g| *g as u32));
        let mut columns = columns
            .iter()
            .map(|c| marshal::to_guest_array(c).map_err(to_datafusion))
            .collect::<Result<Vec<ArrayRef>>>()?;
        if let Some(filter) = filter {
            columns = columns
                .iter()
                .map(|c| compute::filter(c, filter))
                .collect::<std::result::Result<_, _>>()?;
            groups = compute::filter(&groups, filter)?
                .as_primitive::<UInt32Type>()
                .clone();
        }
        let total =
            u32::try_from(total).map_err(|_| to_datafusion(too_many_groups(&self.function)))?;
        let instance = self
            .instance
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        let rows = GroupedRows {
            groups: groups.values(),
            total_groups: total,
            columns: &columns,
        };
        instance
            .accumulate(self.handle, &self.function, merge, rows)
            .map_err(to_datafusion)?;
        self.groups = self.groups.max(total as usize);
        Ok(())
    }

    fn grow_to(&mut self, total: usize) -> Result<()> {
        let empty: Vec<ArrayRef> = self
            .binding
            .args
            .iter()
            .map(|f| datafusion::arrow::array::new_empty_array(f.data_type()))
            .collect();
        self.accumulate(false, &empty, &[], None, total)
    }

    fn emit(&mut self, final_values: bool, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let count = match emit_to {
            EmitTo::All => self.groups,
            EmitTo::First(n) => n.min(self.groups),
        };
        let fields = if final_values {
            Fields::from(vec![self.binding.result.clone()])
        } else {
            self.binding.state.clone()
        };
        let instance = self
            .instance
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        let columns = instance
            .emit(
                self.handle,
                &self.function,
                final_values,
                Some(count as u32),
                &fields,
            )
            .map_err(to_datafusion)?;
        self.groups -= count;
        Ok(columns)
    }
}

fn too_many_groups(function: &str) -> WasmError {
    WasmError::Engine(format!(
        "aggregate '{function}': more than 4 billion groups"
    ))
}

impl GroupsAccumulator for WasmGroups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.accumulate(false, values, group_indices, opt_filter, total_num_groups)
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.accumulate(true, values, group_indices, None, total_num_groups)
    }

    fn convert_to_state(
        &self,
        _values: &[ArrayRef],
        _opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        // `supports_convert_to_state` is false, so DataFusion never skips partial aggregation
        // for a Wasm aggregate: the guest alone knows how to make a state from a row.
        not_impl_err!(
            "Wasm aggregate '{}' does not convert rows to states",
            self.function
        )
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        Ok(self.emit(true, emit_to)?.remove(0))
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        self.emit(false, emit_to)
    }

    fn size(&self) -> usize {
        // The guest's memory is outside DataFusion's accounting (its own limit caps it); this
        // counts the host side.
        std::mem::size_of::<Self>() + self.groups * 8
    }
}

/// One group: the accumulator DataFusion uses without GROUP BY.
#[derive(Debug)]
struct WasmAccumulator(WasmGroups);

impl WasmAccumulator {
    fn first_row(&mut self, final_values: bool) -> Result<Vec<ScalarValue>> {
        let columns = self.0.emit(final_values, EmitTo::All)?;
        // The guest dropped the group it emitted; keep one for any later call.
        self.0.grow_to(1)?;
        columns
            .iter()
            .map(|c| ScalarValue::try_from_array(c, 0))
            .collect()
    }
}

impl Accumulator for WasmAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let rows = values.first().map_or(0, |v| v.len());
        self.0.accumulate(false, values, &vec![0; rows], None, 1)
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let rows = states.first().map_or(0, |v| v.len());
        self.0.accumulate(true, states, &vec![0; rows], None, 1)
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        self.first_row(false)
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(self.first_row(true)?.remove(0))
    }

    fn size(&self) -> usize {
        self.0.size()
    }
}
