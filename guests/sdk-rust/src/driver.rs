//! Drivers: programs that build plans and run them (`lode:guest/driver`).
//!
//! A driver builds [`Relation`]s (scans, SQL, filters, joins, aggregates, its own modules'
//! functions and operators) and either returns one as its plan (`emit`, for `lode plan`) or
//! runs plans one after another, reading their results (`run`, for `lode drive`):
//!
//! ```ignore
//! use lode_guest::driver::{Args, Driver, Relation};
//!
//! struct Count;
//! impl Driver for Count {
//!     fn emit(args: Args) -> Result<Relation, String> {
//!         let table = args.get_or("table", "lines");
//!         Ok(Relation::scan(table)?.aggregate::<&str, _>(&[], &["count(*) AS n"])?)
//!     }
//! }
//! lode_guest::export_driver!(Count);
//! ```
//!
//! Build it with `lode-guest = { ..., default-features = false, features = ["driver"] }`.

use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

use crate::column::{Batch, Column, decode_batch};
use crate::types::{DataType, Field, decode_schema, encode_schema};

#[doc(hidden)]
pub mod bindings {
    #[cfg(feature = "extension")]
    wit_bindgen::generate!({
        path: "../wit",
        world: "driver",
        with: { "lode:guest/arrow@0.1.0": crate::bindings::lode::guest::arrow },
        pub_export_macro: true,
        export_macro_name: "export_driver_world",
        default_bindings_module: "lode_guest::driver::bindings",
    });
    #[cfg(not(feature = "extension"))]
    wit_bindgen::generate!({
        path: "../wit",
        world: "driver",
        pub_export_macro: true,
        export_macro_name: "export_driver_world",
        default_bindings_module: "lode_guest::driver::bindings",
    });
}

use bindings::lode::guest::{planner, session};
pub use planner::{JoinKind, SetOp, SortKey};
pub use session::{QueryState, QueryStatus};

/// A failure the host reported: a plan that does not build, a query that failed. The driver
/// may handle it, or return it (`?` turns it into the driver's error message).
pub type Error = planner::Error;

/// An error as one line: where, the code if any, what.
pub fn describe(e: &Error) -> String {
    let mut out = String::new();
    if let Some(location) = &e.location {
        out.push_str(location);
        out.push_str(": ");
    }
    if let Some(code) = &e.code {
        out.push_str(&format!("[{code}] "));
    }
    out.push_str(&e.message);
    out
}

impl From<Error> for String {
    fn from(e: Error) -> String {
        describe(&e)
    }
}

/// A sort key: `asc("n")`, `desc("count(*)")`.
pub fn asc(expr: &str) -> SortKey {
    SortKey {
        expr: expr.to_string(),
        ascending: true,
        nulls_first: false,
    }
}

/// Sorts by `expr` descending, nulls first (as SQL's `DESC`).
pub fn desc(expr: &str) -> SortKey {
    SortKey {
        expr: expr.to_string(),
        ascending: false,
        nulls_first: true,
    }
}

fn strings<S: AsRef<str>>(items: &[S]) -> Vec<String> {
    items.iter().map(|s| s.as_ref().to_string()).collect()
}

/// A plan in the making. Building runs nothing; [`Relation::execute`] and
/// [`Relation::store`] do.
pub struct Relation(planner::Relation);

impl Relation {
    /// A table of the engine, or one stored earlier with [`Relation::store`].
    pub fn scan(table: &str) -> Result<Relation, Error> {
        planner::Relation::scan(table).map(Relation)
    }

    /// A table the plan declares with these columns (for `lode plan` without data).
    pub fn read(table: &str, columns: &[Field]) -> Result<Relation, Error> {
        planner::Relation::read(table, &encode_schema(columns)).map(Relation)
    }

    /// A SQL query; it may call the functions of registered modules.
    pub fn sql(query: &str) -> Result<Relation, Error> {
        planner::Relation::sql(query).map(Relation)
    }

    /// A Substrait plan (protobuf) made by the driver itself; the host validates it.
    pub fn substrait(plan: &[u8]) -> Result<Relation, Error> {
        planner::Relation::substrait(plan).map(Relation)
    }

    /// The rows where `predicate`, a SQL expression over the relation's columns, is true.
    pub fn filter(&self, predicate: &str) -> Result<Relation, Error> {
        self.0.filter(predicate).map(Relation)
    }

    /// SQL expressions, each `expr` or `expr AS name`.
    pub fn project<S: AsRef<str>>(&self, exprs: &[S]) -> Result<Relation, Error> {
        self.0.project(&strings(exprs)).map(Relation)
    }

