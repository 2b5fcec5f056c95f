"""What each source file holds, without reading it when it has not changed.

Cache keys need the digest of every file a result depends on. Reading and
hashing every file of every candidate package on every run would make a run
cost what the graph holds, so, like git's index, the digests are remembered
with the file's stat signature (size, mtime, ctime, inode) and reused while
the signature is the same. A change to a file's bytes changes its ctime, which
no tool can set back; a signature is only trusted when the file had not
changed for a while (:data:`SETTLED_NS`) when it was read, so an edit within
the file system's timestamp granularity cannot hide.

Besides the content digest, the index holds the digest of the file's *Go
header*: what go list reads from a Go file (build constraints, package clause,
imports, the cgo preamble, //go:embed lines). The package graph depends on
these only, so an edit inside a function body keeps the graph.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Iterable

from .cache import Cache

SETTLED_NS = 2_000_000_000
_STATE = "files"

# One token of Go at a time: enough to find where the import declarations end.
_TOKEN = re.compile(
    rb"""\s+|//[^\n]*|/\*.*?\*/|"(?:[^"\\\n]|\\.)*"|`[^`]*`|'(?:[^'\\\n]|\\.)*'|[A-Za-z_][A-Za-z0-9_]*|.""",
    re.S,
)
_DECLARATIONS = frozenset({b"func", b"var", b"const", b"type"})  # what ends the header
_EMBED = re.compile(rb"^[ \t]*//go:embed\b[^\n]*", re.M)


def go_header(source: bytes) -> bytes:
    """The part of a Go file go list reads: everything up to the end of the
    import declarations, plus every //go:embed line."""
    pos, end, depth = 0, 0, 0
    while pos < len(source):
        m = _TOKEN.match(source, pos)
        if m is None:  # pragma: no cover - the pattern matches any byte
            break
        token, pos = m.group(), m.end()
        if token[:1].isspace() or token.startswith((b"//", b"/*")):
            continue
        if depth:  # inside import ( ... )
            depth += (token == b"(") - (token == b")")
        elif token in _DECLARATIONS:
            break
        elif token == b"(":
            depth = 1
        end = pos
    return source[:end] + b"\n" + b"\n".join(_EMBED.findall(source))


Signature = tuple[int, int, int, int]  # size, mtime_ns, ctime_ns, inode


def signature(path: str) -> Signature:
    st = os.stat(path)
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def names_digest(names: Iterable[str]) -> str:
    """A digest of a directory's entries, but those the go command ignores (``.*``, ``_*``)."""
    kept = sorted(n for n in names if not n.startswith((".", "_")))
    return hashlib.sha256("\0".join(kept).encode()).hexdigest()


def settled(signature: Signature, before_ns: int) -> bool:
    """Whether a file with this signature had not changed for a while at ``before_ns``:
    then a later change shows in its signature."""
    return max(signature[1], signature[2]) < before_ns - SETTLED_NS


class FileIndex:
    """Content and header digests of files, remembered by stat signature."""

    def __init__(self, cache: Cache) -> None:
        self._cache = cache
        loaded = cache.load_state(_STATE)
        self._entries: dict[str, tuple[Signature, str, str]] = loaded if isinstance(loaded, dict) else {}
        self._changed = False
        self._sources: dict[str, bytes] = {}
        # What this run read, for overlay_gen.uptodate: files by signature and
        # digest, directories by signature and the digest of their names.
        self.files: dict[str, tuple[Signature, str]] = {}
        self.directories: dict[str, tuple[Signature, str]] = {}

    def _signature(self, path: str) -> Signature:
        return signature(path)

    def digest(self, path: str) -> str:
        """sha256 of the file's bytes."""
        signature = self._signature(path)
        entry = self._entries.get(path)
        if entry is None or entry[0] != signature:
            entry = self._index(path, signature, header=False)
        self.files[path] = (signature, entry[1])
        return entry[1]

    def header(self, path: str) -> str:
        """sha256 of the file's Go header (see :func:`go_header`)."""
        signature = self._signature(path)
        entry = self._entries.get(path)
        if entry is None or entry[0] != signature or not entry[2]:
            entry = self._index(path, signature, header=True)
        self.files[path] = (signature, entry[1])
        return entry[2]

    def directory(self, path: str, names: Iterable[str]) -> None:
        """Record that this run read the names in directory ``path``."""
        self.directories[path] = (signature(path), names_digest(names))

    def _index(self, path: str, signature: Signature, header: bool) -> tuple[Signature, str, str]:
        started = time.time_ns()
        source = self.read(path)
        entry = (
            signature,
            hashlib.sha256(source).hexdigest(),
            hashlib.sha256(go_header(source)).hexdigest() if header else "",
        )
        if settled(signature, started) and self._signature(path) == signature:
            self._entries[path] = entry
            self._changed = True
        return entry

    def read(self, path: str) -> bytes:
        """The file's bytes (read once per run)."""
        source = self._sources.get(path)
        if source is None:
            with open(path, "rb") as f:
                source = self._sources[path] = f.read()
        return source

    def save(self) -> None:
        if self._changed:
            self._cache.save_state(_STATE, self._entries)
            self._changed = False
