"""The domain values every stage shares: a module, a package, the Go environment.

A leaf module: it imports nothing of overlay-gen, so any stage may import it
(resolve makes these values, the others read them). Also here: what an import
path or a module version says on its own (standard library or not, the order
of semantic versions).
"""

from __future__ import annotations

import operator
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs


def is_standard(path: str) -> bool:
    """A standard-library import path: its first element has no dot."""
    return "." not in path.split("/", 1)[0]


def within(package: str, module: str) -> bool:
    """Is ``package`` the module path ``module`` or below it?"""
    return package == module or package.startswith(module + "/")


def release(version: str) -> tuple[int, ...]:
    """A Go release, ``go1.27.3`` (or ``devel go1.28-abc``, or ``1.27``), as
    (1, 27, 3); missing parts are 0."""
    match = re.search(r"go(\d+(?:\.\d+)*)", version) or re.search(r"(\d+(?:\.\d+)*)", version)
    if match is None:
        return (0, 0, 0)
    parts = [int(p) for p in match.group(1).split(".")]
    return tuple([*parts, 0, 0, 0][:3])


def version_key(version: str) -> tuple[int, int, int, int, tuple[tuple[int, int, str], ...]]:
    """Order semantic versions as the go command does: a pre-release sorts
    before its release, and pre-releases compare identifier by identifier
    (numbers as numbers, below words: ``rc.9`` < ``rc.10`` < ``rc.a``). So
    pseudo-versions order by commit time, also those made from a pre-release
    (``v1.2.0-rc.2.0.20240101000000-abcdef123456`` < ``v1.2.0-rc.10``)."""
    match = re.match(r"v(\d+)\.(\d+)\.(\d+)(?:-([^+]*))?", version)
    if match is None:
        return (0, 0, 0, 0, ((1, 0, version),))
    major, minor, patch, pre = match.groups()
    identifiers = tuple((0, int(i), "") if i.isdigit() else (1, 0, i) for i in pre.split(".")) if pre else ()
    return (int(major), int(minor), int(patch), 0 if pre else 1, identifiers)


_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
}
_COMPARISON = re.compile(r"\s*(>=|<=|==|>|<)\s*(\S+)\s*")


@attrs.frozen
class Constraint:
    """Comparisons joined by commas that a version must all meet: module
    versions (``>=v1.9.1, <v2``) or Go releases (``>=1.26``)."""

    text: str
    parts: tuple[tuple[str, str], ...]
    go: bool  # Go releases rather than module versions

    @classmethod
    def parse(cls, text: str, go: bool) -> Constraint:
        """Raises ValueError when ``text`` is no constraint."""
        parts = []
        for piece in text.split(","):
            match = _COMPARISON.fullmatch(piece)
            shape = r"\d+\.\d+(\.\d+)?" if go else r"v\d+\.\d+\.\d+(-\S+)?"
            if match is None or re.fullmatch(shape, match.group(2)) is None:
                raise ValueError(f"{text!r} is not a version constraint")
            parts.append((match.group(1), match.group(2)))
        return cls(text, tuple(parts), go)

    def allows(self, version: str) -> bool:
        """Does ``version`` (``v1.2.3``, or a Go release such as ``go1.27.3``) meet every comparison?"""
        key: Callable[[str], Any] = release if self.go else version_key
        return all(_OPERATORS[op](key(version), key(wanted)) for op, wanted in self.parts)


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
    # The rest of what selects files by build constraint (GOEXPERIMENT, GOAMD64, ...).
    build_env: tuple[tuple[str, str], ...] = ()

    @property
    def workspace(self) -> Path | None:
        """The go.work file of the build, in workspace mode."""
        return Path(self.gowork) if self.gowork not in ("", "off") else None

    @property
    def in_module(self) -> bool:
        """Is the directory go env ran in inside a module (not only a workspace)?"""
        return self.gomod not in ("", os.devnull)

    @property
    def module_root(self) -> Path:
        """The root of the module go env ran in (in a workspace, outside every
        module of it: the workspace's directory)."""
        if not self.in_module and self.workspace is not None:
            return self.workspace.parent
        return Path(self.gomod).parent

    @property
    def root(self) -> Path:
        """Where generation runs and writes: the workspace's directory (the
        workspace is built as a whole), else the module root."""
        return self.workspace.parent if self.workspace is not None else self.module_root


@attrs.frozen
class BuildContext:
    """What decides the package graph: the module, the flags and the patterns."""

    root: Path
    build_flags: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ("./...",)
    tests: bool = False
