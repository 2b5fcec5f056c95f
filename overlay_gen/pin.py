"""``overlay-gen pin``: add the modules the integrations that apply need to go.mod and go.sum.

Like ``orchestrion pin``, it is the one command that edits the user's files,
on purpose: it resolves the package graph as generation does, takes the
integrations that apply to it (a program without gin gets nothing for gin),
writes ``overlay-gen.tools.go`` (build tag ``tools``, so no build compiles
it) blank-importing the packages their Go code and the aspects import, so
that ``go mod tidy`` keeps their modules, and requires those modules.

It changes only what it must. The integrations' go.mod files name the oldest
release of each module they accept; pin takes the newest releases that fit the
module as it is: whose go directives, and whose requirements through the whole
module graph, neither raise the module's ``go`` directive nor move a module
that go.mod requires or that provides a package to the build (:func:`kept`;
``go list -m all`` before and after). A module that is in the graph only
through another's go.mod (a dependency's test dependency) moves as the go
command says. The OpenTelemetry modules are released together: pin bisects the
releases of ``go.opentelemetry.io/otel`` and takes, for each of them, every
other module's newest release that requires no newer otel (the contrib
packages' release made with it, :func:`newest_fitting`), so the set stays one
that was released together; a set in which an OpenTelemetry module requires an
unstable (v0) one at another minor release than the set has does not fit
(``Scratch._mixes``: a contrib module the proxy has no release of for that
otel would bring its own, older siblings). An instrumented library is the
user's to choose, and so is a module the build already has: an instrumentation
package that requires the library (redisotel requires go-redis) gets its
newest release that requires no newer library than the user has. When nothing
fits, pin says why in one line and changes nothing.

The work is done on a copy of go.mod and go.sum (``-modfile``), checked, and
only then copied over the module's own; after it ``go build`` and ``go mod
verify`` need no network. A vendored module gets ``go mod vendor``. Running
pin again changes nothing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import attrs

from . import requirements
from .cache import Cache
from .errors import GoEnvironmentError, writing
from .gocmd import go_binary, read_go_mod, scan_go_mod
from .model import BuildContext, Package, version_key, within
from .parse import ParsedFile
from .resolve import _decode_stream, go_env

TOOLS_FILE = "overlay-gen.tools.go"
LEADER = "go.opentelemetry.io/otel"  # the OpenTelemetry modules are released with it
FAMILY = "go.opentelemetry.io"  # the OpenTelemetry project's modules (otel, contrib)
T = TypeVar("T")
DEFAULT_GO = "1.16"  # what the go command assumes of a go.mod without a go directive


class PinError(GoEnvironmentError):
    """No release set fits the module, or the go command could not apply it (exit code 4)."""


@attrs.frozen
class Misfit:
    """Why a release set does not fit the build; ``upgrade`` (``module@version``) when it would
    move a module the build has: what the user may take with go get, since pin never does."""

    reason: str
    upgrade: str | None = None

    def __str__(self) -> str:
        return self.reason


@attrs.frozen
class PinResult:
    root: Path
    packages: tuple[str, ...]  # what the tools file imports
    requested: tuple[str, ...]  # what go get was asked for
    changed: tuple[str, ...]  # files pin changed


@attrs.frozen
class Release:
    """One release of a module, as its go.mod says."""

    version: str
    go: str  # its go directive ("" when it has none)
    requires: Mapping[str, str]  # module path -> version


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
    packages = sorted(set(need.packages) | set(need.imports))
    names = ("go.mod", "go.sum", TOOLS_FILE)
    before_files = {name: _read(root / name) for name in names}

    with Scratch(root) as scratch:
        go_line = go_mod.get("Go") or DEFAULT_GO
        selected = kept(scratch.build_list(), go_mod, resolution.packages)
        versions = choose(need, selected, go_line, scratch)
        requested = [_request(p, versions, selected) for p in packages]
        with writing(root, hint=f"pin edits go.mod, go.sum and {TOOLS_FILE} there"):
            _write_tools_file(root, packages)
        try:
            scratch.apply(requested, go_line, selected)
        except PinError:
            _restore(root, {TOOLS_FILE: before_files[TOOLS_FILE]})
            raise
        with writing(root, hint=f"pin edits go.mod, go.sum and {TOOLS_FILE} there"):
            for name in ("go.mod", "go.sum"):
                content = scratch.read(name)
                if content and content != before_files[name]:  # an empty go.sum is not written
                    (root / name).write_bytes(content)
    changed = [name for name in names if _read(root / name) != before_files[name]]
    if changed and (root / "vendor" / "modules.txt").is_file():
        _vendor(root)
        changed.append("vendor/")
    return PinResult(root, tuple(packages), tuple(requested), tuple(changed))


def kept(build_list: Mapping[str, str], go_mod: Mapping[str, Any], packages: Iterable[Package]) -> dict[str, str]:
    """What pin must not move: the modules of ``build_list`` that go.mod
    requires or that provide a package the build compiles. Others are in the
    module graph only through their dependants' go.mod files (pgx's requires
    kr/pretty for its own tests) and move when the go command says so."""
    wanted = {r["Path"] for r in go_mod.get("Require") or ()}
    wanted |= {p.module.path for p in packages if p.module is not None and not p.module.main}
    return {m: v for m, v in build_list.items() if m in wanted}


def choose(need: requirements.Needs, selected: Mapping[str, str], go_line: str, scratch: Scratch) -> dict[str, str]:
    """The version of each module ``need`` requires: the one the build already
    selects (``selected``) if any, else the newest release that fits (see the
    module's docstring). Raises :class:`PinError`, saying why, when none fits."""
    wanted = {m: v for m, v in need.requires.items() if m not in need.libraries}
    chosen: dict[str, str] = {}
    for module, floor in sorted(wanted.items()):
        if module in selected:
            if version_key(selected[module]) < version_key(floor):
                raise PinError(
                    f"the build has {module} {selected[module]}, older than the {floor} the instrumentation "
                    "needs, and pin never upgrades a module the build has",
                    hint=f"upgrade it yourself: go get {module}@{floor}",
                )
            chosen[module] = selected[module]
    free = sorted(m for m in wanted if m not in chosen)
    if not free:
        return chosen
    releases = {m: scratch.releases(m, wanted[m]) for m in free}
    leader = LEADER if LEADER in free else None
    followers = [m for m in free if m != leader]

    def fitting(release: Release, held: Mapping[str, str]) -> bool:
        return go_key(release.go) <= go_key(go_line) and all(
            version_key(v) <= version_key(held[m]) for m, v in release.requires.items() if m in held
        )

    def release_set(leader_version: str | None) -> dict[str, str] | None:
        held = dict(selected) | ({leader: leader_version} if leader and leader_version else {})
        found = {leader: leader_version} if leader and leader_version else {}
        for module in followers:
            newest = newest_fitting(releases[module], lambda r: fitting(r, held))
            if newest is None:
                return None
            found[module] = newest.version
        return found

    checked: dict[str | None, dict[str, str] | None] = {}

    def fitting_set(leader_version: str | None) -> dict[str, str] | None:
        """The release set for that leader's release, if it fits (the go command says; asked once)."""
        if leader_version not in checked:
            found = release_set(leader_version)
            fits = found is not None and scratch.check(found, go_line, selected) is None
            checked[leader_version] = found if fits else None
        return checked[leader_version]

    if leader is None:
        found = fitting_set(None)
    else:
        # The leader's oldest candidate: what the integrations need of it, directly or through the others' floors.
        floor = max(
            [wanted[leader], *(r.requires.get(leader, "") for m in followers for r in releases[m][:1])],
            key=version_key,
        )
        candidates = [r.version for r in releases[leader] if version_key(r.version) >= version_key(floor)] or [floor]
        plausible = [r.version for r in releases[leader] if r.version in candidates and fitting(r, selected)]
        newest = newest_fitting(plausible, lambda v: fitting_set(v) is not None)
        found = fitting_set(newest) if newest is not None else None
        if found is not None:  # no newer than the others need: the set released together
            picked = [r for m in followers for r in releases[m] if r.version == found[m]]
            needed = [r.requires.get(leader, "") for r in picked]
            found = fitting_set(max([floor, *needed], key=version_key)) or found
    if found is None:
        oldest = {m: wanted[m] for m in free} | ({leader: candidates[0]} if leader is not None else {})
        misfit = scratch.check(oldest, go_line, selected) or Misfit("none of their releases fits the build")
        name = leader or free[0]
        hint = "pin never raises the go directive or upgrades a module the build has"
        if misfit.upgrade is not None:
            hint = f"pin never upgrades a module the build has; to take it: go get {misfit.upgrade}, then pin again"
        raise PinError(
            f"no release overlay-gen accepts fits this module: the oldest, {name} {oldest[name]}, {misfit}", hint=hint
        )
    return chosen | found


def newest_fitting(candidates: Sequence[T], fits: Callable[[T], bool]) -> T | None:
    """The newest of ``candidates`` (oldest first) that ``fits``, by bisection:
    newer releases require newer Go and newer modules, so those that fit come first."""
    low, high = 0, len(candidates)  # candidates[:low] fit, candidates[high:] do not
    while low < high:
        middle = (low + high) // 2
        if fits(candidates[middle]):
            low = middle + 1
        else:
            high = middle
    return candidates[low - 1] if low else None


def go_key(version: str) -> tuple[int, int, int, int]:
    """Order go directives as the go command does: ``1.24`` (the language)
    before ``1.24rc1`` before ``1.24.0``; no directive is Go 1.16."""
    match = re.fullmatch(r"(\d+)(?:\.(\d+))?(?:(rc|beta)(\d+)|\.(\d+))?", version or DEFAULT_GO)
    if match is None:
        return (0, 0, 0, 0)
    major, minor, pre, pre_number, patch = match.groups()
    if patch is not None:
        return (int(major), int(minor or 0), 3, int(patch))
    if pre is not None:
        return (int(major), int(minor or 0), 1 if pre == "beta" else 2, int(pre_number))
    return (int(major), int(minor or 0), 0, 0)


class Scratch:
    """A copy of the module's go.mod and go.sum in a temporary directory, which
    go commands read and edit instead of the module's own (``-modfile``)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.directory = Path(tempfile.mkdtemp(prefix="overlay-gen-pin-"))
        self.go_mod = self.directory / "go.mod"
        self.originals = {name: _read(root / name) or b"" for name in ("go.mod", "go.sum")}
        self.reset()
        self.env = {**os.environ, "GOTOOLCHAIN": "local", "GOWORK": "off"}  # never another toolchain
        self._releases: dict[tuple[str, str], list[Release]] = {}
        self._mixes_before: set[str] | None = None  # what the module's own build list mixes

    def __enter__(self) -> Scratch:
        return self

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)

    def reset(self) -> None:
        for name, content in self.originals.items():
            (self.directory / name).write_bytes(content)

    def _reset_for_edit(self) -> None:
        """reset(), and read what the module's own build list mixes the first time (before any edit)."""
        self.reset()
        if self._mixes_before is None:
            self._mixes_before = self._mixes(self.build_list())

    def read(self, name: str) -> bytes | None:
        return _read(self.directory / name)

    def go(self, *args: str, modfile: bool = True, offline: bool = False) -> subprocess.CompletedProcess[str]:
        flags = [f"-modfile={self.go_mod}"] if modfile else []
        verb = 2 if args[0] == "mod" else 1  # the flag goes after "list", "get", "mod graph"
        command = [go_binary(), *args[:verb], *flags, *args[verb:]]
        env = self.env | ({"GOPROXY": "off"} if offline else {})
        return subprocess.run(command, cwd=self.root, env=env, capture_output=True, text=True, check=False)

    def build_list(self) -> dict[str, str]:
        """The scratch go.mod's build list, ``go list -m all``: module path -> selected version."""
        proc = self.go("list", "-mod=mod", "-m", "-json=Path,Version,Main", "all")
        if proc.returncode != 0:
            raise PinError(f"go list -m all: {_last_line(proc.stderr)}")
        return {m["Path"]: m["Version"] for m in _decode(proc.stdout) if not m.get("Main") and m.get("Version")}

    def go_line(self) -> str:
        go: str = read_go_mod(self.go_mod).get("Go") or DEFAULT_GO
        return go

    def check(self, versions: Mapping[str, str], go_line: str, selected: Mapping[str, str]) -> Misfit | None:
        """Why requiring ``versions`` does not fit (None when it does): it raises
        the go directive, or moves a module the build has, or go fails."""
        self._reset_for_edit()
        edit = [f"-require={m}@{v}" for m, v in sorted(versions.items()) if selected.get(m) != v]
        if edit:
            proc = self.go("mod", "edit", *edit, str(self.go_mod), modfile=False)
            if proc.returncode != 0:
                return Misfit(f"cannot be required: {_last_line(proc.stderr)}")
        try:
            after = self.build_list()
        except PinError as exc:
            return Misfit(str(exc))
        return _moved(self.go_line(), after, go_line, selected) or self._mixed(after)

    def apply(self, requested: Sequence[str], go_line: str, selected: Mapping[str, str]) -> None:
        """``go get`` the packages on the scratch copy, then check that the result
        fits and that go.mod and go.sum are complete (the go command, offline)."""
        self._reset_for_edit()
        if requested:
            proc = self.go("get", *requested)
            if proc.returncode != 0:
                raise PinError(f"go get: {_last_line(proc.stderr)}")
        after = self.build_list()
        moved = _moved(self.go_line(), after, go_line, selected) or self._mixed(after)
        if moved is not None:
            raise PinError(f"go get {' '.join(requested)}: it {moved}")
        packages = [r.partition("@")[0] for r in requested]
        if not packages:
            return
        listed = self.go("list", "-mod=readonly", "-e", "-deps", "-json=ImportPath,Error", *packages, offline=True)
        errors = [p["Error"]["Err"] for p in _decode(listed.stdout) if p.get("Error")]
        if listed.returncode != 0 or errors:
            why = errors[0] if errors else _last_line(listed.stderr)
            raise PinError(f"go.mod and go.sum are incomplete after go get: {why}")

    def _mixed(self, build_list: Mapping[str, str]) -> Misfit | None:
        """Why the scratch go.mod's build list mixes OpenTelemetry releases that were not made
        together, beyond what the module's own already did (None when it does not)."""
        assert self._mixes_before is not None  # reset() read them
        new = sorted(self._mixes(build_list) - self._mixes_before)
        return Misfit(f"would mix OpenTelemetry releases: {new[0]}") if new else None

    def _mixes(self, build_list: Mapping[str, str]) -> set[str]:
        """The unstable (v0) OpenTelemetry modules that ``build_list`` has at another minor
        release than an OpenTelemetry module of it requires (``go mod graph``). A v0 module
        promises nothing from one minor release to the next: stdoutlog v0.12.2, which autoexport
        v0.61.0 requires, does not build with sdk/log v0.14.0. (What other modules require of
        OpenTelemetry's is theirs: grpc's go.mod requires an old otelhttp for its own tests.)"""
        proc = self.go("mod", "graph")
        if proc.returncode != 0:
            raise PinError(f"go mod graph: {_last_line(proc.stderr)}")
        found = set()
        for line in proc.stdout.splitlines():
            user, _, needed = line.partition(" ")
            path, _, version = user.partition("@")
            module, _, wanted = needed.partition("@")
            have = build_list.get(module, "")
            if (
                build_list.get(path) == version  # an edge of the build, not of a release it passed over
                and within(path, FAMILY)
                and within(module, FAMILY)
                and wanted.startswith("v0.")
                and _minor(have) != _minor(wanted)
            ):
                found.add(f"{path} {version} needs {module} {wanted}, not {have}")
        return found

    def releases(self, module: str, floor: str) -> list[Release]:
        """``module``'s releases from ``floor`` on, oldest first (pre-releases
        left out); the floor alone when the module proxy cannot be asked. Asked
        with the scratch go.mod and ``-mod=mod``: vendor mode lists no versions."""
        key = (module, floor)
        if key not in self._releases:
            proc = self.go("list", "-mod=mod", "-m", "-versions", "-json=Versions", module)  # vendor mode cannot
            listed = json.loads(proc.stdout).get("Versions") or [] if proc.returncode == 0 else []
            versions = sorted(
                {v for v in listed if "-" not in v and version_key(v) >= version_key(floor)} | {floor}, key=version_key
            )
            self._releases[key] = self._read_releases(module, versions)
        return self._releases[key]

    def _read_releases(self, module: str, versions: Iterable[str]) -> list[Release]:
        """Each version's go.mod, fetched alone (no module zip) by one go list."""
        queries = [f"{module}@{v}" for v in versions]
        proc = self.go("list", "-mod=mod", "-m", "-e", "-json=Version,GoMod,GoVersion,Error", *queries)
        found = []
        for info in _decode(proc.stdout):
            if info.get("Error") or not info.get("GoMod"):
                continue
            requires = scan_go_mod(Path(info["GoMod"]).read_text())[1]
            found.append(Release(info["Version"], info.get("GoVersion", ""), {m: v for m, (v, _) in requires.items()}))
        return sorted(found, key=lambda r: version_key(r.version))


def _moved(new_go: str, after: Mapping[str, str], go_line: str, selected: Mapping[str, str]) -> Misfit | None:
    if new_go != go_line:
        return Misfit(f"needs go {new_go}, newer than go.mod's go {go_line}")
    for module, version in sorted(selected.items()):
        moved_to = after.get(module)
        if moved_to != version:
            upgrade = f"{module}@{moved_to}" if moved_to and version_key(moved_to) > version_key(version) else None
            return Misfit(f"would move {module} {version} to {moved_to or 'nothing'}", upgrade)
    return None


def _minor(version: str) -> str:
    """``v0.12`` of ``v0.12.2``."""
    return ".".join(version.split(".")[:2])


def _request(package: str, versions: Mapping[str, str], selected: Mapping[str, str]) -> str:
    """``package@version``: its module's chosen or selected version (the
    longest module path that holds it); the bare path when none is known."""
    known = {**selected, **versions}
    module = max((m for m in known if within(package, m)), key=len, default=None)
    return f"{package}@{known[module]}" if module is not None else package


def _vendor(root: Path) -> None:
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOWORK": "off"}
    proc = subprocess.run(
        [go_binary(), "mod", "vendor"], cwd=root, env=env, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise PinError(
            f"go mod vendor: {_last_line(proc.stderr)}", hint="go.mod and go.sum are pinned; run go mod vendor"
        )


def _decode(text: str) -> Iterator[dict[str, Any]]:
    """go list -json's objects, each read as JSON of any shape."""
    yield from _decode_stream(text)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "failed"


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
