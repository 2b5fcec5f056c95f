"""How the go command finds what a build compiles, and what that asks of the overlay.

The go command builds in one of three ways, and generation must see the build
as it will be:

* **module mode**: one main module, its go.mod; module-cache dependencies
  reach the build through module copies and an overlaid go.mod (adr/0001).
* **workspace mode** (a go.work file, ``GOWORK``): every module the go.work
  ``use``s is a main module, its packages compiled from its own directory.
  Generation resolves the whole workspace (the ``work`` pattern) from the
  go.work's directory, whichever module's directory it starts in; the
  workspace modules' files are overlaid in place, and an overlaid go.work
  (read through the overlay, read-only to the go command, like go.mod) holds
  the ``replace`` of each module copy and ``use``s each integration module.
* **vendor mode** (``-mod=vendor``, or a vendor directory and ``go 1.14`` or
  later): dependencies are compiled from ``vendor/``, overlaid in place, and
  ``vendor/modules.txt``, read from disk and never through the overlay, must
  list every package imported from outside the main module. The
  integrations' packages cannot be listed there, so the build gets them as
  packages *of the main module*, which the overlay may add: each
  ``overlay-gen.invalid/<p>`` becomes ``<main module>/_overlay-gen/<p>``
  (``./...`` skips ``_`` directories, so ``go test ./...`` never sees them),
  and the imports injected code and their own files make are rewritten to
  match (adr/0004). Nothing else changes: no go.mod is overlaid.

The build flags decide two more things here: a ``-cover`` build, which
ignores the overlay for the files it instruments (golang/go#73802), is
refused where it would be wrong, and a directory that ``./...`` skips (``_``
or ``testdata``) is resolved by name.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from .errors import GoEnvironmentError, UsageError
from .gocmd import go_binary, read_go_mod, run_go
from .integration import MODULE_DOMAIN
from .model import GoEnv, Package, release, version_key

VENDORED = "_overlay-gen"  # in vendor mode, the integrations' packages are <main module>/_overlay-gen/...
COVER_ISSUE = "golang/go#73802"


# --- build flags ------------------------------------------------------------------


def flag_value(args: Sequence[str], name: str, boolean: bool = False) -> str | None:
    """The last value the go command would take for ``-name`` from ``args``
    (``-name=v``, ``-name v``, ``--name``; a boolean flag alone is ``"true"``)."""
    value = None
    items = list(args)
    for index, arg in enumerate(items):
        flag, eq, given = arg.lstrip("-").partition("=")
        if not arg.startswith("-") or flag != name:
            continue
        if eq:
            value = given
        elif boolean:
            value = "true"
        elif index + 1 < len(items):
            value = items[index + 1]
    return value


def build_flags(env: GoEnv, flags: Sequence[str]) -> list[str]:
    """The flags the go command reads: GOFLAGS first, then the command line's."""
    return [*env.goflags.split(), *flags]


# --- workspaces ---------------------------------------------------------------------


@attrs.frozen
class Workspace:
    """A go.work file, as ``go work edit -json`` reads it."""

    go_work: Path
    go: str  # its go line ("" when it has none)
    modules: tuple[Path, ...]  # the directories it uses, absolute

    @property
    def root(self) -> Path:
        return self.go_work.parent


def read_workspace(go_work: Path) -> Workspace:
    data = json.loads(run_go(["work", "edit", "-json", str(go_work)], go_work.parent))
    dirs = tuple(Path(os.path.normpath(go_work.parent / str(use["DiskPath"]))) for use in data.get("Use") or [])
    return Workspace(go_work, str(data.get("Go") or ""), dirs)


def main_go_mod(env: GoEnv, root: Path) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The main module's go.mod as ``go mod edit -json`` reads it, and, in a
    workspace, the directories of its modules. A workspace's is made of its
    modules' go.mod files: the module go env ran in (else the first), the
    go.work's go line, every module's requirements at the highest version any
    requires (what the build selects at least)."""
    if env.workspace is None:
        return read_go_mod(root / "go.mod"), ()
    work = read_workspace(env.workspace)
    if not work.modules:
        raise GoEnvironmentError(f"{work.go_work}: the workspace uses no module", hint="add one with go work use")
    mods = {d: read_go_mod(d / "go.mod") for d in work.modules}
    current = mods.get(env.module_root) or mods[work.modules[0]]
    required: dict[str, str] = {}
    for mod in mods.values():
        for r in mod.get("Require") or []:
            if version_key(r["Version"]) > version_key(required.get(r["Path"], "")):
                required[r["Path"]] = r["Version"]
    go = work.go or max((str(m.get("Go") or "") for m in mods.values()), key=release)
    merged = {
        "Module": current["Module"],
        "Go": go,
        "Require": [{"Path": p, "Version": v} for p, v in sorted(required.items())],
    }
    return merged, tuple(str(d) for d in work.modules)


def go_mod_files(env: GoEnv) -> list[Path]:
    """Every main module's go.mod (a quick read of go.work's use lines, for a guess
    made before the go command answers)."""
    if env.workspace is None:
        return [env.module_root / "go.mod"]
    try:
        text = env.workspace.read_text()
    except OSError:
        return []
    return [env.workspace.parent / use / "go.mod" for use in scan_uses(text)]


def scan_uses(text: str) -> list[str]:
    """The directories of a go.work's ``use`` lines, by a quick scan."""

    def path(rest: str) -> str:  # a quoted path may hold spaces
        rest = rest.strip()
        return rest[1:].partition('"')[0] if rest.startswith('"') else rest.split()[0]

    uses, block = [], False
    for raw in text.splitlines():
        line = raw.partition("//")[0].strip()
        if block:
            if line == ")":
                block = False
            elif line:
                uses.append(path(line))
        elif line.startswith("use") and line[3:4] in (" ", "\t", "("):
            rest = line[3:].strip()
            if rest == "(":
                block = True
            elif rest:
                uses.append(path(rest))
    return uses


