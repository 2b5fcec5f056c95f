"""The whole run, stage by stage: resolve, load, select, match, advise, stage, commit.

Each stage is a module named for it; this one only passes values along.
:func:`plan` runs every stage up to a staged, checked overlay (what ``diff``,
``explain``, ``lock`` and ``check`` look at); :func:`generate` also commits it.
Every stage that costs something keeps its results in the cache
(:mod:`.cache`), keyed by its inputs' contents, so a run after a small edit
redoes only what the edit touched.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from . import uptodate
from .cache import Cache
from .options import SHADOW_DIR, Options, Summary
from .places import Layout
from .resolve import GoEnv, go_env

# The stages load when there is work for them: a run that finds its output up
# to date (uptodate.check) needs none of them.
if TYPE_CHECKING:
    from .advise import FileResult
    from .aspect import AspectSet
    from .emit import Staged
    from .fileindex import FileIndex
    from .instrument import Outcome
    from .report import Event
    from .resolve import Resolution
    from .select import PackageCandidates


@attrs.frozen
class Result:
    options: Options
    env: GoEnv
    layout: Layout
    overlay: Path
    aspects: AspectSet
    files: tuple[FileResult, ...]
    staged: Staged
    outcome: Outcome

    @property
    def root(self) -> Path:
        return self.layout.root

    @property
    def events(self) -> list[Event]:
        return [e for f in self.files for e in f.events]


def summarize(result: Result) -> Summary:
    files = result.staged.files
    rewritten = sum(1 for f in files if not f.added)
    return Summary(
        overlay=result.overlay,
        aspects=len(result.aspects.aspects),
        applied=sum(1 for e in result.events if not e.skipped),
        rewritten=rewritten,
        added=len(files) - rewritten,
        module_copies=len(result.staged.module_copies),
        skipped=tuple(str(e) for e in result.events if e.skipped and not e.quiet),
        left_out=result.staged.left_out,
        candidates=result.outcome.candidates,
        parsed=result.outcome.parsed,
    )


@attrs.frozen
class _Prepared:
    """The stages up to select: what the run will parse, match and advise."""

    options: Options
    env: GoEnv
    layout: Layout
    overlay: Path
    aspects: AspectSet
    resolution: Resolution
    candidates: tuple[PackageCandidates, ...]
    imported: frozenset[str]  # what advice may import
    index: FileIndex
    cache: Cache


def _prepare(options: Options, env: GoEnv, cache: Cache) -> _Prepared:
    from . import requirements
    from .aspect import load_aspects
    from .cache import Memo
    from .fileindex import FileIndex
    from .resolve import BuildContext, resolve
    from .select import select

    index = FileIndex(cache)
    root = env.module_root
    aspects = load_aspects(root, options.aspect_files, builtin=options.builtin)
    context = BuildContext(root, options.build_flags, tests=options.tests)
    layout = Layout(root, (options.shadow or root / SHADOW_DIR).resolve(), env)
    overlay = (options.overlay or root / "overlay.json").resolve()
    imported = frozenset(p for a in aspects.aspects for adv in a.advice for p in adv.import_paths())
    resolution = resolve(
        context,
        env,
        extra=requirements.runtime_module().imports if any(map(requirements.is_runtime, imported)) else (),
        cache=cache,
        index=index,
        exclude=(layout.shadow, layout.staging, overlay),
    )
    answers = Memo(cache, "select", str(root))
    candidates = select(resolution, aspects.aspects, index, answers, aspects.digest)
    answers.save()
    return _Prepared(options, env, layout, overlay, aspects, resolution, candidates, imported, index, cache)


def _build(prepared: _Prepared) -> Result:
    """Parse, match, advise and stage: the overlay, staged (not yet in use)."""
    from . import requirements
    from .emit import stage
    from .instrument import Context, instrument

    resolution, layout, cache = prepared.resolution, prepared.layout, prepared.cache
    names = {pkg.path: pkg.name for pkg in resolution.packages}
    ctx = Context(prepared.aspects, layout, names, _deps(resolution, prepared.imported), prepared.index)
    outcome = instrument(prepared.candidates, ctx, cache)
    files = list(outcome.results)

    go_mod = resolution.go_mod
    need = requirements.needs({p for f in files for p in f.added_imports}, go_mod["Module"]["Path"])
    requirements.check(need, go_mod)
    runtime = requirements.runtime_go_mod(go_mod) if need.runtime else None

    # Module copies hold every package the build reads from them: the runtime's dependencies too.
    linked = resolution.packages + resolution.extra
    staged = stage(files, linked, layout, strict=prepared.options.strict, runtime_go_mod=runtime, cache=cache)
    prepared.index.save()
    return Result(
        prepared.options, prepared.env, layout, prepared.overlay, prepared.aspects, tuple(files), staged, outcome
    )


@contextmanager
def plan(options: Options, cache: Cache | None = None) -> Iterator[Result]:
    """Every stage up to a staged overlay; the staging directory is removed on exit."""
    from .emit import discard

    cache = cache or Cache.default()
    result = _build(_prepare(options, go_env(options.directory.resolve()), cache))
    try:
        yield result
    finally:
        discard(result.staged)


def _deps(resolution: Resolution, imported: Iterable[str]) -> dict[str, frozenset[str]]:
    """What each package that advice may import depends on: from go list of the
    build, and for the runtime (which the build does not hold) of its imports."""
    from . import requirements

    by_path = resolution.by_path()
    deps = {}
    for path in sorted(imported):
        if requirements.is_runtime(path):
            deps[path] = resolution.extra_deps
        elif path in by_path:
            deps[path] = by_path[path].deps
    return deps


def request_of(options: Options) -> uptodate.Request:
    return uptodate.request(
        options.directory,
        options.overlay,
        options.shadow,
        options.build_flags,
        options.tests,
        options.strict,
        options.aspect_files,
        options.builtin,
    )


def generate(options: Options, cache: Cache | None = None) -> Summary:
    """Plan, and put the overlay in use: overlay.json and the shadow directory.
    When nothing this run would read has changed since a run with the same
    options and Go environment, and its output is on disk as it wrote it,
    that output is this run's too: nothing is redone (see :mod:`.uptodate`)."""
    cache = cache or Cache.default()
    fresh = uptodate.check(request_of(options), cache)
    return Summary(**fresh) if fresh is not None else regenerate(options, cache)


def regenerate(options: Options, cache: Cache) -> Summary:
    """:func:`generate` for a caller that has found the output out of date
    (the command line checks before it loads this module)."""
    from .emit import commit, discard

    prepared = _prepare(options, go_env(options.directory.resolve()), cache)
    result = _build(prepared)
    try:
        commit(result.staged, result.layout, result.overlay)
    finally:
        discard(result.staged)
    summary = summarize(result)
    index, layout = prepared.index, prepared.layout
    for path in prepared.aspects.files:
        index.digest(str(path))
    excluded = (layout.shadow, layout.staging, prepared.overlay)
    uptodate.record(
        request_of(options),
        cache,
        attrs.asdict(summary),
        index.files,
        index.directories,
        prepared.overlay,
        layout.shadow,
        excluded,
    )
    return summary
