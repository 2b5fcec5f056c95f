"""The command line. ``main(argv) -> int`` picks the subcommand (``generate`` when
none is named), parses its arguments, runs it, and turns every
:class:`~overlay_gen.errors.OverlayGenError` into one line on stderr and its
exit code.

    overlay-gen go [options] COMMAND [go flags] [packages]   generate for that build, then run go COMMAND
    overlay-gen [generate] [DIR] [options] [-- build flags]   write overlay.json and .overlay-gen/
    overlay-gen status [DIR] [options] [-- flags]             is overlay.json up to date?
    overlay-gen diff [DIR] [--stat] [options] [-- flags]      what the overlay changes, as a patch
    overlay-gen explain [DIR] [options] [-- flags]            where each aspect applied, or why not
    overlay-gen lock [DIR] [options] [-- flags]               write overlay-gen.lock
    overlay-gen check [DIR] [options]                         compare with overlay-gen.lock
    overlay-gen pin [DIR]                                      add the needed modules to go.mod
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from . import __version__, uptodate
from .cache import Cache
from .errors import GoEnvironmentError, OverlayGenError, UsageError

TYPE_CHECKING = False  # typing takes 5 ms to import, before every build: only the type checker reads it
if TYPE_CHECKING:
    from typing import Any

    from .options import Options
    from .pipeline import Result

# Each command imports what only it uses: generation, run before every build, starts fast.

EXIT_CODES = (
    "Exit codes: 0 ok, 1 internal error, 2 usage, 3 configuration, 4 Go environment, 5 rewrite, "
    "6 check or status found differences."
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message, hint="see overlay-gen --help")


def _parser(prog: str, description: str, generation: bool = True) -> argparse.ArgumentParser:
    parser = _Parser(prog=prog, description=description, epilog=EXIT_CODES)
    parser.add_argument("--version", action="version", version=f"overlay-gen {__version__}")
    parser.add_argument("directory", nargs="?", default=".", type=Path, help="the Go module (default: .)")
    parser.add_argument(
        "--aspects", action="append", type=Path, default=[], metavar="FILE", help="load this aspect file too"
    )
    parser.add_argument("--no-builtin", action="store_true", help="do not load the built-in aspects")
    if generation:
        parser.epilog = "Build flags after -- (e.g. -- -tags=netgo) go to go list, as to go build. " + EXIT_CODES
        parser.add_argument("-o", "--overlay", type=Path, help="overlay file (default: overlay.json in the module)")
        parser.add_argument("--shadow-dir", type=Path, help="rewritten files' directory (default: .overlay-gen)")
        parser.add_argument("--tests", action="store_true", help="also instrument test files (go list -test)")
        parser.add_argument("--strict", action="store_true", help="fail on a rewritten file that is not Go")
    return parser


def _args(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace:
    """Parsed arguments, the directory checked."""
    args = parser.parse_args(argv)
    directory = getattr(args, "directory", None)
    if directory is not None and not directory.is_dir():
        what = "not a directory" if directory.exists() else "no such directory"
        raise UsageError(f"{what}: '{directory}'", hint="give the Go module's directory")
    return args


def _split(argv: Sequence[str]) -> tuple[list[str], tuple[str, ...]]:
    """Arguments, and the build flags after ``--``."""
    args = list(argv)
    if "--" in args:
        cut = args.index("--")
        return args[:cut], tuple(args[cut + 1 :])
    return args, ()


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str]) -> tuple[argparse.Namespace, Options]:
    """The parsed arguments, and the generation options they and the build flags after -- make."""
    argv, flags = _split(argv)
    args = _args(parser, argv)
    return args, _options(args, flags)


def _options(args: argparse.Namespace, build_flags: tuple[str, ...], **override: object) -> Options:
    from .options import Options

    values: dict[str, object] = {
        "directory": args.directory,
        "overlay": args.overlay,
        "shadow": args.shadow_dir,
        "build_flags": build_flags,
        "tests": args.tests,
        "strict": args.strict,
        "aspect_files": tuple(args.aspects),
        "builtin": not args.no_builtin,
    }
    values.update(override)
    return Options(**values)  # type: ignore[arg-type]


def _generate(argv: Sequence[str]) -> int:
    parser = _parser(
        "overlay-gen",
        "Instrument a Go module at compile time: writes overlay.json for go build -overlay. Other commands: "
        f"{', '.join(c for c in COMMANDS if c != 'generate')} (overlay-gen COMMAND --help).",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print errors and warnings only")
    argv, flags = _split(argv)
    args = _args(parser, argv)
    summary = _generation(
        uptodate.request(
            args.directory,
            args.overlay,
            args.shadow_dir,
            flags,
            args.tests,
            args.strict,
            args.aspects,
            not args.no_builtin,
        ),
        lambda: _options(args, flags),
        Cache.default(),
    )
    _report(summary, args.quiet)
    return 0


def _generation(req: uptodate.Request, options: Callable[[], Options], cache: Cache) -> dict[str, Any]:
    """The summary of a generation: the recorded one when nothing changed
    (answered without loading the pipeline), else a new run's."""
    summary = uptodate.check(req, cache)
    if summary is None:
        import attrs

        from .pipeline import regenerate

        summary = attrs.asdict(regenerate(options(), cache))
    return summary


