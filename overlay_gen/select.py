"""Stage 4, select: candidate packages and files, before any parsing.

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
from typing import TYPE_CHECKING

import attrs

from .aspect import Aspect
from .cache import Cache, Key
from .fileindex import FileIndex
from .model import Package
from .resolve import Resolution

if TYPE_CHECKING:
    from .cache import Store


@attrs.frozen
class Candidate:
    path: str
    package: Package
    digest: str  # sha256 of its bytes (read them with the run's FileIndex)
    node_aspects: tuple[int, ...]  # aspects (by index) whose nodes may be in this file
    package_aspects: tuple[int, ...]  # package-wide aspects that may apply here


@attrs.frozen
class PackageCandidates:
    package: Package
    key: str  # package_key(package)
    files: tuple[Candidate, ...]


def select(
    resolution: Resolution,
    aspects: Sequence[Aspect],
    index: FileIndex,
    cache: Store | None = None,
    aspect_digest: str = "",
) -> tuple[PackageCandidates, ...]:
    """The candidate files of each package. The answer for a package is cached
    under its files' digests, the package record and the aspect set, so an
    unchanged package is not read again."""
    cache = cache or Cache(None)
    claimed: set[str] = set()
    selected = []
    for pkg in resolution.packages:
        owned = [p for p in sorted(pkg.go_files) if p not in claimed]
        claimed.update(owned)
        wanted = [i for i, a in enumerate(aspects) if a.join_point.may_match_package(pkg)]
        if not wanted or not owned:
            continue
        pkg_key = resolution.package_keys[pkg.import_path]
        digests = [index.digest(path) for path in owned]
        key = Key("select").add(aspect_digest, pkg_key, *owned, *digests)
        found = cache.get(key)
        if not isinstance(found, list):
            found = []
            may_match: list[tuple[tuple[int, ...], tuple[int, ...]]] = found
            for path in owned:
                source = index.read(path)
                may = [i for i in wanted if aspects[i].join_point.may_match_file(source, pkg)]
                node_aspects = tuple(i for i in may if not aspects[i].package_scoped)
                package_aspects = tuple(i for i in may if aspects[i].package_scoped)
                may_match.append((node_aspects, package_aspects))
            cache.put(key, found)
        files = tuple(
            Candidate(path, pkg, digest, node, scoped)
            for path, digest, (node, scoped) in zip(owned, digests, found, strict=True)
            if node or scoped
        )
        if files:
            selected.append(PackageCandidates(pkg, pkg_key, files))
    return tuple(selected)
