"""``depends-on``: a filter on what a package imports, directly or not.

    join-point = { all-of = [ { main-package = true }, { depends-on = "net/http" } ] }

Selects the packages whose dependency graph holds the given package (an
import path, or a list of them: any one will do). With ``main-package`` it
picks the programs that use a package, so an integration's runtime is linked
only into programs that need it. A filter selects no node: use it inside
``all-of``, or alone with package-wide advice.
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
class DependsOn(JoinPoint):
    key = "depends-on"

    paths: frozenset[str]

    @classmethod
    def from_toml(cls, value: Any, loc: Loc, parse: ParseFn) -> JoinPoint:
        if not isinstance(value, str | list):
            raise loc.error(f"expected an import path or a list of them, found {value!r}")
        paths = [value] if isinstance(value, str) else list(loc.strings(value))
        if not paths or any(not p or " " in p for p in paths):
            raise loc.error("expected an import path or a list of them")
        return cls(frozenset(paths))

    def may_match_package(self, pkg: Package) -> bool:
        return not self.paths.isdisjoint(pkg.deps) or pkg.path in self.paths

    def matches_file(self, pf: ParsedFile) -> bool:
        return self.may_match_package(pf.package)
