"""Running the go command: its path, one command's output, ``go env``.

Kept apart from :mod:`.resolve` (and free of attrs) because the up-to-date
check, which runs before every build, needs ``go env`` and nothing else.
"""

from __future__ import annotations

import functools
import itertools
import json
import subprocess
from collections.abc import Sequence
from pathlib import Path

from .errors import GoEnvironmentError

TYPE_CHECKING = False  # typing takes 5 ms to import, before every build: only the type checker reads it
if TYPE_CHECKING:
    from typing import Any


def _not_found() -> GoEnvironmentError:
    return GoEnvironmentError("go: not found on PATH", hint="install Go 1.26 or newer, or put it on PATH")


def go_binary() -> str:
    import shutil  # here: the up-to-date check, before every build, runs go without it

    go = shutil.which("go")
    if go is None:
        raise _not_found()
    return go


def run_go(args: Sequence[str], cwd: Path) -> str:
    """The standard output of ``go ARGS`` in ``cwd``; its first error line when it fails."""
    try:
        proc = subprocess.run(["go", *args], cwd=cwd, capture_output=True, text=True, check=False)  # go on PATH
    except FileNotFoundError:
        raise _not_found() from None
    except OSError as exc:
        raise GoEnvironmentError(f"go {args[0]}: {exc.strerror}") from exc
    if proc.returncode != 0:
        message, hint = failure(proc.stderr)
        raise GoEnvironmentError(f"go {' '.join(args[:2])}: {message}", hint=hint)
    return proc.stdout


def failure(stderr: str) -> tuple[str, str | None]:
    """The go command's error on one line: its first paragraph, the detail lines
    that follow its first line joined with "; " (never cut off), and, when it
    names the command that syncs vendor/, that command as the hint."""
    lines = stderr.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip()), None)
    if start is None:
        return "failed", None
    paragraph = [lines[start].strip()]
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        paragraph.append(line.strip())
    message = paragraph[0] + (" " + "; ".join(paragraph[1:]) if len(paragraph) > 1 else "")
    hint = None
    rest = [line.strip() for line in lines[start + len(paragraph) :] if line.strip()]
    for before, after in itertools.pairwise(rest):
        if before.startswith("To sync the vendor directory") and after in ("go mod vendor", "go work vendor"):
            hint = f"run '{after}' to bring vendor/ in line"
    return message, hint


# go env variables that decide build constraints, besides GOOS, GOARCH and CGO_ENABLED.
BUILD_ENV = (
    *("GOEXPERIMENT", "GOAMD64", "GOARM", "GOARM64", "GO386"),
    *("GOMIPS", "GOMIPS64", "GOPPC64", "GORISCV64", "GOWASM"),
)
ENV_NAMES = (
    "GOROOT",
    "GOMODCACHE",
    "GOVERSION",
    "GOOS",
    "GOARCH",
    "GOMOD",
    "GOWORK",
    "GOFLAGS",
    "CGO_ENABLED",
    *BUILD_ENV,
)


@functools.cache
def go_env_json(root: Path) -> str:
    """``go env -json`` of the variables overlay-gen reads, in ``root`` (once per run)."""
    return run_go(["env", "-json", *ENV_NAMES], root)


def read_go_mod(path: Path) -> dict[str, Any]:
    """go.mod as ``go mod edit -json`` reads it (the toolchain's parser)."""
    proc = subprocess.run([go_binary(), "mod", "edit", "-json", str(path)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise GoEnvironmentError(f"{path}: {proc.stderr.strip()}")
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def scan_go_mod(text: str) -> tuple[str, dict[str, tuple[str, bool]]]:
    """The module path and the requirements (path -> (version, indirect)) of
    go.mod text, by a quick scan of its module and require lines; for files
    overlay-gen wrote itself, or a guess made before the go command's answer
    (:func:`read_go_mod` is that answer)."""
    module = ""
    requires: dict[str, tuple[str, bool]] = {}
    block = False
    for raw in text.splitlines():
        line, _, comment = raw.partition("//")
        words = line.split()
        if block:
            if words == [")"]:
                block = False
            elif len(words) >= 2:
                requires[words[0]] = (words[1], comment.strip() == "indirect")
        elif words[:1] == ["module"] and len(words) == 2:
            module = words[1].strip('"')
        elif words[:1] == ["require"]:
            if words[1:] == ["("]:
                block = True
            elif len(words) >= 3:
                requires[words[1]] = (words[2], comment.strip() == "indirect")
    return module, requires


def required_modules(path: Path) -> frozenset[str]:
    """The module paths a go.mod requires (a quick scan: see :func:`scan_go_mod`)."""
    try:
        return frozenset(scan_go_mod(path.read_text())[1])
    except OSError:
        return frozenset()
