"""sentiment(text) -> struct<positive, negative, neutral, compound> in Python: the same function
as guests/sentiment (score.py follows its score.rs step for step)."""
from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import arrow, types

from lode_arrow import struct_of_float64, utf8_field
# Scalar, Aggregate, Table and Operators: componentize-py looks them up in this module.
from stubs import Aggregate, Operators, Scalar, OtherKindsRefused, Table  # noqa: F401

SCORES = ["positive", "negative", "neutral", "compound"]
DESCRIPTION = (
    "lexicon-based sentiment of a text: shares of positive, negative and neutral words, "
    "and a compound score in [-1, 1]"
)


class Module(OtherKindsRefused, exports.Module):
    def describe(self) -> types.ModuleInfo:
        signature = types.Signature(args=[utf8_field("arg0")], result=struct_of_float64("result", SCORES))
        return types.ModuleInfo(
            name="sentiment-python",
            functions=[
                types.FunctionInfo(
                    name="sentiment",
                    kind=types.Kind.SCALAR,
                    description=DESCRIPTION,
                    volatility=types.Volatility.IMMUTABLE,
                    signatures=[signature],
                )
            ],
        )

    def bind_scalar(self, name, args) -> types.ScalarBinding:
        if name != "sentiment":
            raise Err(f"no scalar function {name}")
        if len(args) != 1 or not isinstance(args[0].data_type, arrow.DataType_Utf8):
            raise Err("sentiment takes (string)")
        return types.ScalarBinding(result=struct_of_float64(name, SCORES))
