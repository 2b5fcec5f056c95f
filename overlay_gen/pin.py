"""``overlay-gen pin``: add the modules the integrations that apply need to go.mod and go.sum.

Like ``orchestrion pin``, it is the one command that edits the user's files,
on purpose: it resolves the package graph as generation does, takes the
integrations that apply to it (a program without gin gets nothing for gin),
writes ``overlay-gen.tools.go`` (build tag ``tools``, so no build compiles
it) blank-importing the packages their Go code and the aspects import, so
that ``go mod tidy`` keeps their modules, then runs ``go get`` for them at the
versions the integrations were tested with, or the versions go.mod already
has when those are newer. Running it again changes nothing. A plain ``go
build`` keeps working: the file is excluded from builds, and go.mod and
go.sum stay consistent because the go command itself updates them.

An instrumented library is the user's to choose: pin never upgrades it to
instrument it. An instrumentation package that requires the library
(redisotel requires go-redis, otelgrpc grpc) is pinned at its newest release
that requires no newer library than the user has: the one made for the
user's release (:func:`fitting_version`).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from pathlib import Path

import attrs

from . import requirements
from .cache import Cache
from .errors import GoEnvironmentError
from .gocmd import go_binary, read_go_mod, scan_go_mod
from .model import BuildContext, Package, version_key, within
from .parse import ParsedFile
from .resolve import go_env

TOOLS_FILE = "overlay-gen.tools.go"


@attrs.frozen
class PinResult:
    root: Path
    packages: tuple[str, ...]  # what the tools file imports
    requested: tuple[str, ...]  # what go get was asked for
    changed: tuple[str, ...]  # files pin changed


def pin(directory: Path, extra_aspects: tuple[Path, ...] = (), builtin: bool = True) -> PinResult:
    from .aspect import aspect_set, configure
    from .fileindex import FileIndex
    from .integration import APPLIES, modules_by_path
    from .pipeline import libraries, resolve_and_choose

    env = go_env(directory.resolve())
    root = env.module_root
    setup = configure(root, extra_aspects, builtin=builtin)
    cache = Cache.default()
    resolution, statuses = resolve_and_choose(setup, BuildContext(root), env, cache, FileIndex(cache))
    applying = [s.integration for s in statuses if s.state == APPLIES]
    aspects = aspect_set(setup, applying).aspects
    imported = {path for aspect in aspects for advice in aspect.advice for path in advice.import_paths()}
    go_mod = read_go_mod(root / "go.mod")
    need = requirements.needs(
        imported, go_mod["Module"]["Path"], modules_by_path(applying), libraries(applying, resolution.by_path())
    )

    packages = set(need.packages) | set(need.imports)
    required = {r["Path"]: r["Version"] for r in go_mod.get("Require") or []}
    held = {m: required[m] for m in need.libraries if m in required}  # the user's releases of the libraries
    versions: dict[str, str] = {}
    requested = []
    for package in sorted(packages):
        module = next((m for m in need.requires if within(package, m)), None)
        if module is None:
            requested.append(package)  # no tested version: whatever go get chooses
            continue
        if module not in versions:
            floor = max(need.requires[module], required.get(module, "v0.0.0"), key=version_key)
            versions[module] = fitting_version(module, floor, held, root)
        requested.append(f"{package}@{versions[module]}")

    before = {name: _read(root / name) for name in ("go.mod", "go.sum", TOOLS_FILE)}
    _write_tools_file(root, sorted(packages))
    if requested:
        proc = subprocess.run([go_binary(), "get", *requested], cwd=root, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            _restore(root, before)
            lines = [line for line in proc.stderr.splitlines() if line.strip()]
            raise GoEnvironmentError(f"go get: {lines[-1].strip() if lines else 'failed'}")
    changed = tuple(name for name, content in before.items() if _read(root / name) != content)
    return PinResult(root, tuple(sorted(packages)), tuple(requested), changed)


def fitting_version(module: str, floor: str, libraries: Mapping[str, str], root: Path) -> str:
    """The release of ``module`` to pin, no older than ``floor``. A companion
    of an instrumented library, one whose go.mod requires one of the
    ``libraries`` (module -> the user's release), gets its newest release that
    requires none of them newer than the user has: the one made for the
    user's release (redisotel v9.9.0 is go-redis v9.9.0's), never one that
    would upgrade it. Any other module (OpenTelemetry's) gets ``floor``, the
    release the integrations were tested with or the user's own."""

    def needed(version: str) -> dict[str, str]:
        requires = _requirements(module, version, root)
        return {m: v for m, (v, _) in requires.items() if m in libraries}

    def fits(version: str) -> bool:
        return all(version_key(v) <= version_key(libraries[m]) for m, v in needed(version).items())

    if not libraries or not needed(floor):
        return floor
    candidates = sorted(
        (v for v in _versions(module, root) if "-" not in v and version_key(v) >= version_key(floor)),
        key=version_key,
    )
    # Releases require newer libraries as they go: the newest that fits is found by bisection.
    low, high = 0, len(candidates)  # candidates[:low] fit, candidates[high:] do not
    while low < high:
        middle = (low + high) // 2
        if fits(candidates[middle]):
            low = middle + 1
        else:
            high = middle
    return candidates[low - 1] if low else floor


def _versions(module: str, root: Path) -> list[str]:
    proc = subprocess.run(
        [go_binary(), "list", "-m", "-versions", "-json", module], cwd=root, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        return []
    versions: list[str] = json.loads(proc.stdout).get("Versions") or []
    return versions


def _requirements(module: str, version: str, root: Path) -> dict[str, tuple[str, bool]]:
    """What ``module@version``'s go.mod requires (go list fetches that file alone)."""
    proc = subprocess.run(
        [go_binary(), "list", "-m", "-json", f"{module}@{version}"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    go_mod = json.loads(proc.stdout).get("GoMod", "") if proc.returncode == 0 and proc.stdout else ""
    return scan_go_mod(Path(go_mod).read_text())[1] if go_mod else {}


def _write_tools_file(root: Path, packages: list[str]) -> None:
    path = root / TOOLS_FILE
    if not packages:
        path.unlink(missing_ok=True)
        return
    lines = [
        "//go:build tools",
        "",
        "// Code generated by overlay-gen pin. DO NOT EDIT.",
        "",
        "// The modules of these packages are what instrumented builds import; this",
        "// file keeps them in go.mod (go mod tidy). No build compiles it.",
        f"package {_root_package_name(root)}",
        "",
        "import (",
        *[f'\t_ "{p}"' for p in packages],
        ")",
        "",
    ]
    path.write_text("\n".join(lines))


def _root_package_name(root: Path) -> str:
    """The package of the module root's Go files (one directory, one package), or ``tools``."""
    for file in sorted(root.glob("*.go")):
        if file.name == TOOLS_FILE or file.name.endswith("_test.go"):
            continue
        pf = ParsedFile(str(file), file.name, Package("", "", str(root), ()), file.read_bytes())
        clause = pf.package_clause
        if clause is not None and clause.named_children:
            return pf.text(clause.named_children[-1])
    return "tools"


def _read(path: Path) -> bytes | None:
    return path.read_bytes() if path.exists() else None


def _restore(root: Path, before: dict[str, bytes | None]) -> None:
    for name, content in before.items():
        if content is None:
            (root / name).unlink(missing_ok=True)
        else:
            (root / name).write_bytes(content)
