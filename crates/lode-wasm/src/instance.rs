//! One guest instance: a store with its limits, and the typed calls of the contract.

use arrow::array::{ArrayData, ArrayRef};
use arrow::datatypes::{FieldRef, Fields, SchemaRef};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use wasmtime::component::{
    ComponentExportIndex, ComponentNamedList, Func, InstancePre, Lift, Lower, ResourceAny,
};
use wasmtime::{Store, Trap};

use crate::error::{ModuleName, Result, WasmError};
use crate::exports::{EXPORT_COUNT, Export};
use crate::host::{HostState, MemoryAccount};
use crate::marshal::{self, GuestBatch};
use crate::policy::EPOCH_TICK;
use crate::policy::Grant;
use crate::wit;

type GuestResult<T> = std::result::Result<T, wit::CallError>;

/// Rows for an aggregate: row `r` of `columns` belongs to group `groups[r]`; there are
/// `total_groups` groups so far.
pub struct GroupedRows<'a> {
    pub groups: &'a [u32],
    pub total_groups: u32,
    pub columns: &'a [ArrayRef],
}

/// A live instance of a module. Not shared between threads; pools hand instances out.
pub struct Instance {
    module: ModuleName,
    store: Store<HostState>,
    instance: wasmtime::component::Instance,
    exports: [ComponentExportIndex; EXPORT_COUNT],
    funcs: [Option<Func>; EXPORT_COUNT],
    deadline_ticks: u64,
    grant: Grant,
    /// Set once a call trapped: the instance must not be used again.
    poisoned: bool,
}

impl std::fmt::Debug for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instance")
            .field("module", &self.module)
            .field("poisoned", &self.poisoned)
            .finish()
    }
}

impl Instance {
    pub(crate) fn new(
        module: ModuleName,
        pre: &InstancePre<HostState>,
        exports: [ComponentExportIndex; EXPORT_COUNT],
        grant: &Grant,
        account: Option<Box<dyn MemoryAccount>>,
    ) -> Result<Self> {
        let mut store = Store::new(pre.engine(), HostState::accounted(grant, account));
        store.limiter(|state| &mut state.limiter);
        let deadline_ticks = grant
            .limits
            .call_timeout
            .as_nanos()
            .div_ceil(EPOCH_TICK.as_nanos()) as u64
            + 1;
        store.set_epoch_deadline(deadline_ticks);
        let instance =
            futures::executor::block_on(pre.instantiate_async(&mut store)).map_err(|e| {
                WasmError::Instantiate {
                    module: module.clone(),
                    message: format!("{e:#}"),
                }
            })?;
        Ok(Instance {
            module,
            store,
            instance,
            exports,
            funcs: [None; EXPORT_COUNT],
            deadline_ticks,
            grant: grant.clone(),
            poisoned: false,
        })
    }

    pub fn module(&self) -> &ModuleName {
        &self.module
    }

    pub fn grant(&self) -> &Grant {
        &self.grant
    }

