"""The whole run, stage by stage: resolve, load, select, match, advise, emit.

Each stage is a module named for it; this one only passes values along.
"""

from __future__ import annotations

from pathlib import Path

import attrs

from . import requirements
from .advise import FileResult, advise
from .aspect import Aspect, load_aspects
from .emit import EmitResult, emit
from .match import match_package
from .places import Layout
from .report import Event
from .resolve import BuildContext, go_env, list_packages, package_graph, packages_of
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
    root: Path
    overlay: Path
    aspects: tuple[Aspect, ...]
    files: tuple[FileResult, ...]
    emitted: EmitResult

    @property
    def events(self) -> list[Event]:
        return [e for f in self.files for e in f.events]


def generate(options: Options) -> Result:
    env = go_env(options.directory.resolve())
    root = env.module_root
    aspects = load_aspects(root, options.aspect_files, builtin=options.builtin)
    graph = package_graph(list_packages(BuildContext(root, options.build_flags, tests=options.tests)))
    layout = Layout(root, (options.shadow or root / SHADOW_DIR).resolve(), env)

    names = {pkg.path: pkg.name for pkg in packages_of(graph)}
    files: list[FileResult] = []
    for candidates in select(graph, aspects):
        done: set[tuple[int, int]] = set()
        for found in match_package(candidates, aspects, layout, names):
            files.append(advise(found, aspects, done))

    go_mod = requirements.read_go_mod(root / "go.mod")
    need = requirements.needs({p for f in files for p in f.added_imports}, go_mod["Module"]["Path"])
    requirements.check(need, go_mod)
    runtime = requirements.runtime_go_mod(go_mod) if need.runtime else None

    overlay = (options.overlay or root / "overlay.json").resolve()
    emitted = emit(files, graph, layout, overlay, strict=options.strict, runtime_go_mod=runtime)
    return Result(root, overlay, tuple(aspects), tuple(files), emitted)
