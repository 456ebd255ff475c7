"""The `scalar` interface of a Python guest without scalar functions (see stubs.py)."""
from stubs import refusing
from wit_world.exports import scalar

Function = refusing(scalar.Function, "scalar function")
