"""Stage 1: resolve the Go package graph.

Runs ``go list -deps -json`` in the module root with exactly the environment
and build flags of the build that will use the overlay (GOOS, GOARCH,
CGO_ENABLED, GOFLAGS come from the environment; ``-tags`` and friends are
passed through), and holds the result as a :class:`networkx.DiGraph` whose
nodes are import paths (test variants keep go list's ``p [p.test]`` form) and
whose edges go from importer to imported package. Each node carries a frozen
:class:`Package` under the ``"pkg"`` attribute.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TypeAlias

import attrs
import networkx as nx

from .errors import GoEnvironmentError

# Nodes are import paths; each carries its Package under the "pkg" attribute.
PackageGraph: TypeAlias = "nx.DiGraph[str]"

# The fields we read. Naming them skips go list's staleness computation,
# which makes it about twice as fast.
_LIST_FIELDS = (
    "ImportPath",
    "Dir",
    "Name",
    "GoFiles",
    "CgoFiles",
    "TestGoFiles",
    "XTestGoFiles",
    "EmbedFiles",
    "Imports",
    "Deps",
    "Standard",
    "ForTest",
    "Module",
    "Error",
    "DepsErrors",
)


@attrs.frozen
class Module:
    """A module as go list reports it (``Module`` of a package)."""

    path: str
    version: str = ""
    dir: str = ""
    go_mod: str = ""
    main: bool = False
    replace: Module | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Module:
        replace = data.get("Replace")
        return cls(
            path=str(data["Path"]),
            version=str(data.get("Version", "")),
            dir=str(data.get("Dir", "")),
            go_mod=str(data.get("GoMod", "")),
            main=bool(data.get("Main", False)),
            replace=cls.from_json(replace) if isinstance(replace, dict) else None,
        )


@attrs.frozen
class Package:
    """One package of the graph, with absolute paths to its Go files."""

    import_path: str
    name: str
    dir: str
    go_files: tuple[str, ...]
    test_files: tuple[str, ...] = ()
    embed_files: tuple[str, ...] = ()
    imports: tuple[str, ...] = ()
    deps: frozenset[str] = frozenset()  # every package it depends on, directly or not
    standard: bool = False
    for_test: str = ""
    module: Module | None = None

    @property
    def path(self) -> str:
        """The import path without the test-variant suffix ``[p.test]``."""
        return self.import_path.split(" ", 1)[0]

    @property
    def origin(self) -> str:
        """``"std"``, ``"main"`` (the main module) or ``"dependency"``."""
        if self.standard:
            return "std"
        if self.module is not None and self.module.main:
            return "main"
        return "dependency"

    @property
    def is_main(self) -> bool:
        return self.name == "main" and not self.path.endswith(".test")

    @property
    def is_test_variant(self) -> bool:
        return bool(self.for_test)


@attrs.frozen
class GoEnv:
    """The go command's view of the build environment."""

    goroot: str
    gomodcache: str
    goversion: str
    goos: str
    goarch: str
    gomod: str
    gowork: str
    goflags: str
    cgo_enabled: str
    gofmt: str

    @property
    def module_root(self) -> Path:
        return Path(self.gomod).parent


@attrs.frozen
class BuildContext:
    """What decides the package graph: the module, the flags and the patterns."""

    root: Path
    build_flags: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ("./...",)
    tests: bool = False


def go_binary() -> str:
    go = shutil.which("go")
    if go is None:
        raise GoEnvironmentError("go: not found on PATH", hint="install Go 1.26 or newer, or put it on PATH")
    return go


