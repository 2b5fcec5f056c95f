"""The Go modules instrumented code needs: the integrations' own, and what they require.

Injected code imports two kinds of packages besides the standard library:

* packages of the integrations' Go modules (``overlay-gen.invalid/...``,
  shipped in this Python package, one per integration folder). They are no
  published modules: the build gets each as a directory under the shadow
  directory, through a ``require`` and a ``replace`` in the overlaid go.mod
  (docs/adr/0004). Each one's go.mod is written for the build from the main
  module's own requirements, so the two never disagree;
* the modules those require (OpenTelemetry's, the instrumentation packages
  of the OpenTelemetry project or of a library's authors). They must be in
  the main module's go.mod and go.sum, which only ``overlay-gen pin``
  changes. An integration module's go.mod requires the oldest release of
  each that its code accepts (otel v1.36.0; v1.45.0 where it imports
  semconv/v1.43.0), as a go.mod requirement means; pin takes the newest that
  fits the main module. Generation checks them and names what is missing
  instead of producing an overlay that cannot build. An instrumented
  library's own module is the user's choice of release: any the integration
  supports will do.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from .errors import GoEnvironmentError
from .integration import GoModule, is_integration_module, module_closure, module_of
from .model import is_standard, version_key, within

if TYPE_CHECKING:
    from .resolve import Resolution


@attrs.frozen
class Needs:
    """What injected code imports, beyond the standard library."""

    modules: tuple[GoModule, ...]  # the integration modules it imports, and those they require
    used: frozenset[str]  # their packages it imports, and those these import: what the build compiles
    requires: Mapping[str, str]  # module path -> the oldest release the integrations accept
    libraries: frozenset[str]  # instrumented libraries' modules: the user's release is the one
    packages: tuple[str, ...]  # packages whose module is not known (no version to ask for)

    @property
    def imports(self) -> tuple[str, ...]:
        """What the integration modules' packages import of other modules (for pin's tools file),
        instrumented libraries' packages included: the program may not import those (pgx's
        integration imports pgxpool, which a program on pgx.Connect alone does not), and their
        own requirements (puddle) must be in go.mod at the user's release of the library."""
        found = {
            i
            for module in self.modules
            for imports in module.packages.values()
            for i in imports
            if not is_standard(i) and not is_integration_module(i)
        }
        return tuple(sorted(found))


def needs(
    import_paths: Iterable[str],
    main_module: str,
    modules: Mapping[str, GoModule],
    libraries: Iterable[str] = (),
) -> Needs:
    """What ``import_paths`` (what advice imports) need, given the integration
    ``modules`` by path and the instrumented ``libraries`` (module paths)."""
    outside = sorted({p for p in import_paths if not is_standard(p) and not within(p, main_module)})
    used = _used_packages(outside, modules)
    closure = module_closure(modules, {m.path for p in used if (m := module_of(p, modules)) is not None})
    requires: dict[str, str] = {}
    for module in closure:
        for path, version in module.requires.items():
            if not is_integration_module(path) and version_key(version) > version_key(requires.get(path, "")):
                requires[path] = version
    packages = [
        p
        for p in outside
        if not is_integration_module(p) and not any(within(p, m) for m in requires) and not within(p, main_module)
    ]
    return Needs(tuple(closure), frozenset(used), requires, frozenset(libraries), tuple(packages))


def _used_packages(import_paths: Iterable[str], modules: Mapping[str, GoModule]) -> set[str]:
    """The integration packages among ``import_paths`` and every integration package they import,
    directly or not (the runtime's genai package is not among them unless a GenAI client's is)."""
    used: set[str] = set()
    todo = list(import_paths)
    while todo:
        path = todo.pop()
        module = module_of(path, modules) if path not in used else None
        if module is None:
            continue
        used.add(path)
        todo += [i for i in module.packages[path] if is_integration_module(i)]
    return used


def missing(need: Needs, go_mod: Mapping[str, Any]) -> list[str]:
    """What go.mod lacks of ``need``: ``module vX`` (too old or absent) or a package path."""
    required = {r["Path"]: r["Version"] for r in go_mod.get("Require") or []}
    out = [
        f"{module} {version}"
        for module, version in sorted(need.requires.items())
        if module not in required
        or (module not in need.libraries and version_key(required[module]) < version_key(version))
    ]
    out += [p for p in need.packages if not any(within(p, m) for m in required)]
    return out


def check(need: Needs, go_mod: Mapping[str, Any]) -> None:
    """Fail, naming the modules, when go.mod cannot build what the aspects inject."""
    absent = missing(need, go_mod)
    if absent:
        raise GoEnvironmentError(
            f"go.mod lacks what the instrumentation imports: {', '.join(absent)}",
            hint="run 'overlay-gen pin' to add it to go.mod, go.sum and overlay-gen.tools.go",
        )


def check_vendored(need: Needs, resolution: Resolution) -> None:
    """In vendor mode, fail, naming them, when the packages the integration
    modules import from other modules are not in vendor/ (go list found them
    neither in the program nor on their own)."""
    found = {p.path for p in resolution.packages} | {p.import_path for p in resolution.extra}
    wanted = {
        i
        for module in need.modules
        for imports in module.packages.values()
        for i in imports
        if not is_standard(i) and not is_integration_module(i)
    }
    absent = sorted(wanted - found)
    if absent:
        raise GoEnvironmentError(
            f"vendor/modules.txt lacks what the instrumentation imports: {', '.join(absent)}",
            hint="run 'overlay-gen pin', then 'go mod vendor'",
        )


def module_go_mod(module: GoModule, go_mod: Mapping[str, Any], workspace: bool = False) -> str:
    """An integration module's go.mod for this build: its requirements at the
    main module's versions (integration modules at v0.0.0, replaced by the
    overlaid go.mod). In a workspace the integration modules are workspace
    modules (the overlaid go.work uses them), which no go.mod may require:
    the go command would look v0.0.0 up."""
    required = {r["Path"]: r["Version"] for r in go_mod.get("Require") or []}
    go_version = go_mod.get("Go") or "1.26"
    lines = [f"module {module.path}", "", f"go {go_version}", "", "require ("]
    lines += [
        f"\t{m} {required.get(m, v)}"
        for m, v in sorted(module.requires.items())
        if not (workspace and is_integration_module(m))
    ]
    return "\n".join([*lines, ")", ""])
