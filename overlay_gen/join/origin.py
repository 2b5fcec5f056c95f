"""``origin``: a filter on where a package comes from.

    join-point = { all-of = [ { origin = ["main-module", "dependency"] }, { call = { function = "os.Exit" } } ] }

The value is one of ``"main-module"`` (the module being built, vendored
packages included as dependencies), ``"dependency"`` (any other module) and
``"standard-library"``, or a list of them. A filter selects no node: use it
inside ``all-of``.
"""

from __future__ import annotations

from typing import Any

import attrs

from ..model import Package
from ..parse import ParsedFile
from ..tomlkeys import Loc, suggest
from . import JoinPoint, ParseFn, register

ORIGINS = {"main-module": "main", "dependency": "dependency", "standard-library": "std"}


@register
@attrs.frozen
class Origin(JoinPoint):
    key = "origin"

    origins: frozenset[str]  # Package.origin values

    @classmethod
    def from_toml(cls, value: Any, loc: Loc, parse: ParseFn) -> JoinPoint:
        names = [value] if isinstance(value, str) else list(loc.strings(value))
        if not names:
            raise loc.error("needs at least one origin")
        for index, name in enumerate(names):
            if name not in ORIGINS:
                here = loc if isinstance(value, str) else loc / index
                raise here.error(
                    f"{name!r} is not an origin", hint=suggest(name, ORIGINS) or f"known: {', '.join(ORIGINS)}"
                )
        return cls(frozenset(ORIGINS[n] for n in names))

    def may_match_package(self, pkg: Package) -> bool:
        return pkg.origin in self.origins

    def matches_file(self, pf: ParsedFile) -> bool:
        return pf.package.origin in self.origins
