"""``inject-declarations``: add package-level declarations.

    [[aspect.advice]]
    inject-declarations = { imports = { os = "os" }, template = "var _ = os.Getenv" }

Acts once per package: the declarations go at the end of the first file (in
file-name order) where the join point matched, so they are not declared twice
when the join point matches in several files. Original lines are untouched.
"""

from __future__ import annotations

import attrs

from ..edits import Edit
from ..template import Form
from . import Site, TemplateAdvice, register


@register
@attrs.frozen
class InjectDeclarations(TemplateAdvice):
    key = "inject-declarations"
    FORM = Form.DECLARATIONS
    ACCEPTS = None

    def edits(self, site: Site) -> list[Edit]:
        source = site.capture.pf.source
        lead = "\n" if source.endswith(b"\n") else "\n\n"
        declarations = site.render(self.template)
        return [site.edit(len(source), len(source), f"{lead}{declarations.text}\n"), *declarations.edits]
