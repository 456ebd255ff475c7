"""The `operators` interface of a Python guest without operators (see stubs.py)."""
from stubs import refusing
from wit_world.exports import operators

Instance = refusing(operators.Instance, "operator")
