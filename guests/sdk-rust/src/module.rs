//! The registry of what a module offers, built by the guest author.

use std::sync::Arc;

use crate::column::{Batch, Column, VariableBuilder};
use crate::types::{DataType, Field};
use crate::values::{Arg, Output, OutputBuilder};

/// An error from a call, as a value: which row (when it concerns one) and what went wrong.
#[derive(Debug, Clone)]
pub struct CallError {
    /// The row of the call's batch the error concerns, when it concerns one.
    pub row: Option<u32>,
    /// What went wrong, for the user.
    pub message: String,
}

impl CallError {
    /// An error about the call as a whole.
    pub fn new(message: impl Into<String>) -> Self {
        CallError {
            row: None,
            message: message.into(),
        }
    }

    /// An error about one row of the call's batch; the host shows that row's arguments.
    pub fn at_row(row: usize, message: impl Into<String>) -> Self {
        CallError {
            row: Some(row as u32),
            message: message.into(),
        }
    }
}

/// How a function's result depends on its arguments (Substrait's determinism).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Volatility {
    /// Same arguments, same result, always: Lode may fold calls on constants.
    Immutable,
    /// Same result within one query.
    Stable,
    /// May differ on every call (a random number, the time).
    Volatile,
}

/// An accepted signature: argument types, their names, and the result type.
///
/// ```
/// use lode_guest::{DataType, Signature};
///
/// let signature = Signature::new(vec![DataType::Float64, DataType::Int64], DataType::Float64)
///     .named(&["x", "digits"]);
/// assert_eq!(signature.arg_name(1), "digits");
/// ```
#[derive(Debug, Clone)]
pub struct Signature {
    /// The arguments' types, in order.
    pub args: Vec<DataType>,
    /// The result's type.
    pub result: DataType,
    /// The arguments' names, shown by `lode module inspect`; `arg0`, `arg1`, ... where none
    /// is given.
    pub names: Vec<String>,
}

impl Signature {
    /// A signature with unnamed arguments (named `arg0`, `arg1`, ...).
    pub fn new(args: Vec<DataType>, result: DataType) -> Self {
        Signature {
            args,
            result,
            names: Vec::new(),
        }
    }

    /// Names the arguments, in order.
    pub fn named(mut self, names: &[&str]) -> Self {
        self.names = names.iter().map(|n| n.to_string()).collect();
        self
    }

    /// The name of argument `i`.
    pub fn arg_name(&self, i: usize) -> String {
        self.names
            .get(i)
            .cloned()
            .unwrap_or_else(|| format!("arg{i}"))
    }

    /// The arguments as fields, each with its name.
    pub fn arg_fields(&self) -> Vec<Field> {
        self.args
            .iter()
            .enumerate()
            .map(|(i, t)| Field::new(self.arg_name(i), t.clone(), true))
            .collect()
    }
}

