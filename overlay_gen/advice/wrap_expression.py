"""``wrap-expression``: put the matched expression inside a template.

    [[aspect.advice]]
    wrap-expression = { imports = { trace = "example.com/trace" }, template = "trace.Wrap({{expr}})" }

Acts on what ``call`` and ``struct-literal`` select. The template holds
``{{expr}}`` exactly once; the code before and after it are inserted around
the expression, so edits inside it (``append-arguments``, another wrap) still
apply. When several aspects wrap one expression, the first aspect's template
is innermost.
"""

from __future__ import annotations

from typing import Any

import attrs

from ..edits import Edit
from ..template import Form, Placeholder
from ..tomlkeys import Loc
from . import Advice, Site, TemplateAdvice, read_template, register


@register
@attrs.frozen
class WrapExpression(TemplateAdvice):
    key = "wrap-expression"
    FORM = Form.EXPRESSION
    ACCEPTS = frozenset({"call_expression", "composite_literal", "unary_expression"})

    @classmethod
    def from_toml(cls, value: Any, loc: Loc) -> Advice:
        template = read_template(value, loc, Form.EXPRESSION)
        count = sum(1 for s in template.segments if s == Placeholder("expr"))
        if count != 1:
            raise (loc / "template").error(f"must hold {{{{expr}}}} exactly once, found {count}")
        return cls(template)

    def edits(self, site: Site) -> list[Edit]:
        node = site.capture.node
        assert node is not None
        marker = "\x00expr\x00"
        # Render with the expression replaced by a marker, then split around it.
        wrapped = site.render(self.template, overrides={"expr": marker})
        before, after = wrapped.text.split(marker)
        return [
            site.edit(node.start_byte, node.start_byte, before, -site.order),
            site.edit(node.end_byte, node.end_byte, after, site.order),
            *wrapped.edits,
        ]