    /// True after a trap, timeout or memory exhaustion: drop the instance.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    fn func(&mut self, export: Export) -> Result<Func> {
        if let Some(func) = self.funcs[export as usize] {
            return Ok(func);
        }
        let func = self
            .instance
            .get_func(&mut self.store, self.exports[export as usize])
            .ok_or_else(|| WasmError::MissingExport {
                module: self.module.clone(),
                export: export.display(),
            })?;
        self.funcs[export as usize] = Some(func);
        Ok(func)
    }

    /// Checks that `export` has the Rust types `P -> R`.
    fn check<P: ComponentNamedList + Lower, R: ComponentNamedList + Lift>(
        &mut self,
        export: Export,
    ) -> Result<()> {
        let func = self.func(export)?;
        func.typed::<P, R>(&self.store)
            .map(|_| ())
            .map_err(|e| WasmError::ExportType {
                module: self.module.clone(),
                export: export.display(),
                message: format!("{e:#}"),
            })
    }

    /// Checks every export against the contract, so later calls cannot mismatch.
    pub(crate) fn typecheck(&mut self) -> Result<()> {
        use Export::*;
        type Fields = Vec<wit::Field>;
        self.check::<(), (wit::ModuleInfo,)>(Describe)?;
        self.check::<(&str, &[wit::Field]), (Result<wit::ScalarBinding, String>,)>(BindScalar)?;
        self.check::<(&str, &[wit::Field]), (Result<wit::AggregateBinding, String>,)>(
            BindAggregate,
        )?;
        self.check::<(&str, &[wit::Field], wit::BatchRef<'_>, &[u8]), (Result<wit::RelationBinding, String>,)>(
            BindTable,
        )?;
        self.check::<(&str, &[Fields], &[u8]), (Result<wit::RelationBinding, String>,)>(
            BindOperator,
        )?;
        self.check::<(&str, &[wit::Field]), (Result<ResourceAny, String>,)>(ScalarOpen)?;
        self.check::<(ResourceAny, wit::BatchRef<'_>), (GuestResult<wit::Batch>,)>(ScalarCall)?;
        self.check::<(&str, &[wit::Field]), (Result<ResourceAny, String>,)>(AccumulatorOpen)?;
        self.check::<(ResourceAny, &[u32], u32, wit::BatchRef<'_>), (GuestResult<()>,)>(
            AccumulatorUpdate,
        )?;
        self.check::<(ResourceAny, &[u32], u32, wit::BatchRef<'_>), (GuestResult<()>,)>(
            AccumulatorMerge,
        )?;
        self.check::<(ResourceAny, Option<u32>), (GuestResult<wit::Batch>,)>(AccumulatorState)?;
        self.check::<(ResourceAny, Option<u32>), (GuestResult<wit::Batch>,)>(AccumulatorEvaluate)?;
        self.check::<(&str, &[wit::Field], wit::BatchRef<'_>, &[u8], u32), (Result<ResourceAny, String>,)>(
            GeneratorOpen,
        )?;
        self.check::<(ResourceAny,), (GuestResult<Option<wit::Batch>>,)>(GeneratorNext)?;
        self.check::<(&str, &[Fields], &[u8], u32), (Result<ResourceAny, String>,)>(OperatorOpen)?;
        self.check::<(ResourceAny, u32, wit::BatchRef<'_>), (GuestResult<Vec<wit::Batch>>,)>(
            OperatorPush,
        )?;
        self.check::<(ResourceAny,), (GuestResult<Vec<wit::Batch>>,)>(OperatorFinish)?;
        Ok(())
    }

    /// Calls `export` with a fresh deadline, turning traps into errors that name `function`.
    fn invoke<P, R>(&mut self, export: Export, function: &str, params: P) -> Result<R>
    where
        P: ComponentNamedList + Lower + Send + Sync,
        R: ComponentNamedList + Lift + Send + Sync + 'static,
    {
        if self.poisoned {
            return Err(WasmError::Trap {
                module: self.module.clone(),
                function: function.to_string(),
                message: "the instance trapped earlier and cannot be used".into(),
                stderr: String::new(),
            });
        }
        let func = self.func(export)?;
        // SAFETY: `typecheck` verified at load that this export has exactly these parameter
        // and result types (lifetimes do not change component types).
        let typed = unsafe { wasmtime::component::TypedFunc::<P, R>::new_unchecked(func) };
        self.store.set_epoch_deadline(self.deadline_ticks);
        self.store.data_mut().clear_refusal();
        // Guest calls run to completion on this thread: host functions never wait on I/O
        // (no sockets, files or real stdio are granted), so a local executor suffices, and it
        // works inside a tokio worker, where wasmtime-wasi's sync bindings would panic.
        futures::executor::block_on(typed.call_async(&mut self.store, params))
            .map_err(|error| self.trap(error, function))
    }

    fn trap(&mut self, error: wasmtime::Error, function: &str) -> WasmError {
        self.poisoned = true;
        let module = self.module.clone();
        let function = function.to_string();
        if matches!(error.downcast_ref::<Trap>(), Some(Trap::Interrupt)) {
            let seconds = self.grant.limits.call_timeout.as_secs_f64();
            return WasmError::Timeout {
                module,
                function,
                seconds,
            };
        }
        let state = self.store.data();
        if let Some(reason) = &state.limiter.host_refusal {
            return WasmError::HostMemory {
                module,
                function,
                reason: reason.clone(),
            };
        }
        if state.limiter.refused {
            return WasmError::MemoryLimit {
                module,
                function,
                limit_bytes: state.limiter.limit(),
            };
        }
        let message = match error.downcast_ref::<Trap>() {
            Some(trap) => trap.to_string(),
            None => format!("{error:#}"),
        };
        WasmError::Trap {
            module,
            function,
            message,
            stderr: state.output_tail(),
        }
    }

    fn call_error(&self, function: &str, error: wit::CallError) -> WasmError {
        WasmError::Call {
            module: self.module.clone(),
            function: function.to_string(),
            row: error.row.map(u64::from),
            message: error.message,
        }
    }

    fn bind_error(&self, function: &str, message: String) -> WasmError {
        WasmError::Bind {
            module: self.module.clone(),
            function: function.to_string(),
            message,
        }
    }

    fn malformed(&self, function: &str, error: marshal::MarshalError) -> WasmError {
        WasmError::Malformed {
            module: self.module.clone(),
            function: function.to_string(),
            message: error.to_string(),
        }
    }

    fn input_error(&self, function: &str, error: marshal::MarshalError) -> WasmError {
        WasmError::Input {
            module: self.module.clone(),
            function: function.to_string(),
            message: error.to_string(),
        }
    }

    fn encode_schema<'a>(
        &self,
        function: &str,
        fields: impl IntoIterator<Item = &'a FieldRef>,
    ) -> Result<Vec<wit::Field>> {
        marshal::encode_schema(fields).map_err(|e| self.input_error(function, e))
    }

    fn decode_schema(&self, function: &str, fields: &[wit::Field]) -> Result<Fields> {
        marshal::decode_schema(fields).map_err(|e| self.malformed(function, e))
    }

    fn encode_schemas(&self, function: &str, inputs: &[SchemaRef]) -> Result<Vec<Vec<wit::Field>>> {
        inputs
            .iter()
            .map(|s| self.encode_schema(function, s.fields().iter()))
            .collect()
    }

    /// Lays out columns (already of their guest types) for a call of `function`.
    fn lay_out<'a>(
        &self,
        function: &str,
        num_rows: usize,
        data: &'a [ArrayData],
    ) -> Result<GuestBatch<'a>> {
        GuestBatch::new(num_rows, data).map_err(|e| self.input_error(function, e))
    }

    /// The batches an operator returned, typed as `schema`.
    fn decode_batches(
        &self,
        function: &str,
        schema: &SchemaRef,
        output: GuestResult<Vec<wit::Batch>>,
    ) -> Result<Vec<RecordBatch>> {
        let output = output.map_err(|e| self.call_error(function, e))?;
        output
            .into_iter()
            .map(|b| self.decode_record_batch(function, schema, b))
            .collect()
    }

    pub(crate) fn describe(&mut self) -> Result<wit::ModuleInfo> {
        let (info,) = self.invoke::<(), (wit::ModuleInfo,)>(Export::Describe, "describe", ())?;
        Ok(info)
    }

    /// Types a scalar call: the result field for these argument fields.
    pub fn bind_scalar(&mut self, function: &str, args: &Fields) -> Result<FieldRef> {
        let schema = self.encode_schema(function, args.iter())?;
        let (bound,) = self
            .invoke::<(&str, &[wit::Field]), (Result<wit::ScalarBinding, String>,)>(
                Export::BindScalar,
                function,
                (function, &schema),
            )?;
        let bound = bound.map_err(|m| self.bind_error(function, m))?;
        self.single_field(function, &bound.result)
    }

    /// Types an aggregate call: its state fields and result field.
    pub fn bind_aggregate(&mut self, function: &str, args: &Fields) -> Result<(Fields, FieldRef)> {
        let schema = self.encode_schema(function, args.iter())?;
        let (bound,) = self
            .invoke::<(&str, &[wit::Field]), (Result<wit::AggregateBinding, String>,)>(
                Export::BindAggregate,
                function,
                (function, &schema),
            )?;
        let bound = bound.map_err(|m| self.bind_error(function, m))?;
        let state = self.decode_schema(function, &bound.state)?;
        if state.is_empty() {
            return Err(self.bind_error(function, "the aggregate declares no state columns".into()));
        }
        Ok((state, self.single_field(function, &bound.result)?))
    }

    /// Types a table function: output schema and partition count.
    pub fn bind_table(
        &mut self,
        function: &str,
        args: &RecordBatch,
        config: &[u8],
    ) -> Result<(Fields, u32)> {
        let schema = self.encode_schema(function, args.schema().fields().iter())?;
        let data: Vec<ArrayData> = args.columns().iter().map(|c| c.to_data()).collect();
        let batch = self.lay_out(function, args.num_rows(), &data)?;
        let slices = batch.slices();
        let params = (function, schema.as_slice(), batch.as_wit(&slices), config);
        let (bound,) = self.invoke::<_, (Result<wit::RelationBinding, String>,)>(
            Export::BindTable,
            function,
            params,
        )?;
        let bound = bound.map_err(|m| self.bind_error(function, m))?;
        Ok((
            self.decode_schema(function, &bound.output)?,
            bound.partitions,
        ))
    }

    /// Types an operator over its inputs: its output schema.
    pub fn bind_operator(
        &mut self,
        function: &str,
        inputs: &[SchemaRef],
        config: &[u8],
    ) -> Result<Fields> {
        let schemas = self.encode_schemas(function, inputs)?;
        let (bound,) = self
            .invoke::<(&str, &[Vec<wit::Field>], &[u8]), (Result<wit::RelationBinding, String>,)>(
                Export::BindOperator,
                function,
                (function, &schemas, config),
            )?;
        let bound = bound.map_err(|m| self.bind_error(function, m))?;
        self.decode_schema(function, &bound.output)
    }

    fn single_field(&self, function: &str, fields: &[wit::Field]) -> Result<FieldRef> {
        let fields = self.decode_schema(function, fields)?;
        match fields.len() {
            1 => Ok(fields[0].clone()),
            n => Err(self.bind_error(function, format!("bound to {n} result fields, not 1"))),
        }
    }

    /// Opens a scalar function bound to `args`.
    pub fn open_scalar(&mut self, function: &str, args: &Fields) -> Result<ResourceAny> {
        let schema = self.encode_schema(function, args.iter())?;
        let (opened,) = self.invoke::<(&str, &[wit::Field]), (Result<ResourceAny, String>,)>(
            Export::ScalarOpen,
            function,
            (function, &schema),
        )?;
        opened.map_err(|m| self.bind_error(function, m))
    }

    /// Calls a scalar function over argument arrays of `num_rows` rows (already of their guest
    /// types); the result must be one column of `num_rows` values of `result`'s type.
    pub fn call_scalar(
        &mut self,
        handle: ResourceAny,
        function: &str,
        args: &[ArrayRef],
        num_rows: usize,
        result: &FieldRef,
    ) -> Result<ArrayRef> {
        let data: Vec<ArrayData> = args.iter().map(|a| a.to_data()).collect();
        let batch = self.lay_out(function, num_rows, &data)?;
        let slices = batch.slices();
        let (output,) = self
            .invoke::<(ResourceAny, wit::BatchRef<'_>), (GuestResult<wit::Batch>,)>(
                Export::ScalarCall,
                function,
                (handle, batch.as_wit(&slices)),
            )?;
        let output = output.map_err(|e| self.call_error(function, e))?;
        let mut columns = self.decode_rows(
            function,
            &Fields::from(vec![result.clone()]),
            output,
            Some(num_rows),
        )?;
        Ok(columns.remove(0))
    }

    /// Decodes a guest batch, checking its row count when one is expected.
    fn decode_rows(
        &self,
        function: &str,
        fields: &Fields,
        batch: wit::Batch,
        rows: Option<usize>,
    ) -> Result<Vec<ArrayRef>> {
        if let Some(expected) = rows
            && batch.num_rows as usize != expected
        {
            let message = format!("returned {} rows for {expected} input rows", batch.num_rows);
            return Err(WasmError::Malformed {
                module: self.module.clone(),
                function: function.into(),
                message,
            });
        }
        marshal::decode_batch(fields, batch).map_err(|e| self.malformed(function, e))
    }

    fn decode_record_batch(
        &self,
        function: &str,
        schema: &SchemaRef,
        batch: wit::Batch,
    ) -> Result<RecordBatch> {
        let num_rows = batch.num_rows as usize;
        let columns = self.decode_rows(function, schema.fields(), batch, None)?;
        let options = RecordBatchOptions::new().with_row_count(Some(num_rows));
        RecordBatch::try_new_with_options(schema.clone(), columns, &options).map_err(|e| {
            WasmError::Malformed {
                module: self.module.clone(),
                function: function.into(),
                message: e.to_string(),
            }
        })
    }

    /// Opens empty accumulators of an aggregate bound to `args`.
    pub fn open_accumulator(&mut self, function: &str, args: &Fields) -> Result<ResourceAny> {
        let schema = self.encode_schema(function, args.iter())?;
        let (opened,) = self.invoke::<(&str, &[wit::Field]), (Result<ResourceAny, String>,)>(
            Export::AccumulatorOpen,
            function,
            (function, &schema),
        )?;
        opened.map_err(|m| self.bind_error(function, m))
    }

    /// Folds argument rows (`update`) or state rows (`merge`) into groups.
    pub fn accumulate(
        &mut self,
        handle: ResourceAny,
        function: &str,
        merge: bool,
        rows: GroupedRows<'_>,
    ) -> Result<()> {
        let data: Vec<ArrayData> = rows.columns.iter().map(|a| a.to_data()).collect();
        let batch = self.lay_out(function, rows.groups.len(), &data)?;
        let slices = batch.slices();
        let export = if merge {
            Export::AccumulatorMerge
        } else {
            Export::AccumulatorUpdate
        };
        let (done,) = self
            .invoke::<(ResourceAny, &[u32], u32, wit::BatchRef<'_>), (GuestResult<()>,)>(
                export,
                function,
                (
                    handle,
                    rows.groups,
                    rows.total_groups,
                    batch.as_wit(&slices),
                ),
            )?;
        done.map_err(|e| self.call_error(function, e))
    }

    /// Emits (and drops) the first `count` groups' states (`state`) or final values (`evaluate`).
    pub fn emit(
        &mut self,
        handle: ResourceAny,
        function: &str,
        final_values: bool,
        count: Option<u32>,
        fields: &Fields,
    ) -> Result<Vec<ArrayRef>> {
        let export = if final_values {
            Export::AccumulatorEvaluate
        } else {
            Export::AccumulatorState
        };
        let (output,) = self.invoke::<(ResourceAny, Option<u32>), (GuestResult<wit::Batch>,)>(
            export,
            function,
            (handle, count),
        )?;
        let output = output.map_err(|e| self.call_error(function, e))?;
        self.decode_rows(function, fields, output, count.map(|c| c as usize))
    }

    /// Opens partition `partition` of a table function.
    pub fn open_generator(
        &mut self,
        function: &str,
        args: &RecordBatch,
        config: &[u8],
        partition: u32,
    ) -> Result<ResourceAny> {
        let schema = self.encode_schema(function, args.schema().fields().iter())?;
        let data: Vec<ArrayData> = args.columns().iter().map(|c| c.to_data()).collect();
        let batch = self.lay_out(function, args.num_rows(), &data)?;
        let slices = batch.slices();
        let params = (
            function,
            schema.as_slice(),
            batch.as_wit(&slices),
            config,
            partition,
        );
        let (opened,) = self.invoke::<_, (Result<ResourceAny, String>,)>(
            Export::GeneratorOpen,
            function,
            params,
        )?;
        opened.map_err(|m| self.bind_error(function, m))
    }

    /// The next batch of a table function partition, typed as `schema`.
    pub fn next_batch(
        &mut self,
        handle: ResourceAny,
        function: &str,
        schema: &SchemaRef,
    ) -> Result<Option<RecordBatch>> {
        let (output,) = self.invoke::<(ResourceAny,), (GuestResult<Option<wit::Batch>>,)>(
            Export::GeneratorNext,
            function,
            (handle,),
        )?;
        match output.map_err(|e| self.call_error(function, e))? {
            Some(batch) => Ok(Some(self.decode_record_batch(function, schema, batch)?)),
            None => Ok(None),
        }
    }

    /// Opens partition `partition` of an operator.
    pub fn open_operator(
        &mut self,
        function: &str,
        inputs: &[SchemaRef],
        config: &[u8],
        partition: u32,
    ) -> Result<ResourceAny> {
        let schemas = self.encode_schemas(function, inputs)?;
        let params = (function, schemas.as_slice(), config, partition);
        let (opened,) = self.invoke::<_, (Result<ResourceAny, String>,)>(
            Export::OperatorOpen,
            function,
            params,
        )?;
        opened.map_err(|m| self.bind_error(function, m))
    }

    /// Pushes a batch of input `input` into an operator; returns what it emits, typed as `schema`.
    pub fn push(
        &mut self,
        handle: ResourceAny,
        function: &str,
        input: u32,
        batch: &RecordBatch,
        schema: &SchemaRef,
    ) -> Result<Vec<RecordBatch>> {
        let columns: Vec<ArrayRef> = batch
            .columns()
            .iter()
            .map(marshal::to_guest_array)
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| self.input_error(function, e))?;
        let data: Vec<ArrayData> = columns.iter().map(|c| c.to_data()).collect();
        let guest = self.lay_out(function, batch.num_rows(), &data)?;
        let slices = guest.slices();
        let (output,) = self
            .invoke::<(ResourceAny, u32, wit::BatchRef<'_>), (GuestResult<Vec<wit::Batch>>,)>(
                Export::OperatorPush,
                function,
                (handle, input, guest.as_wit(&slices)),
            )?;
        self.decode_batches(function, schema, output)
    }

    /// Tells an operator its inputs ended; returns its last batches.
    pub fn finish(
        &mut self,
        handle: ResourceAny,
        function: &str,
        schema: &SchemaRef,
    ) -> Result<Vec<RecordBatch>> {
        let (output,) = self.invoke::<(ResourceAny,), (GuestResult<Vec<wit::Batch>>,)>(
            Export::OperatorFinish,
            function,
            (handle,),
        )?;
        self.decode_batches(function, schema, output)
    }

    /// Releases a resource the guest handed out.
    pub fn release(&mut self, handle: ResourceAny) {
        if !self.poisoned
            && let Err(e) = futures::executor::block_on(handle.resource_drop_async(&mut self.store))
        {
            tracing::debug!(module = %self.module, error = %e, "dropping a guest resource failed");
        }
    }
}
