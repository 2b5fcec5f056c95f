"""``all-of``, ``one-of`` and ``not``: join points made of join points.

    join-point = { all-of = [ { package = "example.com/..." }, { function-declaration = { name = "Serve" } } ] }
    join-point = { one-of = [ { function-declaration = { name = "A" } }, { function-declaration = { name = "B" } } ] }
    join-point = { all-of = [ { function-declaration = {} }, { not = { directive = "nolint" } } ] }

``all-of`` selects the nodes every member matches: the node types are those
all node-selecting members share, and filters narrow them. ``one-of`` selects
what any member matches; its members must all select nodes, or all be filters.
``not`` inverts a member and selects no node of its own, so it stands inside
``all-of`` next to a member that does.
"""

from __future__ import annotations

from typing import Any

import attrs
from tree_sitter import Node

from ..model import Package
from ..parse import ParsedFile
from ..tomlkeys import Loc
from . import JoinPoint, ParseFn, full_match, register


def _members(value: Any, loc: Loc, parse: ParseFn) -> tuple[JoinPoint, ...]:
    items = loc.array(value)
    if not items:
        raise loc.error("needs at least one join point")
    return tuple(parse(item, loc / i) for i, item in enumerate(items))


@register
@attrs.frozen
class AllOf(JoinPoint):
    key = "all-of"

    members: tuple[JoinPoint, ...]

    @classmethod
    def from_toml(cls, value: Any, loc: Loc, parse: ParseFn) -> JoinPoint:
        made = cls(_members(value, loc, parse))
        if made.node_types == frozenset():
            raise loc.error("no node can match all of these join points")
        return made

    @property
    def node_types(self) -> frozenset[str] | None:
        sets = [m.node_types for m in self.members if m.node_types is not None]
        return frozenset.intersection(*sets) if sets else None

    def may_match_package(self, pkg: Package) -> bool:
        return all(m.may_match_package(pkg) for m in self.members)

    def may_match_file(self, source: bytes, pkg: Package) -> bool:
        return all(m.may_match_file(source, pkg) for m in self.members)

    def matches_file(self, pf: ParsedFile) -> bool:
        return all(m.matches_file(pf) for m in self.members)

    def matches_node(self, node: Node, pf: ParsedFile) -> bool:
        return all(full_match(m, node, pf) for m in self.members)

    def directive_names(self) -> frozenset[str]:
        return frozenset().union(*(m.directive_names() for m in self.members))


@register
@attrs.frozen
class OneOf(JoinPoint):
    key = "one-of"

    members: tuple[JoinPoint, ...]

    @classmethod
    def from_toml(cls, value: Any, loc: Loc, parse: ParseFn) -> JoinPoint:
        made = cls(_members(value, loc, parse))
        if len({m.node_types is None for m in made.members}) > 1:
            raise loc.error("mixes filters with join points that select nodes", hint="put filters in all-of")
        return made

    @property
    def node_types(self) -> frozenset[str] | None:
        sets = [m.node_types for m in self.members if m.node_types is not None]
        return frozenset.union(*sets) if sets else None

    def may_match_package(self, pkg: Package) -> bool:
        return any(m.may_match_package(pkg) for m in self.members)

    def may_match_file(self, source: bytes, pkg: Package) -> bool:
        return any(m.may_match_file(source, pkg) for m in self.members)

    def matches_file(self, pf: ParsedFile) -> bool:
        return any(m.matches_file(pf) for m in self.members)

    def matches_node(self, node: Node, pf: ParsedFile) -> bool:
        return any(full_match(m, node, pf) for m in self.members)

    def directive_names(self) -> frozenset[str]:
        return frozenset().union(*(m.directive_names() for m in self.members))


@register
@attrs.frozen
class Not(JoinPoint):
    key = "not"

    member: JoinPoint

    @classmethod
    def from_toml(cls, value: Any, loc: Loc, parse: ParseFn) -> JoinPoint:
        return cls(parse(value, loc))

    def matches_file(self, pf: ParsedFile) -> bool:
        return self.member.node_types is not None or not self.member.matches_file(pf)

    def matches_node(self, node: Node, pf: ParsedFile) -> bool:
        return self.member.node_types is None or not full_match(self.member, node, pf)
