"""``package``: a filter on the import path of the package.

    join-point = { all-of = [ { package = "example.com/app/..." }, { function-declaration = {} } ] }

The value is a ``go list`` style pattern: ``...`` stands for any string, and
``net/...`` matches ``net`` itself too. A test variant (``p [p.test]``) is
matched under its plain path ``p``. A filter selects no node: use it inside
``all-of``, or alone with advice that acts on a whole package
(``inject-declarations``, ``add-blank-import``, ``add-file``).
"""

from __future__ import annotations

import re
from typing import Any

import attrs

from ..model import Package
from ..parse import ParsedFile
from ..tomlkeys import Loc
from . import JoinPoint, ParseFn, register


@register
@attrs.frozen
class PackagePattern(JoinPoint):
    key = "package"

    pattern: str
    regex: re.Pattern[str] = attrs.field(eq=False, repr=False)

    @classmethod
    def from_toml(cls, value: Any, loc: Loc, parse: ParseFn) -> JoinPoint:
        pattern = loc.string(value)
        if not pattern or " " in pattern:
            raise loc.error(f"{pattern!r} is not an import path pattern")
        return cls(pattern=pattern, regex=compile_pattern(pattern))

    def may_match_package(self, pkg: Package) -> bool:
        return self.regex.fullmatch(pkg.path) is not None

    def matches_file(self, pf: ParsedFile) -> bool:
        return self.may_match_package(pf.package)


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Go's pattern semantics: ``...`` is ``.*``, and a trailing ``/...`` is optional."""
    regex = re.escape(pattern).replace(r"\.\.\.", ".*")
    if pattern.endswith("/..."):
        regex = regex[: -len(r"/.*")] + r"(/.*)?"
    return re.compile(regex)