    /// Groups by the `group_by` SQL expressions and computes the `measures` (aggregate calls,
    /// each `call` or `call AS name`, such as `count(*) AS n`); no groups gives one row.
    pub fn aggregate<G: AsRef<str>, M: AsRef<str>>(
        &self,
        group_by: &[G],
        measures: &[M],
    ) -> Result<Relation, Error> {
        self.0
            .aggregate(&strings(group_by), &strings(measures))
            .map(Relation)
    }

    /// Joins `right` on `on`, a SQL condition over both relations' columns.
    pub fn join(&self, right: &Relation, kind: JoinKind, on: &str) -> Result<Relation, Error> {
        self.0.join(&right.0, kind, on).map(Relation)
    }

    /// Sorts by `keys` ([`asc`], [`desc`]).
    pub fn sort(&self, keys: &[SortKey]) -> Result<Relation, Error> {
        self.0.sort(keys).map(Relation)
    }

    /// Skips `offset` rows and keeps at most `count` (all when `None`).
    pub fn fetch(&self, offset: u64, count: Option<u64>) -> Result<Relation, Error> {
        self.0.fetch(offset, count).map(Relation)
    }

    /// Combines with `other` (same column types) by `op`: union, intersect or except.
    pub fn set(&self, op: SetOp, other: &Relation) -> Result<Relation, Error> {
        self.0.set(op, &other.0).map(Relation)
    }

    /// A registered module's operator over this relation and `others`; rows with equal
    /// `partition_by` columns reach the same operator instance.
    pub fn operator(
        &self,
        name: &str,
        others: &[&Relation],
        config: &str,
        partition_by: &[&str],
    ) -> Result<Relation, Error> {
        let others: Vec<&planner::Relation> = others.iter().map(|r| &r.0).collect();
        self.0
            .operator(name, &others, config, &strings(partition_by))
            .map(Relation)
    }

    /// The relation's columns, as the host typed them.
    pub fn schema(&self) -> Result<Vec<Field>, String> {
        decode_schema(&self.0.schema())
    }

    /// The plan as Substrait protobuf, with the modules it uses.
    pub fn to_substrait(&self) -> Result<Vec<u8>, Error> {
        self.0.to_substrait()
    }

    /// Runs the plan and returns its rows (an error when larger than the host lets a driver
    /// receive: store those instead).
    pub fn execute(&self) -> Result<Rows, Error> {
        Rows::decode(session::execute(&self.0)?)
    }

    /// Starts running the plan and returns at once: the [`Query`] tells how it goes, stops
    /// it, or waits for its rows.
    pub fn submit(&self) -> Result<Query, Error> {
        session::submit(&self.0).map(Query)
    }

    /// Runs the plan and keeps its result as table `name` for later plans; returns its row
    /// count.
    pub fn store(&self, name: &str) -> Result<u64, Error> {
        session::store(&self.0, name)
    }
}

fn host_data_error(message: String) -> Error {
    Error {
        code: None,
        location: Some("result".into()),
        message,
    }
}

/// A query running while the driver goes on ([`Relation::submit`]). Dropping it cancels it.
pub struct Query(session::Query);

impl Query {
    /// Running, finished, failed or cancelled; rows so far; milliseconds since submitted.
    pub fn status(&self) -> QueryStatus {
        self.0.status()
    }

    /// Stops it: [`Query::wait`] then returns an error saying so.
    pub fn cancel(&self) {
        self.0.cancel()
    }

    /// Waits for it to end and returns its rows (the limits of [`Relation::execute`] apply).
    pub fn wait(&self) -> Result<Rows, Error> {
        Rows::decode(self.0.wait()?)
    }
}

/// A result: its columns and batches.
#[derive(Debug, Clone)]
pub struct Rows {
    /// The result's columns.
    pub fields: Vec<Field>,
    /// The result's rows, in batches.
    pub batches: Vec<Batch>,
}

impl Rows {
    fn decode(rows: session::Rows) -> Result<Rows, Error> {
        let fields = decode_schema(&rows.schema).map_err(host_data_error)?;
        let batches = rows
            .batches
            .into_iter()
            .map(|b| decode_batch(&fields, b))
            .collect::<Result<_, _>>()
            .map_err(host_data_error)?;
        Ok(Rows { fields, batches })
    }

