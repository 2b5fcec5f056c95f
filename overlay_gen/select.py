"""Stage 3: select candidate files, before any parsing.

A package is a candidate when some aspect's join point may match it (decided
from the graph alone), a file when its bytes may match (a byte search for a
name or a directive). Only candidates are parsed, so generation costs what is
instrumented, not what is in the graph.

A file belongs to the first package (in import-path order) that lists it: a
package and its test variant share their non-test files, and an overlay has one
content per path.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from .aspect import Aspect
from .resolve import Package, PackageGraph, packages_of


@attrs.frozen
class Candidate:
    path: str
    package: Package
    source: bytes
    node_aspects: tuple[int, ...]  # aspects (by index) whose nodes may be in this file
    package_aspects: tuple[int, ...]  # package-wide aspects that may apply here


@attrs.frozen
class PackageCandidates:
    package: Package
    files: tuple[Candidate, ...]


def select(graph: PackageGraph, aspects: Sequence[Aspect]) -> list[PackageCandidates]:
    claimed: set[str] = set()
    selected = []
    for pkg in packages_of(graph):
        owned = [p for p in sorted(pkg.go_files) if p not in claimed]
        claimed.update(owned)
        wanted = [i for i, a in enumerate(aspects) if a.join_point.may_match_package(pkg)]
        if not wanted or not owned:
            continue
        files = []
        for path in owned:
            with open(path, "rb") as f:
                source = f.read()
            may = [i for i in wanted if aspects[i].join_point.may_match_file(source, pkg)]
            node_aspects = tuple(i for i in may if not aspects[i].package_scoped)
            package_aspects = tuple(i for i in may if aspects[i].package_scoped)
            if node_aspects or package_aspects:
                files.append(Candidate(path, pkg, source, node_aspects, package_aspects))
        if files:
            selected.append(PackageCandidates(pkg, tuple(files)))
    return selected