def _run_go(args: Sequence[str], cwd: Path) -> str:
    try:
        proc = subprocess.run(
            [go_binary(), *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError as exc:
        raise GoEnvironmentError(f"go {args[0]}: {exc.strerror}") from exc
    if proc.returncode != 0:
        first = next((line for line in proc.stderr.splitlines() if line.strip()), "failed")
        raise GoEnvironmentError(f"go {' '.join(args[:2])}: {first.strip()}")
    return proc.stdout


def go_env(root: Path) -> GoEnv:
    """Read ``go env`` in ``root`` and check that it is a module outside a workspace."""
    names = ("GOROOT", "GOMODCACHE", "GOVERSION", "GOOS", "GOARCH", "GOMOD", "GOWORK", "GOFLAGS", "CGO_ENABLED")
    data = json.loads(_run_go(["env", "-json", *names], root))
    gomod = data.get("GOMOD", "")
    if not gomod or gomod == os.devnull:
        raise GoEnvironmentError(f"{root}: not inside a Go module", hint="run overlay-gen in a directory with a go.mod")
    if data.get("GOWORK") not in (None, "", "off"):  # GOWORK=off: go env reports "off"
        raise GoEnvironmentError(
            f"{data['GOWORK']}: go.work workspaces are not supported yet",
            hint="run with GOWORK=off",
        )
    goroot = data["GOROOT"]
    gofmt = Path(goroot, "bin", "gofmt")
    return GoEnv(
        goroot=goroot,
        gomodcache=data["GOMODCACHE"],
        goversion=data["GOVERSION"],
        goos=data["GOOS"],
        goarch=data["GOARCH"],
        gomod=gomod,
        gowork=data.get("GOWORK", ""),
        goflags=data.get("GOFLAGS", ""),
        cgo_enabled=data.get("CGO_ENABLED", ""),
        gofmt=str(gofmt) if gofmt.exists() else (shutil.which("gofmt") or "gofmt"),
    )


def _decode_stream(text: str) -> Iterator[dict[str, object]]:
    """go list -json prints concatenated JSON objects, not an array."""
    decoder = json.JSONDecoder()
    index, end = 0, len(text)
    while True:
        while index < end and text[index].isspace():
            index += 1
        if index >= end:
            return
        obj, index = decoder.raw_decode(text, index)
        yield obj


def _strings(data: Mapping[str, object], key: str) -> tuple[str, ...]:
    value = data.get(key) or []
    assert isinstance(value, list)
    return tuple(str(v) for v in value)


def package_from_json(data: Mapping[str, object]) -> Package:
    directory = str(data.get("Dir", ""))

    def absolute(names: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(os.path.join(directory, n) for n in names)

    module = data.get("Module")
    test_names = set(_strings(data, "TestGoFiles")) | set(_strings(data, "XTestGoFiles"))
    go_names = _strings(data, "GoFiles") + _strings(data, "CgoFiles")
    for_test = str(data.get("ForTest", ""))
    return Package(
        import_path=str(data["ImportPath"]),
        name=str(data.get("Name", "")),
        dir=directory,
        go_files=absolute(go_names),
        # In a test variant, GoFiles holds the _test.go files too; an external
        # test package ("p_test [p.test]") lists its files in GoFiles only.
        test_files=absolute(tuple(n for n in go_names if n in test_names or n.endswith("_test.go")))
        if for_test
        else (),
        embed_files=absolute(_strings(data, "EmbedFiles")),
        imports=_strings(data, "Imports"),
        deps=frozenset(_strings(data, "Deps")),
        standard=bool(data.get("Standard", False)),
        for_test=for_test,
        module=Module.from_json(module) if isinstance(module, dict) else None,
    )


def _package_error(data: Mapping[str, object]) -> str | None:
    """go list's error for a package, on one line."""
    error = data.get("Error")
    if not isinstance(error, dict):
        deps = data.get("DepsErrors")
        error = deps[0] if isinstance(deps, list) and deps else None
    if not isinstance(error, dict):
        return None
    return " ".join(line.strip() for line in str(error.get("Err", "")).splitlines() if line.strip())


def list_packages(ctx: BuildContext) -> list[Package]:
    """Run go list and return its packages, in go list's (dependency) order."""
    args = ["list", "-e", "-deps", f"-json={','.join(_LIST_FIELDS)}"]
    if ctx.tests:
        args.append("-test")
    args += [*ctx.build_flags, *ctx.patterns]
    packages = []
    for data in _decode_stream(_run_go(args, ctx.root)):
        problem = _package_error(data)
        if problem:
            raise GoEnvironmentError(f"go list: {data.get('ImportPath')}: {problem}")
        pkg = package_from_json(data)
        # The synthesized test main lives in the build cache: nothing to rewrite.
        if pkg.path.endswith(".test") and pkg.name == "main":
            continue
        packages.append(pkg)
    return packages


def dependencies(ctx: BuildContext, patterns: Sequence[str]) -> frozenset[str]:
    """Every package ``patterns`` need, themselves included (packages that do not
    resolve are left out rather than failing: generation reports those later)."""
    if not patterns:
        return frozenset()
    args = ["list", "-e", "-deps", "-json=ImportPath,Error", *ctx.build_flags, *patterns]
    return frozenset(str(d["ImportPath"]) for d in _decode_stream(_run_go(args, ctx.root)) if not d.get("Error"))


def package_graph(packages: Sequence[Package]) -> PackageGraph:
    """Hold packages as a directed graph, importer -> imported."""
    graph: PackageGraph = nx.DiGraph()
    by_path = {pkg.import_path: pkg for pkg in packages}
    for pkg in packages:
        graph.add_node(pkg.import_path, pkg=pkg)
    for pkg in packages:
        for imported in pkg.imports:
            if imported in by_path:
                graph.add_edge(pkg.import_path, imported)
    return graph


def packages_of(graph: PackageGraph) -> list[Package]:
    """The graph's packages in a deterministic order (sorted by import path)."""
    return [graph.nodes[name]["pkg"] for name in sorted(graph.nodes)]
