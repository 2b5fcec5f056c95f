"""The registry that maps TOML keys to join point and advice kinds."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from .tomlkeys import Loc


class Kind(Protocol):
    key: ClassVar[str]


K = TypeVar("K", bound=type[Kind])


class Registry(Mapping[str, K], Generic[K]):
    """Kinds by TOML key; ``what`` names them in errors ("join point", "advice")."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._kinds: dict[str, K] = {}

    def register(self, cls: K) -> K:
        """Class decorator: make ``cls`` the kind for its ``key``."""
        if cls.key in self._kinds:
            raise ValueError(f"{self.what} {cls.key!r} registered twice")
        self._kinds[cls.key] = cls
        return cls

    def lookup(self, value: Any, loc: Loc) -> tuple[K, Any, Loc]:
        """The kind a one-key table names, its value, and where that value is."""
        key, inner = loc.one_key(value, self._kinds, self.what)
        return self._kinds[key], inner, loc / key

    def __getitem__(self, key: str) -> K:
        return self._kinds[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._kinds)

    def __len__(self) -> int:
        return len(self._kinds)
