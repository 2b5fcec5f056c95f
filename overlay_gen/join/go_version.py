"""``go-version``: a filter on the release of the Go toolchain that builds.

    join-point = { all-of = [ { go-version = ">=1.27" }, { package = "net/http" } ] }

The value is a comparison (``>=``, ``>``, ``<=``, ``<``, ``==``) and a
release, ``1.27`` or ``1.27.3``, checked against ``go env GOVERSION``. It is
how an aspect says where two Go releases' sources differ: one aspect per
side, each naming the releases it is written for. A filter selects no node:
use it inside ``all-of``.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from typing import Any

import attrs

from ..parse import ParsedFile
from ..tomlkeys import Loc
from . import JoinPoint, ParseFn, register

_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
}
_SPEC = re.compile(r"\s*(>=|<=|==|>|<)\s*(\d+(?:\.\d+){1,2})\s*")


def release(version: str) -> tuple[int, ...]:
    """``go1.27.3`` (or ``devel go1.28-abc``) as (1, 27, 3); missing parts are 0."""
    match = re.search(r"go(\d+(?:\.\d+)*)", version) or re.search(r"(\d+(?:\.\d+)*)", version)
    if match is None:
        return (0, 0, 0)
    parts = [int(p) for p in match.group(1).split(".")]
    return tuple([*parts, 0, 0, 0][:3])


@register
@attrs.frozen
class GoVersion(JoinPoint):
    key = "go-version"

    spec: str
    compare: Callable[[Any, Any], bool] = attrs.field(eq=False, repr=False)
    wanted: tuple[int, ...] = ()

    @classmethod
    def from_toml(cls, value: Any, loc: Loc, parse: ParseFn) -> JoinPoint:
        text = loc.string(value)
        match = _SPEC.fullmatch(text)
        if match is None:
            raise loc.error(f"{text!r} is not a version comparison", hint='write it as ">=1.27"')
        return cls(text, _OPERATORS[match.group(1)], release("go" + match.group(2)))

    def matches_file(self, pf: ParsedFile) -> bool:
        return self.compare(release(pf.go_version), self.wanted)
