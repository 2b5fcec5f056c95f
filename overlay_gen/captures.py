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
| function.arg:TYPE      | the name of the first parameter of type ``TYPE``, spelled |
|                        | with its import path: ``{{function.arg:context.Context}}``|
| function.result-refs   | ``&resp, &err``: the addresses of all results (named if  |
|                        | they were not)                                           |
| function.error-ref     | ``&err``, the address of the last result when it is an   |
|                        | ``error`` (results are named if they were not), or ``nil``|
| aspect.id              | the id of the aspect                                     |

A value that does not exist for the match (no enclosing function, not a call)
makes the advice skip that join point, with the reason. Reading a value
changes nothing: a value that needs the source changed to exist (a name for
an unnamed parameter or result) comes with the edits that make it so, and the
advice returns them with its own.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

import attrs
from tree_sitter import Node

from .edits import Edit
from .gotypes import canonical, normalize, parameter_types
from .parse import FUNCTION_NODES, ParsedFile, enclosing


class Missing(Exception):
    """The placeholder has no value at this join point; the advice skips it."""


@attrs.frozen
class Value:
    """A placeholder's text, and the edits the source needs for it to hold."""

    text: str
    edits: tuple[Edit, ...] = ()


@attrs.frozen
class Capture:
    """A matched node (None for a whole package), read by the placeholders."""

    pf: ParsedFile
    node: Node | None
    aspect: str
    directives: frozenset[str] = frozenset()  # the directives the join point selects by

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

    def value(self, name: str, argument: str | None = None) -> Value:
        provider = PROVIDERS[name]
        return provider(self, argument) if name in TAKES_ARGUMENT else provider(self)

    # --- naming what has no name -------------------------------------------

    def names(self, params: Node | None, prefix: str) -> tuple[list[str], list[Edit]]:
        """Parameter names of ``params``, and the edits that name those that
        have none or are ``_`` (``_og_<prefix><index>``)."""
        if params is None:
            return [], []
        decls = [d for d in params.named_children if d.type.endswith("parameter_declaration")]
        unnamed = any(not d.children_by_field_name("name") for d in decls)
        names: list[str] = []
        edits: list[Edit] = []
        for decl in decls:
            found = decl.children_by_field_name("name")
            if unnamed:
                name = f"_og_{prefix}{len(names)}"
                edits.append(Edit(decl.start_byte, decl.start_byte, name + " ", self.aspect, -1))
                names.append(name)
                continue
            for ident in found:
                name = self.pf.text(ident)
                if name == "_":
                    name = f"_og_{prefix}{len(names)}"
                    edits.append(Edit(ident.start_byte, ident.end_byte, name, self.aspect))
                names.append(name)
        return names, edits


def _text(text: str) -> Value:
    return Value(text)


def _joined(names: Iterable[str], edits: Iterable[Edit], sep: str = ", ") -> Value:
    return Value(sep.join(names), tuple(edits))


def _receiver(c: Capture) -> Value:
    names, edits = c.names(c.function.child_by_field_name("receiver"), "recv")
    if not names:
        raise Missing("not a method")
    return Value(names[0], tuple(edits))


def _receiver_type(c: Capture) -> str:
    receiver = c.function.child_by_field_name("receiver")
    for decl in receiver.named_children if receiver is not None else []:
        type_node = decl.child_by_field_name("type")
        if type_node is not None:
            return c.pf.text(type_node)
    raise Missing("not a method")


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


def _parameters(c: Capture) -> tuple[list[tuple[str, str]], list[Edit]]:
    """(name, canonical type) of each parameter of the function, and the naming edits."""
    params = c.function.child_by_field_name("parameters")
    names, edits = c.names(params, "arg")
    return list(zip(names, parameter_types(params, c.pf), strict=True)), edits


def _args(c: Capture) -> Value:
    names, edits = c.names(c.function.child_by_field_name("parameters"), "arg")
    return _joined(names, edits)


def _last_arg(c: Capture) -> Value:
    params, edits = _parameters(c)
    if not params:
        raise Missing("the function has no parameters")
    return Value(params[-1][0], tuple(edits))


def _arg_of_type(c: Capture, wanted: str | None) -> Value:
    """The first parameter of type ``wanted`` (spelled with import paths)."""
    assert wanted is not None
    params, edits = _parameters(c)
    for name, type_ in params:
        if type_ == normalize(wanted):
            return Value(name, tuple(edits))
    raise Missing(f"the function has no parameter of type {wanted}")


def _result_refs(c: Capture) -> Value:
    """``&a, &b``: the addresses of every result, naming them if they have no names."""
    result = c.function.child_by_field_name("result")
    if result is None:
        raise Missing("the function has no results")
    if result.type != "parameter_list":
        edit = Edit(result.start_byte, result.end_byte, f"(_og_res0 {c.pf.text(result)})", c.aspect)
        return Value("&_og_res0", (edit,))
    names, edits = c.names(result, "res")
    return _joined((f"&{name}" for name in names), edits)


def _error_ref(c: Capture) -> Value:
    """``&name`` of the function's last result when it is an error (naming the
    results if they have no names), else ``nil``."""
    result = c.function.child_by_field_name("result")
    if result is None:
        return Value("nil")
    if result.type != "parameter_list":  # func f() error: give it a name
        if canonical(result, c.pf) != "error":
            return Value("nil")
        edit = Edit(result.start_byte, result.end_byte, f"(_og_res0 {c.pf.text(result)})", c.aspect)
        return Value("&_og_res0", (edit,))
    types = parameter_types(result, c.pf)
    if not types or types[-1] != "error":
        return Value("nil")
    names, edits = c.names(result, "res")
    return Value("&" + names[-1], tuple(edits))


def _expr(c: Capture) -> str:
    if c.node is None:
        raise Missing("the join point selected a package, not an expression")
    return c.pf.text(c.node)


def _plain(read: Callable[[Capture], str]) -> Callable[[Capture], Value]:
    return lambda c: Value(read(c))


PROVIDERS: dict[str, Callable[..., Value]] = {
    "function.name": _plain(lambda c: c.pf.text(c.declaration.child_by_field_name("name"))),  # type: ignore[arg-type]
    "function.qualified-name": _plain(lambda c: _function_name(c, c.function)),
    "function.receiver": _receiver,
    "function.receiver-type": _plain(_receiver_type),
    "function.args": _args,
    "function.line": _plain(lambda c: str(c.function.start_point[0] + 1)),
    "function.last-arg": _last_arg,
    "function.arg": _arg_of_type,
    "package.name": _plain(lambda c: c.pf.package.name),
    "package.path": _plain(lambda c: c.pf.package.path),
    "file.name": _plain(lambda c: os.path.basename(c.pf.path)),
    "expr": _plain(_expr),
    "call.function": _plain(lambda c: _call_part(c, "function")),
    "call.function-name": _plain(_call_name),
    "call.args": _plain(lambda c: _call_part(c, "arguments")),
    "type.name": _plain(_type_name),
    "directive.args": _plain(_directive_args),
    "function.error-ref": _error_ref,
    "function.result-refs": _result_refs,
    "aspect.id": _plain(lambda c: c.aspect),
}

KNOWN = frozenset(PROVIDERS)
TAKES_ARGUMENT = frozenset({"function.arg"})  # {{function.arg:context.Context}}


def where(pf: ParsedFile, node: Node | None) -> str:
    """The function a node is in, for reports: ``Type.Method``, or the package."""
    if node is None:
        return f"(package {pf.package.path})"
    try:
        return _function_name(Capture(pf, node, ""), Capture(pf, node, "").function)
    except Missing:
        return ""
