"""The `table` interface of a Python guest without table functions (see stubs.py)."""
from stubs import refusing
from wit_world.exports import table

Generator = refusing(table.Generator, "table function")