def _go(argv: Sequence[str]) -> int:
    from . import gocommand

    own, command, rest = _go_split(argv)
    parser = _Parser(
        prog="overlay-gen go",
        usage="overlay-gen go [options] {" + ",".join(gocommand.GO_COMMANDS) + "} [go flags] [packages] [arguments]",
        description="Generate the overlay for exactly this go command (its flags that change the package graph, "
        "its environment; go test and go vet: test files too), then run it with -overlay (merged with yours). "
        "The go command's exit status, output and signals are its own.",
        epilog=EXIT_CODES + " Otherwise the go command's own exit status.",
    )
    parser.add_argument("--version", action="version", version=f"overlay-gen {__version__}")
    parser.add_argument(
        "--aspects", action="append", type=Path, default=[], metavar="FILE", help="load this aspect file too"
    )
    parser.add_argument("--no-builtin", action="store_true", help="do not load the built-in aspects")
    parser.add_argument("-o", "--overlay", type=Path, help="overlay file (default: overlay.json in the module)")
    parser.add_argument("--shadow-dir", type=Path, help="rewritten files' directory (default: .overlay-gen)")
    parser.add_argument("--strict", action="store_true", help="fail on a rewritten file that is not Go")
    parser.add_argument("-q", "--quiet", action="store_true", help="print errors and warnings only")
    args = parser.parse_args(own)
    if command is None:
        raise UsageError(
            "overlay-gen go: no go command given", hint=f"one of {', '.join(gocommand.GO_COMMANDS)}: see --help"
        )
    call = gocommand.parse(command, rest, os.environ)
    gocommand.check_user_overlay(call)
    if call.environ.get("GOFLAGS") != os.environ.get("GOFLAGS"):
        os.environ["GOFLAGS"] = call.environ["GOFLAGS"]  # generation's go list reads it too
    cache = Cache.default()
    req = uptodate.request(
        call.directory,
        args.overlay,
        args.shadow_dir,
        call.build_flags,
        call.tests,
        args.strict,
        args.aspects,
        not args.no_builtin,
    )

    def options() -> Options:
        from .options import Options

        return Options(
            directory=call.directory,
            overlay=args.overlay,
            shadow=args.shadow_dir,
            build_flags=call.build_flags,
            tests=call.tests,
            strict=args.strict,
            aspect_files=tuple(args.aspects),
            builtin=not args.no_builtin,
        )

    summary = _generation(req, options, cache)
    _report(summary, args.quiet or summary["reused"])  # before every build: a line only when something changed
    overlay = gocommand.overlay_for(call, Path(summary["overlay"]), cache.directory)
    return gocommand.execute(gocommand.command_line(call, overlay), call.environ)


def _go_split(argv: Sequence[str]) -> tuple[list[str], str | None, list[str]]:
    """overlay-gen's options, the go command, and the go command's arguments."""
    from .gocommand import GO_COMMANDS

    takes_value = ("--aspects", "-o", "--overlay", "--shadow-dir")
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("-h", "--help", "--version"):
            return list(argv[: i + 1]), None, []
        if arg in takes_value:
            i += 2
            continue
        if arg.startswith("-"):
            i += 1
            continue
        if arg not in GO_COMMANDS:
            raise UsageError(
                f"go {arg}: overlay-gen go runs {', '.join(GO_COMMANDS[:-1])} and {GO_COMMANDS[-1]}",
                hint=f"run go {arg} itself",
            )
        return list(argv[:i]), arg, list(argv[i + 1 :])
    return list(argv), None, []


