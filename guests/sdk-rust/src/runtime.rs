//! The exports of the `lode:guest/extension` world, implemented over the author's [`Module`].

use std::cell::RefCell;
use std::sync::OnceLock;

use crate::bindings::exports::lode::guest::{aggregate, module, operators, scalar, table};
use crate::bindings::lode::guest::{arrow as wit, types as wit_types};
use crate::column::{Batch, decode_batch, encode_batch};

use crate::module::{
    CallError, Definition, Function, Generator, Groups, Module, Operator, Volatility,
};
use crate::types::{DataType, Field, decode_schema, encode_schema};

unsafe extern "Rust" {
    /// Defined by [`crate::export!`] in the guest crate.
    safe fn __lode_guest_module() -> Module;
}

fn the_module() -> &'static Module {
    static MODULE: OnceLock<Module> = OnceLock::new();
    MODULE.get_or_init(__lode_guest_module)
}

fn lookup(name: &str, kind: &str) -> Result<&'static Function, String> {
    let function = the_module()
        .function(name)
        .ok_or_else(|| format!("module has no function '{name}'"))?;
    let actual = match function.definition {
        Definition::Scalar { .. } => "scalar",
        Definition::Aggregate { .. } => "aggregate",
        Definition::Table { .. } => "table",
        Definition::Operator { .. } => "operator",
    };
    if actual == kind {
        Ok(function)
    } else {
        Err(format!(
            "'{name}' is a {actual} function, not a {kind} function"
        ))
    }
}

fn to_wit_error(error: CallError) -> wit_types::CallError {
    wit_types::CallError {
        row: error.row,
        message: error.message,
    }
}

fn decode(fields: &[Field], batch: wit::Batch) -> Result<Batch, wit_types::CallError> {
    decode_batch(fields, batch).map_err(|message| wit_types::CallError { row: None, message })
}

fn encode(batch: Batch) -> wit::Batch {
    encode_batch(batch.num_rows, batch.columns)
}

/// The type the SDK's export macro implements the world's interfaces on.
pub struct Runtime;

impl module::Guest for Runtime {
    fn describe() -> wit_types::ModuleInfo {
        let module = the_module();
        let functions = module
            .functions
            .iter()
            .map(|f| wit_types::FunctionInfo {
                name: f.meta.name.clone(),
                kind: match f.definition {
                    Definition::Scalar { .. } => wit_types::Kind::Scalar,
                    Definition::Aggregate { .. } => wit_types::Kind::Aggregate,
                    Definition::Table { .. } => wit_types::Kind::Table,
                    Definition::Operator { .. } => wit_types::Kind::Operator,
                },
                description: f.meta.description.clone(),
                volatility: match f.meta.volatility {
                    Volatility::Immutable => wit_types::Volatility::Immutable,
                    Volatility::Stable => wit_types::Volatility::Stable,
                    Volatility::Volatile => wit_types::Volatility::Volatile,
                },
                signatures: f
                    .meta
                    .signatures
                    .iter()
                    .map(|s| wit_types::Signature {
                        args: encode_schema(&s.arg_fields()),
                        result: encode_schema(&[Field::new("result", s.result.clone(), true)]),
                    })
                    .collect(),
            })
            .collect();
        wit_types::ModuleInfo {
            name: module.name.clone(),
            functions,
        }
    }

    fn bind_scalar(name: String, args: wit::Schema) -> Result<wit_types::ScalarBinding, String> {
        let Definition::Scalar { bind, .. } = &lookup(&name, "scalar")?.definition else {
            unreachable!()
        };
        let result = bind(&decode_schema(&args)?)?;
        Ok(wit_types::ScalarBinding {
            result: encode_schema(&[result]),
        })
    }

    fn bind_aggregate(
        name: String,
        args: wit::Schema,
    ) -> Result<wit_types::AggregateBinding, String> {
        let Definition::Aggregate { bind, .. } = &lookup(&name, "aggregate")?.definition else {
            unreachable!()
        };
        let result = bind(&decode_schema(&args)?)?;
        Ok(wit_types::AggregateBinding {
            state: encode_schema(&state_schema()),
            result: encode_schema(&[result]),
        })
    }

    fn bind_table(
        name: String,
        arg_types: wit::Schema,
        args: wit::Batch,
        config: Vec<u8>,
    ) -> Result<wit_types::RelationBinding, String> {
        let Definition::Table { bind, .. } = &lookup(&name, "table")?.definition else {
            unreachable!()
        };
        let args = decode_batch(&decode_schema(&arg_types)?, args)?;
        let (output, partitions) = bind(&[], &args, &config)?;
        Ok(wit_types::RelationBinding {
            output: encode_schema(&output),
            partitions,
        })
    }

    fn bind_operator(
        name: String,
        inputs: Vec<wit::Schema>,
        config: Vec<u8>,
    ) -> Result<wit_types::RelationBinding, String> {
        let Definition::Operator { bind, .. } = &lookup(&name, "operator")?.definition else {
            unreachable!()
        };
        let inputs = inputs
            .iter()
            .map(|s| decode_schema(s))
            .collect::<Result<Vec<_>, _>>()?;
        let (output, _) = bind(&inputs, &Batch::default(), &config)?;
        Ok(wit_types::RelationBinding {
            output: encode_schema(&output),
            partitions: 0,
        })
    }
}

/// The state schema of every SDK aggregate: one binary column.
fn state_schema() -> Vec<Field> {
    vec![Field::new("state", DataType::Binary, true)]
}

