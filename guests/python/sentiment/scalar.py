"""The scalar function of sentiment-python, one call per batch."""
from componentize_py_types import Err
from wit_world.exports import scalar

from lode_arrow import struct_of_float64_batch, utf8_values
from score import score


class Function(scalar.Function):
    @classmethod
    def open(cls, name, args):
        if name != "sentiment":
            raise Err(f"no scalar function {name}")
        return cls()

    def call(self, input):
        texts = utf8_values(input, 0)
        return struct_of_float64_batch([None if t is None else score(t) for t in texts], 4)
