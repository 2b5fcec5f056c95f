"""Join points: what an aspect selects in Go source.

Each kind is one small module of this package, registered under its TOML key
with :func:`register`. A join point answers, from cheapest to dearest:

1. ``may_match_package(pkg)``: can it match anything in this package? (graph only)
2. ``may_match_file(source, pkg)``: can it match anything in these bytes? (a byte search)
3. ``matches_file(pf)`` and ``matches_node(node, pf)``: the exact answer, on
   the parsed file, for one node of a type in ``node_types``.

``node_types`` is the set of tree-sitter node types the join point selects,
or ``None`` for a *filter* (package, main package, test main) that selects no
node of its own and is combined with others through ``all-of``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from typing import Any, ClassVar

from tree_sitter import Node

from ..model import Package
from ..parse import ParsedFile
from ..registry import Registry
from ..tomlkeys import Loc

ParseFn = Callable[[Any, Loc], "JoinPoint"]


class JoinPoint:
    """Base of every join point kind; the defaults match everything."""

    key: ClassVar[str]
    NODE_TYPES: ClassVar[frozenset[str] | None] = None

    @classmethod
    def from_toml(cls, value: Any, loc: Loc, parse: ParseFn) -> JoinPoint:
        raise NotImplementedError

    @property
    def node_types(self) -> frozenset[str] | None:
        return self.NODE_TYPES

    def may_match_package(self, pkg: Package) -> bool:
        return True

    def may_match_file(self, source: bytes, pkg: Package) -> bool:
        return True

    def matches_file(self, pf: ParsedFile) -> bool:
        return True

    def matches_node(self, node: Node, pf: ParsedFile) -> bool:
        return True

    def directive_names(self) -> frozenset[str]:
        """The directives this join point selects by (``directive.args`` reads theirs)."""
        return frozenset()


REGISTRY: Registry[type[JoinPoint]] = Registry("join point")
register = REGISTRY.register


def parse_join_point(value: Any, loc: Loc) -> JoinPoint:
    """Build a join point from its TOML value: a table with one registered key."""
    kind, inner, at = REGISTRY.lookup(value, loc)
    return kind.from_toml(inner, at, parse_join_point)


def full_match(jp: JoinPoint, node: Node | None, pf: ParsedFile) -> bool:
    """Does ``jp`` match ``node`` of ``pf`` (or the file, when ``node`` is None)?"""
    if not jp.matches_file(pf):
        return False
    if node is None:
        return True
    if jp.node_types is not None and node.type not in jp.node_types:
        return False
    return jp.matches_node(node, pf)


def glob_match(pattern: str, name: str) -> bool:
    """Shell-style match for names: ``Get*``, ``*Handler``; plain names match exactly."""
    return fnmatch.fnmatchcase(name, pattern)


# The kinds, one module each. Imported last: they register themselves.
from . import (
    call,
    combinators,
    depends_on,
    directive,
    function_declaration,
    function_literal,
    go_version,
    main_package,
    origin,
    package,
    parameter,
    struct_definition,
    struct_literal,
    test_main,
)

__all__ = [
    "REGISTRY",
    "JoinPoint",
    "call",
    "combinators",
    "depends_on",
    "directive",
    "full_match",
    "function_declaration",
    "function_literal",
    "go_version",
    "main_package",
    "origin",
    "package",
    "parameter",
    "parse_join_point",
    "register",
    "struct_definition",
    "struct_literal",
    "test_main",
]
