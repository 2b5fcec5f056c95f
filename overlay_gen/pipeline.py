"""The whole run, stage by stage, in the order the stages run.

==  ==========  ====================  ===========================================================
 1  configure   aspect.configure      overlay-gen.toml, the integrations' metadata, the user's aspects
 2  resolve     resolve.resolve       go list: the package graph, and the questions it answers
 3  choose      integration.statuses  the integrations that apply to this graph; their aspects load
 4  select      select.select         candidate packages and files, from the graph and byte searches
 5  instrument  instrument            parse (5a), match (5b) and advise (5c): each file's edits
 6  apply       edits.apply           each changed file with its edits applied
 7  write       emit.write            the rewritten and added files, into a staging directory
 8  verify      verify                gofmt -e of what was written: files it rejects are left out
 9  stage       emit.stage            integration modules, module copies, go.mod, overlay entries
10  commit      emit.commit           the staging directory and overlay.json put in use
==  ==========  ====================  ===========================================================

Each stage is a module named for it; this one only passes values along.
:func:`plan` runs stages 1-9 (what ``diff``, ``explain``, ``lock`` and
``check`` look at); :func:`generate` also commits. Every stage that costs
something keeps its results in the cache (:mod:`.cache`), keyed by its inputs'
contents, so a run after a small edit redoes only what the edit touched.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from . import modes, uptodate
from .cache import Cache
from .errors import GoEnvironmentError
from .options import SHADOW_DIR, Options, Summary
from .places import Layout
from .resolve import go_env

# The stages load when there is work for them: a run that finds its output up
# to date (uptodate.check) needs none of them.
if TYPE_CHECKING:
    from .advise import FileResult
    from .aspect import AspectSet, Setup
    from .emit import Staged
    from .fileindex import FileIndex
    from .instrument import Outcome
    from .integration import Integration, Status
    from .model import BuildContext, GoEnv, Package
    from .report import Event
    from .resolve import Resolution
    from .select import PackageCandidates


@attrs.frozen
class Result:
    options: Options
    env: GoEnv
    layout: Layout
    overlay: Path
    integrations: tuple[Status, ...]  # every integration on offer, and what it is to this build
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
class _Chosen:
    """Stages 1-4: what the run will parse, match and advise."""

    options: Options
    env: GoEnv
    layout: Layout
    overlay: Path
    integrations: tuple[Status, ...]
    aspects: AspectSet
    resolution: Resolution
    candidates: tuple[PackageCandidates, ...]
    index: FileIndex
    cache: Cache


def _choose(options: Options, env: GoEnv, cache: Cache) -> _Chosen:
    """Stages 1-4: configure, resolve, choose the integrations, select the candidates."""
    from .aspect import aspect_set, configure
    from .cache import Memo
    from .fileindex import FileIndex
    from .integration import APPLIES
    from .model import BuildContext
    from .select import select

    index = FileIndex(cache)
    root = env.root  # the module, or the whole workspace (modes.py)
    setup = configure(root, options.aspect_files, builtin=options.builtin)  # 1
    layout = Layout(root, shadow_of(options, env), env)
    overlay = _absolute(options.overlay or root / "overlay.json")
    patterns = modes.patterns(env, options.directory)
    context = BuildContext(root, options.build_flags, patterns, tests=options.tests)
    resolution, statuses = resolve_and_choose(setup, context, env, cache, index, _outputs(layout, overlay))
    modes.check_explicit(env, options.directory, resolution.packages)
    aspects = aspect_set(setup, [s.integration for s in statuses if s.state == APPLIES])  # 3
    answers = Memo(cache, "select", str(root))
    candidates = select(resolution, aspects.aspects, index, answers, aspects.digest)  # 4
    answers.save()
    return _Chosen(options, env, layout, overlay, statuses, aspects, resolution, candidates, index, cache)


def _absolute(path: Path) -> Path:
    """``path`` made absolute, its directory resolved but not the file itself:
    overlay.json is a link into the shadow directory (see :func:`.emit.commit`)."""
    return path.absolute().parent.resolve() / path.name


def shadow_of(options: Options, env: GoEnv) -> Path:
    """The shadow directory a run with ``options`` writes (absolute)."""
    return (options.shadow or env.root / SHADOW_DIR).resolve()


def _outputs(layout: Layout, overlay: Path) -> tuple[Path, ...]:
    """What a run writes, or may leave behind, where it also reads (the module's directories)."""
    from .emit import lock_path

    return (layout.shadow, layout.staging, overlay, lock_path(layout.shadow))


def _waiting(lock: Path) -> None:
    print(f"overlay-gen: another run is writing this overlay; waiting for it ({lock})", file=sys.stderr)


def resolve_and_choose(
    setup: Setup,
    context: BuildContext,
    env: GoEnv,
    cache: Cache,
    index: FileIndex,
    exclude: Sequence[Path] = (),
) -> tuple[Resolution, tuple[Status, ...]]:
    """Stages 2 and 3: the package graph, and what each integration is to it.

    The integrations' Go packages go into the graph with what they import,
    for those that may apply by go.mod (:func:`.integration.may_apply`); an
    integration the graph shows to apply beyond that guess makes go list run
    again with its packages too."""
    from .gocmd import required_modules
    from .integration import APPLIES, may_apply, module_closure, modules_by_path, statuses
    from .resolve import resolve

    required = frozenset().union(*(required_modules(path) for path in modes.go_mod_files(env)))
    offered = setup.integrations
    modules = modules_by_path(offered)
    guessed = [i for i in offered if may_apply(i, required)]
    while True:
        listed = module_closure(modules, [i.module.path for i in guessed if i.module is not None])
        virtual = {p: imports for m in listed for p, imports in m.packages.items()}
        resolution = resolve(context, env, virtual=virtual, cache=cache, index=index, exclude=exclude)
        packages = {p.path: p for p in resolution.packages}
        found = statuses(offered, resolution.reachable, packages, env.goversion, setup.config.disabled)
        missed = [s.integration for s in found if s.state == APPLIES and s.integration not in guessed]
        if not missed:
            return resolution, found
        guessed += missed


def _instrument(chosen: _Chosen) -> Result:
    """Stages 5-9: parse, match, advise, apply, write, verify and stage."""
    from . import requirements
    from .cache import Memo
    from .edits import apply_all
    from .emit import stage, write
    from .instrument import Context, instrument
    from .integration import APPLIES, modules_by_path
    from .match import UNPARSABLE
    from .verify import rejected_files

    resolution, layout, cache = chosen.resolution, chosen.layout, chosen.cache
    names = {pkg.path: pkg.name for pkg in resolution.packages}
    imported = frozenset(p for a in chosen.aspects.aspects for adv in a.advice for p in adv.import_paths())
    ctx = Context(chosen.aspects, layout, names, _deps(resolution, imported), chosen.index)
    outcome = instrument(chosen.candidates, ctx, cache)  # 5
    files = list(outcome.results)
    # Cover skips _test.go files: only the others' packages matter to it.
    covered = (f.package for f in files if (f.changed and not f.path.endswith("_test.go")) or f.new_files)
    modes.check_cover(chosen.env, chosen.options.build_flags, layout.root, covered)
    go_mod = resolution.go_mod
    host = go_mod["Module"]["Path"] if resolution.vendor else None
    if host is not None:  # vendor mode: integration packages are the main module's (modes.py)
        files = [vendored_imports(f, host) for f in files]
    applied = Memo(cache, "apply", str(layout.root))
    rewritten = apply_all(files, applied)  # 6
    applied.save()

    applying = [s.integration for s in chosen.integrations if s.state == APPLIES]
    need = requirements.needs(
        {p for f in files for p in f.added_imports},
        go_mod["Module"]["Path"],
        modules_by_path(applying),
        libraries(applying, resolution.by_path()),
    )
    requirements.check(need, go_mod)
    if host is not None and need.modules and chosen.env.workspace is not None:
        raise GoEnvironmentError(
            f"{chosen.env.workspace}: the integrations' Go modules cannot be added to a workspace's vendor "
            "directory (go work vendor) yet",
            hint="build with -mod=readonly",
        )
    if host is not None:
        requirements.check_vendored(need, resolution)
    in_workspace = chosen.env.workspace is not None
    modules = [(m, requirements.module_go_mod(m, go_mod, in_workspace)) for m in need.modules]
    # Module copies hold every package the build reads from them: what the integration packages need too.
    linked = resolution.linked(sorted(need.used))
    try:
        written = write(files, rewritten, layout)  # 7
        unparsable = {f.display: f.path for f in files if any(e.reason == UNPARSABLE for e in f.events)}
        bad = rejected_files(layout, written, cache, unparsable)  # 8
        staged = stage(
            written, bad, linked, layout, modules, need.used, strict=chosen.options.strict, cache=cache, vendored=host
        )  # 9
    except BaseException:
        from .emit import discard_staging

        discard_staging(layout)
        raise
    chosen.index.save()
    return Result(
        chosen.options,
        chosen.env,
        layout,
        chosen.overlay,
        chosen.integrations,
        chosen.aspects,
        tuple(files),
        staged,
        outcome,
    )


def vendored_imports(result: FileResult, host: str) -> FileResult:
    """``result`` with the integration packages it imports renamed as vendor mode has them."""
    from .edits import Import

    def renamed(imports: Iterable[Import]) -> tuple[Import, ...]:
        return tuple(Import(i.alias, modes.vendored_path(i.path, host)) for i in imports)

    new_files = tuple(attrs.evolve(n, imports=renamed(n.imports)) for n in result.new_files)
    return attrs.evolve(result, imports=renamed(result.imports), new_files=new_files)


def libraries(applying: Iterable[Integration], packages: Mapping[str, Package]) -> set[str]:
    """The modules of the packages the applying integrations instrument."""
    found = set()
    for integration in applying:
        for path in integration.instruments:
            module = packages[path].module if path in packages else None
            if module is not None and not packages[path].standard:
                found.add(module.path)
    return found


def _deps(resolution: Resolution, imported: Iterable[str]) -> dict[str, frozenset[str]]:
    """What each package that advice may import depends on (the graph's answer),
    so that no advice imports a package into one of its own dependencies."""
    by_path = resolution.by_path()
    deps = {}
    for path in sorted(imported):
        if path in resolution.integration_deps:
            deps[path] = resolution.integration_deps[path]
        elif path in by_path:
            deps[path] = by_path[path].deps
    return deps


@contextmanager
def plan(options: Options, cache: Cache | None = None) -> Iterator[Result]:
    """Stages 1-9: a staged overlay; the staging directory is removed on exit.
    Holds the module's lock (:func:`.emit.locked`) meanwhile: the staging
    directory is the one a generation writes."""
    from .emit import discard, locked

    cache = cache or Cache.default()
    env = go_env(options.directory.resolve())
    with locked(shadow_of(options, env), _waiting):
        result = _instrument(_choose(options, env, cache))
        try:
            yield result
        finally:
            discard(result.staged)


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
    from .emit import locked

    env = go_env(options.directory.resolve())
    # One run at a time writes a module's overlay; one that waited for another
    # may find that run has written just what it would.
    with locked(shadow_of(options, env), _waiting) as waited:
        fresh = uptodate.check(request_of(options), cache) if waited else None
        return Summary(**fresh) if fresh is not None else _regenerate(options, env, cache)


def _regenerate(options: Options, env: GoEnv, cache: Cache) -> Summary:
    from .emit import commit, discard

    chosen = _choose(options, env, cache)
    result = _instrument(chosen)
    try:
        commit(result.staged, result.layout, result.overlay)  # 10
    finally:
        discard(result.staged)
    summary = summarize(result)
    index, layout = chosen.index, chosen.layout
    for path in chosen.aspects.files:
        index.digest(str(path))
    uptodate.record(
        request_of(options),
        cache,
        attrs.asdict(summary),
        index.files,
        index.directories,
        chosen.overlay,
        layout.shadow,
        _outputs(layout, chosen.overlay),
    )
    return summary
