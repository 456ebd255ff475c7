//! `AggregateRel`: DataFusion's consumer, with the measures typed as the plan declares them and
//! the grouping-set column laid out where the plan's producer put it.
//!
//! An aggregate over more than one grouping set has one more output column than its keys and
//! measures. The spec puts it last: an `i32`, "the zero-based index of the grouping set that
//! yielded the record". DataFusion puts its own `__grouping_id` right after the keys: a bitmask
//! of the keys the set leaves out (the first key the most significant bit), with a duplicate
//! set's ordinal above it. Plans from DataFusion (and `lode sql`, whose producer is
//! DataFusion's) reference fields by DataFusion's layout, dialect hook
//! `grouping-id-after-keys`; every other plan gets the spec's.
//!
//! DataFusion's `grouping(key, ...)` arrives as an aggregate measure. Its analyzer would
//! replace it by a projection that drops `__grouping_id`, under any field reference the plan
//! makes to that column; so the consumer resolves it here, to the value each grouping set gives.

use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Column, Result, ScalarValue, plan_err};
use datafusion::logical_expr::expr::AggregateFunction;
use datafusion::logical_expr::{
    Aggregate, Cast, Expr, ExprSchemable, GroupingSet, LogicalPlan, LogicalPlanBuilder, case, lit,
};
use datafusion_substrait::logical_plan::consumer::from_aggregate_rel;
use substrait::proto::AggregateRel;

use super::LodeConsumer;
use crate::functions;

/// The name of the spec's grouping-set index column where Lode adds it.
const GROUPING_SET_INDEX: &str = "__lode_grouping_set";

impl LodeConsumer<'_> {
    /// An `AggregateRel` as a DataFusion plan whose output is the one the plan references.
    pub(super) async fn aggregate(&self, rel: &AggregateRel) -> Result<LogicalPlan> {
        let plan = from_aggregate_rel(self, rel).await?;
        let plan = self.float_measures_of_decimals(plan, rel)?;
        let sets = match &plan {
            LogicalPlan::Aggregate(aggregate) => GroupingSets::of(aggregate),
            _ => None,
        };
        let Some(sets) = sets else {
            return self.aggregate_as_declared(plan, rel);
        };
        let plan = sets.resolve_grouping_calls(plan)?;
        let plan = self.aggregate_as_declared(plan, rel)?;
        if self.dialect.grouping_id_after_keys() {
            Ok(plan)
        } else {
            sets.spec_layout(plan)
        }
    }

    /// Casts an aggregate's measures to the `output_type`s the plan declares where
    /// DataFusion's differ (`sum(decimal<P,S>)` is `decimal<38,S>` in the spec). Measures are
    /// the aggregate's last output columns.
    fn aggregate_as_declared(&self, plan: LogicalPlan, rel: &AggregateRel) -> Result<LogicalPlan> {
        let schema = Arc::clone(plan.schema());
        let first_measure = schema.fields().len().saturating_sub(rel.measures.len());
        let mut casts = false;
        let exprs: Vec<Expr> = schema
            .iter()
            .enumerate()
            .map(|(i, (qualifier, field))| {
                let column = Expr::Column(Column::new(qualifier.cloned(), field.name()));
                let declared = i
                    .checked_sub(first_measure)
                    .and_then(|m| rel.measures.get(m))
                    .and_then(|m| m.measure.as_ref())
                    .and_then(|f| self.declared_type(f.output_type.as_ref()));
                match declared {
                    Some(t) if functions::needs_cast(field.data_type(), &t) => {
                        casts = true;
                        Expr::Cast(Cast::new(Box::new(column), t)).alias(field.name())
                    }
                    _ => column,
                }
            })
            .collect();
        if !casts {
            return Ok(plan);
        }
        LogicalPlanBuilder::from(plan).project(exprs)?.build()
    }

    /// Measures over decimals that the plan declares as floats (DuckDB's `avg(decimal)` is
    /// `fp64`) are computed over the arguments cast to that float type. DataFusion would
    /// compute them in decimals at its own scale (`avg` of `decimal(15,2)` keeps 6 digits)
    /// and a cast of that result could not give back the digits the producer asked for.
    fn float_measures_of_decimals(
        &self,
        plan: LogicalPlan,
        rel: &AggregateRel,
    ) -> Result<LogicalPlan> {
        let LogicalPlan::Aggregate(aggregate) = &plan else {
            return Ok(plan);
        };
        let input_schema = aggregate.input.schema();
        let mut changed = false;
        let mut measures = Vec::with_capacity(aggregate.aggr_expr.len());
        for (expr, measure) in aggregate.aggr_expr.iter().zip(&rel.measures) {
            let declared = measure
                .measure
                .as_ref()
                .and_then(|f| self.declared_type(f.output_type.as_ref()))
                .filter(DataType::is_floating);
            let call = match expr {
                Expr::AggregateFunction(call) => Some(call),
                Expr::Alias(alias) => match alias.expr.as_ref() {
                    Expr::AggregateFunction(call) => Some(call),
                    _ => None,
                },
                _ => None,
            };
            let (Some(float), Some(call)) = (declared, call) else {
                measures.push(expr.clone());
                continue;
            };
            let decimal_args = call.params.args.iter().any(|a| {
                a.get_type(input_schema)
                    .is_ok_and(|t| matches!(t, DataType::Decimal128(..) | DataType::Decimal256(..)))
            });
            if !decimal_args {
                measures.push(expr.clone());
                continue;
            }
            let mut call = call.clone();
            call.params.args = call
                .params
                .args
                .into_iter()
                .map(|a| Expr::Cast(Cast::new(Box::new(a), float.clone())))
                .collect();
            measures.push(Expr::AggregateFunction(call).alias(expr.schema_name().to_string()));
            changed = true;
        }
        if !changed {
            return Ok(plan);
        }
        let rebuilt = Aggregate::try_new(
            Arc::clone(&aggregate.input),
            aggregate.group_expr.clone(),
            measures,
        )?;
        Ok(LogicalPlan::Aggregate(rebuilt))
    }
}