/// A bound scalar function.
pub struct ScalarFunction {
    function: &'static Function,
    args: Vec<Field>,
}

impl scalar::Guest for Runtime {
    type Function = ScalarFunction;
}

impl scalar::GuestFunction for ScalarFunction {
    fn open(name: String, args: wit::Schema) -> Result<scalar::Function, String> {
        let function = lookup(&name, "scalar")?;
        let args = decode_schema(&args)?;
        Ok(scalar::Function::new(ScalarFunction { function, args }))
    }

    fn call(&self, input: wit::Batch) -> Result<wit::Batch, wit_types::CallError> {
        let Definition::Scalar { call, .. } = &self.function.definition else {
            unreachable!()
        };
        let batch = decode(&self.args, input)?;
        let column = call(&batch).map_err(to_wit_error)?;
        Ok(encode_batch(batch.num_rows, vec![column]))
    }
}

/// The accumulators of one aggregate call.
pub struct Accumulator {
    args: Vec<Field>,
    groups: RefCell<Box<dyn Groups>>,
}

impl aggregate::Guest for Runtime {
    type Accumulator = Accumulator;
}

impl aggregate::GuestAccumulator for Accumulator {
    fn open(name: String, args: wit::Schema) -> Result<aggregate::Accumulator, String> {
        let Definition::Aggregate { open, .. } = &lookup(&name, "aggregate")?.definition else {
            unreachable!()
        };
        let args = decode_schema(&args)?;
        Ok(aggregate::Accumulator::new(Accumulator {
            args,
            groups: RefCell::new(open()),
        }))
    }

    fn update(
        &self,
        groups: Vec<u32>,
        total_groups: u32,
        input: wit::Batch,
    ) -> Result<(), wit_types::CallError> {
        let batch = decode(&self.args, input)?;
        self.groups
            .borrow_mut()
            .update(&groups, total_groups, &batch)
            .map_err(to_wit_error)
    }

    fn merge(
        &self,
        groups: Vec<u32>,
        total_groups: u32,
        states: wit::Batch,
    ) -> Result<(), wit_types::CallError> {
        let batch = decode(&state_schema(), states)?;
        self.groups
            .borrow_mut()
            .merge(&groups, total_groups, &batch)
            .map_err(to_wit_error)
    }

    fn state(&self, count: Option<u32>) -> Result<wit::Batch, wit_types::CallError> {
        let column = self.groups.borrow_mut().state(count);
        Ok(encode_batch(column.len(), vec![column]))
    }

    fn evaluate(&self, count: Option<u32>) -> Result<wit::Batch, wit_types::CallError> {
        let column = self.groups.borrow_mut().evaluate(count);
        Ok(encode_batch(column.len(), vec![column]))
    }
}

/// One partition of a table function.
pub struct TableGenerator {
    generator: RefCell<Box<dyn Generator>>,
}

impl table::Guest for Runtime {
    type Generator = TableGenerator;
}

impl table::GuestGenerator for TableGenerator {
    fn open(
        name: String,
        arg_types: wit::Schema,
        args: wit::Batch,
        config: Vec<u8>,
        partition: u32,
    ) -> Result<table::Generator, String> {
        let Definition::Table { open, .. } = &lookup(&name, "table")?.definition else {
            unreachable!()
        };
        let args = decode_batch(&decode_schema(&arg_types)?, args)?;
        let generator = open(&args, &config, partition)?;
        Ok(table::Generator::new(TableGenerator {
            generator: RefCell::new(generator),
        }))
    }

    fn next(&self) -> Result<Option<wit::Batch>, wit_types::CallError> {
        let batch = self.generator.borrow_mut().next().map_err(to_wit_error)?;
        Ok(batch.map(encode))
    }
}

/// One partition of an operator.
pub struct OperatorInstance {
    inputs: Vec<Vec<Field>>,
    operator: RefCell<Box<dyn Operator>>,
}

impl operators::Guest for Runtime {
    type Instance = OperatorInstance;
}

impl operators::GuestInstance for OperatorInstance {
    fn open(
        name: String,
        inputs: Vec<wit::Schema>,
        config: Vec<u8>,
        partition: u32,
    ) -> Result<operators::Instance, String> {
        let Definition::Operator { open, .. } = &lookup(&name, "operator")?.definition else {
            unreachable!()
        };
        let inputs = inputs
            .iter()
            .map(|s| decode_schema(s))
            .collect::<Result<Vec<_>, _>>()?;
        let operator = open(&inputs, &config, partition)?;
        Ok(operators::Instance::new(OperatorInstance {
            inputs,
            operator: RefCell::new(operator),
        }))
    }

    fn push(&self, input: u32, batch: wit::Batch) -> Result<Vec<wit::Batch>, wit_types::CallError> {
        let fields = self.inputs.get(input as usize).ok_or_else(|| {
            to_wit_error(CallError::new(format!("operator has no input {input}")))
        })?;
        let batch = decode(fields, batch)?;
        let out = self
            .operator
            .borrow_mut()
            .push(input, batch)
            .map_err(to_wit_error)?;
        Ok(out.into_iter().map(encode).collect())
    }

    fn finish(&self) -> Result<Vec<wit::Batch>, wit_types::CallError> {
        let out = self.operator.borrow_mut().finish().map_err(to_wit_error)?;
        Ok(out.into_iter().map(encode).collect())
    }
}
