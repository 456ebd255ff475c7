"""The module `{{name}}`: what it offers (`describe`) and how its calls are typed (`bind_*`).

componentize-py builds it into a component (`lode guest build`); the aggregate's state is in
logic.py, the accumulator Lode calls in aggregate.py.
"""
from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import arrow, types

from lode_arrow import float64_field, int64_field
# Scalar, Aggregate, Table and Operators: componentize-py looks them up in this module.
from stubs import Aggregate, Operators, OtherKindsRefused, Scalar, Table  # noqa: F401

DESCRIPTION = "root mean square: sqrt(mean(x * x)), nulls ignored"
# The columns of a partial state: what crosses between partitions and executors.
STATE = [float64_field("sum_of_squares"), int64_field("count")]


class Module(OtherKindsRefused, exports.Module):
    def describe(self) -> types.ModuleInfo:
        signature = types.Signature(args=[float64_field("x")], result=[float64_field("rms")])
        return types.ModuleInfo(
            name="{{name}}",
            functions=[
                types.FunctionInfo(
                    name="{{function}}",
                    kind=types.Kind.AGGREGATE,
                    description=DESCRIPTION,
                    volatility=types.Volatility.IMMUTABLE,
                    signatures=[signature],
                )
            ],
        )

    def bind_aggregate(self, name, args) -> types.AggregateBinding:
        if name != "{{function}}":
            raise Err(f"no aggregate {name}")
        if len(args) != 1 or not isinstance(args[0].data_type, arrow.DataType_Float64):
            raise Err(f"{name} takes one fp64 argument")
        return types.AggregateBinding(state=STATE, result=[float64_field(name)])
