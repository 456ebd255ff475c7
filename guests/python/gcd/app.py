"""gcd(i64, i64) -> i64 and noop(i64) -> i64 in Python: the same functions as guests/gcd."""
from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import types

from lode_arrow import int64_field
# Scalar, Aggregate, Table and Operators: componentize-py looks them up in this module.
from stubs import Aggregate, Operators, Scalar, OtherKindsRefused, Table  # noqa: F401


def signature(args: int) -> types.Signature:
    return types.Signature(
        args=[int64_field(f"arg{i}") for i in range(args)], result=[int64_field("result")]
    )


FUNCTIONS = {
    "gcd": ("greatest common divisor of two integers", 2),
    "noop": ("returns its argument", 1),
}


class Module(OtherKindsRefused, exports.Module):
    def describe(self) -> types.ModuleInfo:
        return types.ModuleInfo(
            name="gcd-python",
            functions=[
                types.FunctionInfo(
                    name=name,
                    kind=types.Kind.SCALAR,
                    description=description,
                    volatility=types.Volatility.IMMUTABLE,
                    signatures=[signature(args)],
                )
                for name, (description, args) in FUNCTIONS.items()
            ],
        )

    def bind_scalar(self, name, args) -> types.ScalarBinding:
        if name not in FUNCTIONS:
            raise Err(f"no scalar function {name}")
        return types.ScalarBinding(result=[int64_field(name)])
