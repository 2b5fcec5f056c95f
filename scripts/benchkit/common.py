"""What every part of the benchmark uses: paths, running a command, logging."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
FIXTURES = REPO / "fixtures"
# Modules from the public proxy are kept between runs, in the tests' module cache.
MODCACHE = REPO / "build" / "gomodcache"
PUBLIC_PROXY = "https://proxy.golang.org"
IGNORE_OUTPUT = ("overlay.json*", ".overlay-gen*")  # left out when a fixture is copied


class CommandFailed(Exception):
    """A command the benchmark runs exited non-zero (or could not start)."""


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


PACKAGE_LINE = re.compile(r"[\w.\-~]+(/[\w.\-~+]+)*")


def failure(cmd: Sequence[str], cwd: Path, code: int, output: str) -> CommandFailed:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    # go build -v lists each package it builds, and goes on listing them after a
    # package failed: its errors are the lines that are not a package's path.
    errors = [line for line in lines if not PACKAGE_LINE.fullmatch(line)] if "-v" in cmd else lines
    detail = f": {(errors or lines)[-1]}" if lines else ""  # a traceback's or go's last word
    return CommandFailed(f"{' '.join(cmd)} (in {cwd}) exited {code}{detail}")


def run(cmd: Sequence[str], cwd: Path, env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Run ``cmd``; return its wall-clock time in seconds and the finished process."""
    start = time.perf_counter()
    try:
        # A session of its own, so an interrupted run can stop go and the
        # compilers it started (by its process group) before the temp dirs go.
        proc = subprocess.Popen(
            list(cmd),
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
    except OSError as exc:
        raise CommandFailed(f"{' '.join(cmd)}: {exc.strerror}") from exc
    with proc:
        try:
            stdout, stderr = proc.communicate()
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            raise
    elapsed = time.perf_counter() - start
    done = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    if proc.returncode != 0:
        raise failure(cmd, cwd, proc.returncode, stderr + stdout)
    return elapsed, done


def overlay_gen_cmd(*args: str) -> list[str]:
    """overlay-gen, run by the interpreter that runs the benchmark."""
    return [sys.executable, "-m", "overlay_gen", *args]


def cpu_count() -> int | None:
    try:
        return len(os.sched_getaffinity(0))  # the CPUs this process may use
    except (AttributeError, OSError):
        return os.cpu_count()


def remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def file_digest(path: Path) -> str:
    """sha256 of a file, read in chunks: a whole binary read at once would
    raise this process's peak RSS, which every child inherits (see memory.py)."""
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def digest(directory: Path) -> str:
    """One hash over every file of a build output directory."""
    h = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        h.update(path.relative_to(directory).as_posix().encode() + b"\0" + file_digest(path).encode())
    return h.hexdigest()


def copy_fixture(src: Path, dest: Path) -> Path:
    """A copy of a fixture without overlay-gen's output."""
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns(*IGNORE_OUTPUT))
    return dest


class Scratch:
    """New, empty directories under the run's temp root, numbered."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.serial = 0

    def __call__(self, kind: str) -> Path:
        self.serial += 1
        path = self.root / f"{kind}-{self.serial}"
        path.mkdir()
        return path
