"""A small txtar reader and writer, for the golden test cases.

The format is Go's ``golang.org/x/tools/txtar``: a free-form comment, then
files, each introduced by a marker line ``-- name --`` and holding every line
up to the next marker. A file's content always ends with a newline (the writer
adds one when it is missing, as Go's does).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import attrs

MARKER = re.compile(r"^-- (\S(?:.*\S)?) --$")


@attrs.define
class Archive:
    comment: str = ""
    files: list[tuple[str, str]] = attrs.field(factory=list)  # (name, content), in order

    def names(self) -> list[str]:
        return [name for name, _ in self.files]

    def get(self, name: str) -> str | None:
        for have, data in self.files:
            if have == name:
                return data
        return None

    def under(self, prefix: str) -> Iterator[tuple[str, str]]:
        """The files whose names start with ``prefix``, with the prefix removed."""
        for name, data in self.files:
            if name.startswith(prefix):
                yield name[len(prefix) :], data

    def remove(self, predicate: Callable[[str], bool]) -> None:
        """Drop every file whose name satisfies ``predicate``."""
        self.files = [(n, d) for n, d in self.files if not predicate(n)]

    def put(self, name: str, data: str) -> None:
        """Replace the file ``name``, or append it."""
        for index, (have, _) in enumerate(self.files):
            if have == name:
                self.files[index] = (name, data)
                return
        self.files.append((name, data))


def parse(text: str) -> Archive:
    archive = Archive()
    name: str | None = None
    lines: list[str] = []
    for line in text.splitlines(keepends=True):
        found = MARKER.match(line.rstrip("\r\n"))
        if found is None:
            lines.append(line)
            continue
        if name is None:
            archive.comment = "".join(lines)
        else:
            archive.files.append((name, "".join(lines)))
        if found.group(1) in archive.names():
            raise ValueError(f"txtar: file {found.group(1)!r} appears twice")
        name, lines = found.group(1), []
    if name is None:
        archive.comment = "".join(lines)
    else:
        archive.files.append((name, "".join(lines)))
    return archive


def format(archive: Archive) -> str:
    out = [_with_newline(archive.comment)]
    for name, data in archive.files:
        out.append(f"-- {name} --\n")
        out.append(_with_newline(data))
    return "".join(out)


def _with_newline(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"
