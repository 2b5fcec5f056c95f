"""``prepend-statements``: statements at the start of a function's body.

    [[aspect.advice]]
    prepend-statements = { imports = { fmt = "fmt" }, template = 'fmt.Println("enter {{function.name}}")' }

Acts on function declarations, methods and function literals. The statements
run before the original body; the body's lines keep their numbers. Several
aspects prepending to one function run in aspect order.
"""

from __future__ import annotations

import attrs

from ..edits import Edit
from ..parse import FUNCTION_NODES
from ..template import Form
from . import Site, Skip, TemplateAdvice, register


@register
@attrs.frozen
class PrependStatements(TemplateAdvice):
    key = "prepend-statements"
    FORM = Form.STATEMENTS
    ACCEPTS = FUNCTION_NODES

    def edits(self, site: Site) -> list[Edit]:
        fn = site.capture.function
        body = fn.child_by_field_name("body")
        if body is None:
            raise Skip("the function has no body")
        code = site.render(self.template)
        return [site.edit(body.start_byte + 1, body.start_byte + 1, f"\n{code.text}\n"), *code.edits]
