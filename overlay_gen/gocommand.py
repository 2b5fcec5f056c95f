"""``overlay-gen go COMMAND [flags] [packages]``: generate for exactly that build, then run it.

The go command's arguments are read as the go command reads them (the flag
tables below) for three things only:

* the flags that change the package graph (``-tags``, ``-race``, ``-cover``,
  ``-mod``...: :data:`GRAPH`) become generation's build flags, as after
  ``overlay-gen . --``; the others (``-o``, ``-v``, ``-run``, ``-count``...)
  do not, so ``go build -v`` and ``go build`` share one generation;
* an ``-overlay`` of the user's (on the command line, else in GOFLAGS) is
  merged with overlay-gen's: both sets of entries; a path in both is an error;
* ``-C DIR``: generation runs there, as the go command does.

``go test`` and ``go vet`` instrument test files too (``--tests``: go vet
checks the test variants); so does ``go list -test``. Environment variables
(GOOS, GOARCH, CGO_ENABLED, GOFLAGS...) reach generation's go list as they
reach the go command. Every argument is then given to the go command
unchanged, with ``-overlay`` in front (after ``-C``, which must come first),
and the go command replaces this process (:func:`execute`), so its exit
status, standard streams and signals are the user's.

Imports stay few: with nothing changed, this runs before every build.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from .errors import GoEnvironmentError, UsageError

GO_COMMANDS = ("build", "install", "run", "test", "vet", "list")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Build flags (go help build), shared by every command here: the ones that take a value...
_BUILD_VALUE = _words(
    "C p covermode coverpkg asmflags buildmode compiler gccgoflags gcflags installsuffix ldflags mod modfile "
    "overlay pgo pkgdir tags toolexec"
)
# ... and the boolean ones (a value only as -flag=value).
_BUILD_BOOL = _words("a n race msan asan cover v work x buildvcs json linkshared modcacherw trimpath")
# The flags each command adds (go help test, go help testflag, go help vet, go help list).
_VALUE = {
    "build": _words("o"),
    "install": _words(""),
    "run": _words("exec"),
    "test": _words(
        "o exec bench benchtime count cpu fuzz fuzztime fuzzminimizetime list outputdir parallel run shuffle skip "
        "timeout vet blockprofile blockprofilerate coverprofile cpuprofile memprofile memprofilerate mutexprofile "
        "mutexprofilefraction trace"
    ),
    "vet": _words("vettool c"),
    "list": _words("f reuse"),
}
_BOOL = {
    "build": _words(""),
    "install": _words(""),
    "run": _words(""),
    "test": _words("c artifacts benchmem failfast fullpath short"),
    "vet": _words("fix diff"),
    "list": _words("m u versions e export find compiled deps test retracted"),
}
# What changes the package graph, or which files a package has: generation must see these.
GRAPH = _words("tags race msan asan cover covermode coverpkg mod modfile buildmode compiler linkshared pgo")
# Paths, relative to the go command's directory; generation's go list runs in the module root.
_PATHS = frozenset({"modfile", "pgo"})


class Flag:
    """One flag as the go command reads it: its name, its value (None for a
    boolean flag given alone) and the arguments it spans, ``args[start:end]``."""

    __slots__ = ("end", "name", "start", "value")

    def __init__(self, name: str, value: str | None, start: int, end: int) -> None:
        self.name, self.value, self.start, self.end = name, value, start, end

    def __repr__(self) -> str:
        return f"Flag({self.name!r}, {self.value!r})"


class Invocation:
    """A go command to run with the overlay, and what generation needs of it."""

    __slots__ = ("args", "build_flags", "command", "directory", "environ", "tests", "user_overlay")

    def __init__(
        self,
        command: str,
        args: list[str],
        directory: Path,
        build_flags: tuple[str, ...],
        tests: bool,
        user_overlay: str | None,
        environ: dict[str, str],
    ) -> None:
        self.command = command
        self.args = args  # the go command's arguments after COMMAND, the user's -overlay left out
        self.directory = directory  # where the go command runs: -C DIR, else the working directory
        self.build_flags = build_flags  # for generation
        self.tests = tests
        self.user_overlay = user_overlay  # the user's overlay file, relative to ``directory``
        self.environ = environ  # for generation and the go command (GOFLAGS without -overlay)


def _split_flag(arg: str) -> tuple[str, str | None] | None:
    """``-name``, ``--name``, ``-name=value``; None for anything else."""
    if not arg.startswith("-") or arg in ("-", "--"):
        return None
    name, eq, value = arg.lstrip("-").partition("=")
    return name, (value if eq else None)


def read_flags(command: str, args: Sequence[str]) -> tuple[list[Flag], int]:
    """The flags of ``go COMMAND ARGS`` and the index of the first argument
    that is not one (a package; for go run, what follows it is the program's).

    Like the go command: a flag parse stops at the first argument that is not a
    flag, or after ``--``; ``go test`` reads flags after its packages too, up to
    ``-args`` or an argument after its package list that is not a flag, and
    leaves unknown flags to the test binary. An unknown flag (vet's analyzer
    flags, the test binary's own) takes no separate value."""
    values = _BUILD_VALUE | _VALUE[command]
    known = values | _BUILD_BOOL | _BOOL[command]
    flags: list[Flag] = []
    first_positional = -1
    packages_seen = in_packages = False
    i = 0
    while i < len(args):
        parsed = _split_flag(args[i])
        if args[i] == "--":
            if first_positional < 0:
                first_positional = i + 1
            break
        if parsed is None:  # a package, or the end of what go reads
            if command != "test" or (packages_seen and not in_packages):
                break
            if first_positional < 0:
                first_positional = i
            packages_seen = in_packages = True
            i += 1
            continue
        in_packages = False
        name, value = parsed
        if command == "test" and name == "args":
            break
        if name in known:
            start = i
            if value is None and name in values and i + 1 < len(args):
                i += 1
                value = args[i]
            flags.append(Flag(name, value, start, i + 1))
        elif command == "test":
            packages_seen = True  # what follows may be this flag's value: no more packages
        i += 1
    if first_positional < 0:
        first_positional = i
    return flags, first_positional


def _goflags_overlay(goflags: str) -> tuple[str | None, str]:
    """The -overlay in GOFLAGS (space-separated -flag=value words), and GOFLAGS without it."""
    found, kept = None, []
    for word in goflags.split():
        parsed = _split_flag(word)
        if parsed is not None and parsed[0] == "overlay":
            found = parsed[1]
        else:
            kept.append(word)
    return found, " ".join(kept)


def parse(command: str, args: Sequence[str], environ: Mapping[str, str]) -> Invocation:
    """Read ``go COMMAND ARGS`` as the go command would, in the environment ``environ``."""
    if command not in GO_COMMANDS:
        raise UsageError(
            f"go {command}: overlay-gen go runs {', '.join(GO_COMMANDS[:-1])} and {GO_COMMANDS[-1]}",
            hint=f"run go {command} itself",
        )
    args = list(args)
    flags, positional = read_flags(command, args)
    directory = Path(".")
    user_overlay: str | None = None
    build_flags: list[str] = []
    tests = command in ("test", "vet")
    for flag in flags:
        if flag.name == "C" and flag.value is not None:
            directory = Path(flag.value)
        elif flag.name == "overlay":
            user_overlay = flag.value
        elif flag.name in GRAPH:
            value = flag.value
            if value is not None and flag.name in _PATHS and value not in ("auto", "off", ""):
                value = os.path.abspath(directory / value)
            build_flags.append(f"-{flag.name}" if value is None else f"-{flag.name}={value}")
        elif command == "test" and flag.name == "coverprofile" and flag.value:
            if "-cover" not in build_flags:
                build_flags.append("-cover")  # go test -coverprofile sets -cover
        elif command == "list" and flag.name == "test":
            tests = flag.value is None or flag.value.lower() in ("1", "t", "true")
    if command in ("install", "run"):
        _refuse_versioned(command, args[positional:] if command == "install" else args[positional : positional + 1])
    kept = [a for i, a in enumerate(args) if not any(f.name == "overlay" and f.start <= i < f.end for f in flags)]
    environ = dict(environ)
    from_env, goflags = _goflags_overlay(environ.get("GOFLAGS", ""))
    if from_env is not None:
        environ["GOFLAGS"] = goflags  # the command line's -overlay would hide it: it is merged instead
        user_overlay = user_overlay if user_overlay is not None else from_env
    if not directory.is_dir():
        raise UsageError(f"go {command} -C {directory}: no such directory")
    return Invocation(command, kept, directory, tuple(build_flags), tests, user_overlay, environ)


def _refuse_versioned(command: str, packages: Sequence[str]) -> None:
    for package in packages:
        if "@" in package and not package.endswith(".go"):
            raise UsageError(
                f"go {command} {package}: a package at a version is built outside this module, "
                "and overlay-gen instruments the module it runs in",
                hint=f"require it in go.mod and go {command} it by its path",
            )


def _read_overlay(path: str, base: Path) -> dict[str, str]:
    """An overlay file's Replace, its paths made absolute against ``base`` (the go command's directory)."""
    import json

    try:
        data = json.loads(Path(base, path).read_text())
    except OSError as exc:
        raise UsageError(f"-overlay {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise UsageError(f"-overlay {path}: not valid JSON: {exc}") from None
    replace = data.get("Replace") if isinstance(data, dict) else None
    if not isinstance(replace, dict) or not all(isinstance(v, str) for v in replace.values()):
        raise UsageError(f'-overlay {path}: not an overlay file (a JSON object with "Replace": {{path: path}})')
    return {_absolute(base, k): (_absolute(base, v) if v else "") for k, v in replace.items()}


def _absolute(base: Path, path: str) -> str:
    return os.path.normpath(os.path.join(os.path.abspath(base), path))


def check_user_overlay(invocation: Invocation) -> None:
    """Fail before generation on a user's overlay that cannot be read."""
    if invocation.user_overlay is not None:
        _read_overlay(invocation.user_overlay, invocation.directory)


def overlay_for(invocation: Invocation, ours: Path, scratch: Path | None) -> str:
    """The overlay file to give the go command: overlay-gen's, or, with a user's
    overlay, both merged into a file named for its content under ``scratch``
    (the cache directory; else the system's temporary directory)."""
    if invocation.user_overlay is None:
        return str(ours)
    import json

    theirs = _read_overlay(invocation.user_overlay, invocation.directory)
    mine = _read_overlay(str(ours), Path("/"))
    both = sorted(theirs.keys() & mine.keys())
    if both:
        raise UsageError(
            f"{both[0]}: in both -overlay {invocation.user_overlay} and overlay-gen's {ours}",
            hint="an overlay gives one content per file; leave that file out of yours",
        )
    document = (json.dumps({"Replace": dict(sorted({**mine, **theirs}.items()))}, indent=2) + "\n").encode()
    if scratch is None:
        import tempfile

        scratch = Path(tempfile.gettempdir())
    target = scratch / "go-overlays" / f"overlay-{hashlib.sha256(document).hexdigest()[:32]}.json"
    try:
        if not target.is_file() or target.read_bytes() != document:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".tmp-{os.getpid()}-{target.name}")
            tmp.write_bytes(document)
            os.replace(tmp, target)
        else:
            os.utime(target)  # in use: not trimmed with the cache's unused entries
    except OSError as exc:
        raise GoEnvironmentError(f"{target}: cannot write the merged overlay: {exc.strerror}") from None
    return str(target)


def command_line(invocation: Invocation, overlay: str) -> list[str]:
    """``go COMMAND [-C DIR] -overlay=FILE ARGS...``."""
    args = invocation.args
    first = _split_flag(args[0]) if args else None
    head = 0
    if first is not None and first[0] == "C":
        head = 1 if first[1] is not None else 2
    return ["go", invocation.command, *args[:head], f"-overlay={overlay}", *args[head:]]


def execute(argv: list[str], environ: dict[str, str]) -> int:
    """Run the go command in place of this process (POSIX): its exit status,
    standard streams and signals are then the user's with nothing in between.
    Elsewhere, run it and return its exit status."""
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name != "posix":
        import subprocess

        try:
            return subprocess.run(argv, env=environ, check=False).returncode
        except FileNotFoundError:
            raise _no_go() from None
    import signal

    # Python ignores SIGPIPE and SIGXFSZ; an ignored signal stays ignored across exec.
    for name in ("SIGPIPE", "SIGXFSZ"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    try:
        os.execvpe(argv[0], argv, environ)
    except FileNotFoundError:
        raise _no_go() from None
    except OSError as exc:
        raise GoEnvironmentError(f"go: {exc.strerror}") from None


def _no_go() -> GoEnvironmentError:
    return GoEnvironmentError("go: not found on PATH", hint="install Go 1.26 or newer, or put it on PATH")
