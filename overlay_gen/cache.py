"""A content-addressed store for what generation computes.

Every entry is kept under a key that hashes all the inputs its value depends
on (file contents, the aspect set, the Go environment, overlay-gen's own
source), so an entry is either right for a run or never looked up: nothing is
ever invalidated, a changed input only makes a new key. What each stage puts
here, and which inputs its keys hold, is listed in docs/adr/0007-cache.md.

Where: ``$OVERLAY_GEN_CACHE``, else ``overlay-gen/`` in the user's cache
directory (``$XDG_CACHE_HOME``, else ``~/.cache``); ``OVERLAY_GEN_CACHE=off``
turns caching off. Values are pickled; an entry that cannot be read (a
truncated write, another overlay-gen's format) counts as missing. Entries not
used for :data:`TRIM_AFTER` seconds are removed, at most once a day.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import pickle
import sys
import time
from collections.abc import Iterable
from pathlib import Path

from . import __version__

ENV = "OVERLAY_GEN_CACHE"
FORMAT = 1  # bump when what an entry holds changes shape without the source changing
TRIM_AFTER = 5 * 24 * 3600
_TOUCH_AFTER = 3600  # refresh an entry's mtime (its last use) at most this often
_TRIM_EVERY = 24 * 3600


class Key:
    """A hash of named parts, fed in order; every part is length-prefixed so
    that no two different sequences of parts give the same bytes."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._hash = hashlib.sha256()
        self.add(salt())
        self.add(kind)

    def add(self, *parts: object) -> Key:
        """Parts are hashed as their bytes or their repr: give plain values
        (strings, numbers, tuples of them), never sets."""
        for part in parts:
            data = part if isinstance(part, bytes) else repr(part).encode()
            self._hash.update(b"%d:" % len(data))
            self._hash.update(data)
        return self

    def add_all(self, parts: Iterable[str]) -> Key:
        """A collection of strings, order ignored."""
        items = sorted(parts)
        self.add(len(items), *items)
        return self

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


@functools.cache
def salt() -> str:
    """What makes this overlay-gen produce what it does: its version, the
    Python it runs on (pickles), and the bytes of every file of the package
    (code, built-in aspects, the runtime module), so an edited checkout never
    reads another checkout's entries."""
    digest = hashlib.sha256(f"{__version__}\0{FORMAT}\0{sys.version_info[:2]}".encode())
    package = Path(__file__).resolve().parent
    for directory, dirs, files in os.walk(package, followlinks=True):
        # An integration's fixture and golden files are the tests', not generation's.
        dirs[:] = sorted(d for d in dirs if d not in ("__pycache__", "fixture", "golden"))
        for name in sorted(files):
            if name.endswith((".pyc", ".pyo")):
                continue
            path = os.path.join(directory, name)
            digest.update(os.path.relpath(path, package).encode() + b"\0")
            with open(path, "rb") as f:
                digest.update(hashlib.sha256(f.read()).digest())
    return digest.hexdigest()


def default_directory() -> Path | None:
    """Where the cache is, or None when it is turned off."""
    configured = os.environ.get(ENV, "")
    if configured == "off":
        return None
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base, "overlay-gen")


class Cache:
    """Pickled values by (kind, key). ``Cache(None)`` keeps nothing."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory

    @classmethod
    def default(cls) -> Cache:
        return cls(default_directory())

    def _path(self, key: Key) -> Path | None:
        if self.directory is None:
            return None
        digest = key.hexdigest()
        return self.directory / key.kind / digest[:2] / digest

    def get(self, key: Key) -> object | None:
        path = self._path(key)
        if path is None:
            return None
        try:
            with open(path, "rb") as f:
                value: object = pickle.load(f)
                used = os.fstat(f.fileno()).st_mtime
            if time.time() - used > _TOUCH_AFTER:
                os.utime(path)
        except FileNotFoundError:
            return None
        except Exception:  # unreadable: as if missing, and gone
            _unlink(path)
            return None
        return value

    def put(self, key: Key, value: object) -> None:
        """Store ``value``; a cache that cannot be written is only slower."""
        path = self._path(key)
        if path is not None and self._write(path, value):
            self._maybe_trim()

    def _write(self, path: Path, value: object) -> bool:
        """Write atomically (a reader sees the old entry or the new one)."""
        try:
            if not path.parent.is_dir():
                path.parent.mkdir(parents=True, exist_ok=True)
            # A name of our own rather than tempfile's: the no-op path imports this module.
            tmp = path.parent / f".tmp-{os.getpid()}-{os.urandom(6).hex()}"
            with open(tmp, "xb") as f:
                pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except OSError:
            return False
        return True

    def load_state(self, name: str) -> object | None:
        """A value kept by name rather than by content (an index of what is
        known; each of its entries must be checkable on its own)."""
        if self.directory is None:
            return None
        try:
            with open(self.directory / "state" / name, "rb") as f:
                value: object = pickle.load(f)
                return value
        except Exception:
            return None

    def save_state(self, name: str, value: object) -> None:
        if self.directory is None:
            return
        self._write(self.directory / "state" / name, value)

    def _maybe_trim(self) -> None:
        assert self.directory is not None
        marker = self.directory / "trimmed"
        now = time.time()
        try:
            if now - marker.stat().st_mtime < _TRIM_EVERY:
                return
        except FileNotFoundError:
            pass
        try:
            marker.touch()
        except OSError:
            return
        for directory, _dirs, files in os.walk(self.directory):
            for name in files:
                path = os.path.join(directory, name)
                try:
                    if name != "trimmed" and now - os.stat(path).st_mtime > TRIM_AFTER:
                        os.unlink(path)
                except OSError:
                    continue


class Memo:
    """Many small answers (select's, gofmt's) kept as one entry of ``cache``:
    one read and at most one write per run instead of one file each. Answers
    are looked up by their own full :class:`Key`; the table is saved with only
    the answers this run used, so it does not grow with history. ``scope``
    (the module root) keeps two modules from dropping each other's answers."""

    def __init__(self, cache: Cache, kind: str, scope: str) -> None:
        self._cache = cache
        self._key = Key(kind).add(scope)
        loaded = cache.get(self._key)
        self._old: dict[str, object] = loaded if isinstance(loaded, dict) else {}
        self._used: dict[str, object] = {}

    def get(self, key: Key) -> object | None:
        digest = key.hexdigest()
        value = self._old.get(digest)
        if value is not None:
            self._used[digest] = value
        return value

    def put(self, key: Key, value: object) -> None:
        self._used[key.hexdigest()] = value

    def save(self) -> None:
        if self._used != self._old:
            self._cache.put(self._key, self._used)


TYPE_CHECKING = False  # typing takes 5 ms to import, before every build: only the type checker reads it
if TYPE_CHECKING:
    from typing import Protocol

    class Store(Protocol):
        """What :class:`Cache` and :class:`Memo` both offer."""

        def get(self, key: Key) -> object | None: ...
        def put(self, key: Key, value: object) -> None: ...


def _unlink(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()
