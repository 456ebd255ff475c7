"""Resources of interfaces a Python guest does not offer: every open says so.

componentize-py looks a resource up in a module named after its interface (`aggregate`,
`table`, `operators`); these modules make theirs with `refusing`. A guest with such functions
puts its own module of that name first on the path.
"""
from componentize_py_types import Err


def refusing(protocol, kind: str):
    """A class implementing `protocol` whose `open` refuses every name."""

    class Refusing(protocol):
        @classmethod
        def open(cls, name, *args):
            raise Err(f"this module has no {kind} {name}")

    return Refusing
