"""Stage 3, choose: the integrations, one folder each, and which of them apply to a build.

Every built-in integration is one folder of ``aspects/`` (shipped inside the
package as ``overlay_gen/aspects``): ``aspects/<name>/integration.toml`` holds
its metadata and its aspects, and the folder may be a small Go module (its
``go.mod`` beside the TOML file) whose packages the injected code imports::

    [integration]
    description = "gin routes name the server span: GET /users/:id"  # one line
    instruments = ["github.com/gin-gonic/gin"]  # import paths; none: every program
    versions = ">=v1.9.1"                       # releases of their module it supports
    go = ">=1.26"                               # Go releases it supports (default: any)
    tested = ["v1.9.1", "v1.12.0"]              # what its tests build with: oldest, newest
    uses = "own code: ..."                      # the package it injects, or why its own code
    requires = ["net-http"]                     # integrations it builds on (runtime: the SDK)

    [[aspect]]
    id = "overlay-gen.gin.routes"               # ids start with overlay-gen.<name>
    ...

An integration *applies* to a build when a package it instruments is reachable
from the build's main packages in the package graph, or always when it
instruments nothing in particular (the runtime, ``//dd:span``). Only then are
its aspects loaded, and only then can its Go module be listed, pinned, required
and copied. One whose library or Go release it does not support, or that
needs an integration that does not apply, is *skipped*, with the reason;
``overlay-gen explain`` lists every integration's state.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import attrs

from .cache import Cache, Key
from .errors import ConfigError
from .model import Constraint, Package, is_standard
from .tomlkeys import Loc, suggest

FOLDER = Path(__file__).parent / "aspects"  # an installed package holds the folders; a checkout links them
FILE = "integration.toml"
MODULE_DOMAIN = "overlay-gen.invalid"  # an integration's Go module is overlay-gen.invalid/<name>
METADATA_KEYS = ("description", "instruments", "versions", "go", "tested", "uses", "requires")


def is_integration_module(path: str) -> bool:
    """Is ``path`` (an import or module path) in an integration's Go module?"""
    return path.split("/", 1)[0] == MODULE_DOMAIN


# --- an integration's Go module -------------------------------------------------


@attrs.frozen
class GoModule:
    """An integration's Go code, as shipped: the module injected code imports."""

    path: str  # overlay-gen.invalid/<package>
    directory: Path
    files: tuple[str, ...]  # its Go files, relative to the directory (no tests)
    requires: Mapping[str, str]  # direct requirements: module path -> version (integration modules too)
    packages: Mapping[str, tuple[str, ...]]  # each package -> what it imports, standard library left out

    def package_of(self, name: str) -> str:
        """The import path of the package that holds the file ``name`` (one of ``files``)."""
        return "/".join([self.path, *Path(name).parent.parts])


def read_module(directory: Path) -> GoModule:
    """The Go module in ``directory`` (kept in the cache: read with go mod edit
    and tree-sitter, it changes only with overlay-gen, which salts every key)."""
    cache = Cache.default()
    key = Key("integration-module").add(str(directory.resolve()))
    found = cache.get(key)
    if isinstance(found, GoModule):
        return found
    module = _read_module(directory)
    cache.put(key, module)
    return module


def _read_module(directory: Path) -> GoModule:
    from .gocmd import scan_go_mod
    from .parse import ParsedFile  # tree-sitter: only when the cache has no answer

    path, requirements = scan_go_mod((directory / "go.mod").read_text())
    files = tuple(
        sorted(
            p.relative_to(directory).as_posix()
            for p in directory.rglob("*.go")
            if not p.name.endswith("_test.go") and not _tests_only(p.relative_to(directory), directory)
        )
    )
    packages: dict[str, set[str]] = {}
    for name in files:
        package = "/".join([path, *Path(name).parent.parts])
        placeholder = Package(import_path=package, name="", dir=str(directory), go_files=())
        pf = ParsedFile(str(directory / name), name, placeholder, (directory / name).read_bytes())
        packages.setdefault(package, set()).update(p for p in pf.import_paths if not is_standard(p))
    requires = {m: version for m, (version, indirect) in requirements.items() if not indirect}
    return GoModule(path, directory, files, requires, {p: tuple(sorted(i)) for p, i in sorted(packages.items())})


TESTS_ONLY = ("fixture", "golden")  # an integration's folders that only its tests read


def _tests_only(relative: Path, root: Path) -> bool:
    """Is ``relative`` (below ``root``) a file only the tests read: in the
    integration's fixture or golden folder, or in a module of its own?"""
    parents = list(relative.parents)[:-1]  # the directories below root, innermost first
    return any(d.name in TESTS_ONLY or (root / d / "go.mod").is_file() for d in parents)


