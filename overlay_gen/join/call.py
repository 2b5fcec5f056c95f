"""``call``: a call of a package function, or of a method of a type.

    join-point = { call = { function = "net/http.Get" } }
    join-point = { call = { method = "Do", receiver = "*net/http.Client" } }

``function`` is an import path and a name; it matches ``http.Get(...)`` under
whatever name the file imports ``net/http`` as, and ``Get(...)`` inside
``net/http`` itself. ``method`` matches ``x.Do(...)`` for any ``x``; with
``receiver`` the type of ``x`` must be known from the source alone: a
parameter, receiver or variable declared with that type, or a variable
initialised with ``T{...}``, ``&T{...}`` or ``new(T)``, in the enclosing
function or at package level. This is syntax, not type checking: calls through
interfaces, struct fields or function results are not matched by ``receiver``.
Selects the call expression.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import attrs
from tree_sitter import Node

from ..gotypes import canonical, normalize, split_qualified
from ..model import Package
from ..parse import FUNCTION_NODES, ParsedFile, enclosing
from ..tomlkeys import Loc
from . import JoinPoint, ParseFn, register
from .function_declaration import type_matches


@register
@attrs.frozen
class Call(JoinPoint):
    key = "call"
    NODE_TYPES = frozenset({"call_expression"})

    import_path: str = ""
    name: str = ""
    method: bool = False
    receiver: str | None = None

    @classmethod
    def from_toml(cls, value: Any, loc: Loc, parse: ParseFn) -> JoinPoint:
        table = loc.table(value, ["function", "method", "receiver"])
        if ("function" in table) == ("method" in table):
            raise loc.error("give exactly one of 'function' and 'method'")
        if "function" in table:
            if "receiver" in table:
                raise (loc / "receiver").error("only goes with 'method'")
            spec = (loc / "function").string(table["function"])
            path, name = split_qualified(spec)
            if not path or not name.isidentifier():
                raise (loc / "function").error(
                    f"{spec!r} is not an import path and a name", hint='write it as "net/http.Get"'
                )
            return cls(import_path=path, name=name)
        name = (loc / "method").string(table["method"])
        if not name.isidentifier():
            raise (loc / "method").error(f"{name!r} is not a method name")
        receiver = normalize((loc / "receiver").string(table["receiver"])) if "receiver" in table else None
        return cls(name=name, method=True, receiver=receiver)

    def may_match_file(self, source: bytes, pkg: Package) -> bool:
        if self.method or pkg.path != self.import_path:
            # x.Name( or pkg.Name(, spaces allowed where Go allows them.
            return self._selector_call.search(source) is not None and (
                self.method or f'"{self.import_path}"'.encode() in source
            )
        return self._plain_call.search(source) is not None

    @functools.cached_property
    def _selector_call(self) -> re.Pattern[bytes]:
        return re.compile(rb"\.\s*" + re.escape(self.name.encode()) + rb"\s*[(\[]")

    @functools.cached_property
    def _plain_call(self) -> re.Pattern[bytes]:
        return re.compile(rb"\b" + re.escape(self.name.encode()) + rb"\s*[(\[]")

    def matches_node(self, node: Node, pf: ParsedFile) -> bool:
        target = node.child_by_field_name("function")
        if target is None:
            return False
        if self.method:
            return self._matches_method(target, pf)
        if target.type == "identifier":
            return pf.package.path == self.import_path and pf.text(target) == self.name
        if target.type != "selector_expression":
            return False
        operand, field = target.child_by_field_name("operand"), target.child_by_field_name("field")
        if operand is None or field is None or operand.type != "identifier":
            return False
        return pf.text(field) == self.name and pf.imports.get(pf.text(operand)) == self.import_path

    def _matches_method(self, target: Node, pf: ParsedFile) -> bool:
        if target.type != "selector_expression":
            return False
        operand, field = target.child_by_field_name("operand"), target.child_by_field_name("field")
        if operand is None or field is None or pf.text(field) != self.name:
            return False
        if operand.type == "identifier" and pf.text(operand) in pf.imports:
            return False  # pkg.Func(...), not a method call
        if self.receiver is None:
            return True
        known = variable_type(operand, pf)
        if known is None:
            return False
        # A method of T is callable on values of T and *T alike.
        return type_matches(self.receiver, known) or type_matches(self.receiver.lstrip("*"), known.lstrip("*"))


def variable_type(operand: Node, pf: ParsedFile) -> str | None:
    """The canonical type of identifier ``operand``, when the source declares it plainly."""
    if operand.type != "identifier":
        return None
    name = pf.text(operand)
    scopes = [*enclosing(operand, FUNCTION_NODES), pf.root]
    for scope in scopes:
        found = _declared_type(scope, name, operand.start_byte, pf)
        if found is not None:
            return found
    return None


def _declared_type(scope: Node, name: str, before: int, pf: ParsedFile) -> str | None:
    wanted = frozenset({"parameter_declaration", "var_spec", "short_var_declaration"})
    stack = [scope]
    found: str | None = None
    while stack:
        node = stack.pop()
        if node.start_byte >= before:
            continue
        if node.type in wanted:
            found = _type_of(node, name, pf) or found
        # Nested functions have scopes of their own.
        if node is scope or node.type not in FUNCTION_NODES:
            stack.extend(reversed(node.children))
    return found


def _type_of(decl: Node, name: str, pf: ParsedFile) -> str | None:
    if decl.type == "short_var_declaration":
        left, right = decl.child_by_field_name("left"), decl.child_by_field_name("right")
        if left is None or right is None:
            return None
        names = [pf.text(n) for n in left.named_children]
        values = right.named_children
        if name not in names or len(values) != len(names):
            return None
        return _value_type(values[names.index(name)], pf)
    names = [pf.text(n) for n in decl.children_by_field_name("name")]
    if name not in names:
        return None
    type_node = decl.child_by_field_name("type")
    if type_node is not None:
        return canonical(type_node, pf)
    value = decl.child_by_field_name("value")
    if value is not None and len(value.named_children) == len(names):
        return _value_type(value.named_children[names.index(name)], pf)
    return None


def _value_type(value: Node, pf: ParsedFile) -> str | None:
    if value.type == "composite_literal":
        type_node = value.child_by_field_name("type")
        return canonical(type_node, pf) if type_node is not None else None
    if value.type == "unary_expression" and pf.text(value).startswith("&"):
        inner = value.child_by_field_name("operand")
        if inner is not None and inner.type == "composite_literal":
            inner_type = _value_type(inner, pf)
            return "*" + inner_type if inner_type else None
    if value.type == "call_expression":
        fn, args = value.child_by_field_name("function"), value.child_by_field_name("arguments")
        if fn is not None and pf.text(fn) == "new" and args is not None and len(args.named_children) == 1:
            return "*" + canonical(args.named_children[0], pf)
    return None
