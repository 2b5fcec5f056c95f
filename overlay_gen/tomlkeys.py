"""Typed reads of TOML values that fail naming the file, the aspect and the key path.

A :class:`Loc` is a position in a loaded TOML document: ``Loc("a.toml",
aspect="x") / "advice" / 0 / "prepend-statements"`` prints as
``advice[0].prepend-statements``. Its readers raise :class:`ConfigError` with
that context and, for an unknown key, the closest known one.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from .errors import ConfigError


@attrs.frozen
class Loc:
    file: str
    aspect: str | None = None
    path: tuple[str | int, ...] = ()

    def __truediv__(self, part: str | int) -> Loc:
        return attrs.evolve(self, path=(*self.path, part))

    @property
    def key(self) -> str:
        out = ""
        for part in self.path:
            if isinstance(part, int):
                out += f"[{part}]"
            else:
                out += f".{part}" if out else part
        return out

    def error(self, message: str, hint: str | None = None) -> ConfigError:
        return ConfigError(self.file, message, aspect=self.aspect, key=self.key or None, hint=hint)

    # --- typed readers -----------------------------------------------------

    def table(self, value: Any, allowed: Iterable[str], required: Iterable[str] = ()) -> dict[str, Any]:
        """``value`` as a table whose keys are all in ``allowed``."""
        if not isinstance(value, Mapping):
            raise self.error(f"expected a table, found {_kind(value)}")
        allowed = list(allowed)
        for key in value:
            if key not in allowed:
                raise (self / key).error("unknown key", hint=suggest(key, allowed))
        for key in required:
            if key not in value:
                raise self.error(f"missing key {key!r}")
        return dict(value)

    def one_key(self, value: Any, known: Iterable[str], what: str) -> tuple[str, Any]:
        """A table with exactly one key, which names a registered kind."""
        known = sorted(known)
        if not isinstance(value, Mapping):
            raise self.error(f"expected a table naming one {what}, found {_kind(value)}")
        if len(value) != 1:
            keys = ", ".join(sorted(value)) or "none"
            raise self.error(f"expected exactly one {what}, found {len(value)} ({keys})")
        ((key, inner),) = value.items()
        if key not in known:
            hint = suggest(key, known) or f"known: {', '.join(known)}"
            raise (self / key).error(f"unknown {what}", hint=hint)
        return key, inner

    def string(self, value: Any) -> str:
        if not isinstance(value, str):
            raise self.error(f"expected a string, found {_kind(value)}")
        return value

    def boolean(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise self.error(f"expected true or false, found {_kind(value)}")
        return value

    def array(self, value: Any) -> list[Any]:
        if not isinstance(value, list):
            raise self.error(f"expected an array, found {_kind(value)}")
        return value

    def strings(self, value: Any) -> tuple[str, ...]:
        return tuple((self / i).string(v) for i, v in enumerate(self.array(value)))

    def string_table(self, value: Any) -> dict[str, str]:
        if not isinstance(value, Mapping):
            raise self.error(f"expected a table of strings, found {_kind(value)}")
        return {k: (self / k).string(v) for k, v in value.items()}


def suggest(word: str, choices: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None


def _kind(value: Any) -> str:
    return {
        str: "a string",
        bool: "a boolean",
        int: "an integer",
        float: "a float",
        list: "an array",
        dict: "a table",
    }.get(type(value), type(value).__name__)
