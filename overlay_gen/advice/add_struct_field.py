"""``add-struct-field``: add fields to a struct type.

    [[aspect.advice]]
    add-struct-field = { imports = { trace = "go.opentelemetry.io/otel/trace" }, template = "ogSpan trace.Span" }

Acts on ``struct-definition``. The fields go last, so the offsets of the
existing fields do not change; the struct's lines keep their numbers.
"""

from __future__ import annotations

from typing import Any

import attrs

from ..edits import Edit
from ..template import Form, Template
from ..tomlkeys import Loc
from . import Advice, Site, Skip, read_template, register


@register
@attrs.frozen
class AddStructField(Advice):
    key = "add-struct-field"
    ACCEPTS = frozenset({"type_spec"})

    template: Template

    @classmethod
    def from_toml(cls, value: Any, loc: Loc) -> Advice:
        return cls(read_template(value, loc, Form.FIELDS)[1])

    def edits(self, site: Site) -> list[Edit]:
        struct = site.capture.require("type_spec").child_by_field_name("type")
        if struct is None or struct.type != "struct_type":
            raise Skip("not a struct type")
        fields = next((c for c in struct.children if c.type == "field_declaration_list"), None)
        if fields is None:
            raise Skip("the struct has no field list")
        close = fields.end_byte - 1
        return [site.edit(close, close, f"\n{site.render(self.template)}\n")]
