"""``function-declaration``: a function or method declaration.

    join-point = { function-declaration = { name = "Handle*", receiver = "*Server" } }

Keys, all optional: ``name`` (shell-style pattern), ``receiver`` (``"*T"`` or
``"T"``, with an import path to pin the package: ``"*net/http.Client"``;
``receiver = ""`` selects plain functions only) and ``signature`` (see
:mod:`._signature`). Selects the declaration node, so advice such as
``prepend-statements`` acts on its body. Declarations without a body
(assembly, linkname) are never selected.
"""

from __future__ import annotations

import re
from typing import Any

import attrs
from tree_sitter import Node

from ..gotypes import canonical, normalize
from ..model import Package
from ..parse import ParsedFile
from ..tomlkeys import Loc
from . import JoinPoint, ParseFn, glob_match, register
from ._signature import Signature


@register
@attrs.frozen
class FunctionDeclaration(JoinPoint):
    key = "function-declaration"
    NODE_TYPES = frozenset({"function_declaration", "method_declaration"})

    name: str | None = None
    receiver: str | None = None
    signature: Signature | None = None

    @classmethod
    def from_toml(cls, value: Any, loc: Loc, parse: ParseFn) -> JoinPoint:
        table = loc.table(value, ["name", "receiver", "signature"])
        return cls(
            name=(loc / "name").string(table["name"]) if "name" in table else None,
            receiver=normalize((loc / "receiver").string(table["receiver"])) if "receiver" in table else None,
            signature=Signature.from_toml(table["signature"], loc / "signature") if "signature" in table else None,
        )

    def may_match_file(self, source: bytes, pkg: Package) -> bool:
        if self.name and not any(c in self.name for c in "*?["):
            return self.name.encode() in source
        return b"func" in source

    def matches_node(self, node: Node, pf: ParsedFile) -> bool:
        if node.child_by_field_name("body") is None:
            return False
        name = node.child_by_field_name("name")
        if self.name is not None and (name is None or not glob_match(self.name, pf.text(name))):
            return False
        if self.receiver is not None and not receiver_matches(self.receiver, node, pf):
            return False
        return self.signature is None or self.signature.matches(node, pf)


def receiver_type(node: Node, pf: ParsedFile) -> str | None:
    """The canonical receiver type of a method declaration, or None for a function."""
    receiver = node.child_by_field_name("receiver")
    if receiver is None:
        return None
    for decl in receiver.named_children:
        type_node = decl.child_by_field_name("type")
        if type_node is not None:
            return canonical(type_node, pf)
    return None


def receiver_matches(spec: str, node: Node, pf: ParsedFile) -> bool:
    actual = receiver_type(node, pf)
    if spec == "":
        return actual is None
    if actual is None:
        return False
    return type_matches(spec, actual)


def type_matches(spec: str, actual: str) -> bool:
    """Compare an aspect's type with a canonical one; an unqualified spec
    (``*Server``) matches that type name in any package."""
    if "." in spec:
        return spec == actual
    return re.sub(r"[\w./-]+\.(\w+)", r"\1", actual) == spec
