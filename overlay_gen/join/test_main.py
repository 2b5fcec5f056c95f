"""``test-main``: a filter selecting the files that only test binaries compile.

    join-point = { all-of = [ { test-main = true }, { function-declaration = { name = "Test*" } } ] }

``true`` selects the ``_test.go`` files of the packages ``go test`` builds
(resolved with ``--tests``); ``false`` selects all other files. An overlay
replaces a file for every build, so only files that exist solely in test
binaries can be told apart: a package's ordinary files are the same in its
test binary and in its program.
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
class TestMain(JoinPoint):
    key = "test-main"

    want: bool

    @classmethod
    def from_toml(cls, value: Any, loc: Loc, parse: ParseFn) -> JoinPoint:
        return cls(want=loc.boolean(value))

    def may_match_package(self, pkg: Package) -> bool:
        return not self.want or pkg.is_test_variant

    def matches_file(self, pf: ParsedFile) -> bool:
        return (pf.path in pf.package.test_files) == self.want
