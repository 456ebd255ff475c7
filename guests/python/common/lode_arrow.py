"""Arrow columns as the lode:guest/arrow WIT lays them out, for Python guests.

A batch is the Arrow IPC body layout: one node (length, null count) per array and its buffers
(validity, then values for fixed-width types). These helpers read and write the fixed-width
columns a scalar function takes, without any per-value encoding on the host side.
"""
from array import array

from wit_world.imports import arrow


def int64_field(name: str) -> arrow.Field:
    return arrow.Field(name=name, data_type=arrow.DataType_Int64(), nullable=True, children=0)


class Int64Column:
    """One int64 column of a batch: its values and which rows are valid."""

    def __init__(self, node: arrow.Node, validity: bytes, values: bytes):
        self.length = node.length
        self.values = array("q", values)
        self._validity = validity if node.null_count > 0 else None

    def is_valid(self, row: int) -> bool:
        return self._validity is None or bool(self._validity[row >> 3] >> (row & 7) & 1)


def int64_columns(batch: arrow.Batch) -> list:
    """The batch's columns, all of them int64 (two buffers each)."""
    columns = []
    for i, node in enumerate(batch.nodes):
        validity, values = batch.buffers[2 * i], batch.buffers[2 * i + 1]
        columns.append(Int64Column(node, validity, values))
    return columns


def int64_batch(values: list) -> arrow.Batch:
    """A one-column int64 batch; `None` is null."""
    n = len(values)
    nulls = sum(v is None for v in values)
    validity = bytearray((n + 7) // 8) if nulls else bytearray()
    if nulls:
        for row, v in enumerate(values):
            if v is not None:
                validity[row >> 3] |= 1 << (row & 7)
    data = array("q", (0 if v is None else v for v in values))
    return arrow.Batch(
        num_rows=n,
        nodes=[arrow.Node(length=n, null_count=nulls)],
        buffers=[bytes(validity), data.tobytes()],
    )