/// Per-row scalar helpers of each arity: `scalar1` ... `scalar6`.
macro_rules! per_row_scalars {
    ($( $(#[$doc:meta])* $method:ident($n:literal; $($arg:ident: $index:tt),+); )+) => {
        impl Module {
            $(
                $(#[$doc])*
                pub fn $method<$($arg,)+ R>(
                    self,
                    name: &str,
                    description: &str,
                    arg_names: [&str; $n],
                    f: fn($($arg),+) -> R,
                ) -> Self
                where
                    $($arg: Arg,)+
                    R: Output + 'static,
                {
                    let signature = Signature::new(vec![$($arg::data_type()),+], R::data_type())
                        .named(&arg_names);
                    self.scalar(name, description, vec![signature], move |batch: &Batch| {
                        let columns = [$(batch.column($index)),+];
                        let mut out = R::Builder::with_capacity(batch.num_rows);
                        for row in 0..batch.num_rows {
                            let valid = columns.iter().all(|c| c.is_valid(row));
                            out.push(valid.then(|| f($($arg::get(columns[$index], row)),+)));
                        }
                        Ok(out.finish())
                    })
                }
            )+
        }
    };
}

per_row_scalars! {
    /// A scalar function of one argument, written per row: null in, null out. `arg_names`
    /// name the arguments in `lode module inspect`.
    ///
    /// ```
    /// use lode_guest::prelude::*;
    ///
    /// let module = Module::new("math").scalar1("square", "x times x", ["x"], |x: f64| x * x);
    /// assert_eq!(module.function_names(), ["square"]);
    /// ```
    scalar1(1; A: 0);
    /// A scalar function of two arguments, written per row: a null argument gives null.
    ///
    /// ```
    /// use lode_guest::prelude::*;
    ///
    /// fn gcd(a: i64, b: i64) -> i64 {
    ///     let (mut a, mut b) = (a.unsigned_abs(), b.unsigned_abs());
    ///     while b != 0 { (a, b) = (b, a % b); }
    ///     a as i64
    /// }
    /// let module = Module::new("gcd").scalar2("gcd", "greatest common divisor", ["a", "b"], gcd);
    /// assert_eq!(module.function_names(), ["gcd"]);
    /// ```
    scalar2(2; A: 0, B: 1);
    /// A scalar function of three arguments, written per row: a null argument gives null.
    scalar3(3; A: 0, B: 1, C: 2);
    /// A scalar function of four arguments, written per row: a null argument gives null.
    ///
    /// ```
    /// use lode_guest::prelude::*;
    ///
    /// fn risk(income: f64, debt: f64, score: i64, years: i64) -> f64 {
    ///     debt / income - (score - 650) as f64 / 1000.0 - years as f64 / 100.0
    /// }
    /// let module = Module::new("loans")
    ///     .scalar4("risk", "a loan's risk", ["income", "debt", "score", "years"], risk);
    /// assert_eq!(module.function_names(), ["risk"]);
    /// ```
    scalar4(4; A: 0, B: 1, C: 2, D: 3);
    /// A scalar function of five arguments, written per row: a null argument gives null.
    scalar5(5; A: 0, B: 1, C: 2, D: 3, E: 4);
    /// A scalar function of six arguments, written per row: a null argument gives null. More
    /// arguments: take the whole batch with [`Module::scalar`].
    scalar6(6; A: 0, B: 1, C: 2, D: 3, E: 4, F: 5);
}

/// An aggregate with mergeable state: partial states are computed where the data is,
/// serialized, and merged elsewhere.
///
/// ```
/// use lode_guest::prelude::*;
///
/// /// How many values are positive.
/// struct Positives;
///
/// impl Aggregate for Positives {
///     type State = i64;
///     fn update(&self, state: &mut i64, args: &Batch, row: usize) -> Result<(), String> {
///         let x = args.column(0);
///         if x.is_valid(row) && x.values::<f64>()[row] > 0.0 {
///             *state += 1;
///         }
///         Ok(())
///     }
///     fn merge(&self, state: &mut i64, other: i64) {
///         *state += other;
///     }
///     fn encode(&self, state: &i64, out: &mut Vec<u8>) {
///         out.extend_from_slice(&state.to_le_bytes());
///     }
///     fn decode(&self, bytes: &[u8]) -> Result<i64, String> {
///         let bytes: [u8; 8] = bytes.try_into().map_err(|_| "a state is 8 bytes".to_string())?;
///         Ok(i64::from_le_bytes(bytes))
///     }
///     fn evaluate(&self, states: Vec<i64>) -> Column {
///         let mut out = PrimitiveBuilder::new(DataType::Int64, states.len());
///         states.into_iter().for_each(|n| out.push(Some(n)));
///         out.finish()
///     }
/// }
///
/// let signature = Signature::new(vec![DataType::Float64], DataType::Int64).named(&["x"]);
/// let module = Module::new("stats").aggregate("positives", "count of x > 0", vec![signature], Positives);
/// assert_eq!(module.function_names(), ["positives"]);
/// ```
pub trait Aggregate: Send + Sync + 'static {
    /// One group's partial state; `Default` is the state of a group without rows.
    type State: Default + Send;
    /// Folds row `row` of `args` (one column per argument) into `state`.
    fn update(&self, state: &mut Self::State, args: &Batch, row: usize) -> Result<(), String>;
    /// Folds another partial state into `state`.
    fn merge(&self, state: &mut Self::State, other: Self::State);
    /// Serializes a partial state.
    fn encode(&self, state: &Self::State, out: &mut Vec<u8>);
    /// Reads a partial state written by [`Aggregate::encode`].
    fn decode(&self, bytes: &[u8]) -> Result<Self::State, String>;
    /// The final values of some groups, one row each.
    fn evaluate(&self, states: Vec<Self::State>) -> Column;
}

/// One partition of a table function.
pub trait Generator {
    /// The next batch, or `None` when the partition is done.
    fn next(&mut self) -> Result<Option<Batch>, CallError>;
}

/// One partition of an operator: state kept across the batches it is pushed.
pub trait Operator {
    /// Takes a batch of input `input` (all of input 0 arrives before input 1) and returns what
    /// can be emitted now.
    fn push(&mut self, input: u32, batch: Batch) -> Result<Vec<Batch>, CallError>;
    /// All inputs ended.
    fn finish(&mut self) -> Result<Vec<Batch>, CallError>;
}

pub(crate) type BindScalar = Box<dyn Fn(&[Field]) -> Result<Field, String> + Send + Sync>;
pub(crate) type CallScalar = Box<dyn Fn(&Batch) -> Result<Column, CallError> + Send + Sync>;
pub(crate) type BindRelation =
    Box<dyn Fn(&[Vec<Field>], &Batch, &[u8]) -> Result<(Vec<Field>, u32), String> + Send + Sync>;
pub(crate) type OpenOperator =
    Box<dyn Fn(&[Vec<Field>], &[u8], u32) -> Result<Box<dyn Operator>, String> + Send + Sync>;
pub(crate) type OpenGenerator =
    Box<dyn Fn(&Batch, &[u8], u32) -> Result<Box<dyn Generator>, String> + Send + Sync>;

pub(crate) struct Meta {
    pub name: String,
    pub description: String,
    pub volatility: Volatility,
    pub signatures: Vec<Signature>,
}

pub(crate) enum Definition {
    Scalar {
        bind: BindScalar,
        call: CallScalar,
    },
    Aggregate {
        bind: BindScalar,
        open: Box<dyn Fn() -> Box<dyn Groups> + Send + Sync>,
    },
    Table {
        bind: BindRelation,
        open: OpenGenerator,
    },
    Operator {
        bind: BindRelation,
        open: OpenOperator,
    },
}

pub(crate) struct Function {
    pub meta: Meta,
    pub definition: Definition,
}

/// What a module offers.
pub struct Module {
    pub(crate) name: String,
    pub(crate) functions: Vec<Function>,
}

impl Module {
    /// An empty module; `name` is informational (`lode module inspect` shows it).
    pub fn new(name: impl Into<String>) -> Self {
        Module {
            name: name.into(),
            functions: Vec::new(),
        }
    }

    /// The names of the functions added so far, in order.
    pub fn function_names(&self) -> Vec<&str> {
        self.functions
            .iter()
            .map(|f| f.meta.name.as_str())
            .collect()
    }

    pub(crate) fn function(&self, name: &str) -> Option<&Function> {
        self.functions.iter().find(|f| f.meta.name == name)
    }

    fn add(mut self, meta: Meta, definition: Definition) -> Self {
        self.functions.push(Function { meta, definition });
        self
    }

    /// A scalar function over whole batches. It is bound when the argument types equal one of
    /// `signatures`.
    pub fn scalar(
        self,
        name: &str,
        description: &str,
        signatures: Vec<Signature>,
        call: impl Fn(&Batch) -> Result<Column, CallError> + Send + Sync + 'static,
    ) -> Self {
        let meta = meta(name, description, Volatility::Immutable, signatures);
        let bind = bind_by_signature(&meta);
        self.add(
            meta,
            Definition::Scalar {
                bind,
                call: Box::new(call),
            },
        )
    }

    /// An aggregate with mergeable state, bound when its argument types equal one of
    /// `signatures`. Its state crosses between partial and final aggregation as one binary
    /// column written by [`Aggregate::encode`].
    pub fn aggregate<A: Aggregate>(
        self,
        name: &str,
        description: &str,
        signatures: Vec<Signature>,
        aggregate: A,
    ) -> Self {
        let meta = meta(name, description, Volatility::Immutable, signatures);
        let bind = bind_by_signature(&meta);
        let aggregate = Arc::new(aggregate);
        let open = Box::new(move || groups(aggregate.clone()));
        self.add(meta, Definition::Aggregate { bind, open })
    }

    /// A table function: `bind` gives the output schema and partition count from the literal
    /// arguments and config; `open` starts one partition.
    pub fn table(
        self,
        name: &str,
        description: &str,
        bind: impl Fn(&Batch, &[u8]) -> Result<(Vec<Field>, u32), String> + Send + Sync + 'static,
        open: impl Fn(&Batch, &[u8], u32) -> Result<Box<dyn Generator>, String> + Send + Sync + 'static,
    ) -> Self {
        let meta = meta(name, description, Volatility::Immutable, Vec::new());
        let bind: BindRelation = Box::new(move |_, args, config| bind(args, config));
        self.add(
            meta,
            Definition::Table {
                bind,
                open: Box::new(open),
            },
        )
    }

    /// An operator: `bind` gives the output schema from the input schemas and config; `open`
    /// starts one partition.
    pub fn operator(
        self,
        name: &str,
        description: &str,
        bind: impl Fn(&[Vec<Field>], &[u8]) -> Result<Vec<Field>, String> + Send + Sync + 'static,
        open: impl Fn(&[Vec<Field>], &[u8], u32) -> Result<Box<dyn Operator>, String>
        + Send
        + Sync
        + 'static,
    ) -> Self {
        let meta = meta(name, description, Volatility::Immutable, Vec::new());
        let bind: BindRelation =
            Box::new(move |inputs, _, config| bind(inputs, config).map(|schema| (schema, 0)));
        self.add(
            meta,
            Definition::Operator {
                bind,
                open: Box::new(open),
            },
        )
    }

    /// Sets the volatility of the function added last (the default is immutable).
    pub fn volatility(mut self, volatility: Volatility) -> Self {
        if let Some(last) = self.functions.last_mut() {
            last.meta.volatility = volatility;
        }
        self
    }
}

fn meta(name: &str, description: &str, volatility: Volatility, signatures: Vec<Signature>) -> Meta {
    Meta {
        name: name.into(),
        description: description.into(),
        volatility,
        signatures,
    }
}

/// Binds a call whose argument types equal one of the declared signatures.
fn bind_by_signature(meta: &Meta) -> BindScalar {
    let name = meta.name.clone();
    let signatures = meta.signatures.clone();
    Box::new(move |args: &[Field]| {
        let types: Vec<&DataType> = args.iter().map(|f| &f.data_type).collect();
        signatures
            .iter()
            .find(|s| s.args.iter().eq(types.iter().copied()))
            .map(|s| Field::new(name.clone(), s.result.clone(), true))
            .ok_or_else(|| {
                let got: Vec<String> = types.iter().map(|t| t.substrait_name()).collect();
                let accepted: Vec<String> = signatures
                    .iter()
                    .map(|s| {
                        s.args
                            .iter()
                            .map(DataType::substrait_name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .map(|s| format!("({s})"))
                    .collect();
                format!(
                    "{name} takes {}, not ({})",
                    accepted.join(" or "),
                    got.join(", ")
                )
            })
    })
}

/// Per-group states of one aggregate call, with the state type erased.
pub trait Groups {
    fn update(&mut self, groups: &[u32], total: u32, args: &Batch) -> Result<(), CallError>;
    fn merge(&mut self, groups: &[u32], total: u32, states: &Batch) -> Result<(), CallError>;
    fn state(&mut self, count: Option<u32>) -> Column;
    fn evaluate(&mut self, count: Option<u32>) -> Column;
}

struct GroupsOf<A: Aggregate> {
    aggregate: Arc<A>,
    states: Vec<A::State>,
}

pub(crate) fn groups<A: Aggregate>(aggregate: Arc<A>) -> Box<dyn Groups> {
    Box::new(GroupsOf {
        aggregate,
        states: Vec::new(),
    })
}

impl<A: Aggregate> GroupsOf<A> {
    fn grow(&mut self, total: u32) {
        if self.states.len() < total as usize {
            self.states.resize_with(total as usize, A::State::default);
        }
    }

    fn take(&mut self, count: Option<u32>) -> Vec<A::State> {
        let count = count.map_or(self.states.len(), |c| (c as usize).min(self.states.len()));
        self.states.drain(..count).collect()
    }
}

fn group_of(groups: &[u32], row: usize) -> Result<usize, CallError> {
    groups
        .get(row)
        .map(|g| *g as usize)
        .ok_or_else(|| CallError::at_row(row, "row has no group index"))
}

impl<A: Aggregate> Groups for GroupsOf<A> {
    fn update(&mut self, groups: &[u32], total: u32, args: &Batch) -> Result<(), CallError> {
        self.grow(total);
        for row in 0..args.num_rows {
            let group = group_of(groups, row)?;
            let state = self
                .states
                .get_mut(group)
                .ok_or_else(|| CallError::at_row(row, "group index out of range"))?;
            self.aggregate
                .update(state, args, row)
                .map_err(|message| CallError::at_row(row, message))?;
        }
        Ok(())
    }

    fn merge(&mut self, groups: &[u32], total: u32, states: &Batch) -> Result<(), CallError> {
        self.grow(total);
        let column = states.column(0);
        for row in 0..states.num_rows {
            if !column.is_valid(row) {
                continue;
            }
            let other = self
                .aggregate
                .decode(column.bytes_value(row))
                .map_err(|m| CallError::at_row(row, m))?;
            let group = group_of(groups, row)?;
            let state = self
                .states
                .get_mut(group)
                .ok_or_else(|| CallError::at_row(row, "group index out of range"))?;
            self.aggregate.merge(state, other);
        }
        Ok(())
    }

    fn state(&mut self, count: Option<u32>) -> Column {
        let states = self.take(count);
        let mut out = VariableBuilder::binaries(states.len());
        let mut bytes = Vec::new();
        for state in &states {
            bytes.clear();
            self.aggregate.encode(state, &mut bytes);
            out.push(Some(&bytes));
        }
        out.finish()
    }

    fn evaluate(&mut self, count: Option<u32>) -> Column {
        let states = self.take(count);
        self.aggregate.evaluate(states)
    }
}
