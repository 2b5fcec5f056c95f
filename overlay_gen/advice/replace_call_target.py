"""``replace-call-target``: call another function with the same arguments.

    [[aspect.advice]]
    replace-call-target = { imports = { tr = "example.com/traced" }, template = "tr.Get" }

Acts on calls (``call`` join point). The template is an expression; the
original target is available as ``{{call.function}}``, so a template such as
``tr.Wrap({{call.function}})`` keeps it.
"""

from __future__ import annotations

import attrs

from ..edits import Edit
from ..template import Form
from . import Site, TemplateAdvice, register


@register
@attrs.frozen
class ReplaceCallTarget(TemplateAdvice):
    key = "replace-call-target"
    FORM = Form.EXPRESSION
    ACCEPTS = frozenset({"call_expression"})

    def edits(self, site: Site) -> list[Edit]:
        target = site.capture.require("call_expression").child_by_field_name("function")
        assert target is not None
        replacement = site.render(self.template)
        return [site.edit(target.start_byte, target.end_byte, replacement.text), *replacement.edits]
