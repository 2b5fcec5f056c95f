"""``struct-definition``: the declaration of a named struct type.

    join-point = { struct-definition = { type = "net/http.Server" } }

``type`` is an import path and a type name, or a bare name for that name in
any package. Selects the type spec (``Server struct {...}``), so
``add-struct-field`` can add to it.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import attrs
from tree_sitter import Node

from ..gotypes import normalize, split_qualified
from ..model import Package
from ..parse import ParsedFile
from ..tomlkeys import Loc
from . import JoinPoint, ParseFn, register


@register
@attrs.frozen
class StructDefinition(JoinPoint):
    key = "struct-definition"
    NODE_TYPES = frozenset({"type_spec"})

    import_path: str
    name: str

    @classmethod
    def from_toml(cls, value: Any, loc: Loc, parse: ParseFn) -> JoinPoint:
        table = loc.table(value, ["type"], required=["type"])
        spec = normalize((loc / "type").string(table["type"]))
        path, name = split_qualified(spec)
        if not name.isidentifier() or spec.startswith("*"):
            raise (loc / "type").error(f"{spec!r} is not a type name", hint='write it as "net/http.Server"')
        return cls(import_path=path, name=name)

    def may_match_package(self, pkg: Package) -> bool:
        return not self.import_path or pkg.path == self.import_path

    def may_match_file(self, source: bytes, pkg: Package) -> bool:
        return self._spec.search(source) is not None

    @functools.cached_property
    def _spec(self) -> re.Pattern[bytes]:
        """``Name struct`` or ``Name[T any] struct``, as a type spec has it."""
        return re.compile(rb"\b" + re.escape(self.name.encode()) + rb"\s*(?:\[[^\]]*\])?\s+struct\b")

    def matches_node(self, node: Node, pf: ParsedFile) -> bool:
        name, type_node = node.child_by_field_name("name"), node.child_by_field_name("type")
        return (
            name is not None
            and type_node is not None
            and type_node.type == "struct_type"
            and pf.text(name) == self.name
            and (not self.import_path or pf.package.path == self.import_path)
        )