def _report(summary: Mapping[str, Any], quiet: bool) -> None:
    """Print a generation's summary (a dict of :class:`.options.Summary`'s fields)."""
    for line in summary["left_out"]:
        print(f"overlay-gen: warning: {line}: left out, the rewritten file is not valid Go", file=sys.stderr)
    if quiet:
        return
    for event in summary["skipped"]:
        print(f"overlay-gen: {event}", file=sys.stderr)
    parsed = "nothing changed" if summary["reused"] else f"parsed {summary['parsed']} files"
    print(
        f"overlay-gen: {summary['aspects']} aspects, {summary['applied']} join points instrumented, "
        f"{summary['rewritten']} files rewritten, {summary['added']} added, {summary['module_copies']} module "
        f"copies; {parsed} of {summary['candidates']} candidates; wrote {summary['overlay']}",
        file=sys.stderr,
    )


def _warn_left_out(result: Result) -> None:
    for line in result.staged.left_out:
        print(f"overlay-gen: warning: {line}: left out, the rewritten file is not valid Go", file=sys.stderr)


def _diff(argv: Sequence[str]) -> int:
    from .diff import diff, format_stat, stat
    from .pipeline import plan

    parser = _parser(
        "overlay-gen diff",
        "Print every file the overlay changes or adds as a unified diff against the original "
        "(a/ and b/ paths: module-relative, $GOROOT/src/..., module@version/...). Writes nothing.",
    )
    parser.add_argument("--stat", action="store_true", help="a summary per file instead of the patch")
    argv, flags = _split(argv)
    args = _args(parser, argv)
    with plan(_described(args, flags, "diff")) as result:
        _warn_left_out(result)
        sys.stdout.write(format_stat(stat(result.staged)) if args.stat else "".join(diff(result.staged)))
    return 0


def _explain(argv: Sequence[str]) -> int:
    from .explain import explain
    from .pipeline import plan

    parser = _parser(
        "overlay-gen explain",
        "For each aspect: where it applied, where a candidate was skipped and why, or that it matched nothing. "
        "Writes nothing.",
    )
    argv, flags = _split(argv)
    with plan(_described(_args(parser, argv), flags, "explain")) as result:
        sys.stdout.write(explain(result))
    return 0


LAST_RUN = (
    "With none of --tests, --aspects, --no-builtin, --strict, -o, --shadow-dir and build flags given, the "
    "options of the last generation in the module (overlay-gen, overlay-gen go)."
)


def _given(args: argparse.Namespace, flags: Sequence[str]) -> bool:
    """Were any of the options that decide a generation given?"""
    return bool(
        flags or args.tests or args.aspects or args.no_builtin or args.strict or args.overlay or args.shadow_dir
    )


def _last(args: argparse.Namespace, flags: Sequence[str], cache: Cache) -> uptodate.Request | None:
    """The last generation's request in the module, when no option says otherwise."""
    return None if _given(args, flags) else uptodate.last_request(args.directory, cache)


def _described(args: argparse.Namespace, flags: tuple[str, ...], command: str) -> Options:
    """The options given, or (none given) those of the last generation in the module."""
    last = _last(args, flags, Cache.default())
    if last is None:
        return _options(args, flags)
    _, overlay, shadow, build_flags, tests, strict, aspects, builtin = uptodate.fields(last)
    options = _options(
        args,
        tuple(build_flags),
        overlay=Path(overlay) if overlay else None,
        shadow=Path(shadow) if shadow else None,
        tests=tests,
        strict=strict,
        aspect_files=tuple(Path(p) for p in aspects),
        builtin=builtin,
    )
    if described := _describe(last):
        print(f"overlay-gen {command}: as the last generation in this module: {described}", file=sys.stderr)
    return options


def _describe(req: uptodate.Request) -> str:
    """The options of a request that are not the defaults, as on a command line."""
    _, overlay, shadow, build_flags, tests, strict, aspects, builtin = uptodate.fields(req)
    words = ["--tests"] if tests else []
    words += [w for p in aspects for w in ("--aspects", str(p))]
    words += ["--no-builtin"] if not builtin else []
    words += ["--strict"] if strict else []
    words += ["-o", str(overlay)] if overlay else []
    words += ["--shadow-dir", str(shadow)] if shadow else []
    words += ["--", *build_flags] if build_flags else []
    return " ".join(words)


