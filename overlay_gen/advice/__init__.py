"""Advice: what an aspect does where its join point matched.

Each kind is one small module of this package, registered under its TOML key
with :func:`register`. An advice kind declares the node types it acts on
(``ACCEPTS``; ``None`` for advice that acts on a whole package and applies
once per package), reads its TOML table in ``from_toml`` (compiling its
template, so a bad template fails when the aspect loads), and turns one
:class:`Site` into byte-range :class:`~overlay_gen.edits.Edit` values in
``edits``. It never changes the tree or the file itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import attrs

from ..captures import KNOWN, TAKES_ARGUMENT, Capture
from ..edits import Edit, Import
from ..registry import Registry
from ..template import Form, Template, compile_template
from ..tomlkeys import Loc


class Skip(Exception):
    """This join point cannot take the advice; the reason is reported."""


class ImportAllocator:
    """The imports advice adds to one file, under aliases that cannot collide."""

    def __init__(self, source: bytes, existing_paths: Iterable[str] = ()) -> None:
        self._source = source
        self._existing = set(existing_paths)
        self._by_path: dict[str, str] = {}
        self._taken: set[str] = set()
        self.added: list[Import] = []

    def alias(self, key: str, path: str) -> str:
        if path in self._by_path:
            return self._by_path[path]
        candidate, n = f"_og_{key}", 1
        while candidate in self._taken or re.search(rb"\b%s\b" % candidate.encode(), self._source):
            n += 1
            candidate = f"_og_{key}{n}"
        self._taken.add(candidate)
        self._by_path[path] = candidate
        self.added.append(Import(candidate, path))
        return candidate

    def copy(self) -> ImportAllocator:
        other = ImportAllocator(self._source, self._existing)
        other._by_path = dict(self._by_path)
        other._taken = set(self._taken)
        other.added = list(self.added)
        return other

    def blank(self, path: str) -> None:
        if path not in self._existing and Import("_", path) not in self.added:
            self.added.append(Import("_", path))


@attrs.frozen
class NewFile:
    """A file advice adds to the package of its site."""

    name: str
    code: str
    imports: tuple[Import, ...]
    aspect: str


@attrs.frozen
class Rendered:
    """A template's code for one site, and the edits of the source it needs
    (names for what had none: advice returns them with its own)."""

    text: str
    edits: tuple[Edit, ...] = ()


@attrs.define
class Site:
    """One place an advice applies: a capture, its order, the file's imports."""

    capture: Capture
    order: int
    imports: ImportAllocator
    new_files: list[NewFile] = attrs.field(factory=list)

    @property
    def aspect(self) -> str:
        return self.capture.aspect

    def render(
        self,
        template: Template,
        overrides: Mapping[str, str] | None = None,
        imports: ImportAllocator | None = None,
    ) -> Rendered:
        """The template's code for this site, and the edits its placeholders'
        values need; ``overrides`` replace placeholder values."""
        allocator = imports or self.imports
        aliases = {key: allocator.alias(key, path) for key, path in template.imports.items()}
        overrides = overrides or {}
        texts: dict[str, str] = {}
        edits: list[Edit] = []
        for ref in sorted(template.placeholders):
            if ref in overrides:
                texts[ref] = overrides[ref]
                continue
            name, _, argument = ref.partition(":")
            value = self.capture.value(name, argument or None)
            texts[ref] = value.text
            edits += value.edits
        return Rendered(template.render(texts, aliases), tuple(edits))

    def edit(self, start: int, end: int, text: str, priority: int | None = None) -> Edit:
        return Edit(start, end, text, self.aspect, self.order if priority is None else priority)


class Advice:
    key: ClassVar[str]
    ACCEPTS: ClassVar[frozenset[str] | None]

    @classmethod
    def from_toml(cls, value: Any, loc: Loc) -> Advice:
        raise NotImplementedError

    def edits(self, site: Site) -> list[Edit]:
        raise NotImplementedError

    def import_paths(self) -> frozenset[str]:
        """Every package this advice may add an import of (for ``overlay-gen pin``)."""
        return frozenset()


def read_template(value: Any, loc: Loc, form: Form) -> Template:
    """The compiled template of an advice table (keys ``template`` and ``imports``)."""
    table = loc.table(value, ["template", "imports"], required=["template"])
    text = (loc / "template").string(table["template"]).strip("\n")
    imports = (loc / "imports").string_table(table.get("imports", {}))
    return compile_template(text, imports, form, KNOWN, loc, TAKES_ARGUMENT)


@attrs.frozen
class TemplateAdvice(Advice):
    """Advice whose TOML table is a template of form ``FORM`` and its imports."""

    FORM: ClassVar[Form]

    template: Template

    @classmethod
    def from_toml(cls, value: Any, loc: Loc) -> Advice:
        return cls(read_template(value, loc, cls.FORM))

    def import_paths(self) -> frozenset[str]:
        return frozenset(self.template.imports.values())


REGISTRY: Registry[type[Advice]] = Registry("advice")
register = REGISTRY.register


def parse_advice(value: Any, loc: Loc) -> Advice:
    kind, inner, at = REGISTRY.lookup(value, loc)
    return kind.from_toml(inner, at)


# The kinds, one module each. Imported last: they register themselves.
from . import (
    add_blank_import,
    add_file,
    add_struct_field,
    append_arguments,
    inject_declarations,
    prepend_statements,
    replace_call_target,
    wrap_expression,
)

__all__ = [
    "REGISTRY",
    "Advice",
    "ImportAllocator",
    "NewFile",
    "Rendered",
    "Site",
    "Skip",
    "TemplateAdvice",
    "add_blank_import",
    "add_file",
    "add_struct_field",
    "append_arguments",
    "inject_declarations",
    "parse_advice",
    "prepend_statements",
    "read_template",
    "register",
    "replace_call_target",
    "wrap_expression",
]
