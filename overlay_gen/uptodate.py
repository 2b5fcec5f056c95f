"""Is the overlay on disk already what this run would write? Checked before any stage.

Like make with a dependency file: a generation records every input it read
(each file whose digest went into a cache key, each directory whose names
did, with their stat signatures) and every output it wrote (overlay.json's
bytes, each shadow file's digest). The next run with the same options, Go
environment and overlay-gen (the cache's salt) compares them first; when no
input changed and the output is as written, it is done, without loading
aspects, resolving or parsing anything.

An input counts as unchanged when its signature is the recorded one and it had
settled when the record was made (:func:`.fileindex.settled`), or else when its
digest (a directory's: of its names) is the recorded one. Inputs the record
does not list cannot change the output: the module cache and GOROOT are
immutable for a given go.sum and Go release, and a package that had no
candidate file is listed by the directories go list read.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import attrs

from .cache import Cache, Key
from .fileindex import FileIndex, Signature, names_digest, settled, signature
from .options import Options, Summary
from .places import Layout
from .resolve import GoEnv


@attrs.frozen
class Record:
    summary: Summary
    recorded_ns: int  # when the inputs were last looked at (after the run)
    files: tuple[tuple[str, Signature, str], ...]  # path, signature, sha256
    directories: tuple[tuple[str, Signature, str], ...]  # path, signature, names_digest
    overlay: bytes
    shadow: tuple[tuple[str, str], ...]  # path relative to the shadow directory, sha256
    excluded: tuple[str, ...]  # overlay-gen's own output in the module: not an input


def _key(options: Options, env: GoEnv) -> Key:
    directory = options.directory.resolve()
    return Key("uptodate").add(repr(attrs.evolve(options, directory=directory)), *attrs.astuple(env))


def check(options: Options, env: GoEnv, cache: Cache) -> Summary | None:
    """The recorded summary when nothing changed since the recorded run; else None."""
    record = cache.get(_key(options, env))
    if not isinstance(record, Record):
        return None
    try:
        unchanged = (
            all(_same_file(path, sig, digest, record.recorded_ns) for path, sig, digest in record.files)
            and all(_same_directory(path, sig, digest, record) for path, sig, digest in record.directories)
            and Path(record.summary.overlay).read_bytes() == record.overlay
            and _digests(_shadow(record)) == record.shadow
        )
    except OSError:
        return None
    return attrs.evolve(record.summary, parsed=0, reused=True) if unchanged else None


def record(
    options: Options, env: GoEnv, cache: Cache, summary: Summary, index: FileIndex, layout: Layout, overlay: Path
) -> None:
    """Remember what a run that has just written its output read and wrote."""
    excluded = (str(layout.shadow), str(layout.staging), str(overlay))
    cache.put(
        _key(options, env),
        Record(
            summary=summary,
            recorded_ns=time.time_ns(),
            files=tuple((path, sig, digest) for path, (sig, digest) in sorted(index.files.items())),
            directories=tuple((path, sig, digest) for path, (sig, digest) in sorted(index.directories.items())),
            overlay=overlay.read_bytes(),
            shadow=_digests(layout.shadow),
            excluded=excluded,
        ),
    )


def _shadow(record: Record) -> Path:
    return Path(record.excluded[0])


def _same_file(path: str, sig: Signature, digest: str, recorded_ns: int) -> bool:
    now = signature(path)
    if now == sig and settled(sig, recorded_ns):
        return True
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest() == digest


def _same_directory(path: str, sig: Signature, digest: str, record: Record) -> bool:
    now = signature(path)
    if now[1:] == sig[1:] and settled(sig, record.recorded_ns):
        return True
    names = (n for n in os.listdir(path) if os.path.join(path, n) not in record.excluded)
    return names_digest(names) == digest


def _digests(directory: Path) -> tuple[tuple[str, str], ...]:
    found = []
    for parent, dirs, files in os.walk(directory):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(parent, name)
            with open(path, "rb") as f:
                found.append((os.path.relpath(path, directory), hashlib.sha256(f.read()).hexdigest()))
    return tuple(found)
