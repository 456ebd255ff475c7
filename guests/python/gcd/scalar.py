"""The scalar functions of gcd-python, one call per batch."""
from componentize_py_types import Err
from wit_world.exports import scalar

from lode_arrow import int64_batch, int64_columns


def gcd(a: int, b: int) -> int:
    a, b = abs(a), abs(b)
    while b:
        a, b = b, a % b
    # i64::MIN has no positive i64; the Rust guest wraps it the same way.
    return a if a < 1 << 63 else a - (1 << 64)


class Function(scalar.Function):
    @classmethod
    def open(cls, name, args):
        if name not in ("gcd", "noop"):
            raise Err(f"no scalar function {name}")
        return cls(name)

    def __init__(self, name: str):
        self.name = name

    def call(self, input):
        columns = int64_columns(input)
        rows = range(input.num_rows)
        if self.name == "noop":
            (a,) = columns
            return int64_batch([a.values[r] if a.is_valid(r) else None for r in rows])
        a, b = columns
        return int64_batch(
            [gcd(a.values[r], b.values[r]) if a.is_valid(r) and b.is_valid(r) else None for r in rows]
        )
