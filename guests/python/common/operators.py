"""The `operators` interface for Python guests that offer none: every open says so.

componentize-py looks resources up in a module named after their interface; a guest with
such functions puts its own `operators.py` first on the path.
"""
from componentize_py_types import Err
from wit_world.exports import operators


class Instance(operators.Instance):
    @classmethod
    def open(cls, name, *args):
        raise Err(f"this module has no such function: {name}")
