"""Stage 6, apply: byte-range edits, and the one place they are applied.

Advice never touches a tree: it returns :class:`Edit` values (stage 5c).
:func:`apply` sorts them, refuses overlapping ones (naming both aspects), adds the imports
the advice asked for on the package clause's own line, and writes ``//line``
directives wherever inserted text shifted lines, so every original line keeps
its number in stack traces and compiler messages.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence

import attrs

from .errors import RewriteError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol

    from .cache import Store

    class Rewrite(Protocol):
        """What stage 6 needs of a file's result (:class:`.advise.FileResult`)."""

        @property
        def path(self) -> str: ...
        @property
        def display(self) -> str: ...
        @property
        def original(self) -> bytes: ...
        @property
        def edits(self) -> tuple[Edit, ...]: ...
        @property
        def imports(self) -> tuple[Import, ...]: ...
        @property
        def import_at(self) -> int | None: ...


@attrs.frozen(order=False)
class Edit:
    """Replace ``source[start:end]`` with ``text`` (an insertion when start == end).

    ``priority`` orders edits at the same position (lower first); ``aspect``
    is the aspect id, for error messages.
    """

    start: int
    end: int
    text: str
    aspect: str
    priority: int = 0

    @property
    def sort_key(self) -> tuple[int, int, int]:
        return (self.start, self.end, self.priority)


@attrs.frozen
class Import:
    alias: str  # "_" for a blank import
    path: str


class LineMap:
    """Offsets to 1-based (line, column) in a byte string."""

    def __init__(self, source: bytes) -> None:
        self._starts = [0] + [m.end() for m in re.finditer(b"\n", source)]

    def position(self, offset: int) -> tuple[int, int]:
        index = bisect.bisect_right(self._starts, offset) - 1
        return index + 1, offset - self._starts[index] + 1


def apply(
    source: bytes,
    edits: Iterable[Edit],
    *,
    display: str,
    imports: Sequence[Import] = (),
    import_at: int | None = None,
) -> bytes:
    """Apply ``edits`` to ``source``; add ``imports`` at offset ``import_at``
    (the end of the package clause). ``display`` names the file in errors."""
    lines = LineMap(source)
    newline = line_ending(source)
    ordered = sorted(set(edits), key=lambda e: e.sort_key)
    if imports:
        if import_at is None:
            raise RewriteError(f"{display}: no package clause to add imports after")
        specs = "; ".join(f'{i.alias} "{i.path}"' for i in imports)
        ordered.insert(
            bisect.bisect_left([e.sort_key for e in ordered], (import_at, import_at, -(10**9))),
            Edit(import_at, import_at, f"; import ({specs})", "overlay-gen", -(10**9)),
        )
    _check_overlaps(ordered, lines, display)

    out: list[bytes] = []
    cursor = 0
    out_line = 1  # the line the compiler assigns to the end of `out`
    at_line_start = True
    for index, edit in enumerate(ordered):
        chunk = source[cursor : edit.start]
        if chunk:
            out.append(chunk)
            out_line += chunk.count(b"\n")
            at_line_start = chunk.endswith(b"\n")
        text = edit.text.encode()
        if newline != b"\n":  # inserted lines end as the file's own do
            text = _LF.sub(newline, text)
        out.append(text)
        if text:
            out_line += text.count(b"\n")
            at_line_start = text.endswith(b"\n")
        cursor = edit.end
        resumes = index + 1 == len(ordered) or ordered[index + 1].start > cursor
        line, column = lines.position(cursor)
        if resumes and cursor < len(source) and out_line != line:
            out.append(
                f"//line :{line}:{column}".encode() + newline
                if at_line_start
                else f"/*line :{line}:{column}*/".encode()
            )
            out_line = line
            at_line_start = False
    out.append(source[cursor:])
    return b"".join(out)


_LF = re.compile(rb"(?<!\r)\n")


def line_ending(source: bytes) -> bytes:
    """How the file ends its lines: as its first line does (CRLF or LF)."""
    first = source.find(b"\n")
    return b"\r\n" if first > 0 and source[first - 1 : first] == b"\r" else b"\n"


def apply_all(files: Sequence[Rewrite], cache: Store) -> dict[str, bytes]:
    """Stage 6 for a run: each changed file (by path) with its edits applied,
    kept in ``cache`` under the file's bytes and its edits, so a run after an
    edit applies again only what changed."""
    import hashlib

    from .cache import Key

    out = {}
    for f in files:
        if not (f.edits or f.imports):
            continue
        key = Key("apply").add(f.display, hashlib.sha256(f.original).digest(), f.edits, tuple(f.imports), f.import_at)
        done = cache.get(key)
        if not isinstance(done, bytes):
            done = apply(f.original, f.edits, display=f.display, imports=f.imports, import_at=f.import_at)
            cache.put(key, done)
        out[f.path] = done
    return out


def _check_overlaps(ordered: Sequence[Edit], lines: LineMap, display: str) -> None:
    """Two edits overlap when one replaces bytes the other also replaces or inserts into."""
    for i, first in enumerate(ordered):
        for second in ordered[i + 1 :]:
            if second.start >= first.end:
                break  # sorted by start: nothing later reaches into `first`
            if _overlap(first, second):
                line, _ = lines.position(second.start)
                raise RewriteError(
                    f"{display}:{line}: edits of aspects {first.aspect!r} and {second.aspect!r} overlap",
                    hint="narrow one join point, or switch one aspect off in overlay-gen.toml",
                )


def _overlap(a: Edit, b: Edit) -> bool:
    if a.start == a.end and b.start == b.end:
        return False  # two insertions: ordered by priority
    if a.start == a.end:
        return b.start < a.start < b.end
    if b.start == b.end:
        return a.start < b.start < a.end
    return a.start < b.end and b.start < a.end
