"""The module `{{name}}`: what it offers (`describe`) and how its calls are typed (`bind_*`).

componentize-py builds it into a component (`lode guest build`); the function itself is in
logic.py, the per-batch call in scalar.py.
"""
from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import arrow, types

from lode_arrow import float64_field
# Scalar, Aggregate, Table and Operators: componentize-py looks them up in this module.
from stubs import Aggregate, Operators, OtherKindsRefused, Scalar, Table  # noqa: F401

ARGUMENTS = ["lat1", "lon1", "lat2", "lon2"]
DESCRIPTION = "great-circle distance in km between (lat1, lon1) and (lat2, lon2), in degrees"


class Module(OtherKindsRefused, exports.Module):
    def describe(self) -> types.ModuleInfo:
        signature = types.Signature(
            args=[float64_field(name) for name in ARGUMENTS], result=[float64_field("km")]
        )
        return types.ModuleInfo(
            name="{{name}}",
            functions=[
                types.FunctionInfo(
                    name="{{function}}",
                    kind=types.Kind.SCALAR,
                    description=DESCRIPTION,
                    volatility=types.Volatility.IMMUTABLE,
                    signatures=[signature],
                )
            ],
        )

    def bind_scalar(self, name, args) -> types.ScalarBinding:
        if name != "{{function}}":
            raise Err(f"no scalar function {name}")
        if len(args) != len(ARGUMENTS) or not all(isinstance(a.data_type, arrow.DataType_Float64) for a in args):
            raise Err(f"{name} takes four fp64 arguments ({', '.join(ARGUMENTS)})")
        return types.ScalarBinding(result=[float64_field(name)])
