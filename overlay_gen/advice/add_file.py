"""``add-file``: add a new Go file to a package.

    [[aspect.advice]]
    [aspect.advice.add-file]
    imports = { os = "os" }
    template = '''
    func init() { _ = os.Args }
    '''

Acts once per package where the join point matched. The file is named
``og.<aspect id>.go`` (the first dot keeps build-constraint suffixes such as
``_linux`` out of its name) and holds the package clause, the imports and the
template's declarations.
"""

from __future__ import annotations

import re

import attrs

from ..edits import Edit
from ..template import Form
from . import ImportAllocator, NewFile, Site, TemplateAdvice, register


@register
@attrs.frozen
class AddFile(TemplateAdvice):
    key = "add-file"
    FORM = Form.DECLARATIONS
    ACCEPTS = None

    def edits(self, site: Site) -> list[Edit]:
        allocator = ImportAllocator(b"")
        code = site.render(self.template, imports=allocator)
        name = "og." + re.sub(r"[^A-Za-z0-9_.-]+", "-", site.aspect) + ".go"
        site.new_files.append(NewFile(name, code.text, tuple(allocator.added), site.aspect))
        return list(code.edits)
