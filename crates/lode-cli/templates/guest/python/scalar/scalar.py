"""The scalar function `{{function}}`, one call per batch of arguments."""
from componentize_py_types import Err
from wit_world.exports import scalar

from lode_arrow import FLOAT64, fixed_batch, fixed_columns
from logic import {{function}}


class Function(scalar.Function):
    @classmethod
    def open(cls, name, args):
        if name != "{{function}}":
            raise Err(f"no scalar function {name}")
        return cls()

    def call(self, input):
        lat1, lon1, lat2, lon2 = fixed_columns(input, [FLOAT64] * 4)
        columns = (lat1, lon1, lat2, lon2)
        km = [
            {{function}}(*(c.values[row] for c in columns))
            if all(c.is_valid(row) for c in columns)
            else None
            for row in range(input.num_rows)
        ]
        return fixed_batch([(FLOAT64, km)])
