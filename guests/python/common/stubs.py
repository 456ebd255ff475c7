"""Resources of interfaces a Python guest does not offer: every open says so.

componentize-py looks a resource up in a module named after its interface (`scalar`, `aggregate`,
`table`, `operators`); these modules make theirs with `refusing`. A guest with such functions
puts its own module of that name first on the path.
"""
from componentize_py_types import Err
from wit_world import exports


def refusing(protocol, kind: str):
    """A class implementing `protocol` whose `open` refuses every name."""

    class Refusing(protocol):
        @classmethod
        def open(cls, name, *args):
            raise Err(f"this module has no {kind} {name}")

    return Refusing


class OtherKindsRefused:
    """The `module` interface's binds, each refusing every name. Mix it into the app's
    `Module` first and define the binds of the kinds the module has: those override these."""

    def bind_scalar(self, name, args):
        raise Err(f"no scalar function {name}")

    def bind_aggregate(self, name, args):
        raise Err(f"no aggregate {name}")

    def bind_table(self, name, arg_types, args, config):
        raise Err(f"no table function {name}")

    def bind_operator(self, name, inputs, config):
        raise Err(f"no operator {name}")


# The interfaces' classes componentize-py looks up in the app module (their resources live in
# modules of their own); an app imports them into its namespace.
class Scalar(exports.Scalar):
    pass


class Aggregate(exports.Aggregate):
    pass


class Table(exports.Table):
    pass


class Operators(exports.Operators):
    pass