# --- integrations ---------------------------------------------------------------


@attrs.frozen
class Integration:
    """One integration's metadata; its aspects load only when it applies."""

    name: str  # the folder's name
    file: Path  # its integration.toml
    description: str
    instruments: tuple[str, ...]  # import paths; () for every program
    versions: Constraint | None  # the releases of the instrumented module it supports
    go: Constraint | None  # the Go releases it supports
    tested: tuple[str, ...]  # the releases its tests build with
    uses: str
    requires: tuple[str, ...]  # the integrations it builds on
    aspect_ids: tuple[str, ...]

    @property
    def module(self) -> GoModule | None:
        """Its Go module (what injected code imports), None if it has none; read when first asked,
        so that a build reads the modules of the integrations it may need, not of all of them."""
        return _module_in(self.file.parent)

    @property
    def display(self) -> str:
        return f"<builtin>/{self.name}/{FILE}"

    @property
    def prefix(self) -> str:
        """What its aspect ids start with (``overlay-gen.gin``), which ``disable`` patterns match."""
        return f"overlay-gen.{self.name}"


def read_integration(folder: Path) -> Integration:
    """The integration in ``folder``, its metadata checked (its aspects are not parsed)."""
    file = folder / FILE
    display = f"<builtin>/{folder.name}/{FILE}"
    try:
        document = tomllib.loads(file.read_text())
    except FileNotFoundError:
        raise ConfigError(display, "no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(display, f"not valid TOML: {exc}") from None
    loc = Loc(display)
    top = loc.table(document, ["integration", "aspect"], required=["integration"])
    at = loc / "integration"
    meta = at.table(top["integration"], METADATA_KEYS, required=["description", "uses"])
    description = (at / "description").string(meta["description"])
    if not description or "\n" in description:
        raise (at / "description").error("must be one line")
    instruments = (at / "instruments").strings(meta.get("instruments", []))
    versions = _constraint(meta, at, "versions", go=False)
    if versions is not None and all(is_standard(p) for p in instruments):
        raise (at / "versions").error("the standard library's release is the Go release", hint="use 'go'")
    go = _constraint(meta, at, "go", go=True)
    tested = (at / "tested").strings(meta.get("tested", []))
    for i, version in enumerate(tested):
        if versions is not None and not versions.allows(version):
            raise (at / "tested" / i).error(f"{version} is outside the releases it supports ({versions.text})")
    ids = []
    for i, aspect in enumerate((loc / "aspect").array(top.get("aspect", []))):
        aspect_id = aspect.get("id") if isinstance(aspect, dict) else None
        name = f"overlay-gen.{folder.name}"
        if not isinstance(aspect_id, str) or not (aspect_id == name or aspect_id.startswith(name + ".")):
            raise (loc / "aspect" / i / "id").error(f"{aspect_id!r}: the integration's ids start with {name!r}")
        ids.append(aspect_id)
    return Integration(
        name=folder.name,
        file=file,
        description=description,
        instruments=instruments,
        versions=versions,
        go=go,
        tested=tested,
        uses=(at / "uses").string(meta["uses"]),
        requires=(at / "requires").strings(meta.get("requires", [])),
        aspect_ids=tuple(ids),
    )


@functools.cache
def _module_in(folder: Path) -> GoModule | None:
    return read_module(folder) if (folder / "go.mod").is_file() else None


def _module_path(folder: Path) -> str | None:
    """The path its go.mod names, without reading the module's Go files (None: no go.mod)."""
    from .gocmd import scan_go_mod

    try:
        return scan_go_mod((folder / "go.mod").read_text())[0] or None
    except FileNotFoundError:
        return None


class ModulesByPath(Mapping[str, GoModule]):
    """The integrations' Go modules by module path, each read only when it is looked up (a build
    follows the requirements of the few it may need; reading one parses its Go files)."""

    def __init__(self, integrations: Iterable[Integration]) -> None:
        self._folders = {path: i.file.parent for i in integrations if (path := _module_path(i.file.parent)) is not None}

    def __getitem__(self, path: str) -> GoModule:
        module = _module_in(self._folders[path])
        assert module is not None and module.path == path, path
        return module

    def __iter__(self) -> Iterator[str]:
        return iter(self._folders)

    def __len__(self) -> int:
        return len(self._folders)


def _constraint(meta: Mapping[str, object], at: Loc, key: str, go: bool) -> Constraint | None:
    if key not in meta:
        return None
    text = (at / key).string(meta[key])
    try:
        return Constraint.parse(text, go=go)
    except ValueError as exc:
        example = "'>=1.26'" if go else "'>=v1.9.1, <v2'"
        raise (at / key).error(str(exc), hint=f"write it as {example}") from None


@functools.cache
def catalog(folder: Path = FOLDER) -> tuple[Integration, ...]:
    """Every integration in ``folder``, by name (the order their aspects apply in)."""
    found = tuple(read_integration(d) for d in sorted(folder.iterdir(), key=lambda p: p.name) if (d / FILE).is_file())
    names = {i.name for i in found}
    for integration in found:
        for index, name in enumerate(integration.requires):
            if name not in names:
                loc = Loc(integration.display) / "integration" / "requires" / index
                raise loc.error(f"{name!r} is no integration", hint=suggest(name, names))
    return found


def modules_by_path(integrations: Iterable[Integration]) -> ModulesByPath:
    return ModulesByPath(integrations)


def module_closure(modules: Mapping[str, GoModule], wanted: Iterable[str]) -> list[GoModule]:
    """The integration modules ``wanted`` (module paths) and those they require, by path."""
    found: dict[str, GoModule] = {}
    todo = list(wanted)
    while todo:
        path = todo.pop()
        if path in found or path not in modules:
            continue
        found[path] = modules[path]
        todo += [r for r in modules[path].requires if is_integration_module(r)]
    return [found[p] for p in sorted(found)]


def module_of(import_path: str, modules: Mapping[str, GoModule]) -> GoModule | None:
    """The integration module that holds the package ``import_path``."""
    for module in modules.values():
        if import_path in module.packages:
            return module
    return None


# --- which integrations a build needs --------------------------------------------

APPLIES, NOT_APPLICABLE, SKIPPED = "applies", "not applicable", "skipped"


@attrs.frozen
class Status:
    """What an integration is to one build: it applies, it is not applicable
    (its library is not in the graph), or it is skipped (and why)."""

    integration: Integration
    state: str
    reason: str  # where it applies ("github.com/gin-gonic/gin v1.12.0"), or why not


def may_apply(integration: Integration, required: Iterable[str]) -> bool:
    """Could it apply to a module requiring ``required`` (module paths)? A
    guess from go.mod alone, made before the graph is known: a library's
    module must be required for one of its packages to be in the graph."""
    if not integration.instruments or any(is_standard(p) for p in integration.instruments):
        return True
    modules = list(required)
    return any(p == m or p.startswith(m + "/") for p in integration.instruments for m in modules)


def statuses(
    integrations: Sequence[Integration],
    reachable: frozenset[str],
    packages: Mapping[str, Package],
    go_version: str,
    disabled: Callable[[str], bool],
) -> tuple[Status, ...]:
    """Every integration's :func:`status`; one that needs an integration that
    does not apply is skipped too."""
    found = {i.name: status(i, reachable, packages, go_version, disabled) for i in integrations}
    changed = True
    while changed:
        changed = False
        for name, current in found.items():
            if current.state != APPLIES:
                continue
            for needed in current.integration.requires:
                other = found.get(needed)
                if other is None or other.state != APPLIES:
                    why = f"needs {needed}, which is {other.state if other is not None else 'not loaded'}"
                    found[name] = Status(current.integration, SKIPPED, why)
                    changed = True
                    break
    return tuple(found[i.name] for i in integrations)


def status(
    integration: Integration,
    reachable: frozenset[str],
    packages: Mapping[str, Package],
    go_version: str,
    disabled: Callable[[str], bool],
) -> Status:
    """The integration's state for a build whose main packages reach the
    import paths ``reachable``; ``packages`` are the build's, by import path;
    ``disabled(id)`` says whether overlay-gen.toml switched an aspect off."""
    if integration.aspect_ids and all(disabled(a) for a in integration.aspect_ids):
        return Status(integration, SKIPPED, "switched off in overlay-gen.toml")
    found = [p for p in integration.instruments if p in reachable]
    if integration.instruments and not found:
        listed = integration.instruments
        what = f"{listed[0]} is not" if len(listed) == 1 else f"none of {', '.join(listed)} is"
        return Status(integration, NOT_APPLICABLE, f"{what} in the build's package graph")
    if integration.go is not None and not integration.go.allows(go_version):
        return Status(integration, SKIPPED, f"{go_version}: it supports Go {integration.go.text}")
    if not found:
        return Status(integration, APPLIES, "every program")
    where: list[str] = []
    for path in found:
        pkg = packages.get(path)
        module = pkg.module if pkg is not None and not pkg.standard else None
        source = (module.replace or module) if module is not None else None
        if source is None:
            where.append(path)
            continue
        if integration.versions is not None and source.version and not integration.versions.allows(source.version):
            why = f"{source.path} {source.version}: it supports {integration.versions.text}"
            return Status(integration, SKIPPED, why)
        where.append(f"{source.path} {source.version or '(a local directory)'}")
    return Status(integration, APPLIES, ", ".join(dict.fromkeys(where)))
