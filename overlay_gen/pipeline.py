"""The whole run, stage by stage: resolve, load, select, match, advise, stage, commit.

Each stage is a module named for it; this one only passes values along.
:func:`plan` runs every stage up to a staged, checked overlay (what ``diff``,
``explain``, ``lock`` and ``check`` look at); :func:`generate` also commits it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import attrs

from . import requirements
from .advise import FileResult, advise
from .aspect import AspectSet, load_aspects
from .emit import Staged, commit, discard, stage
from .match import match_package
from .places import Layout
from .report import Event
from .resolve import (
    BuildContext,
    GoEnv,
    PackageGraph,
    dependencies,
    go_env,
    list_packages,
    package_graph,
    packages_of,
)
from .select import select

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

    @property
    def root(self) -> Path:
        return self.layout.root

    @property
    def events(self) -> list[Event]:
        return [e for f in self.files for e in f.events]


@contextmanager
def plan(options: Options) -> Iterator[Result]:
    """Every stage up to a staged overlay; the staging directory is removed on exit."""
    env = go_env(options.directory.resolve())
    root = env.module_root
    aspects = load_aspects(root, options.aspect_files, builtin=options.builtin)
    context = BuildContext(root, options.build_flags, tests=options.tests)
    graph = package_graph(list_packages(context))
    layout = Layout(root, (options.shadow or root / SHADOW_DIR).resolve(), env)

    names = {pkg.path: pkg.name for pkg in packages_of(graph)}
    depends = _dependencies(context, graph, aspects)
    files: list[FileResult] = []
    for candidates in select(graph, aspects.aspects):
        done: set[tuple[int, int]] = set()
        for found in match_package(candidates, aspects.aspects, layout, names):
            files.append(advise(found, aspects.aspects, done, depends))

    go_mod = requirements.read_go_mod(root / "go.mod")
    need = requirements.needs({p for f in files for p in f.added_imports}, go_mod["Module"]["Path"])
    requirements.check(need, go_mod)
    runtime = requirements.runtime_go_mod(go_mod) if need.runtime else None

    staged = stage(files, graph, layout, strict=options.strict, runtime_go_mod=runtime)
    overlay = (options.overlay or root / "overlay.json").resolve()
    try:
        yield Result(options, env, layout, overlay, aspects, tuple(files), staged)
    finally:
        discard(staged)


def _dependencies(context: BuildContext, graph: PackageGraph, aspects: AspectSet) -> Callable[[str], frozenset[str]]:
    """What a package that advice may import depends on: from the graph, and
    for the runtime (which the graph does not hold) from go list of its imports."""
    runtime: frozenset[str] = frozenset()
    if any(requirements.is_runtime(p) for a in aspects.aspects for adv in a.advice for p in adv.import_paths()):
        runtime = dependencies(context, requirements.runtime_module().imports)

    def depends(path: str) -> frozenset[str]:
        if requirements.is_runtime(path):
            return runtime
        return graph.nodes[path]["pkg"].deps if path in graph else frozenset()

    return depends


def generate(options: Options) -> Result:
    """Plan, and put the overlay in use: overlay.json and the shadow directory."""
    with plan(options) as result:
        commit(result.staged, result.layout, result.overlay)
        return result