/// The grouping sets of a DataFusion aggregate and the `__grouping_id` each set's rows carry.
struct GroupingSets {
    /// The distinct grouping expressions, in DataFusion's order (first appearance).
    keys: Vec<Expr>,
    /// Per set: which of `keys` it holds.
    holds: Vec<Vec<bool>>,
    /// Per set: its `__grouping_id`.
    ids: Vec<u64>,
    /// The type of `__grouping_id` (the narrowest unsigned integer that holds every id).
    id_type: DataType,
}

impl GroupingSets {
    /// The sets of `aggregate`, when it groups by more than one.
    fn of(aggregate: &Aggregate) -> Option<GroupingSets> {
        let [Expr::GroupingSet(GroupingSet::GroupingSets(sets))] = aggregate.group_expr.as_slice()
        else {
            return None;
        };
        let mut keys: Vec<Expr> = Vec::new();
        for e in sets.iter().flatten() {
            if !keys.contains(e) {
                keys.push(e.clone());
            }
        }
        let holds: Vec<Vec<bool>> = sets
            .iter()
            .map(|set| keys.iter().map(|k| set.contains(k)).collect())
            .collect();
        let id_type = aggregate
            .schema
            .field_with_unqualified_name(Aggregate::INTERNAL_GROUPING_ID)
            .ok()?
            .data_type()
            .clone();
        Some(GroupingSets {
            ids: grouping_ids(&holds),
            id_type,
            keys,
            holds,
        })
    }

    /// `plan` (the aggregate) with its `grouping(...)` measures computed from
    /// `__grouping_id` above it, in the same columns.
    fn resolve_grouping_calls(&self, plan: LogicalPlan) -> Result<LogicalPlan> {
        let LogicalPlan::Aggregate(aggregate) = &plan else {
            return Ok(plan);
        };
        if !aggregate
            .aggr_expr
            .iter()
            .any(|e| grouping_call(e).is_some())
        {
            return Ok(plan);
        }
        let schema = Arc::clone(&aggregate.schema);
        let first_measure = schema.fields().len() - aggregate.aggr_expr.len();
        let mut measures = Vec::new();
        let mut columns = Vec::new();
        for (i, (qualifier, field)) in schema.iter().enumerate() {
            let column = Expr::Column(Column::new(qualifier.cloned(), field.name()));
            let call = i
                .checked_sub(first_measure)
                .and_then(|m| grouping_call(&aggregate.aggr_expr[m]));
            match call {
                Some(call) => columns.push(
                    self.grouping_value(call)?
                        .alias_qualified(qualifier.cloned(), field.name()),
                ),
                None => {
                    if i >= first_measure {
                        measures.push(aggregate.aggr_expr[i - first_measure].clone());
                    }
                    columns.push(column);
                }
            }
        }
        let without = Aggregate::try_new(
            Arc::clone(&aggregate.input),
            aggregate.group_expr.clone(),
            measures,
        )?;
        LogicalPlanBuilder::from(LogicalPlan::Aggregate(without))
            .project(columns)?
            .build()
    }