# --- vendoring ----------------------------------------------------------------------


def vendor_mode(env: GoEnv, flags: Sequence[str], go_mod: Mapping[str, Any], root: Path) -> bool:
    """Does the build compile dependencies from vendor/? ``-mod`` says so, else
    a vendor directory does, with go 1.14 or later (1.22 in a workspace), as
    ``go help modules`` describes."""
    mod = flag_value(build_flags(env, flags), "mod")
    if mod is not None:
        return mod == "vendor"
    minimum = (1, 22, 0) if env.workspace is not None else (1, 14, 0)
    return (root / "vendor").is_dir() and release(str(go_mod.get("Go") or "1.0")) >= minimum


def vendored_path(path: str, host: str) -> str:
    """The import path an integration package has in vendor mode."""
    if path.split("/", 1)[0] != MODULE_DOMAIN:
        return path
    return f"{host}/{VENDORED}/{path.split('/', 1)[1]}" if "/" in path else path


def vendored_source(source: bytes, host: str) -> bytes:
    """An integration's Go file with its imports of integration packages made vendor mode's."""
    return source.replace(f'"{MODULE_DOMAIN}/'.encode(), f'"{host}/{VENDORED}/'.encode())


# --- -cover ------------------------------------------------------------------------


def cover_requested(env: GoEnv, flags: Sequence[str]) -> bool:
    """Do the build flags (or GOFLAGS) ask for coverage? -covermode and -coverpkg imply -cover."""
    args = build_flags(env, flags)
    cover = flag_value(args, "cover", boolean=True)
    if cover is not None and cover != "true":
        return flag_value(args, "coverpkg") is not None
    return cover == "true" or flag_value(args, "coverpkg") is not None or flag_value(args, "covermode") is not None


def check_cover(env: GoEnv, flags: Sequence[str], root: Path, changed: Iterable[Package]) -> None:
    """Refuse a -cover build whose overlay changes a package that cover
    instruments: cover reads those packages' files from disk, ignoring the
    overlay (golang/go#73802), so the build would silently be the original
    code, or fail on a file that only the overlay has. Covered are the
    packages -coverpkg matches, else the main modules'."""
    if not cover_requested(env, flags):
        return
    changed = sorted({pkg.path: pkg for pkg in changed}.values(), key=lambda p: p.path)
    if not changed:
        return
    coverpkg = flag_value(build_flags(env, flags), "coverpkg")
    if coverpkg is not None:
        patterns = [p for p in coverpkg.split(",") if p]
        listed = run_go(["list", "-e", "-f", "{{.ImportPath}}", *patterns], root) if patterns else ""
        covered = set(listed.split())
        hit = [pkg for pkg in changed if pkg.path in covered]
    else:
        hit = [pkg for pkg in changed if pkg.origin == "main"]
    if hit:
        raise UsageError(
            f"-cover: cover reads the files it instruments from disk, ignoring the overlay ({COVER_ISSUE}), "
            f"and the overlay changes {hit[0].path}",
            hint="build without -cover, or with a -coverpkg that leaves out the instrumented packages",
        )


# --- packages outside ./... ----------------------------------------------------------


def _skipped(part: str) -> bool:
    return part.startswith(("_", ".")) or part == "testdata"


def patterns(env: GoEnv, directory: Path) -> tuple[str, ...]:
    """What generation lists: the main module's ``./...`` (a workspace's ``work``),
    and ``directory`` with what is below it by name when ``./...`` skips it
    (a ``_``, ``.`` or ``testdata`` directory of the module)."""
    base = ("work",) if env.workspace is not None else ("./...",)
    explicit = explicit_directory(env, directory)
    if explicit is None:
        return base
    return (*base, "./" + Path(os.path.relpath(explicit, env.root)).as_posix() + "/...")


def explicit_directory(env: GoEnv, directory: Path) -> Path | None:
    """``directory`` when the main patterns skip it, else None."""
    directory = directory.resolve()
    try:
        rel = directory.relative_to(env.module_root)
    except ValueError:
        return None
    if ".overlay-gen" in rel.parts:  # overlay-gen's own output
        return None
    return directory if any(_skipped(part) for part in rel.parts) else None


def check_explicit(env: GoEnv, directory: Path, packages: Iterable[Package]) -> None:
    """A directory named for itself must hold a package (it or below it)."""
    explicit = explicit_directory(env, directory)
    if explicit is None:
        return
    inside = os.path.join(str(explicit), "")
    if not any(pkg.dir == str(explicit) or pkg.dir.startswith(inside) for pkg in packages):
        raise GoEnvironmentError(f"{explicit}: no Go package in this directory or below it")


def go_work_edit(go_work: Path, args: Sequence[str]) -> None:
    """Edit a go.work file (a copy: the staging directory's) with the go command."""
    import subprocess

    proc = subprocess.run(
        [go_binary(), "work", "edit", *args, str(go_work)], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise GoEnvironmentError(f"go work edit: {proc.stderr.strip()}")
