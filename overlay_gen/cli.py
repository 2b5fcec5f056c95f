"""The command line. ``main(argv) -> int`` picks the subcommand (``generate`` when
none is named), parses its arguments, runs it, and turns every
:class:`~overlay_gen.errors.OverlayGenError` into one line on stderr and its
exit code.

    overlay-gen [generate] [DIR] [options] [-- build flags]   write overlay.json and .overlay-gen/
    overlay-gen diff [DIR] [--stat] [options] [-- flags]      what the overlay changes, as a patch
    overlay-gen explain [DIR] [options] [-- flags]            where each aspect applied, or why not
    overlay-gen lock [DIR] [options] [-- flags]               write overlay-gen.lock
    overlay-gen check [DIR] [options]                         compare with overlay-gen.lock
    overlay-gen pin [DIR]                                      add the needed modules to go.mod
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from . import __version__, uptodate
from .cache import Cache
from .errors import OverlayGenError, UsageError

TYPE_CHECKING = False  # typing takes 5 ms to import, before every build: only the type checker reads it
if TYPE_CHECKING:
    from typing import Any

    from .options import Options
    from .pipeline import Result

# Each command imports what only it uses: generation, run before every build, starts fast.

EXIT_CODES = (
    "Exit codes: 0 ok, 1 internal error, 2 usage, 3 configuration, 4 Go environment, 5 rewrite, "
    "6 check found differences."
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
    args = parser.parse_args(argv)
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
        "diff, explain, lock, check, pin (overlay-gen COMMAND --help).",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print errors and warnings only")
    argv, flags = _split(argv)
    args = parser.parse_args(argv)
    cache = Cache.default()
    # Before every build: when nothing changed, answer without loading the pipeline.
    req = uptodate.request(
        args.directory, args.overlay, args.shadow_dir, flags, args.tests, args.strict, args.aspects, not args.no_builtin
    )
    summary = uptodate.check(req, cache)
    if summary is None:
        import attrs

        from .pipeline import regenerate

        summary = attrs.asdict(regenerate(_options(args, flags), cache))
    _report(summary, args.quiet)
    return 0


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
    args, options = _parse(parser, argv)
    with plan(options) as result:
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
    with plan(_parse(parser, argv)[1]) as result:
        sys.stdout.write(explain(result))
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
    args = parser.parse_args(argv)
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
    args = parser.parse_args(argv)
    result = pin(args.directory, tuple(args.aspects), builtin=not args.no_builtin)
    changed = ", ".join(result.changed) if result.changed else "nothing changed"
    print(f"overlay-gen pin: {len(result.packages)} packages pinned in {result.root}: {changed}", file=sys.stderr)
    return 0


COMMANDS: dict[str, Callable[[Sequence[str]], int]] = {
    "generate": _generate,
    "diff": _diff,
    "explain": _explain,
    "lock": _lock,
    "check": _check,
    "pin": _pin,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    command: Callable[[Sequence[str]], int] = _generate
    if args and args[0] in COMMANDS:
        command = COMMANDS[args.pop(0)]
    try:
        return command(args)
    except OverlayGenError as exc:
        print(f"overlay-gen: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
