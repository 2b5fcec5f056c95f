"""``go-version``: a filter on the release of the Go toolchain that builds.

    join-point = { all-of = [ { go-version = ">=1.27" }, { package = "net/http" } ] }

The value is a comparison (``>=``, ``>``, ``<=``, ``<``, ``==``) and a
release, ``1.27`` or ``1.27.3``, or several joined by commas
(``>=1.26, <1.28``), checked against ``go env GOVERSION``. It is
how an aspect says where two Go releases' sources differ: one aspect per
side, each naming the releases it is written for. A filter selects no node:
use it inside ``all-of``.
"""

from __future__ import annotations

from typing import Any

import attrs

from ..model import Constraint
from ..parse import ParsedFile
from ..tomlkeys import Loc
from . import JoinPoint, ParseFn, register


@register
@attrs.frozen
class GoVersion(JoinPoint):
    key = "go-version"

    releases: Constraint

    @classmethod
    def from_toml(cls, value: Any, loc: Loc, parse: ParseFn) -> JoinPoint:
        text = loc.string(value)
        try:
            return cls(Constraint.parse(text, go=True))
        except ValueError:
            raise loc.error(f"{text!r} is not a version comparison", hint='write it as ">=1.27"') from None

    def matches_file(self, pf: ParsedFile) -> bool:
        return self.releases.allows(pf.go_version)
