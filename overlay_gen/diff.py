"""``overlay-gen diff``: every file the overlay changes or adds, as a unified diff.

Paths are the names a reviewer knows (see :mod:`.places`): relative to the
module root, ``$GOROOT/src/...``, ``module@version/...``, under ``a/`` and
``b/``, so the patch applies with ``patch -p1`` or ``git apply`` to a tree laid
out that way. Files come in name order, each once; an added file comes from
/dev/null.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from pathlib import Path

import attrs

from .emit import Staged, Written

NO_NEWLINE = "\\ No newline at end of file\n"


@attrs.frozen
class FileStat:
    display: str
    added: int
    removed: int
    new: bool


def _lines(data: bytes) -> list[str]:
    return data.decode("utf-8", errors="surrogateescape").splitlines(keepends=True)


def _original(written: Written) -> bytes:
    return Path(written.original).read_bytes() if written.original is not None else b""


def file_diff(staged: Staged, written: Written) -> list[str]:
    """The unified diff of one file, as lines that each end with a newline."""
    old, new = _lines(_original(written)), _lines(staged.content(written))
    before = "/dev/null" if written.added else f"a/{written.display}"
    out = []
    for line in difflib.unified_diff(old, new, before, f"b/{written.display}"):
        if line.startswith(("---", "+++")):
            out.append(line.rstrip("\n") + "\n")
        else:
            out.append(line if line.endswith("\n") else line + "\n" + NO_NEWLINE)
    return out


def diff(staged: Staged) -> Iterator[str]:
    for written in staged.files:
        yield from file_diff(staged, written)


def stat(staged: Staged) -> list[FileStat]:
    stats = []
    for written in staged.files:
        lines = file_diff(staged, written)[2:]
        added = sum(1 for line in lines if line.startswith("+"))
        removed = sum(1 for line in lines if line.startswith("-"))
        stats.append(FileStat(written.display, added, removed, written.added))
    return stats


def format_stat(stats: list[FileStat]) -> str:
    width = max((len(s.display) for s in stats), default=0)
    rows = [f" {s.display:<{width}} | +{s.added} -{s.removed}{' (new)' if s.new else ''}" for s in stats]
    total_added, total_removed = sum(s.added for s in stats), sum(s.removed for s in stats)
    rows.append(f" {len(stats)} files changed, {total_added} insertions(+), {total_removed} deletions(-)")
    return "\n".join(rows) + "\n"
