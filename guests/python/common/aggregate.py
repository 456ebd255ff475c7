"""The `aggregate` interface of a Python guest without aggregates (see stubs.py)."""
from stubs import refusing
from wit_world.exports import aggregate

Accumulator = refusing(aggregate.Accumulator, "aggregate")
