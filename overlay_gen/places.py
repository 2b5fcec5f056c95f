"""Where files live: the name a reviewer knows a file by, and where its shadow goes.

Every Go file is in one of three places, and each has its own shadow root
under the shadow directory (``.overlay-gen/`` by default):

=============  ==========================  ==========================================
place          shown as                    shadow
=============  ==========================  ==========================================
std library    ``$GOROOT/src/net/http/x``  ``goroot/src/net/http/x`` (overlaid in place)
module cache   ``example.com/m@v1.2.0/x``  ``mod/example.com/m@v1.2.0/x``: the module copy
                                           that a ``replace`` in the overlaid go.mod names
anywhere else  ``pkg/x.go`` (from the      ``main/pkg/x.go`` (overlaid in place); main
               module root)                module, vendor/, local replacements
=============  ==========================  ==========================================

Shadow paths depend only on these names, never on the machine, so two clones
of a module produce the same shadow tree.
"""

from __future__ import annotations

import os
from pathlib import Path

import attrs

from .model import GoEnv, Module, Package


def escape_module_path(path: str) -> str:
    """The module cache's case encoding: ``Azure`` -> ``!azure``."""
    return "".join(f"!{c.lower()}" if c.isupper() else c for c in path)


@attrs.frozen
class ModuleCopy:
    """A module from the module cache, seen by the build through a replace."""

    module: Module  # the module go.mod requires (what the replace replaces)
    source: Module  # the module whose files are used (itself, or its replacement)

    @property
    def name(self) -> str:
        return f"{escape_module_path(self.source.path)}@{self.source.version}"


@attrs.frozen
class Layout:
    root: Path  # module root
    shadow: Path  # shadow directory (absolute)
    env: GoEnv

    @property
    def staging(self) -> Path:
        """Where a run writes its output before it replaces the shadow directory."""
        return self.shadow.with_name(self.shadow.name + ".new")

    def _under(self, path: str, base: str) -> str | None:
        base = os.path.join(base, "")
        return path[len(base) :] if base != os.sep and path.startswith(base) else None

    def module_copy(self, pkg: Package) -> ModuleCopy | None:
        """The module copy a file of ``pkg`` goes through, if it lives in the module cache."""
        if pkg.module is None or pkg.standard or self._under(pkg.dir, self.env.gomodcache) is None:
            return None
        return ModuleCopy(pkg.module, pkg.module.replace or pkg.module)

    def place(self, path: str, pkg: Package) -> tuple[str, str]:
        """(display name, shadow path relative to the shadow directory) of ``path``."""
        copy = self.module_copy(pkg)
        if copy is not None:
            rel = os.path.relpath(path, copy.source.dir)
            return f"{copy.source.path}@{copy.source.version}/{rel}", f"mod/{copy.name}/{rel}"
        in_goroot = self._under(path, os.path.join(self.env.goroot, "src"))
        if pkg.standard and in_goroot is not None:
            return f"$GOROOT/src/{in_goroot}", f"goroot/src/{in_goroot}"
        rel = os.path.relpath(path, self.root)
        safe = "/".join("__up__" if part == ".." else part for part in Path(rel).parts)
        return rel, f"main/{safe}"

    def display(self, path: str, pkg: Package) -> str:
        return self.place(path, pkg)[0]

    def copy_dir(self, copy: ModuleCopy) -> Path:
        """Where the build sees the module copy (under the shadow directory)."""
        return self.shadow / "mod" / copy.name

    def build_path(self, path: str, pkg: Package) -> str:
        """The path the go command reads for ``path``: in place, or in the module copy."""
        copy = self.module_copy(pkg)
        if copy is None:
            return path
        return str(self.copy_dir(copy) / os.path.relpath(path, copy.source.dir))
