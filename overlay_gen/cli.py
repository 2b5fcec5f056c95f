"""The command line: ``overlay-gen [generate] [DIR] [options] [-- build flags]`` and
``overlay-gen pin [DIR]``.

``main(argv) -> int`` picks the subcommand, parses its arguments, runs it,
and turns every :class:`~overlay_gen.errors.OverlayGenError` into one line on
stderr and its exit code.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from . import __version__
from .errors import OverlayGenError, UsageError
from .pin import TOOLS_FILE, pin
from .pipeline import Options, generate

EXIT_CODES = "Exit codes: 0 ok, 1 internal error, 2 usage, 3 configuration, 4 Go environment, 5 rewrite."


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message, hint="see overlay-gen --help")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--version", action="version", version=f"overlay-gen {__version__}")
    parser.add_argument("directory", nargs="?", default=".", type=Path, help="the Go module (default: .)")
    parser.add_argument(
        "--aspects", action="append", type=Path, default=[], metavar="FILE", help="load this aspect file too"
    )
    parser.add_argument("--no-builtin", action="store_true", help="do not load the built-in aspects")


def _generate_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="overlay-gen",
        description="Instrument a Go module at compile time: writes overlay.json for go build -overlay. "
        "'overlay-gen pin' adds the modules the instrumentation needs to go.mod.",
        epilog="Build flags after -- (e.g. -- -tags=netgo) are passed to go list, as they will be to go build. "
        + EXIT_CODES,
    )
    _common(parser)
    parser.add_argument(
        "-o", "--overlay", type=Path, help="overlay file to write (default: overlay.json in the module)"
    )
    parser.add_argument(
        "--shadow-dir", type=Path, help="where rewritten files go (default: .overlay-gen in the module)"
    )
    parser.add_argument("--tests", action="store_true", help="also instrument test files (go list -test)")
    parser.add_argument("--strict", action="store_true", help="fail on a rewritten file that is not Go (default: warn)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print errors and warnings only")
    return parser


def _pin_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="overlay-gen pin",
        description=f"Add the Go modules the enabled aspects need to go.mod and go.sum, and write {TOOLS_FILE} "
        "so that go mod tidy keeps them. Idempotent.",
        epilog=EXIT_CODES,
    )
    _common(parser)
    return parser


def _generate(argv: Sequence[str]) -> int:
    build_flags: Sequence[str] = ()
    if "--" in argv:
        cut = list(argv).index("--")
        argv, build_flags = argv[:cut], argv[cut + 1 :]
    args = _generate_parser().parse_args(argv)
    result = generate(
        Options(
            directory=args.directory,
            overlay=args.overlay,
            shadow=args.shadow_dir,
            build_flags=tuple(build_flags),
            tests=args.tests,
            strict=args.strict,
            aspect_files=tuple(args.aspects),
            builtin=not args.no_builtin,
        )
    )
    for line in result.emitted.left_out:
        print(f"overlay-gen: warning: {line}: left out, the rewritten file is not valid Go", file=sys.stderr)
    if args.quiet:
        return 0
    for event in result.events:
        if event.skipped:
            print(f"overlay-gen: {event}", file=sys.stderr)
    files = result.emitted.files
    rewritten = sum(1 for f in files if not f.added)
    applied = sum(1 for e in result.events if not e.skipped)
    print(
        f"overlay-gen: {len(result.aspects)} aspects, {applied} join points instrumented, "
        f"{rewritten} files rewritten, {len(files) - rewritten} added, "
        f"{len(result.emitted.module_copies)} module copies; wrote {result.overlay}",
        file=sys.stderr,
    )
    return 0


def _pin(argv: Sequence[str]) -> int:
    args = _pin_parser().parse_args(argv)
    result = pin(args.directory, tuple(args.aspects), builtin=not args.no_builtin)
    changed = ", ".join(result.changed) if result.changed else "nothing changed"
    print(f"overlay-gen pin: {len(result.packages)} packages pinned in {result.root}: {changed}", file=sys.stderr)
    return 0


COMMANDS: dict[str, Callable[[Sequence[str]], int]] = {"generate": _generate, "pin": _pin}


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
