"""``parameter``: a function, method or function literal with a parameter of a given type.

    join-point = { all-of = [ { directive = "dd:span" }, { parameter = { type = "context.Context" } } ] }

``type`` is spelled with import paths (``*net/http.Request``), as in
``signature`` (see :mod:`._signature`), and compared as written: aliases are
not resolved. Selects the function node, so advice acts on the function; with
``not`` inside ``all-of`` it selects the functions without such a parameter.
The placeholder ``{{function.arg:TYPE}}`` names the first parameter of that
type.
"""

from __future__ import annotations

from typing import Any

import attrs
from tree_sitter import Node

from ..gotypes import normalize, parameter_types
from ..parse import FUNCTION_NODES, ParsedFile
from ..tomlkeys import Loc
from . import JoinPoint, ParseFn, register


@register
@attrs.frozen
class Parameter(JoinPoint):
    key = "parameter"
    NODE_TYPES = FUNCTION_NODES

    type: str

    @classmethod
    def from_toml(cls, value: Any, loc: Loc, parse: ParseFn) -> JoinPoint:
        table = loc.table(value, ["type"], required=["type"])
        spelled = normalize((loc / "type").string(table["type"]))
        if not spelled or spelled.startswith("..."):
            raise (loc / "type").error(f"{table['type']!r} is not a parameter type")
        return cls(spelled)

    def matches_node(self, node: Node, pf: ParsedFile) -> bool:
        return self.type in parameter_types(node.child_by_field_name("parameters"), pf)
