"""Is the overlay on disk already what this run would write? Checked before any stage.

Like make with a dependency file: a generation records every input it read
(each file whose digest went into a cache key, each directory whose names
did, with their stat signatures) and every output it wrote (overlay.json's
bytes, each shadow file's digest) and ``go env``, under a key of the request
(the options). The next such run compares them first; when no input changed
and the output is as written, it is done, without loading aspects, resolving
or parsing anything.

An input counts as unchanged when its signature is the recorded one and it had
settled when the record was made (:func:`.fileindex.settled`), or else when its
digest (a directory's: of its names) is the recorded one. Inputs the record
does not list cannot change the output: the module cache and GOROOT are
immutable for a given go.sum and Go release, and a package that had no
candidate file is listed by the directories go list read.

This runs before every build, so it imports little: no attrs, no stage.
Records are plain dicts.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

from .cache import Cache, Key
from .errors import GoEnvironmentError
from .fileindex import Signature, names_digest, settled, signature
from .gocmd import go_env_json

TYPE_CHECKING = False  # typing takes 5 ms to import, before every build: only the type checker reads it
if TYPE_CHECKING:
    from typing import Any

Request = tuple[object, ...]


def request(
    directory: Path,
    overlay: Path | None,
    shadow: Path | None,
    build_flags: Iterable[str],
    tests: bool,
    strict: bool,
    aspect_files: Iterable[Path],
    builtin: bool,
) -> Request:
    """What a generation is asked to do, the same whoever asks."""
    resolved = directory.resolve()
    return (
        str(resolved),
        str(overlay.absolute().parent.resolve() / overlay.name) if overlay else None,  # a link: not followed
        str(shadow.resolve()) if shadow else None,
        tuple(build_flags),
        tests,
        strict,
        tuple(str(p.resolve()) for p in aspect_files),
        builtin,
    )


def _key(req: Request) -> Key:
    return Key("uptodate").add(*req)


def _start_go_env(root: Path) -> threading.Thread:
    """Run ``go env`` (a tenth of a no-op run) while the record is compared;
    a failure is left for the caller's own :func:`.go_env_json` to raise."""

    def warm() -> None:
        with contextlib.suppress(GoEnvironmentError):
            go_env_json(root)

    thread = threading.Thread(target=warm, daemon=True)
    thread.start()
    return thread


def check(req: Request, cache: Cache) -> dict[str, Any] | None:
    """The recorded summary (a dict of :class:`.options.Summary`'s fields) when
    nothing changed since the recorded run, ``go env`` included; else None."""
    root = Path(str(req[0]))
    go_env = _start_go_env(root)
    try:
        record = cache.get(_key(req))
        if not isinstance(record, dict):
            return None
        excluded = record["excluded"]
        unchanged = (
            all(_same_file(path, sig, digest, record["recorded_ns"]) for path, sig, digest in record["files"])
            and all(
                _same_directory(path, sig, digest, record["recorded_ns"], excluded)
                for path, sig, digest in record["directories"]
            )
            and Path(record["overlay_path"]).read_bytes() == record["overlay"]
            and _digests(Path(record["shadow_path"])) == record["shadow"]
        )
    except OSError:
        return None
    finally:
        go_env.join()
    if not unchanged or go_env_json(root) != record["go_env"]:
        return None
    return {**record["summary"], "parsed": 0, "reused": True}


def record(
    req: Request,
    cache: Cache,
    summary: Mapping[str, Any],
    files: Mapping[str, tuple[Signature, str]],
    directories: Mapping[str, tuple[Signature, str]],
    overlay: Path,
    shadow: Path,
    excluded: Iterable[Path],
) -> None:
    """Remember what a run that has just written its output read and wrote.
    ``excluded`` are overlay-gen's own outputs inside the directories read."""
    cache.put(
        _key(req),
        {
            "go_env": go_env_json(Path(str(req[0]))),
            "summary": dict(summary),
            "recorded_ns": time.time_ns(),
            "files": tuple((path, sig, digest) for path, (sig, digest) in sorted(files.items())),
            "directories": tuple((path, sig, digest) for path, (sig, digest) in sorted(directories.items())),
            "overlay_path": str(overlay),
            "overlay": overlay.read_bytes(),
            "shadow_path": str(shadow),
            "shadow": _digests(shadow),
            "excluded": frozenset(str(p) for p in excluded),
        },
    )


def _same_file(path: str, sig: Signature, digest: str, recorded_ns: int) -> bool:
    if signature(path) == sig and settled(sig, recorded_ns):
        return True
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest() == digest


def _same_directory(path: str, sig: Signature, digest: str, recorded_ns: int, excluded: frozenset[str]) -> bool:
    if signature(path)[1:] == sig[1:] and settled(sig, recorded_ns):
        return True
    return names_digest(n for n in os.listdir(path) if os.path.join(path, n) not in excluded) == digest


def _digests(directory: Path) -> tuple[tuple[str, str], ...]:
    found = []
    for parent, dirs, files in os.walk(directory):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(parent, name)
            with open(path, "rb") as f:
                found.append((os.path.relpath(path, directory), hashlib.sha256(f.read()).hexdigest()))
    return tuple(found)
