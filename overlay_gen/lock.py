"""``overlay-gen lock`` and ``overlay-gen check``: the overlay, pinned by digests.

``overlay-gen.lock`` (TOML, in the module root) records what decides the
overlay (overlay-gen's and Go's versions, GOOS, GOARCH, CGO_ENABLED, GOFLAGS,
the build flags, whether tests are instrumented, the integrations that apply,
a digest of the aspect set) and, for every file the overlay changes or adds,
the digests of its input and its output. ``check`` regenerates with the flags the lock records and reports
every difference, and every shadow file that no longer holds what was
generated (edited by hand): a gate for CI.
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomli_w

from . import __version__
from .errors import ConfigError, OverlayGenError
from .integration import APPLIES
from .pipeline import Result

LOCK_FILE = "overlay-gen.lock"
LOCK_VERSION = 1


class CheckFailed(OverlayGenError):
    """The overlay differs from overlay-gen.lock, or a shadow file was changed."""

    exit_code = 6


def digest(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def document(result: Result) -> dict[str, Any]:
    env, options = result.env, result.options
    files = []
    for written in result.staged.files:
        entry = {"path": written.display}
        if written.original is not None:
            entry["input"] = digest(Path(written.original).read_bytes())
        entry["output"] = digest(result.staged.content(written))
        files.append(entry)
    return {
        "version": LOCK_VERSION,
        "overlay-gen": __version__,
        "go": env.goversion,
        "goos": env.goos,
        "goarch": env.goarch,
        "cgo-enabled": env.cgo_enabled,
        "goflags": env.goflags,
        "flags": list(options.build_flags),
        "tests": options.tests,
        "aspects": result.aspects.digest,
        "integrations": [s.integration.name for s in result.integrations if s.state == APPLIES],
        "file": files,
    }


def write(result: Result) -> Path:
    path = result.root / LOCK_FILE
    tmp = path.with_name(path.name + ".new")
    tmp.write_text(tomli_w.dumps(document(result)))
    tmp.replace(path)
    return path


def read(root: Path) -> dict[str, Any]:
    path = root / LOCK_FILE
    try:
        return tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(LOCK_FILE, "no such file", hint="write it with 'overlay-gen lock'") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(LOCK_FILE, f"not valid TOML: {exc}") from None


def differences(locked: Mapping[str, Any], result: Result) -> list[str]:
    """What differs between the lock and this generation, and what was edited by hand."""
    now = document(result)
    problems = [
        f"{key}: the lock has {locked.get(key)!r}, this run {now[key]!r}"
        for key in now
        if key != "file" and locked.get(key) != now[key]
    ]
    before = {f["path"]: f for f in locked.get("file", [])}
    after = {f["path"]: f for f in now["file"]}
    for path in sorted(before.keys() - after.keys()):
        problems.append(f"{path}: in the lock, no longer in the overlay")
    for path in sorted(after.keys() - before.keys()):
        problems.append(f"{path}: in the overlay, not in the lock")
    for path in sorted(before.keys() & after.keys()):
        for side, what in (("input", "the original"), ("output", "the generated file")):
            if before[path].get(side) != after[path].get(side):
                problems.append(f"{path}: {what} differs from the lock")
    problems += tampered(result)
    return problems


def tampered(result: Result) -> list[str]:
    """Shadow files on disk that do not hold what generation produces."""
    shadow = result.layout.shadow
    if not shadow.is_dir():
        return []
    found = []
    for written in result.staged.files:
        on_disk = shadow / written.shadow
        if not on_disk.is_file() or on_disk.read_bytes() != result.staged.content(written):
            found.append(f"{written.display}: the shadow file {os.path.relpath(on_disk, result.root)} was changed")
    return found
