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

Each module also keeps the request of its last generation
(:func:`last_request`): ``overlay-gen status``, ``diff`` and ``explain`` given
no options describe that one. :func:`stale` says what changed, naming the
first input or output that differs (``overlay-gen status``).

This runs before every build, so it imports little: no attrs, no stage.
Records are plain dicts.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

from .cache import Cache, Key
from .errors import GoEnvironmentError, OverlayGenError
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


def fields(req: Request) -> tuple[str, str | None, str | None, tuple[str, ...], bool, bool, tuple[str, ...], bool]:
    """A request's fields, typed: directory, overlay, shadow, build flags, tests, strict, aspect files, builtin."""
    return req  # type: ignore[return-value]


class Stale(OverlayGenError):
    """``overlay-gen status``: the overlay on disk is not what generation would write now."""

    exit_code = 6


def _key(req: Request) -> Key:
    return Key("uptodate").add(*req)


def _last_key(module_root: str) -> Key:
    return Key("uptodate-last").add(module_root)


def module_root(directory: Path) -> str | None:
    """The module root ``go env`` gives for ``directory``; None outside a module."""
    gomod = json.loads(go_env_json(directory.resolve())).get("GOMOD", "")
    return os.path.dirname(gomod) if gomod and gomod != os.devnull else None


def last_request(directory: Path, cache: Cache) -> Request | None:
    """The request of the last generation in the module of ``directory``, if any is recorded."""
    root = module_root(directory)
    found = cache.get(_last_key(root)) if root else None
    return found if isinstance(found, tuple) else None


def _remember_last(root: str, req: Request, cache: Cache) -> None:
    if cache.get(_last_key(root)) != req:
        cache.put(_last_key(root), req)


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
    go_env = _start_go_env(Path(str(req[0])))
    record = cache.get(_key(req))
    if not isinstance(record, dict) or _difference(req, record, go_env, first_only=False) is not None:
        go_env.join()
        return None
    _remember_last(record["module_root"], req, cache)
    return {**record["summary"], "parsed": 0, "reused": True}


def stale(req: Request, cache: Cache) -> str | None:
    """Why the output of ``req`` is out of date (the first difference found:
    an input, an output, ``go env``), or None when it is up to date."""
    if cache.directory is None:
        return "nothing records the last generation: the cache is off (OVERLAY_GEN_CACHE=off)"
    go_env = _start_go_env(Path(str(req[0])))
    record = cache.get(_key(req))
    if not isinstance(record, dict):
        go_env.join()
        return "no generation with these options is recorded (or the cache was removed)"
    return _difference(req, record, go_env, first_only=True)


def _difference(req: Request, record: dict[str, Any], go_env: threading.Thread, first_only: bool) -> str | None:
    """The first difference between the record and the disk, ``go env``
    last; None when there is none. ``first_only``: name it (which costs
    something only when there is one)."""
    try:
        found = _changed_input(record, first_only)
    finally:
        go_env.join()
    if found is None:
        now = go_env_json(Path(str(req[0])))
        if now != record["go_env"]:
            return _changed_env(record["go_env"], now)
    return found


def _changed_input(record: dict[str, Any], first_only: bool) -> str | None:
    recorded_ns, excluded, root = record["recorded_ns"], record["excluded"], record["module_root"]
    for path, sig, digest in record["files"]:
        try:
            same = _same_file(path, sig, digest, recorded_ns)
        except OSError:
            return f"{_show(path, root)} was removed"
        if not same:
            return f"{_show(path, root)} changed"
    for path, sig, digest in record["directories"]:
        try:
            same = _same_directory(path, sig, digest, recorded_ns, excluded)
        except OSError:
            return f"{_show(path, root)} was removed"
        if not same:
            where = "the module root" if path == root else _show(path, root)
            return f"a file was added to or removed from {where}"
    overlay = Path(record["overlay_path"])
    try:
        if overlay.read_bytes() != record["overlay"]:
            return f"{_show(str(overlay), root)} was changed after generation"
    except OSError:
        return f"{_show(str(overlay), root)} is missing"
    shadow = Path(record["shadow_path"])
    try:
        found = _digests(shadow)
    except OSError:
        found = ()
    if found != record["shadow"]:
        if not first_only:
            return "shadow"
        name = _show(str(shadow), root)
        if not shadow.is_dir():
            return f"{name} is missing"
        now, then = dict(found), dict(record["shadow"])
        for rel in sorted(now.keys() | then.keys()):
            if now.get(rel) != then.get(rel):
                verb = "was removed" if rel not in now else "was added" if rel not in then else "was changed"
                return f"{name}/{rel} {verb} after generation"
    return None


def _changed_env(then: str, now: str) -> str:
    before, after = json.loads(then), json.loads(now)
    names = sorted(n for n in before.keys() | after.keys() if before.get(n) != after.get(n))
    return f"the Go environment changed: {', '.join(names) or 'go env'}"


def _show(path: str, root: str) -> str:
    """``path`` relative to the module root when it is inside it."""
    if path == root or path.startswith(root.rstrip(os.sep) + os.sep):
        return os.path.relpath(path, root)
    return path


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
    root = module_root(Path(str(req[0]))) or str(req[0])
    cache.put(
        _key(req),
        {
            "module_root": root,
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
    _remember_last(root, req, cache)


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
            if os.path.islink(path):  # a cgo module copy's link to the module cache: its target names it
                found.append((os.path.relpath(path, directory), "link:" + os.readlink(path)))
                continue
            with open(path, "rb") as f:
                found.append((os.path.relpath(path, directory), hashlib.sha256(f.read()).hexdigest()))
    return tuple(found)
