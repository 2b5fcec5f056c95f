"""``main-package``: a filter selecting the main packages (programs).

    join-point = { main-package = true }

``false`` selects every package that is not a main package. Test binaries'
synthesized mains are not included (see ``test-main``).
"""

from __future__ import annotations

from typing import Any

import attrs

from ..model import Package
from ..parse import ParsedFile
from ..tomlkeys import Loc
from . import JoinPoint, ParseFn, register


@register
@attrs.frozen
class MainPackage(JoinPoint):
    key = "main-package"

    want: bool

    @classmethod
    def from_toml(cls, value: Any, loc: Loc, parse: ParseFn) -> JoinPoint:
        return cls(want=loc.boolean(value))

    def may_match_package(self, pkg: Package) -> bool:
        return pkg.is_main == self.want

    def matches_file(self, pf: ParsedFile) -> bool:
        return pf.package.is_main == self.want
