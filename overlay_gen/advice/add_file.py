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
from typing import Any

import attrs

from ..edits import Edit
from ..template import Form, Template
from ..tomlkeys import Loc
from . import Advice, ImportAllocator, NewFile, Site, read_template, register


@register
@attrs.frozen
class AddFile(Advice):
    key = "add-file"
    ACCEPTS = None

    template: Template

    @classmethod
    def from_toml(cls, value: Any, loc: Loc) -> Advice:
        return cls(read_template(value, loc, Form.DECLARATIONS)[1])

    def edits(self, site: Site) -> list[Edit]:
        allocator = ImportAllocator(b"")
        code = site.render(self.template, imports=allocator)
        name = "og." + re.sub(r"[^A-Za-z0-9_.-]+", "-", site.aspect) + ".go"
        site.new_files.append(NewFile(name, code, tuple(allocator.added), site.aspect))
        return []