def _status(argv: Sequence[str]) -> int:
    parser = _parser(
        "overlay-gen status",
        "Say whether overlay.json and the shadow directory are what generation would write now, from the "
        "record of the generation (no stage runs: well under a second). Exits 0 when up to date, 6 when not, "
        "naming the first file that changed. " + LAST_RUN,
    )
    argv, flags = _split(argv)
    args = _args(parser, argv)
    cache = Cache.default()
    root = uptodate.module_root(args.directory)
    if root is None:
        raise GoEnvironmentError(
            f"{args.directory.resolve()}: not inside a Go module", hint="run overlay-gen in a directory with a go.mod"
        )
    req = _last(args, flags, cache) or uptodate.request(
        args.directory, args.overlay, args.shadow_dir, flags, args.tests, args.strict, args.aspects, not args.no_builtin
    )
    given = uptodate.fields(req)[1]
    overlay = Path(given) if given else Path(root, "overlay.json")
    name = os.path.relpath(overlay) if overlay.is_relative_to(Path.cwd()) else str(overlay)
    why = uptodate.stale(req, cache)
    if why is not None:
        raise uptodate.Stale(f"{name} is out of date: {why}", hint="generate again, or build with overlay-gen go")
    described = _describe(req)
    print(f"overlay-gen status: {name} is up to date" + (f" (generated with {described})" if described else ""))
    return 0


def _lock(argv: Sequence[str]) -> int:
    from . import lock
    from .pipeline import plan

    parser = _parser(
        "overlay-gen lock",
        f"Write {lock.LOCK_FILE}: the versions, environment, flags and aspect set that decide the overlay, and "
        "the digests of every file it changes or adds. 'overlay-gen check' compares against it.",
    )
    with plan(_parse(parser, argv)[1]) as result:
        path = lock.write(result)
    print(f"overlay-gen lock: {len(result.staged.files)} files; wrote {path}", file=sys.stderr)
    return 0


def _check(argv: Sequence[str]) -> int:
    from . import lock
    from .pipeline import plan
    from .resolve import go_env

    parser = _parser(
        "overlay-gen check",
        f"Regenerate with the flags {lock.LOCK_FILE} records and compare: the lock's digests, and the shadow "
        "files on disk (a file edited after generation is named). Exits 6 on any difference. Writes nothing.",
    )
    argv, flags = _split(argv)
    if flags:
        raise UsageError("check takes its build flags from the lock", hint="regenerate the lock to change them")
    args = _args(parser, argv)
    locked = lock.read(go_env(args.directory.resolve()).root)  # the workspace's, in a workspace
    options = _options(args, tuple(locked.get("flags", [])), tests=bool(locked.get("tests", False)))
    with plan(options) as result:
        problems = lock.differences(locked, result)
    if problems:
        for problem in problems:
            print(f"overlay-gen check: {problem}", file=sys.stderr)
        raise lock.CheckFailed(f"{len(problems)} differences from {lock.LOCK_FILE}")
    print(f"overlay-gen check: {len(result.staged.files)} files match {lock.LOCK_FILE}", file=sys.stderr)
    return 0


def _pin(argv: Sequence[str]) -> int:
    from .pin import TOOLS_FILE, pin

    parser = _parser(
        "overlay-gen pin",
        f"Add the Go modules the enabled aspects need to go.mod and go.sum, and write {TOOLS_FILE} "
        "so that go mod tidy keeps them. Idempotent.",
        generation=False,
    )
    args = _args(parser, argv)
    result = pin(args.directory, tuple(args.aspects), builtin=not args.no_builtin)
    changed = ", ".join(result.changed) if result.changed else "nothing changed"
    print(f"overlay-gen pin: {len(result.packages)} packages pinned in {result.root}: {changed}", file=sys.stderr)
    return 0


COMMANDS: dict[str, Callable[[Sequence[str]], int]] = {
    "go": _go,
    "generate": _generate,
    "status": _status,
    "diff": _diff,
    "explain": _explain,
    "lock": _lock,
    "check": _check,
    "pin": _pin,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    command: Callable[[Sequence[str]], int] = _generate
    try:
        if args and args[0] in COMMANDS:
            command = COMMANDS[args.pop(0)]
        elif args and not args[0].startswith("-") and not Path(args[0]).is_dir():
            what = "not a command or directory" if Path(args[0]).exists() else "no such command or directory"
            raise UsageError(f"{what} '{args[0]}'", hint=f"commands: {', '.join(COMMANDS)}")
        return command(args)
    except OverlayGenError as exc:
        print(f"overlay-gen: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
