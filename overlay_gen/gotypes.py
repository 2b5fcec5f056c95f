"""Go types as text, in one canonical spelling shared by aspects and source.

Aspects name types with full import paths (``*net/http.Request``,
``context.Context``, ``[]string``). Source names them through the file's
imports (``*h.Request``) or, inside the defining package, unqualified
(``*Request``). :func:`canonical` turns a type node into the aspect spelling and
:func:`normalize` removes the white space that may differ, so the two compare
with ``==``. This is syntax, not type checking: aliases and type parameters are
not resolved.
"""

from __future__ import annotations

import re

from tree_sitter import Node

from .parse import ParsedFile

PREDECLARED = frozenset(
    [
        "any",
        "bool",
        "byte",
        "comparable",
        "complex64",
        "complex128",
        "error",
        "float32",
        "float64",
        "int",
        "int8",
        "int16",
        "int32",
        "int64",
        "rune",
        "string",
        "uint",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "uintptr",
    ]
)


def normalize(text: str) -> str:
    return re.sub(r"\s+", "", text)


def canonical(node: Node, pf: ParsedFile) -> str:
    """``node`` (a type) spelled with import paths, white space removed."""
    out: list[str] = []
    _emit(node, pf, out)
    return normalize("".join(out))


def _emit(node: Node, pf: ParsedFile, out: list[str]) -> None:
    if node.type == "qualified_type":
        package = node.child_by_field_name("package")
        name = node.child_by_field_name("name")
        if package is not None and name is not None:
            local = pf.text(package)
            out.append(f"{pf.imports.get(local, local)}.{pf.text(name)}")
            return
    if node.type == "type_identifier" and node.parent is not None and node.parent.type != "qualified_type":
        ident = pf.text(node)
        out.append(ident if ident in PREDECLARED else f"{pf.package.path}.{ident}")
        return
    if node.type == "generic_type":
        # Type arguments do not take part in matching: *List[T] is *List.
        base = node.child_by_field_name("type")
        if base is not None:
            _emit(base, pf, out)
            return
    if node.child_count == 0:
        out.append(pf.text(node) + " ")
        return
    for child in node.children:
        _emit(child, pf, out)


def split_qualified(spec: str) -> tuple[str, str]:
    """``"net/http.Client"`` -> (``"net/http"``, ``"Client"``); ``"T"`` -> (``""``, ``"T"``)."""
    spec = spec.lstrip("*")
    slash = spec.rfind("/")
    dot = spec.find(".", slash + 1)
    if dot < 0:
        return "", spec
    return spec[:dot], spec[dot + 1 :]


def parameter_types(params: Node | None, pf: ParsedFile) -> tuple[str, ...]:
    """One canonical type per parameter (``a, b int`` gives two ``int``)."""
    if params is None:
        return ()
    if params.type != "parameter_list":  # a single unnamed result: func() error
        return (canonical(params, pf),)
    types: list[str] = []
    for decl in params.named_children:
        if decl.type not in ("parameter_declaration", "variadic_parameter_declaration"):
            continue
        type_node = decl.child_by_field_name("type")
        if type_node is None:
            continue
        text = canonical(type_node, pf)
        if decl.type == "variadic_parameter_declaration":
            text = "..." + text
        names = decl.children_by_field_name("name")
        types.extend([text] * max(1, len(names)))
    return tuple(types)
