"""What a join point captured: the values of template placeholders.

Every placeholder is one entry of ``PROVIDERS``, computed from the matched
node and its file. ``function.*`` names the matched function, or the function
that encloses the matched node (a call, a literal); a function literal's
``function.name`` is the name of the declaration it stands in.

| placeholder            | value                                                    |
|------------------------|----------------------------------------------------------|
| function.name          | ``Serve``                                                |
| function.qualified-name| ``Server.Serve`` for a method, ``Serve`` for a function, |
|                        | ``Serve.func1`` for a literal (Go's name for closures)   |
| function.receiver      | receiver variable (named ``_og_recv0`` if it had none)   |
| function.receiver-type | receiver type as written: ``*Server``                    |
| function.args          | parameter names, comma-separated (unnamed ones named)    |
| function.last-arg      | the name of the last parameter (a variadic one, say)     |
| function.line          | line of the ``func`` keyword                             |
| package.name           | ``http``                                                 |
| package.path           | ``net/http``                                             |
| file.name              | base name of the file: ``server.go``                     |
| expr                   | source text of the matched node                          |
| call.function          | a matched call's target: ``http.Get``                    |
| call.function-name     | the called function's name: ``Get``                      |
| call.args              | a matched call's arguments, without parentheses          |
| type.name              | a matched struct definition's type name                  |
| directive.args         | what follows the directive the join point selects by:    |
|                        | ``span.name:x k:v``                                      |
| function.parent-kind   | ``Context``, ``Request`` or ``Root``: where a span's     |
|                        | parent is, a ``context.Context`` parameter, else a       |
|                        | ``*net/http.Request`` parameter, else nowhere            |
| function.parent-ref    | ``&ctx``, ``&r`` (that parameter's address) or ``nil``   |
| function.result-refs   | ``&resp, &err``: the addresses of all results (named if  |
|                        | they were not)                                           |
| function.error-ref     | ``&err``, the address of the last result when it is an   |
|                        | ``error`` (results are named if they were not), or ``nil``|
| aspect.id              | the id of the aspect                                     |

A value that does not exist for the match (no enclosing function, not a call)
makes the advice skip that join point, with the reason.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import attrs
from tree_sitter import Node

from .edits import Edit
from .gotypes import canonical, parameter_types
from .parse import FUNCTION_NODES, ParsedFile, enclosing


class Missing(Exception):
    """The placeholder has no value at this join point; the advice skips it."""


@attrs.define
class Capture:
    """A matched node (None for a whole package) and the edits naming it needs."""

    pf: ParsedFile
    node: Node | None
    aspect: str
    directives: frozenset[str] = frozenset()  # the directives the join point selects by
    extra_edits: list[Edit] = attrs.field(factory=list)

    @property
    def function(self) -> Node:
        if self.node is not None:
            for fn in enclosing(self.node, FUNCTION_NODES, include_self=True):
                return fn
        raise Missing("no enclosing function")

    @property
    def declaration(self) -> Node:
        if self.node is not None:
            for fn in enclosing(self.node, ("function_declaration", "method_declaration"), include_self=True):
                return fn
        raise Missing("no enclosing function declaration")

    def require(self, node_type: str) -> Node:
        if self.node is None or self.node.type != node_type:
            raise Missing(f"the join point did not select a {node_type.replace('_', ' ')}")
        return self.node

    def value(self, name: str) -> str:
        return PROVIDERS[name](self)

    # --- naming what has no name -------------------------------------------

    def names(self, params: Node | None, prefix: str) -> list[str]:
        """Parameter names of ``params``, adding names where there are none or ``_``."""
        if params is None:
            return []
        decls = [d for d in params.named_children if d.type.endswith("parameter_declaration")]
        unnamed = any(not d.children_by_field_name("name") for d in decls)
        names: list[str] = []
        for decl in decls:
            found = decl.children_by_field_name("name")
            if unnamed:
                name = f"_og_{prefix}{len(names)}"
                self.extra_edits.append(Edit(decl.start_byte, decl.start_byte, name + " ", self.aspect, -1))
                names.append(name)
                continue
            for ident in found:
                name = self.pf.text(ident)
                if name == "_":
                    name = f"_og_{prefix}{len(names)}"
                    self.extra_edits.append(Edit(ident.start_byte, ident.end_byte, name, self.aspect))
                names.append(name)
        return names


def _receiver(c: Capture) -> str:
    names = c.names(c.function.child_by_field_name("receiver"), "recv")
    if not names:
        raise Missing("not a method")
    return names[0]


def _receiver_type(c: Capture) -> str:
    receiver = c.function.child_by_field_name("receiver")
    for decl in receiver.named_children if receiver is not None else []:
        type_node = decl.child_by_field_name("type")
        if type_node is not None:
            return c.pf.text(type_node)
    raise Missing("not a method")


def _qualified_name(c: Capture) -> str:
    return _function_name(c, c.function)


def _function_name(c: Capture, fn: Node) -> str:
    """``Func``, ``Type.Method``, and for a function literal the name Go gives
    it in stack traces: ``Func.func1``, and ``Func.func1.1`` inside that."""
    if fn.type == "func_literal":
        outer = next(enclosing(fn, FUNCTION_NODES), None)
        if outer is None:
            raise Missing("a function literal outside any function")
        siblings = [
            n for n in c.pf.nodes(frozenset({"func_literal"})) if next(enclosing(n, FUNCTION_NODES), None) == outer
        ]
        index = 1 + [s.start_byte for s in siblings].index(fn.start_byte)
        return f"{_function_name(c, outer)}.{'func' if outer.type != 'func_literal' else ''}{index}"
    return _declaration_name(c, fn)


def _declaration_name(c: Capture, decl: Node) -> str:
    name = c.pf.text(decl.child_by_field_name("name"))  # type: ignore[arg-type]
    if decl.type != "method_declaration":
        return name
    receiver = _receiver_type(attrs.evolve(c, node=decl)).lstrip("*")
    return f"{receiver.split('[', 1)[0]}.{name}"


def _call_part(c: Capture, field: str) -> str:
    part = c.require("call_expression").child_by_field_name(field)
    assert part is not None
    text = c.pf.text(part)
    return text[1:-1].strip().rstrip(",") if field == "arguments" else text


def _call_name(c: Capture) -> str:
    target = c.require("call_expression").child_by_field_name("function")
    assert target is not None
    field = target.child_by_field_name("field") if target.type == "selector_expression" else target
    if field is None or field.type not in ("identifier", "field_identifier"):
        raise Missing("the call's target has no name")
    return c.pf.text(field)


def _type_name(c: Capture) -> str:
    name = c.require("type_spec").child_by_field_name("name")
    assert name is not None
    return c.pf.text(name)


def _directive_args(c: Capture) -> str:
    for text in c.pf.directives(c.function):
        head, _, rest = text.partition(" ")
        if not c.directives or head in c.directives:
            return rest.strip()
    raise Missing("no directive above the function")


def _parameters(c: Capture) -> list[tuple[str, str]]:
    """(name, canonical type) of each parameter of the function."""
    params = c.function.child_by_field_name("parameters")
    return list(zip(c.names(params, "arg"), parameter_types(params, c.pf), strict=True))


def _result_refs(c: Capture) -> str:
    """``&a, &b``: the addresses of every result, naming them if they have no names."""
    fn = c.function
    result = fn.child_by_field_name("result")
    if result is None:
        raise Missing("the function has no results")
    if result.type != "parameter_list":
        c.extra_edits.append(Edit(result.start_byte, result.end_byte, f"(_og_res0 {c.pf.text(result)})", c.aspect))
        return "&_og_res0"
    return ", ".join(f"&{name}" for name in c.names(result, "res"))


def _last_arg(c: Capture) -> str:
    params = _parameters(c)
    if not params:
        raise Missing("the function has no parameters")
    return params[-1][0]


def _parent(c: Capture) -> tuple[str, str]:
    """Where a span's parent comes from: a context.Context parameter, else a
    *http.Request parameter, else nowhere (a root span)."""
    params = _parameters(c)
    for kind, wanted in (("Context", "context.Context"), ("Request", "*net/http.Request")):
        for name, type_ in params:
            if type_ == wanted:
                return kind, f"&{name}"
    return "Root", "nil"


def _error_ref(c: Capture) -> str:
    """``&name`` of the function's last result when it is an error (naming the
    results if they have no names), else ``nil``."""
    fn = c.function
    result = fn.child_by_field_name("result")
    if result is None:
        return "nil"
    if result.type != "parameter_list":  # func f() error: give it a name
        if canonical(result, c.pf) != "error":
            return "nil"
        text = c.pf.text(result)
        c.extra_edits.append(Edit(result.start_byte, result.end_byte, f"(_og_res0 {text})", c.aspect))
        return "&_og_res0"
    types = parameter_types(result, c.pf)
    if not types or types[-1] != "error":
        return "nil"
    return "&" + c.names(result, "res")[-1]


def _expr(c: Capture) -> str:
    if c.node is None:
        raise Missing("the join point selected a package, not an expression")
    return c.pf.text(c.node)


PROVIDERS: dict[str, Callable[[Capture], str]] = {
    "function.name": lambda c: c.pf.text(c.declaration.child_by_field_name("name")),  # type: ignore[arg-type]
    "function.qualified-name": _qualified_name,
    "function.receiver": _receiver,
    "function.receiver-type": _receiver_type,
    "function.args": lambda c: ", ".join(c.names(c.function.child_by_field_name("parameters"), "arg")),
    "function.line": lambda c: str(c.function.start_point[0] + 1),
    "function.last-arg": _last_arg,
    "package.name": lambda c: c.pf.package.name,
    "package.path": lambda c: c.pf.package.path,
    "file.name": lambda c: os.path.basename(c.pf.path),
    "expr": _expr,
    "call.function": lambda c: _call_part(c, "function"),
    "call.function-name": _call_name,
    "call.args": lambda c: _call_part(c, "arguments"),
    "type.name": _type_name,
    "directive.args": _directive_args,
    "function.parent-kind": lambda c: _parent(c)[0],
    "function.parent-ref": lambda c: _parent(c)[1],
    "function.error-ref": _error_ref,
    "function.result-refs": _result_refs,
    "aspect.id": lambda c: c.aspect,
}

KNOWN = frozenset(PROVIDERS)


def where(pf: ParsedFile, node: Node | None) -> str:
    """The function a node is in, for reports: ``Type.Method``, or the package."""
    if node is None:
        return f"(package {pf.package.path})"
    try:
        return _qualified_name(Capture(pf, node, ""))
    except Missing:
        return ""


def values(capture: Capture, names: Any) -> dict[str, str]:
    return {name: capture.value(name) for name in sorted(names)}
