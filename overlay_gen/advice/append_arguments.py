"""``append-arguments``: add arguments at the end of a call.

    [[aspect.advice]]
    append-arguments = { imports = { opt = "example.com/opt" }, template = "opt.Traced()" }

Acts on calls (``call`` join point), typically of variadic option functions.
The template is one or more comma-separated arguments. A call that spreads
a slice, ``f(opts...)``, gets them appended to a copy of it:
``f(append(opts[:len(opts):len(opts)], extra)...)``, so the caller's slice is
never written to; that needs the slice to be a name (``opts``, ``s.opts``),
which can be read twice: a call that spreads anything else is skipped.
"""

from __future__ import annotations

import attrs
from tree_sitter import Node

from ..edits import Edit
from ..template import Form
from . import Site, Skip, TemplateAdvice, register


@register
@attrs.frozen
class AppendArguments(TemplateAdvice):
    key = "append-arguments"
    FORM = Form.ARGUMENTS
    ACCEPTS = frozenset({"call_expression"})

    def edits(self, site: Site) -> list[Edit]:
        args = site.capture.require("call_expression").child_by_field_name("arguments")
        assert args is not None
        existing = args.named_children
        spread = next((a for a in existing if a.type == "variadic_argument"), None)
        if spread is not None:
            return self._into_spread(site, spread)
        close = args.end_byte - 1
        last_token = args.children[-2] if len(args.children) >= 2 else None
        needs_comma = bool(existing) and (last_token is None or last_token.type != ",")
        arguments = site.render(self.template)
        return [site.edit(close, close, (", " if needs_comma else "") + arguments.text), *arguments.edits]

    def _into_spread(self, site: Site, spread: Node) -> list[Edit]:
        slice_ = spread.named_children[0] if spread.named_children else None
        if slice_ is None or not _is_name(slice_):
            raise Skip("the call spreads a slice that is not a plain name (f(g()...)): no argument can follow")
        name = site.capture.pf.text(slice_)
        arguments = site.render(self.template)
        copied = f"append({name}[:len({name}):len({name})], {arguments.text})"
        return [site.edit(slice_.start_byte, slice_.end_byte, copied), *arguments.edits]


def _is_name(node: Node) -> bool:
    """An identifier, or fields of one (``s.opts``): reading it twice reads the same slice."""
    if node.type == "identifier":
        return True
    if node.type == "selector_expression":
        operand = node.child_by_field_name("operand")
        return operand is not None and _is_name(operand)
    if node.type == "parenthesized_expression" and node.named_children:
        return _is_name(node.named_children[0])
    return False
