"""The Go modules instrumented code needs, and the runtime module overlay-gen ships.

Injected code imports two kinds of packages besides the standard library:

* the runtime, ``overlay-gen.invalid/otelrt`` (Go sources shipped in this
  Python package under ``runtime/otelrt``). It is no published module: the
  build gets it as a directory under the shadow directory, through a
  ``require`` and a ``replace`` in the overlaid go.mod (docs/adr/0004). Its
  go.mod is written for each build from the main module's own requirements,
  so the two never disagree;
* modules such as OpenTelemetry's, which the runtime and templates import.
  They must be in the main module's go.mod and go.sum, which only
  ``overlay-gen pin`` changes. Generation checks them and names what is
  missing instead of producing an overlay that cannot build.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

from .cache import Cache, Key
from .errors import GoEnvironmentError
from .gocmd import read_go_mod
from .resolve import Package

RUNTIME_DOMAIN = "overlay-gen.invalid"


@attrs.frozen
class RuntimeModule:
    """The runtime as shipped: module path, Go files, direct requirements, imports."""

    path: str
    directory: Path
    files: tuple[str, ...]  # Go files, relative to its directory (subpackages included)
    requires: Mapping[str, str]  # module path -> the version overlay-gen was tested with
    imports: tuple[str, ...]  # non-standard packages its files import


@functools.cache
def runtime_module() -> RuntimeModule:
    """The runtime module shipped in the package (kept in the cache: it is
    read with go mod edit and tree-sitter, and changes only with overlay-gen)."""
    cache = Cache.default()
    key = Key("runtime-module").add(str(Path(__file__).resolve().parent))  # the value names its directory
    found = cache.get(key)
    if isinstance(found, RuntimeModule):
        return found
    module = _read_runtime_module()
    cache.put(key, module)
    return module


def _read_runtime_module() -> RuntimeModule:
    from .parse import ParsedFile  # tree-sitter: only when the cache has no answer

    directory = Path(__file__).parent / "runtime" / "otelrt"
    mod = read_go_mod(directory / "go.mod")
    files = tuple(
        sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*.go") if not p.name.endswith("_test.go"))
    )
    imports: set[str] = set()
    placeholder = Package(import_path=mod["Module"]["Path"], name="otelrt", dir=str(directory), go_files=())
    for name in files:
        pf = ParsedFile(str(directory / name), name, placeholder, (directory / name).read_bytes())
        imports.update(p for p in pf.import_paths if not is_standard(p) and not is_runtime(p))
    requires = {r["Path"]: r["Version"] for r in mod.get("Require") or [] if not r.get("Indirect")}
    return RuntimeModule(mod["Module"]["Path"], directory, files, requires, tuple(sorted(imports)))


def is_standard(path: str) -> bool:
    return "." not in path.split("/", 1)[0]


def is_runtime(path: str) -> bool:
    return path.split("/", 1)[0] == RUNTIME_DOMAIN


def version_key(version: str) -> tuple[int, int, int, int, str]:
    """Order semantic versions; a pre-release sorts before its release."""
    match = re.match(r"v(\d+)\.(\d+)\.(\d+)(?:-([^+]*))?", version)
    if match is None:
        return (0, 0, 0, 0, version)
    major, minor, patch, pre = match.groups()
    return (int(major), int(minor), int(patch), 0 if pre else 1, pre or "")


@attrs.frozen
class Needs:
    """What injected code imports, beyond the standard library."""

    runtime: bool  # the runtime module is imported
    modules: Mapping[str, str]  # module path -> minimum version
    packages: tuple[str, ...]  # packages whose module is not known (no version to ask for)


def needs(import_paths: Iterable[str], main_module: str) -> Needs:
    runtime = runtime_module()
    outside = sorted({p for p in import_paths if not is_standard(p) and not _within(p, main_module)})
    uses_runtime = any(is_runtime(p) for p in outside)
    modules = dict(runtime.requires) if uses_runtime else {}
    packages = [p for p in outside if not is_runtime(p) and not any(_within(p, m) for m in modules)]
    return Needs(uses_runtime, modules, tuple(packages))


def missing(need: Needs, go_mod: Mapping[str, Any]) -> list[str]:
    """What go.mod lacks of ``need``: ``module vX`` (too old or absent) or a package path."""
    required = {r["Path"]: r["Version"] for r in go_mod.get("Require") or []}
    out = [
        f"{module} {version}"
        for module, version in sorted(need.modules.items())
        if module not in required or version_key(required[module]) < version_key(version)
    ]
    out += [p for p in need.packages if not any(_within(p, m) for m in required)]
    return out


def check(need: Needs, go_mod: Mapping[str, Any]) -> None:
    """Fail, naming the modules, when go.mod cannot build what the aspects inject."""
    absent = missing(need, go_mod)
    if absent:
        raise GoEnvironmentError(
            f"go.mod lacks what the instrumentation imports: {', '.join(absent)}",
            hint="run 'overlay-gen pin' to add it to go.mod, go.sum and overlay-gen.tools.go",
        )


def runtime_go_mod(go_mod: Mapping[str, Any]) -> str:
    """The runtime's go.mod for this build: its requirements at the main module's versions."""
    runtime = runtime_module()
    required = {r["Path"]: r["Version"] for r in go_mod.get("Require") or []}
    go_version = go_mod.get("Go") or "1.26"
    lines = [f"module {runtime.path}", "", f"go {go_version}", "", "require ("]
    lines += [f"\t{m} {required.get(m, v)}" for m, v in sorted(runtime.requires.items())]
    return "\n".join([*lines, ")", ""])


def _within(package: str, module: str) -> bool:
    return package == module or package.startswith(module + "/")
