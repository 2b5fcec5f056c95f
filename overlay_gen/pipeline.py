"""The whole run, stage by stage: resolve, load, select, match, advise, stage, commit.

Each stage is a module named for it; this one only passes values along.
:func:`plan` runs every stage up to a staged, checked overlay (what ``diff``,
``explain``, ``lock`` and ``check`` look at); :func:`generate` also commits it.
Every stage that costs something keeps its results in the cache
(:mod:`.cache`), keyed by its inputs' contents, so a run after a small edit
redoes only what the edit touched.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from . import requirements
from .aspect import AspectSet, load_aspects
from .cache import Cache, Key, Memo
from .fileindex import FileIndex
from .places import Layout
from .resolve import BuildContext, GoEnv, Resolution, go_env, resolve
from .select import Selection, select

if TYPE_CHECKING:  # the stages after select load only when there is work for them (see _build)
    from .advise import FileResult
    from .emit import Staged
    from .instrument import Outcome
    from .report import Event

SHADOW_DIR = ".overlay-gen"


@attrs.frozen
class Options:
    directory: Path
    overlay: Path | None = None  # default: overlay.json in the module root
    shadow: Path | None = None  # default: .overlay-gen in the module root
    build_flags: tuple[str, ...] = ()
    tests: bool = False
    strict: bool = False
    aspect_files: tuple[Path, ...] = ()
    builtin: bool = True


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


@attrs.frozen
class Summary:
    """What a generation did, as the command line reports it."""

    overlay: Path
    aspects: int
    applied: int  # join points instrumented
    rewritten: int
    added: int
    module_copies: int
    skipped: tuple[str, ...]  # join points left alone, and why (but the quiet ones)
    left_out: tuple[str, ...]  # rewritten files gofmt rejected
    candidates: int  # files that may match
    parsed: int  # of which parsed in this run (the others' results came from the cache)
    reused: bool = False  # nothing changed: the output on disk was already this run's

    @classmethod
    def of(cls, result: Result) -> Summary:
        files = result.staged.files
        rewritten = sum(1 for f in files if not f.added)
        return cls(
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
    """The stages that decide what a run would do: the key of its output."""

    options: Options
    env: GoEnv
    layout: Layout
    overlay: Path
    aspects: AspectSet
    resolution: Resolution
    selection: Selection
    imported: frozenset[str]  # what advice may import
    index: FileIndex
    cache: Cache

    def run_key(self) -> Key:
        return (
            Key("run")
            .add(repr(self.options), str(self.layout.shadow), str(self.overlay), self.aspects.digest)
            .add(self.resolution.key, self.selection.digest)
        )


def _prepare(options: Options, cache: Cache) -> _Prepared:
    index = FileIndex(cache)
    env = go_env(options.directory.resolve())
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
    selection = select(resolution, aspects.aspects, index, answers, aspects.digest)
    answers.save()
    return _Prepared(options, env, layout, overlay, aspects, resolution, selection, imported, index, cache)


def _build(prepared: _Prepared) -> Result:
    """Parse, match, advise and stage: the overlay, staged (not yet in use)."""
    from .emit import stage
    from .instrument import Context, instrument

    resolution, layout, cache = prepared.resolution, prepared.layout, prepared.cache
    names = {pkg.path: pkg.name for pkg in resolution.packages}
    ctx = Context(prepared.aspects, layout, names, _deps(resolution, prepared.imported), prepared.index)
    outcome = instrument(prepared.selection.packages, ctx, cache)
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

    result = _build(_prepare(options, cache or Cache.default()))
    try:
        yield result
    finally:
        discard(result.staged)


def _deps(resolution: Resolution, imported: Iterable[str]) -> dict[str, frozenset[str]]:
    """What each package that advice may import depends on: from go list of the
    build, and for the runtime (which the build does not hold) of its imports."""
    by_path = resolution.by_path()
    deps = {}
    for path in sorted(imported):
        if requirements.is_runtime(path):
            deps[path] = resolution.extra_deps
        elif path in by_path:
            deps[path] = by_path[path].deps
    return deps


def generate(options: Options, cache: Cache | None = None) -> Summary:
    """Plan, and put the overlay in use: overlay.json and the shadow directory.
    When a run with the same key (every input: options, environment, aspect
    set, go list's inputs, the candidate files' digests) wrote the output that
    is on disk now, that output is this run's too, and nothing is redone."""
    prepared = _prepare(options, cache or Cache.default())
    key = prepared.run_key()
    record = prepared.cache.get(key)
    if isinstance(record, _Record) and record.on_disk(prepared.layout.shadow, prepared.overlay):
        prepared.index.save()
        return attrs.evolve(record.summary, parsed=0, reused=True)
    from .emit import commit, discard

    result = _build(prepared)
    try:
        commit(result.staged, result.layout, result.overlay)
    finally:
        discard(result.staged)
    summary = Summary.of(result)
    prepared.cache.put(key, _Record.of(summary, prepared.layout.shadow, prepared.overlay))
    return summary


@attrs.frozen
class _Record:
    """What a run wrote: the overlay document and every shadow file's digest."""

    summary: Summary
    overlay: bytes
    shadow: tuple[tuple[str, str], ...]  # (path relative to the shadow directory, sha256)

    @classmethod
    def of(cls, summary: Summary, shadow: Path, overlay: Path) -> _Record:
        return cls(summary, overlay.read_bytes(), _digests(shadow))

    def on_disk(self, shadow: Path, overlay: Path) -> bool:
        try:
            return overlay.read_bytes() == self.overlay and _digests(shadow) == self.shadow
        except OSError:
            return False


def _digests(directory: Path) -> tuple[tuple[str, str], ...]:
    found = []
    for parent, dirs, files in os.walk(directory):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(parent, name)
            with open(path, "rb") as f:
                found.append((os.path.relpath(path, directory), hashlib.sha256(f.read()).hexdigest()))
    return tuple(found)
