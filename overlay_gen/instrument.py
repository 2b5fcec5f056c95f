"""Stages 4-6 for each candidate package: parse, match and advise its files.

The package is the unit of work and of caching: advice that acts on a whole
package couples its files, so a file's result can depend on its neighbours.
A package's results are kept in the cache under a key of everything they
depend on (:func:`result_key`): the candidate files' digests, the package as
go list reports it, the names of what it imports, which of the packages advice
may import depend on it (the import-cycle guard), the aspect set, the places
its files are shown and written to, and overlay-gen itself (the cache's salt).
So after a one-line edit only that file's package is parsed again.

Packages whose results are not cached are worked on in parallel by forked
worker processes, one per core, when there is enough work to pay for them;
results come back in package order, so the output does not depend on it.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor

import attrs

from .advise import FileResult, advise
from .aspect import AspectSet
from .cache import Cache, Key
from .fileindex import FileIndex
from .match import match_package
from .places import Layout
from .select import PackageCandidates

# Below this many files to parse, starting workers costs more than it saves.
PARALLEL_MIN_FILES = 8


@attrs.frozen
class Context:
    """What the work on every package needs (forked workers inherit it)."""

    aspects: AspectSet
    layout: Layout
    names: Mapping[str, str]  # import path -> package name, for every package of the build
    deps: Mapping[str, frozenset[str]]  # what each package advice may import depends on
    index: FileIndex

    def depends(self, path: str) -> frozenset[str]:
        return self.deps.get(path, frozenset())


@attrs.frozen
class Outcome:
    results: tuple[FileResult, ...]
    candidates: int  # files that may match
    parsed: int  # files parsed in this run
    workers: int  # processes that parsed (1: this one)


def result_key(candidates: PackageCandidates, ctx: Context) -> Key:
    pkg = candidates.package
    layout = ctx.layout
    key = Key("package-result").add(ctx.aspects.digest, candidates.key, layout.env.goversion)
    key.add(str(layout.root), str(layout.shadow), layout.env.goroot, layout.env.gomodcache)
    for cand in candidates.files:
        key.add(cand.path, cand.digest, cand.node_aspects, cand.package_aspects)
    # Unvendored forms too: std files import golang.org/x/... that go list reports as vendor/golang.org/x/...
    imported = {p for i in pkg.imports for p in (i, i.removeprefix("vendor/"))}
    key.add(*((p, ctx.names.get(p)) for p in sorted(imported)))
    key.add(*(p for p in sorted(ctx.deps) if pkg.path in ctx.deps[p]))
    return key


def instrument_package(candidates: PackageCandidates, ctx: Context) -> tuple[list[FileResult], int]:
    """The results of one package's candidate files, and how many were parsed."""
    done: set[tuple[int, int]] = set()
    parsed = [0]

    def read(path: str) -> bytes:
        parsed[0] += 1
        return ctx.index.read(path)

    results = [
        advise(found, ctx.aspects.aspects, done, ctx.depends)
        for found in match_package(candidates, ctx.aspects.aspects, ctx.layout, ctx.names, read)
    ]
    return results, parsed[0]


def instrument(candidates: Sequence[PackageCandidates], ctx: Context, cache: Cache) -> Outcome:
    """Every candidate package's results, from the cache or worked out now."""
    keys = [result_key(c, ctx) for c in candidates]
    found: list[list[FileResult] | None] = []
    for key in keys:
        value = cache.get(key)
        found.append(value if isinstance(value, list) else None)
    todo = [i for i, value in enumerate(found) if value is None]
    workers = _workers(candidates, todo)
    if workers > 1:
        computed = _in_parallel(candidates, todo, ctx, workers)
    else:
        computed = {i: instrument_package(candidates[i], ctx) for i in todo}
    parsed = 0
    for i, (results, count) in computed.items():
        parsed += count
        found[i] = results
        cache.put(keys[i], results)
    ordered = tuple(r for value in found if value is not None for r in value)
    return Outcome(ordered, sum(len(c.files) for c in candidates), parsed, workers)


def _workers(candidates: Sequence[PackageCandidates], todo: Sequence[int]) -> int:
    if len(todo) < 2 or sum(len(candidates[i].files) for i in todo) < PARALLEL_MIN_FILES:
        return 1
    if sys.platform != "linux":  # fork is the cheap way to share the context; elsewhere, one process
        return 1
    return max(1, min(len(os.sched_getaffinity(0)), len(todo)))


# The work of a parallel run, set in each worker when it starts: with fork,
# the initializer's arguments are inherited, not pickled.
_JOB: list[tuple[Sequence[PackageCandidates], Context]] = []


def _start_worker(candidates: Sequence[PackageCandidates], ctx: Context) -> None:
    _JOB.append((candidates, ctx))


def _work(i: int) -> tuple[int, tuple[list[FileResult], int]]:
    candidates, ctx = _JOB[0]
    return i, instrument_package(candidates[i], ctx)


def _in_parallel(
    candidates: Sequence[PackageCandidates], todo: Sequence[int], ctx: Context, workers: int
) -> dict[int, tuple[list[FileResult], int]]:
    # Largest packages first, so that no worker is left with a big one at the end.
    order = sorted(todo, key=lambda i: -sum(os.path.getsize(c.path) for c in candidates[i].files))
    fork = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(workers, mp_context=fork, initializer=_start_worker, initargs=(candidates, ctx)) as pool:
        return dict(pool.map(_work, order))
