"""``append-arguments``: add arguments at the end of a call.

    [[aspect.advice]]
    append-arguments = { imports = { opt = "example.com/opt" }, template = "opt.Traced()" }

Acts on calls (``call`` join point), typically of variadic option functions.
The template is one or more comma-separated arguments. A call that already
spreads a slice (``f(xs...)``) cannot take more arguments: it is skipped.
"""

from __future__ import annotations

import attrs

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
        if any(a.type == "variadic_argument" for a in existing):
            raise Skip("the call spreads a slice (f(xs...)): no argument can follow")
        close = args.end_byte - 1
        last_token = args.children[-2] if len(args.children) >= 2 else None
        needs_comma = bool(existing) and (last_token is None or last_token.type != ",")
        arguments = site.render(self.template)
        return [site.edit(close, close, (", " if needs_comma else "") + arguments.text), *arguments.edits]
