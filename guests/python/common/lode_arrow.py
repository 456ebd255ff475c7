"""Arrow columns as the lode:guest/arrow WIT lays them out, for Python guests.

A batch is the Arrow IPC body layout: one node (length, null count) per array and its buffers
(validity, then values for fixed-width types; validity, offsets, data for strings; a struct's
validity, then its children's). These helpers read and write the columns the example
functions take and return, without any per-value encoding on the host side.
"""
from array import array

from wit_world.imports import arrow


# Arrow's fixed-width types as `array` type codes.
INT32, INT64, FLOAT32, FLOAT64 = "i", "q", "f", "d"


def int64_field(name: str) -> arrow.Field:
    return arrow.Field(name=name, data_type=arrow.DataType_Int64(), nullable=True, children=0)


class FixedColumn:
    """One fixed-width column of a batch (int32, int64, float32, float64): its values, as an
    `array` of `typecode`, and which rows are valid."""

    def __init__(self, typecode: str, node: arrow.Node, validity: bytes, values: bytes):
        self.length = node.length
        self.values = array(typecode, values)
        self._validity = validity if node.null_count > 0 else None

    def is_valid(self, row: int) -> bool:
        return self._validity is None or bool(self._validity[row >> 3] >> (row & 7) & 1)

    def get(self, row: int):
        """The value at `row`, or `None` when it is null."""
        return self.values[row] if self.is_valid(row) else None


def fixed_columns(batch: arrow.Batch, typecodes: list) -> list:
    """The batch's columns, all fixed-width (two buffers each), column `i` of `typecodes[i]`."""
    if len(typecodes) != len(batch.nodes):
        raise ValueError(f"expected {len(typecodes)} columns, the batch has {len(batch.nodes)}")
    return [
        FixedColumn(typecode, node, batch.buffers[2 * i], batch.buffers[2 * i + 1])
        for i, (typecode, node) in enumerate(zip(typecodes, batch.nodes))
    ]


def int64_columns(batch: arrow.Batch) -> list:
    """The batch's columns, all of them int64."""
    return fixed_columns(batch, [INT64] * len(batch.nodes))


def _validity(values: list) -> tuple:
    """The null count of `values` and their validity bitmap (empty when none is null)."""
    nulls = sum(v is None for v in values)
    validity = bytearray((len(values) + 7) // 8) if nulls else bytearray()
    if nulls:
        for row, v in enumerate(values):
            if v is not None:
                validity[row >> 3] |= 1 << (row & 7)
    return nulls, validity


def fixed_batch(columns: list) -> arrow.Batch:
    """A batch of fixed-width columns, each a pair (typecode, values) with `None` for null;
    all of the same length."""
    n = len(columns[0][1]) if columns else 0
    nodes, buffers = [], []
    for typecode, values in columns:
        if len(values) != n:
            raise ValueError(f"columns of {n} and {len(values)} rows")
        nulls, validity = _validity(values)
        data = array(typecode, (0 if v is None else v for v in values))
        nodes.append(arrow.Node(length=n, null_count=nulls))
        buffers += [bytes(validity), data.tobytes()]
    return arrow.Batch(num_rows=n, nodes=nodes, buffers=buffers)


def int64_batch(values: list) -> arrow.Batch:
    """A one-column int64 batch; `None` is null."""
    return fixed_batch([(INT64, values)])


def float64_field(name: str) -> arrow.Field:
    return arrow.Field(name=name, data_type=arrow.DataType_Float64(), nullable=True, children=0)


def utf8_field(name: str) -> arrow.Field:
    return arrow.Field(name=name, data_type=arrow.DataType_Utf8(), nullable=True, children=0)


def struct_of_float64(name: str, children: list) -> list:
    """A struct field of float64 children, as a field list in pre-order."""
    parent = arrow.Field(
        name=name, data_type=arrow.DataType_Struct(), nullable=True, children=len(children)
    )
    return [parent] + [float64_field(child) for child in children]


def utf8_values(batch: arrow.Batch, column: int) -> list:
    """Column `column` of a batch whose columns are all utf8 (i32 offsets): its strings, `None`
    for nulls."""
    node = batch.nodes[column]
    validity, offsets, data = batch.buffers[3 * column : 3 * column + 3]
    starts = array("i", offsets)
    has_nulls = node.null_count > 0
    return [
        None
        if has_nulls and not validity[row >> 3] >> (row & 7) & 1
        else bytes(data[starts[row] : starts[row + 1]]).decode("utf-8")
        for row in range(node.length)
    ]


def struct_of_float64_batch(rows: list, width: int) -> arrow.Batch:
    """A one-column batch of a struct of `width` float64 fields; each row is a tuple of
    `width` floats, or `None` for a null struct (its fields are null too)."""
    n = len(rows)
    nulls, validity = _validity(rows)
    nodes = [arrow.Node(length=n, null_count=nulls)] * (width + 1)
    buffers = [bytes(validity)]
    for field in range(width):
        values = array("d", (0.0 if r is None else r[field] for r in rows))
        buffers += [bytes(validity), values.tobytes()]
    return arrow.Batch(num_rows=n, nodes=nodes, buffers=buffers)
