"""Function signatures, shared by the function join points.

``signature = { args = ["context.Context", "*net/http.Request"], results = ["error"] }``
matches functions whose parameter and result types are exactly these, in
order, spelled with import paths (see :mod:`overlay_gen.gotypes`). Either list
may be left out to accept anything there.
"""

from __future__ import annotations

from typing import Any

import attrs
from tree_sitter import Node

from ..gotypes import normalize, parameter_types
from ..parse import ParsedFile
from ..tomlkeys import Loc


@attrs.frozen
class Signature:
    args: tuple[str, ...] | None = None
    results: tuple[str, ...] | None = None

    @classmethod
    def from_toml(cls, value: Any, loc: Loc) -> Signature:
        table = loc.table(value, ["args", "results"])
        args = (loc / "args").strings(table["args"]) if "args" in table else None
        results = (loc / "results").strings(table["results"]) if "results" in table else None
        return cls(
            args=tuple(normalize(a) for a in args) if args is not None else None,
            results=tuple(normalize(r) for r in results) if results is not None else None,
        )

    def matches(self, fn: Node, pf: ParsedFile) -> bool:
        args_ok = self.args is None or parameter_types(fn.child_by_field_name("parameters"), pf) == self.args
        return args_ok and (
            self.results is None or parameter_types(fn.child_by_field_name("result"), pf) == self.results
        )
