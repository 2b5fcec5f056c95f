"""``add-struct-field``: add fields to a struct type.

    [[aspect.advice]]
    add-struct-field = { imports = { trace = "go.opentelemetry.io/otel/trace" }, template = "ogSpan trace.Span" }

Acts on ``struct-definition``. The fields go last, so the offsets of the
existing fields do not change; the struct's lines keep their numbers.
"""

from __future__ import annotations

import attrs

from ..edits import Edit
from ..template import Form
from . import Site, Skip, TemplateAdvice, register


@register
@attrs.frozen
class AddStructField(TemplateAdvice):
    key = "add-struct-field"
    FORM = Form.FIELDS
    ACCEPTS = frozenset({"type_spec"})

    def edits(self, site: Site) -> list[Edit]:
        struct = site.capture.require("type_spec").child_by_field_name("type")
        if struct is None or struct.type != "struct_type":
            raise Skip("not a struct type")
        fields = next((c for c in struct.children if c.type == "field_declaration_list"), None)
        if fields is None:
            raise Skip("the struct has no field list")
        close = fields.end_byte - 1
        added = site.render(self.template)
        return [site.edit(close, close, f"\n{added.text}\n"), *added.edits]
