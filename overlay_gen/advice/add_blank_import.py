"""``add-blank-import``: make a package import another for its side effects.

    [[aspect.advice]]
    add-blank-import = { path = "example.com/app/telemetry" }

Acts once per package, on the first file (in file-name order) where the join
point matched; typically with ``main-package = true``, so that a package with
``init`` functions or linkname targets is linked into every program.
"""

from __future__ import annotations

from typing import Any

import attrs

from ..edits import Edit
from ..tomlkeys import Loc
from . import Advice, Site, register


@register
@attrs.frozen
class AddBlankImport(Advice):
    key = "add-blank-import"
    ACCEPTS = None

    path: str

    @classmethod
    def from_toml(cls, value: Any, loc: Loc) -> Advice:
        table = loc.table(value, ["path"], required=["path"])
        path = (loc / "path").string(table["path"])
        if not path or " " in path or path.startswith("/"):
            raise (loc / "path").error(f"{path!r} is not an import path")
        return cls(path)

    def edits(self, site: Site) -> list[Edit]:
        site.imports.blank(self.path)
        return []

    def import_paths(self) -> frozenset[str]:
        return frozenset({self.path})
