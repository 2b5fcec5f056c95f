"""Stage 5a, parse: candidate files, with tree-sitter-go.

A :class:`ParsedFile` is one Go file with its tree and what matching and advice
ask of it again and again: the imports by local name, the ranges tree-sitter
could not parse, line/column arithmetic. Parser and queries are built once per
process and reused.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Mapping

import attrs
import tree_sitter_go
from tree_sitter import Language, Node, Parser, Query, QueryCursor, Tree

from .edits import LineMap
from .model import Package

GO = Language(tree_sitter_go.language())

FUNCTION_NODES = frozenset({"function_declaration", "method_declaration", "func_literal"})


@functools.cache
def _parser() -> Parser:
    return Parser(GO)


@functools.cache
def node_query(node_types: frozenset[str]) -> Query:
    """A query capturing every node of the given types as ``@n``."""
    alternatives = " ".join(f"({t})" for t in sorted(node_types))
    return Query(GO, f"[{alternatives}] @n")


def parse_bytes(source: bytes) -> Tree:
    return _parser().parse(source)


# //overlay-gen:ignore and orchestrion's //orchestrion:ignore. gofmt turns the
# first into "// overlay-gen:ignore" in a doc comment (a Go directive name has
# no hyphen), so that spelling counts too.
_IGNORE = re.compile(rb"//(?:overlay-gen:ignore|orchestrion:ignore| overlay-gen:ignore)(?:\s|$)")


@attrs.frozen
class ImportSpec:
    node: Node
    path: str
    local: str  # the name the file uses: its own alias, or the package's name
    named: bool  # the spec gives a name (alias, "_" or ".")


def guess_name(path: str) -> str:
    """The usual package name of an import path the graph does not know."""
    parts = path.split("/")
    last = parts[-1]
    if re.fullmatch(r"v\d+", last) and len(parts) > 1:
        last = parts[-2]
    last = re.sub(r"\.v\d+$", "", last).removeprefix("go-")
    return re.sub(r"\W", "_", last)


@attrs.define(eq=False)
class ParsedFile:
    """A Go source file, parsed, in the context of the package that owns it."""

    path: str
    display: str  # path a reviewer recognizes, used in messages
    package: Package
    source: bytes
    package_names: Mapping[str, str] = attrs.field(factory=dict)  # import path -> package name
    go_version: str = ""  # go env GOVERSION of the build
    tree: Tree = attrs.field(init=False)
    lines: LineMap = attrs.field(init=False)
    _error_ranges: list[tuple[int, int]] | None = attrs.field(init=False, default=None)

    def __attrs_post_init__(self) -> None:
        self.tree = parse_bytes(self.source)
        self.lines = LineMap(self.source)

    @property
    def root(self) -> Node:
        return self.tree.root_node

    def text(self, node: Node) -> str:
        return self.source[node.start_byte : node.end_byte].decode("utf-8")

    def position(self, offset: int) -> tuple[int, int]:
        """1-based line and byte column of ``offset``."""
        return self.lines.position(offset)

    def line(self, node: Node) -> int:
        return node.start_point[0] + 1

    def nodes(self, node_types: frozenset[str]) -> Iterator[Node]:
        """Every node of the given types, in source order."""
        captures = QueryCursor(node_query(node_types)).captures(self.root)
        yield from sorted(captures.get("n", []), key=lambda n: (n.start_byte, -n.end_byte))

    # --- imports -----------------------------------------------------------

    @functools.cached_property
    def import_specs(self) -> tuple[ImportSpec, ...]:
        specs = []
        for spec in self.nodes(frozenset({"import_spec"})):
            path_node = spec.child_by_field_name("path")
            if path_node is None:
                continue
            path = self.text(path_node).strip('"`')
            name_node = spec.child_by_field_name("name")
            local = self.text(name_node) if name_node is not None else self.package_names.get(path) or guess_name(path)
            specs.append(ImportSpec(spec, path, local, name_node is not None))
        return tuple(specs)

    @functools.cached_property
    def imports(self) -> dict[str, str]:
        """Local name -> import path, for named and unnamed imports (not ``_`` / ``.``)."""
        return {s.local: s.path for s in self.import_specs if s.local not in ("_", ".")}

    @functools.cached_property
    def import_paths(self) -> frozenset[str]:
        """Every path the file imports, blank (``_``) and dot imports included."""
        return frozenset(s.path for s in self.import_specs)

    @property
    def package_clause(self) -> Node | None:
        for child in self.root.children:
            if child.type == "package_clause":
                return child
        return None

    # --- what tree-sitter could not parse ----------------------------------

    @property
    def error_ranges(self) -> list[tuple[int, int]]:
        if self._error_ranges is None:
            self._error_ranges = list(_error_ranges(self.root)) if self.root.has_error else []
        return self._error_ranges

    def overlaps_error(self, start: int, end: int) -> bool:
        return any(s < max(end, start + 1) and start < max(e, s + 1) for s, e in self.error_ranges)

    # --- //overlay-gen:ignore ----------------------------------------------

    @functools.cached_property
    def ignored(self) -> bool:
        """True when an ignore directive stands before the package clause."""
        clause = self.package_clause
        head = self.source[: clause.start_byte] if clause is not None else self.source
        return any(_IGNORE.match(line.strip()) for line in head.splitlines())

    def leading_comments(self, node: Node) -> list[Node]:
        """The comment lines directly above ``node`` (no blank line between)."""
        comments: list[Node] = []
        current = node
        sibling = node.prev_sibling
        if sibling is None and node.parent is not None and node.parent.type == "statement_list":
            # Comments before a block's first statement are children of the block.
            sibling = node.parent.prev_sibling
        while sibling is not None and sibling.type == "comment":
            if current.start_point[0] - sibling.end_point[0] > 1:
                break
            comments.insert(0, sibling)
            current = sibling
            sibling = sibling.prev_sibling
        return comments

    def directives(self, node: Node) -> list[str]:
        """Directive comments (``//name...``, no space after ``//``) above ``node``,
        without the line's end (a line comment of a CRLF file holds its ``\r``)."""
        return [
            self.text(c)[2:].rstrip("\r")
            for c in self.leading_comments(statement_of(node))
            if self.text(c).startswith("//") and self.text(c)[2:3] not in ("", " ", "\t", "\r")
        ]

    def function_ignored(self, node: Node) -> bool:
        """True when an ignore directive stands above ``node``'s function or one enclosing it."""
        return any(
            _IGNORE.match(self.source[c.start_byte : c.end_byte])
            for fn in enclosing(node, FUNCTION_NODES, include_self=True)
            for c in self.leading_comments(statement_of(fn))
        )


def _error_ranges(node: Node) -> Iterator[tuple[int, int]]:
    if node.type == "ERROR" or node.is_missing:
        yield node.start_byte, node.end_byte
        return
    for child in node.children:
        if child.has_error or child.is_missing:
            yield from _error_ranges(child)


def enclosing(node: Node, types: Iterable[str], include_self: bool = False) -> Iterator[Node]:
    """Ancestors of ``node`` of the given types, innermost first."""
    types = frozenset(types)
    current = node if include_self else node.parent
    while current is not None:
        if current.type in types:
            yield current
        current = current.parent


def statement_of(node: Node) -> Node:
    """The top-level declaration or statement that holds ``node``: where a
    directive comment above it would stand."""
    current = node
    while current.parent is not None and current.parent.type not in (
        "source_file",
        "statement_list",
        "block",
    ):
        current = current.parent
    return current