    /// How many rows the result has.
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(|b| b.num_rows).sum()
    }

    /// Every value of a column of a plain numeric type, in row order; an error naming the
    /// column when it is missing or has nulls.
    /// An error names the column when it is missing, has nulls or holds another type
    /// (`values::<f64>` of an integer column is an error, not a reinterpretation).
    pub fn values<T: crate::column::Native>(&self, column: &str) -> Result<Vec<T>, String> {
        let mut out = Vec::with_capacity(self.num_rows());
        for c in self.columns(column)? {
            if !T::stores(c.data_type()) {
                return Err(format!(
                    "column `{column}` is {:?}, not {}",
                    c.data_type(),
                    T::NAME
                ));
            }
            out.extend_from_slice(c.values::<T>());
        }
        Ok(out)
    }

    /// Every value of a string column, in row order; an error naming the column when it is
    /// missing, has nulls or is not a string column.
    pub fn strings(&self, column: &str) -> Result<Vec<String>, String> {
        let mut out = Vec::with_capacity(self.num_rows());
        for c in self.columns(column)? {
            if !matches!(c.data_type(), DataType::Utf8 | DataType::LargeUtf8) {
                return Err(format!(
                    "column `{column}` is {:?}, not a string",
                    c.data_type()
                ));
            }
            out.extend((0..c.len()).map(|row| c.str_value(row).to_string()));
        }
        Ok(out)
    }

    /// The column named `column` of each batch, none with nulls.
    fn columns(&self, column: &str) -> Result<Vec<&Column>, String> {
        self.batches
            .iter()
            .map(|batch| {
                let c = batch
                    .column_by_name(column)
                    .ok_or_else(|| format!("the result has no column `{column}`"))?;
                if c.null_count() > 0 {
                    return Err(format!("column `{column}` has nulls"));
                }
                Ok(c)
            })
            .collect()
    }
}

/// Registers a module the driver carries (its bytes, e.g. `include_bytes!`): its functions
/// become callable in SQL and expressions, its operators in [`Relation::operator`]. Returns
/// its sha256.
pub fn register_module(component: &[u8]) -> Result<String, Error> {
    planner::register_module(component)
}

/// A line of progress for the user.
pub fn log(message: &str) {
    session::log(message)
}

/// The user's `--arg key=value` pairs.
#[derive(Debug, Clone, Default)]
pub struct Args(Vec<(String, String)>);

impl Args {
    /// Arguments from `key=value` pairs (the host passes the user's `--arg`s).
    pub fn new(pairs: Vec<(String, String)>) -> Self {
        Args(pairs)
    }

    /// The last value given for `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The value of `key`, or `default` when it was not given.
    pub fn get_or<'a>(&'a self, key: &str, default: &'a str) -> &'a str {
        self.get(key).unwrap_or(default)
    }

    /// `key` parsed, `default` when absent; an error naming the argument when it does not
    /// parse.
    pub fn parse<T: FromStr>(&self, key: &str, default: T) -> Result<T, String>
    where
        T::Err: fmt::Display,
    {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|e| format!("--arg {key}={v}: {e}")),
        }
    }

    /// Fails on an argument not in `known`, so a typo is not silently ignored.
    pub fn only(&self, known: &[&str]) -> Result<(), String> {
        match self.0.iter().find(|(k, _)| !known.contains(&k.as_str())) {
            None => Ok(()),
            Some((k, _)) => Err(format!(
                "unknown argument `{k}` (this driver takes: {})",
                known.join(", ")
            )),
        }
    }
}

/// What a driver does. Implement one or both.
pub trait Driver {
    /// Builds one plan (`lode plan`).
    fn emit(args: Args) -> Result<Relation, String> {
        let _ = args;
        Err("this driver runs an algorithm rather than emitting one plan; use `lode drive`".into())
    }

    /// Runs to completion (`lode drive`); the relation returned is the result shown. By
    /// default: the emitted plan.
    fn run(args: Args) -> Result<Option<Relation>, String> {
        Self::emit(args).map(Some)
    }
}

#[doc(hidden)]
pub struct Exported<D>(PhantomData<D>);

impl<D: Driver> bindings::Guest for Exported<D> {
    fn emit(args: Vec<(String, String)>) -> Result<planner::Relation, String> {
        D::emit(Args::new(args)).map(|r| r.0)
    }

    fn run(args: Vec<(String, String)>) -> Result<Option<planner::Relation>, String> {
        D::run(Args::new(args)).map(|r| r.map(|r| r.0))
    }
}

/// Exports a driver: `export_driver!(T)` where `T: Driver`.
#[macro_export]
macro_rules! export_driver {
    ($driver:ty) => {
        const _: () = {
            type LodeDriver = $crate::driver::Exported<$driver>;
            $crate::driver::bindings::export_driver_world!(LodeDriver with_types_in $crate::driver::bindings);
        };
    };
}
