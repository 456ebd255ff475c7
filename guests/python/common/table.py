"""The `table` interface for Python guests that offer none: every open says so.

componentize-py looks resources up in a module named after their interface; a guest with
such functions puts its own `table.py` first on the path.
"""
from componentize_py_types import Err
from wit_world.exports import table


class Generator(table.Generator):
    @classmethod
    def open(cls, name, *args):
        raise Err(f"this module has no such function: {name}")
