"""The aggregate `{{function}}`: the states of many groups, updated and merged by the batch."""
from componentize_py_types import Err
from wit_world.exports import aggregate
from wit_world.imports import types

from lode_arrow import FLOAT64, INT64, fixed_batch, fixed_columns
from logic import SumOfSquares


class Accumulator(aggregate.Accumulator):
    @classmethod
    def open(cls, name, args):
        if name != "{{function}}":
            raise Err(f"no aggregate {name}")
        return cls()

    def __init__(self):
        # Group `i` lives at index `i`.
        self.groups = []

    def _grow(self, total_groups: int):
        self.groups += [SumOfSquares() for _ in range(total_groups - len(self.groups))]

    def update(self, groups, total_groups, input):
        self._grow(total_groups)
        (x,) = fixed_columns(input, [FLOAT64])
        for row, group in enumerate(groups):
            if x.is_valid(row):
                try:
                    self.groups[group].add(x.values[row])
                except ValueError as e:
                    raise Err(types.CallError(row=row, message=str(e)))

    def merge(self, groups, total_groups, states):
        self._grow(total_groups)
        sums, counts = fixed_columns(states, [FLOAT64, INT64])
        for row, group in enumerate(groups):
            self.groups[group].merge(SumOfSquares(sums.values[row], counts.values[row]))

    def _take(self, count):
        """The first `count` groups (all when `None`), removed: the rest move down."""
        count = len(self.groups) if count is None else count
        taken, self.groups = self.groups[:count], self.groups[count:]
        return taken

    def state(self, count):
        taken = self._take(count)
        return fixed_batch([(FLOAT64, [s.sum for s in taken]), (INT64, [s.count for s in taken])])

    def evaluate(self, count):
        return fixed_batch([(FLOAT64, [s.finish() for s in self._take(count)])])
