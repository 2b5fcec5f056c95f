"""The command line: ``overlay-gen [generate] [DIR] [options] [-- build flags]``.

``main(argv) -> int`` parses, runs one subcommand, and turns every
:class:`~overlay_gen.errors.OverlayGenError` into one line on stderr and its
exit code.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .errors import OverlayGenError, UsageError
from .pipeline import Options, generate

COMMANDS = ("generate",)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message, hint="see overlay-gen --help")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="overlay-gen",
        description="Instrument a Go module at compile time: writes overlay.json for go build -overlay.",
        epilog="Build flags after -- (e.g. -- -tags=netgo) are passed to go list, as they will be to go build. "
        "Exit codes: 0 ok, 1 internal error, 2 usage, 3 configuration, 4 Go environment, 5 rewrite.",
    )
    parser.add_argument("--version", action="version", version=f"overlay-gen {__version__}")
    parser.add_argument("directory", nargs="?", default=".", type=Path, help="the Go module (default: .)")
    parser.add_argument(
        "-o", "--overlay", type=Path, help="overlay file to write (default: overlay.json in the module root)"
    )
    parser.add_argument(
        "--shadow-dir", type=Path, help="where rewritten files go (default: .overlay-gen in the module root)"
    )
    parser.add_argument("--tests", action="store_true", help="also instrument test files (resolve with go list -test)")
    parser.add_argument(
        "--strict", action="store_true", help="fail when a rewritten file is not valid Go, instead of leaving it out"
    )
    parser.add_argument(
        "--aspects",
        action="append",
        type=Path,
        default=[],
        metavar="FILE",
        help="load this aspect file too (repeatable)",
    )
    parser.add_argument("--no-builtin", action="store_true", help="do not load the built-in aspects")
    parser.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    return parser


def _generate(args: argparse.Namespace, build_flags: Sequence[str]) -> int:
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
    added = len(files) - rewritten
    applied = sum(1 for e in result.events if not e.skipped)
    print(
        f"overlay-gen: {len(result.aspects)} aspects, {applied} join points instrumented, "
        f"{rewritten} files rewritten, {added} added, {len(result.emitted.module_copies)} module copies; "
        f"wrote {result.overlay}",
        file=sys.stderr,
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    build_flags: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, build_flags = argv[:cut], argv[cut + 1 :]
    if argv and argv[0] in COMMANDS:
        argv = argv[1:]
    try:
        args = _parser().parse_args(argv)
        return _generate(args, build_flags)
    except OverlayGenError as exc:
        print(f"overlay-gen: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
