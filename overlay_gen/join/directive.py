"""``directive``: a function or function literal annotated with a directive comment.

    join-point = { directive = "dd:span" }

Matches a function declaration whose doc comment holds the line
``//dd:span`` (optionally followed by arguments: ``//dd:span op:fetch``), and a
function literal whose enclosing statement is preceded by such a line. A
directive has no space after ``//``. Advice can read the arguments through
the ``{{directive.args}}`` placeholder.
"""

from __future__ import annotations

from typing import Any

import attrs
from tree_sitter import Node

from ..model import Package
from ..parse import FUNCTION_NODES, ParsedFile
from ..tomlkeys import Loc
from . import JoinPoint, ParseFn, register


@register
@attrs.frozen
class Directive(JoinPoint):
    key = "directive"
    NODE_TYPES = FUNCTION_NODES

    name: str

    @classmethod
    def from_toml(cls, value: Any, loc: Loc, parse: ParseFn) -> JoinPoint:
        name = loc.string(value).removeprefix("//")
        if not name or any(c.isspace() for c in name):
            raise loc.error(f"{value!r} is not a directive name", hint='write it as "dd:span"')
        return cls(name=name)

    def may_match_file(self, source: bytes, pkg: Package) -> bool:
        return b"//" + self.name.encode() in source

    def matches_node(self, node: Node, pf: ParsedFile) -> bool:
        return directive_args(self.name, node, pf) is not None

    def directive_names(self) -> frozenset[str]:
        return frozenset({self.name})


def directive_args(name: str, node: Node, pf: ParsedFile) -> str | None:
    """The text after ``//name`` above ``node``, or None when there is no such directive."""
    for text in pf.directives(node):
        head, _, rest = text.partition(" ")
        if head == name:
            return rest.strip()
    return None
