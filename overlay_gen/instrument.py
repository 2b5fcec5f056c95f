"""Stage 5, instrument: parse (5a), match (5b) and advise (5c) each candidate package's files.

The package is the unit of work: advice that acts on a whole package couples
its files, which are worked on in order, each passing on the package-wide
aspects still pending and the package-wide advice already applied. The file is
the unit of caching: a file's result is kept under a key of everything it
depends on (:func:`file_key`): its digest, the package state before it, and
the package's context (:func:`context_key`: the package as go list reports
it, the names of what it imports, which of the packages advice may import
depend on it (the import-cycle guard), the aspect set, the places its files
are shown and written to) and overlay-gen itself (the cache's salt). So after
a one-line edit only that file is parsed again.

Packages whose results are not cached are worked on in parallel by forked
worker processes, one per core, when there is enough work to pay for them;
results come back in package order, so the output does not depend on it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence

import attrs

from .advise import FileResult, advise
from .aspect import AspectSet
from .cache import Cache, Key
from .fileindex import FileIndex
from .match import match_file, pending_aspects
from .places import Layout
from .select import Candidate, PackageCandidates

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


def context_key(candidates: PackageCandidates, ctx: Context) -> Key:
    """What every file result of a package depends on, besides the file itself."""
    pkg = candidates.package
    layout = ctx.layout
    key = Key("package-context").add(ctx.aspects.digest, candidates.key, layout.env.goversion)
    key.add(str(layout.root), str(layout.shadow), layout.env.goroot, layout.env.gomodcache)
    # Unvendored forms too: std files import golang.org/x/... that go list reports as vendor/golang.org/x/...
    imported = {p for i in pkg.imports for p in (i, i.removeprefix("vendor/"))}
    key.add(*((p, ctx.names.get(p)) for p in sorted(imported)))
    key.add(*(p for p in sorted(ctx.deps) if pkg.path in ctx.deps[p]))
    return key


def file_key(context: str, cand: Candidate, pending: set[int], done: set[tuple[int, int]]) -> Key:
    """A file's result depends on its package's context, its own bytes and what
    the files before it in the package left pending and done."""
    key = Key("file-result").add(context, cand.path, cand.digest, cand.node_aspects, cand.package_aspects)
    return key.add(tuple(sorted(pending)), tuple(sorted(done)))


def instrument_package(
    candidates: PackageCandidates, ctx: Context, cache: Cache, replay_only: bool = False
) -> tuple[list[FileResult], int] | None:
    """The results of one package's candidate files, and how many files were
    parsed: each file's result comes from the cache when the file and the
    package state before it are the same as in an earlier run. With
    ``replay_only``, None unless every file's result is in the cache."""
    context = context_key(candidates, ctx).hexdigest()
    pending = pending_aspects(candidates)
    done: set[tuple[int, int]] = set()
    results: list[FileResult] = []
    parsed = 0
    for cand in candidates.files:
        key = file_key(context, cand, pending, done)
        # The file's result, and the package-wide aspects pending and advice done after it.
        outcome = cache.get(key)
        if isinstance(outcome, tuple):
            result, pending_after, done_after = outcome
            pending, done = set(pending_after), set(done_after)
        elif replay_only:
            return None
        else:
            parsed += 1
            found = match_file(cand, pending, ctx.aspects.aspects, ctx.layout, ctx.names, ctx.index.read)
            result = advise(found, ctx.aspects.aspects, done, ctx.depends) if found is not None else None
            cache.put(key, (result, frozenset(pending), frozenset(done)))
        if result is not None:
            results.append(result)
    return results, parsed


def instrument(candidates: Sequence[PackageCandidates], ctx: Context, cache: Cache) -> Outcome:
    """Every candidate package's results, from the cache or worked out now."""
    found = [instrument_package(c, ctx, cache, replay_only=True) for c in candidates]
    todo = [i for i, value in enumerate(found) if value is None]
    workers = _workers(candidates, todo)
    if workers > 1:
        computed = _in_parallel(candidates, todo, ctx, cache, workers)
    else:
        computed = {i: instrument_package(candidates[i], ctx, cache) for i in todo}
    parsed = 0
    for i, value in computed.items():
        assert value is not None
        parsed += value[1]
        found[i] = value
    ordered = tuple(r for value in found if value is not None for r in value[0])
    return Outcome(ordered, sum(len(c.files) for c in candidates), parsed)


def _workers(candidates: Sequence[PackageCandidates], todo: Sequence[int]) -> int:
    if len(todo) < 2 or sum(len(candidates[i].files) for i in todo) < PARALLEL_MIN_FILES:
        return 1
    if sys.platform != "linux":  # fork is the cheap way to share the context; elsewhere, one process
        return 1
    return max(1, min(len(os.sched_getaffinity(0)), len(todo)))


# The work of a parallel run, set in each worker when it starts: with fork,
# the initializer's arguments are inherited, not pickled.
_JOB: list[tuple[Sequence[PackageCandidates], Context, Cache]] = []


def _start_worker(candidates: Sequence[PackageCandidates], ctx: Context, cache: Cache) -> None:
    _JOB.append((candidates, ctx, cache))


def _work(i: int) -> tuple[int, tuple[list[FileResult], int] | None]:
    candidates, ctx, cache = _JOB[0]
    return i, instrument_package(candidates[i], ctx, cache)


def _in_parallel(
    candidates: Sequence[PackageCandidates], todo: Sequence[int], ctx: Context, cache: Cache, workers: int
) -> dict[int, tuple[list[FileResult], int] | None]:
    # Largest packages first, so that no worker is left with a big one at the end.
    order = sorted(todo, key=lambda i: -sum(os.path.getsize(c.path) for c in candidates[i].files))
    import multiprocessing  # only here: they take a tenth of a serial run's imports
    from concurrent.futures import ProcessPoolExecutor

    fork = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(
        workers, mp_context=fork, initializer=_start_worker, initargs=(candidates, ctx, cache)
    ) as pool:
        return dict(pool.map(_work, order))
