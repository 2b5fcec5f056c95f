"""Stage 2, resolve: the Go package graph of the build.

Runs ``go list -deps -json`` in the module root with exactly the environment
and build flags of the build that will use the overlay (GOOS, GOARCH,
CGO_ENABLED, GOFLAGS come from the environment; ``-tags`` and friends are
passed through), and holds the result as a :class:`networkx.DiGraph` whose
nodes are import paths (test variants keep go list's ``p [p.test]`` form) and
whose edges go from importer to imported package. Each node carries a frozen
:class:`~overlay_gen.model.Package` under the ``"pkg"`` attribute.

The integrations' Go packages are nodes too, with their imports as edges,
beside what those imports need (a second go list), so that the graph answers
the questions the later stages ask: which packages the main packages reach
(which integrations apply), what an integration package depends on (the
import-cycle guard for injected imports, and which packages module copies
must hold). The answers are kept with the resolution in the cache, so a run
that reuses it needs no graph library.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import attrs

from . import modes
from .cache import Cache, Key
from .errors import GoEnvironmentError
from .fileindex import FileIndex
from .gocmd import BUILD_ENV, go_env_json, run_go
from .model import BuildContext, GoEnv, Module, Package, is_standard

if TYPE_CHECKING:
    import networkx as nx

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


def go_env(root: Path) -> GoEnv:
    """Read ``go env`` in ``root`` and check that it is in a module or a go.work workspace."""
    data = json.loads(go_env_json(root))
    gomod = data.get("GOMOD", "")
    workspace = data.get("GOWORK") not in (None, "", "off")  # GOWORK=off: go env reports "off"
    if (not gomod or gomod == os.devnull) and not workspace:
        raise GoEnvironmentError(f"{root}: not inside a Go module", hint="run overlay-gen in a directory with a go.mod")
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
        build_env=tuple((name, str(data.get(name, ""))) for name in BUILD_ENV),
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
    # -pgo=off: with a main package's default.pgo (-pgo=auto, the default), go
    # list would list every dependency again as "p [main]", the same files.
    args += [*ctx.build_flags, "-pgo=off", *ctx.patterns]
    packages = []
    for data in _decode_stream(run_go(args, ctx.root)):
        problem = _package_error(data)
        if problem:
            raise GoEnvironmentError(f"go list: {data.get('ImportPath')}: {problem}")
        pkg = package_from_json(data)
        # The synthesized test main lives in the build cache: nothing to rewrite.
        if pkg.path.endswith(".test") and pkg.name == "main":
            continue
        packages.append(pkg)
    return packages


def dependencies(ctx: BuildContext, patterns: Sequence[str]) -> tuple[Package, ...]:
    """Every package ``patterns`` need, themselves included (packages that do not
    resolve are left out rather than failing: generation reports those later)."""
    if not patterns:
        return ()
    fields = ",".join(f for f in _LIST_FIELDS if f not in ("Deps", "DepsErrors", "TestGoFiles", "XTestGoFiles"))
    args = ["list", "-e", "-deps", f"-json={fields}", *ctx.build_flags, *patterns]
    found = [package_from_json(d) for d in _decode_stream(run_go(args, ctx.root)) if not d.get("Error")]
    return tuple(sorted(found, key=lambda pkg: pkg.import_path))


def package_key(pkg: Package) -> str:
    """A digest of everything go list says of ``pkg`` (for cache keys)."""
    key = Key("package").add(
        pkg.import_path, pkg.name, pkg.dir, pkg.go_files, pkg.test_files, pkg.embed_files, pkg.imports
    )
    # One part for the dependencies (hundreds of paths in a large graph).
    key.add("\n".join(sorted(pkg.deps)))
    return key.add(pkg.standard, pkg.for_test, repr(pkg.module)).hexdigest()


def package_graph(packages: Sequence[Package], virtual: Mapping[str, Sequence[str]] = {}) -> PackageGraph:
    """Hold packages as a directed graph, importer -> imported; ``virtual``
    adds packages go list cannot see (the integrations'), by their imports."""
    import networkx as nx  # only when go list ran: a cached resolution needs no graph library

    graph: PackageGraph = nx.DiGraph()
    for pkg in packages:
        graph.add_node(pkg.import_path, pkg=pkg)
    for path in virtual:
        graph.add_node(path)
    for pkg in packages:
        graph.add_edges_from((pkg.import_path, i) for i in pkg.imports if i in graph)
    for path, imports in virtual.items():
        graph.add_edges_from((path, i) for i in imports if i in graph)
    return graph


def packages_of(graph: PackageGraph) -> list[Package]:
    """The graph's packages in a deterministic order (sorted by import path)."""
    return [graph.nodes[name]["pkg"] for name in sorted(graph.nodes) if "pkg" in graph.nodes[name]]


def _plain(path: str) -> str:
    return path.split(" ", 1)[0]


def reachable(graph: PackageGraph, program: Sequence[Package]) -> frozenset[str]:
    """The import paths the program's roots reach, themselves included: its
    main packages, and with tests its test variants; a module without either
    (a library) is its own root."""
    import networkx as nx

    roots = [p.import_path for p in program if p.is_main or p.is_test_variant]
    if not roots:
        roots = [p.import_path for p in program if p.origin == "main"]
    found: set[str] = set(roots)
    for root in roots:
        found.update(nx.descendants(graph, root))
    return frozenset(_plain(p) for p in found)


def dependencies_of(graph: PackageGraph, paths: Sequence[str]) -> dict[str, frozenset[str]]:
    """What each of ``paths`` depends on, directly or not."""
    import networkx as nx

    return {p: frozenset(_plain(d) for d in nx.descendants(graph, p)) for p in paths if p in graph}


# --- the resolution of a run, cached ------------------------------------------


@attrs.frozen
class Resolution:
    """What the build will compile, as go list reported it for this run, and
    the graph's answers (:func:`reachable`, :func:`dependencies_of`)."""

    packages: tuple[Package, ...]  # sorted by import path
    go_mod: Mapping[str, Any] = attrs.field(factory=dict)  # the main go.mod, as go mod edit -json reads it
    # What the integrations' packages import need: packages the build links
    # when those are imported, though the program does not import them.
    extra: tuple[Package, ...] = ()
    vendor: bool = False  # the build compiles dependencies from vendor/ (see modes.py)
    package_keys: Mapping[str, str] = attrs.field(factory=dict)  # import path -> package_key()
    reachable: frozenset[str] = frozenset()  # what the main packages reach
    # Each integration package: what it depends on (extra and integration packages).
    integration_deps: Mapping[str, frozenset[str]] = attrs.field(factory=dict)

    def by_path(self) -> dict[str, Package]:
        return {pkg.import_path: pkg for pkg in self.packages}

    def linked(self, integration_packages: Sequence[str]) -> tuple[Package, ...]:
        """The program's packages and what the given integration packages
        need of the extra ones: what the build reads, so what module copies hold."""
        needed = set().union(*(self.integration_deps.get(p, frozenset()) for p in integration_packages))
        return self.packages + tuple(pkg for pkg in self.extra if pkg.import_path in needed)


def resolve(
    ctx: BuildContext,
    env: GoEnv,
    *,
    virtual: Mapping[str, Sequence[str]] = {},
    cache: Cache | None = None,
    index: FileIndex | None = None,
    exclude: Sequence[Path] = (),
) -> Resolution:
    """The packages of the build (go list), the main go.mod, and the graph's
    answers; ``virtual`` are packages go list cannot see (the integrations'),
    with their imports, whose other imports are listed too. Reused from the
    cache when nothing go list reads has changed (see :func:`_tree_key`).
    ``exclude`` names paths in the module that are overlay-gen's own output."""
    cache = cache or Cache(None)
    index = index or FileIndex(cache)
    extra = sorted({i for imports in virtual.values() for i in imports if i not in virtual and not is_standard(i)})
    inputs = Key("resolve-inputs").add(*attrs.astuple(env), *ctx.build_flags, "--", *ctx.patterns, ctx.tests)
    inputs.add(str(ctx.root), "--", *((p, tuple(virtual[p])) for p in sorted(virtual)))
    for name in ("go.mod", "go.sum", "vendor/modules.txt"):
        path = ctx.root / name
        inputs.add(name, index.digest(str(path)) if path.is_file() else None)
    inputs.add("vendor", (ctx.root / "vendor").is_dir())
    if env.workspace is not None:
        for path in (env.workspace, env.workspace.with_name("go.work.sum")):
            inputs.add(str(path), index.digest(str(path)) if path.is_file() else None)
    local = cache.get(inputs)
    if isinstance(local, tuple):
        key = _tree_key(inputs, ctx.root, local, index, exclude)
        found = cache.get(key)
        if isinstance(found, Resolution):
            return found
    from concurrent.futures import ThreadPoolExecutor  # only on a miss: it loads logging

    with _go_work_sum_kept(env), ThreadPoolExecutor(3) as pool:  # the three go commands run at once
        extra_packages = pool.submit(dependencies, ctx, extra)
        go_mod = pool.submit(modes.main_go_mod, env, ctx.root)
        listed = pool.submit(list_packages, ctx)
        import networkx  # noqa: F401  (its import, a sixth of a second, overlaps go list)

        program = listed.result()
        graph = package_graph([*extra_packages.result(), *program], virtual)  # the program's records win
    packages = tuple(sorted(program, key=lambda pkg: pkg.import_path))
    main_go_mod, workspace_modules = go_mod.result()
    # Trees go list reads that ./... or the module walk would skip: workspace
    # modules, and a directory named for itself (a _ or testdata one).
    named = [os.path.normpath(ctx.root / p.removesuffix("/...")) for p in ctx.patterns if p not in ("./...", "work")]
    local = tuple(sorted({*_local_modules(packages, env, ctx.root), *workspace_modules, *named} - {str(ctx.root)}))
    key = _tree_key(inputs, ctx.root, local, index, exclude)
    resolution = Resolution(
        packages=packages,
        go_mod=main_go_mod,
        vendor=modes.vendor_mode(env, ctx.build_flags, main_go_mod, ctx.root),
        extra=extra_packages.result(),
        package_keys={pkg.import_path: package_key(pkg) for pkg in packages},
        reachable=reachable(graph, packages),
        integration_deps=dependencies_of(graph, sorted(virtual)),
    )
    cache.put(inputs, local)
    cache.put(key, resolution)
    return resolution


@contextmanager
def _go_work_sum_kept(env: GoEnv) -> Iterator[None]:
    """Keep go.work.sum as it was: in workspace mode, go list of an integration's
    import whose checksum is missing downloads its module and adds it there
    (module mode refuses instead), and overlay-gen writes none of the user's files."""
    if env.workspace is None:
        yield
        return
    path = env.workspace.with_name("go.work.sum")
    before = path.read_bytes() if path.is_file() else None
    try:
        yield
    finally:
        after = path.read_bytes() if path.is_file() else None
        if after != before:
            if before is None:
                path.unlink()
            else:
                path.write_bytes(before)


def _local_modules(packages: Sequence[Package], env: GoEnv, root: Path) -> tuple[str, ...]:
    """Directories of the modules outside the module cache and GOROOT, but the main module."""
    found = set()
    for pkg in packages:
        module = pkg.module.replace or pkg.module if pkg.module is not None else None
        if module is None or pkg.standard or not module.dir or Path(module.dir) == root:
            continue
        if not module.dir.startswith(os.path.join(env.gomodcache, "")):
            found.add(module.dir)
    return tuple(sorted(found))


def _tree_key(inputs: Key, root: Path, local: Sequence[str], index: FileIndex, exclude: Sequence[Path]) -> Key:
    """``inputs`` plus what go list reads from the module trees that are not
    immutable (the main module, local replacements): every file's name (embed
    patterns match names), each Go file's header, each go.mod's content.
    Directories go list never enters are left out: hidden ones, ``_*``,
    testdata, nested modules, and overlay-gen's own output."""
    key = Key("resolve").add(inputs.hexdigest())
    skip = {str(p) for p in exclude}
    for tree in (str(root), *local):
        key.add("tree", tree)
        for directory, dirs, files in os.walk(tree):
            index.directory(directory, (n for n in dirs + files if os.path.join(directory, n) not in skip))
            dirs[:] = sorted(
                d
                for d in dirs
                if not d.startswith((".", "_"))
                and d != "testdata"
                and os.path.join(directory, d) not in skip
                and not os.path.exists(os.path.join(directory, d, "go.mod"))
            )
            key.add("dir", os.path.relpath(directory, tree))
            for name in sorted(files):
                path = os.path.join(directory, name)
                if name.startswith((".", "_")) or path in skip:
                    continue
                if name.endswith(".go"):
                    key.add(name, index.header(path))
                elif name in ("go.mod", "go.sum"):
                    key.add(name, index.digest(path))
                else:
                    key.add(name)
    return key
