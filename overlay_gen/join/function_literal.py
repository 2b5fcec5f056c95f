"""``function-literal``: an anonymous function, ``func(...) {...}``.

    join-point = { function-literal = { signature = { args = ["int"] } } }

Keys, all optional: ``signature`` (see :mod:`._signature`). Combine with
``directive`` to select annotated literals only.
"""

from __future__ import annotations

from typing import Any

import attrs
from tree_sitter import Node

from ..model import Package
from ..parse import ParsedFile
from ..tomlkeys import Loc
from . import JoinPoint, ParseFn, register
from ._signature import Signature


@register
@attrs.frozen
class FunctionLiteral(JoinPoint):
    key = "function-literal"
    NODE_TYPES = frozenset({"func_literal"})

    signature: Signature | None = None

    @classmethod
    def from_toml(cls, value: Any, loc: Loc, parse: ParseFn) -> JoinPoint:
        table = loc.table(value, ["signature"])
        sig = Signature.from_toml(table["signature"], loc / "signature") if "signature" in table else None
        return cls(signature=sig)

    def may_match_file(self, source: bytes, pkg: Package) -> bool:
        return b"func(" in source or b"func (" in source

    def matches_node(self, node: Node, pf: ParsedFile) -> bool:
        return self.signature is None or self.signature.matches(node, pf)
