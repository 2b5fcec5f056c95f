"""``struct-literal``: a composite literal of a struct type.

    join-point = { struct-literal = { type = "net/http.Server", match = "pointer" } }

``type`` is an import path and a type name (a bare name matches the type of
the file's own package). ``match`` is ``"value"`` (``T{...}`` not under
``&``), ``"pointer"`` (``&T{...}``) or ``"any"`` (both, the default). Selects
the whole expression: for ``&T{...}`` that is the ``&`` expression, never the
literal inside it, so wrapping it wraps the pointer.
"""

from __future__ import annotations

from typing import Any

import attrs
from tree_sitter import Node

from ..gotypes import canonical, normalize, split_qualified
from ..model import Package
from ..parse import ParsedFile
from ..tomlkeys import Loc, suggest
from . import JoinPoint, ParseFn, register

_MATCH = ("any", "value", "pointer")


@register
@attrs.frozen
class StructLiteral(JoinPoint):
    key = "struct-literal"
    NODE_TYPES = frozenset({"composite_literal", "unary_expression"})

    import_path: str
    name: str
    match: str = "any"

    @classmethod
    def from_toml(cls, value: Any, loc: Loc, parse: ParseFn) -> JoinPoint:
        table = loc.table(value, ["type", "match"], required=["type"])
        spec = normalize((loc / "type").string(table["type"]))
        path, name = split_qualified(spec)
        if not name.isidentifier() or spec.startswith("*"):
            raise (loc / "type").error(f"{spec!r} is not a type name", hint='write it as "net/http.Server"')
        match = (loc / "match").string(table.get("match", "any"))
        if match not in _MATCH:
            raise (loc / "match").error(f"{match!r} is not one of {', '.join(_MATCH)}", hint=suggest(match, _MATCH))
        return cls(import_path=path, name=name, match=match)

    def may_match_file(self, source: bytes, pkg: Package) -> bool:
        return (self.name + "{").encode() in source

    def matches_node(self, node: Node, pf: ParsedFile) -> bool:
        if node.type == "unary_expression":
            if self.match == "value" or not pf.text(node).startswith("&"):
                return False
            operand = node.child_by_field_name("operand")
            return operand is not None and operand.type == "composite_literal" and self._literal(operand, pf)
        if self.match == "pointer" or _address_taken(node):
            return False
        return self._literal(node, pf)

    def _literal(self, node: Node, pf: ParsedFile) -> bool:
        type_node = node.child_by_field_name("type")
        if type_node is None:
            return False
        want = f"{self.import_path or pf.package.path}.{self.name}"
        return canonical(type_node, pf) == want


def _address_taken(literal: Node) -> bool:
    parent = literal.parent
    return parent is not None and parent.type == "unary_expression" and parent.child_by_field_name("operand") == literal