    /// `grouping(a, b, ...)`: per set, a bit for each argument (the first the most
    /// significant), 1 where the set leaves that key out.
    fn grouping_value(&self, call: &AggregateFunction) -> Result<Expr> {
        let mut positions = Vec::with_capacity(call.params.args.len());
        for arg in &call.params.args {
            let Some(p) = self.keys.iter().position(|k| k == arg) else {
                return plan_err!(
                    "grouping({arg}) names an expression that is not a grouping key of its aggregate"
                );
            };
            positions.push(p);
        }
        self.per_set(|set| {
            let value = positions
                .iter()
                .fold(0i32, |acc, &p| (acc << 1) | i32::from(!self.holds[set][p]));
            lit(value)
        })
    }

    /// An expression over `__grouping_id` that is `value(set)` in each set's rows.
    fn per_set(&self, value: impl Fn(usize) -> Expr) -> Result<Expr> {
        let id = Expr::Column(Column::from_name(Aggregate::INTERNAL_GROUPING_ID));
        let mut when = case(id);
        for (set, &set_id) in self.ids.iter().enumerate() {
            let set_id = ScalarValue::UInt64(Some(set_id)).cast_to(&self.id_type)?;
            when = when.when(lit(set_id), value(set));
        }
        when.end()
    }

    /// The spec's layout of an aggregate in DataFusion's: the keys, the measures, then the
    /// `i32` index of the row's grouping set in place of `__grouping_id` after the keys.
    fn spec_layout(&self, plan: LogicalPlan) -> Result<LogicalPlan> {
        let schema = Arc::clone(plan.schema());
        let mut columns = Vec::with_capacity(schema.fields().len());
        for (qualifier, field) in schema.iter() {
            if field.name() != Aggregate::INTERNAL_GROUPING_ID {
                columns.push(Expr::Column(Column::new(qualifier.cloned(), field.name())));
            }
        }
        columns.push(
            self.per_set(|set| lit(set as i32))?
                .alias(GROUPING_SET_INDEX),
        );
        LogicalPlanBuilder::from(plan).project(columns)?.build()
    }
}

/// The `__grouping_id` of each set, as DataFusion's physical aggregate computes it: a bit per
/// key, the first key the most significant, 1 where the set leaves it out; above those bits,
/// the ordinal of a set among earlier sets with the same keys.
fn grouping_ids(holds: &[Vec<bool>]) -> Vec<u64> {
    let n = holds.first().map_or(0, Vec::len);
    holds
        .iter()
        .enumerate()
        .map(|(i, set)| {
            let mask = set
                .iter()
                .fold(0u64, |acc, &held| (acc << 1) | u64::from(!held));
            let ordinal = holds[..i].iter().filter(|earlier| *earlier == set).count() as u64;
            mask | ordinal.checked_shl(n as u32).unwrap_or(0)
        })
        .collect()
}

/// The `grouping(...)` call a measure is, under any alias.
fn grouping_call(measure: &Expr) -> Option<&AggregateFunction> {
    match measure {
        Expr::AggregateFunction(call) if call.func.name() == "grouping" => Some(call),
        Expr::Alias(alias) => grouping_call(&alias.expr),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouping_ids_are_datafusions_bitmask_and_duplicate_ordinal() {
        // ROLLUP(a, b): (a, b), (a), (); then (a) again.
        let holds = vec![
            vec![true, true],
            vec![true, false],
            vec![false, false],
            vec![true, false],
        ];
        assert_eq!(grouping_ids(&holds), vec![0b00, 0b01, 0b11, 0b1_01]);
    }
}
