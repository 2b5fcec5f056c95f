"""scripts/bench's command line: which parts run, the Go environment, the report."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import signal
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import fixtures, report
from .builds import Builds
from .common import FIXTURES, MODCACHE, PUBLIC_PROXY, REPO, CommandFailed, Scratch, cpu_count, overlay_gen_cmd, run
from .runtime import RUNTIME_FIXTURE, Runtime
from .scaling import Scaling

EXIT_MISSED = 3  # with --check: a target is missed, or could not be checked


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    names = fixtures.fixture_names()
    parser = argparse.ArgumentParser(
        prog="bench",
        description="Benchmark overlay-gen against issue 7's targets: build rows, scaling, runtime (docs/bench.md).",
    )
    parser.add_argument(
        "--fixture",
        action="append",
        choices=names,
        metavar="NAME",
        help=f"only this fixture in the build rows (repeatable; default: all of {', '.join(names)})",
    )
    parser.add_argument(
        "--repeat", type=int, default=1, metavar="N", help="runs per measurement; the median is reported (default: 1)"
    )
    parser.add_argument(
        "--json", action="store_true", help="write the results as JSON to stdout (the table goes to stderr)"
    )
    parser.add_argument("--json-out", type=Path, metavar="FILE", help="write the results as JSON to FILE")
    parser.add_argument(
        "--check", action="store_true", help=f"exit {EXIT_MISSED} when a target measured is missed or unknown"
    )
    parser.add_argument(
        "--from",
        dest="from_file",
        type=Path,
        metavar="FILE",
        help="measure nothing: print the table of a run saved with --json-out, its targets checked anew",
    )
    only = parser.add_mutually_exclusive_group()
    only.add_argument(
        "--runtime-only", action="store_true", help=f"only the runtime row ({RUNTIME_FIXTURE}) and the scheduler row"
    )
    only.add_argument("--scaling-only", action="store_true", help="only the scaling row (synthetic module)")
    only.add_argument("--builds-only", action="store_true", help="only the build rows")
    parser.add_argument("--no-runtime", action="store_true", help="no runtime and scheduler rows")
    parser.add_argument("--no-scaling", action="store_true", help="no scaling row")
    parser.add_argument(
        "--duration", type=float, default=5.0, metavar="S", help="runtime row: seconds of load per run (default: 5)"
    )
    parser.add_argument(
        "--connections", type=int, default=4, metavar="N", help="runtime row: concurrent connections (default: 4)"
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=1.0,
        metavar="S",
        help="runtime row: seconds of load before each measured run, not counted (default: 1)",
    )
    args = parser.parse_args(argv)
    measuring = ("fixture", "runtime_only", "scaling_only", "builds_only", "no_runtime", "no_scaling")
    if args.from_file and any(getattr(args, name) for name in measuring):
        parser.error("--from measures nothing: it takes only --json, --json-out and --check")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.duration <= 0 or args.warmup < 0 or args.connections < 1:
        parser.error("--duration must be positive, --warmup at least 0, --connections at least 1")
    if args.fixture and (args.runtime_only or args.scaling_only):
        parser.error("--fixture selects build rows; --runtime-only and --scaling-only have none")
    if (args.runtime_only and args.no_runtime) or (args.scaling_only and args.no_scaling):
        parser.error("nothing left to measure")
    args.builds = not (args.runtime_only or args.scaling_only)
    args.scaling = not (args.no_scaling or args.runtime_only or args.builds_only)
    args.runtime = not (args.no_runtime or args.scaling_only or args.builds_only)
    if args.builds and not names:
        parser.error(f"no fixtures (with a bench.toml or a manual/go.mod) under {FIXTURES}")
    args.fixtures = sorted(set(args.fixture)) if args.fixture else names if args.builds else []
    return args


def go_env(root: Path) -> dict[str, str]:
    env = dict(os.environ)
    # This checkout's overlay_gen first, whatever else the interpreter has installed.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    run([sys.executable, str(FIXTURES / "goproxy.py"), str(root / "proxy")], root, env)
    (root / "gotmp").mkdir()
    env.update(
        # The fixtures' own modules from their file-based proxy, the rest
        # (OpenTelemetry's) from the caller's GOPROXY or the public one.
        GOPROXY=f"{(root / 'proxy').as_uri()},{os.environ.get('GOPROXY') or PUBLIC_PROXY}",
        GOSUMDB="off",  # go.sum is checked against the fixtures' go.sum files
        GONOSUMDB="*",
        GOMODCACHE=str(MODCACHE),
        GOFLAGS="-modcacherw",  # as the tests do, so build/ can be removed
        GOWORK="off",
        GOTOOLCHAIN="local",
        GOTMPDIR=str(root / "gotmp"),  # go's work directories, removed with the rest
        # overlay-gen's result cache: every generation gets one of the bench's
        # (Builds, Scaling); this one is for the rows that do not measure it.
        OVERLAY_GEN_CACHE=str(root / "overlay-gen-cache-untimed"),
        GOCACHE=str(root / "gocache-info"),  # every measured go command gets its own
    )
    return env


def bench(args: argparse.Namespace) -> dict[str, Any]:
    # The user's build cache, for the runtime rows' builds (asked before GOCACHE is set below).
    _, user_gocache = run(["go", "env", "GOCACHE"], REPO, dict(os.environ))
    with tempfile.TemporaryDirectory(prefix="overlay-gen-bench-") as tmp:
        root = Path(tmp)
        (root / "fixtures").mkdir()
        env = go_env(root)
        _, go_version = run(["go", "env", "GOVERSION"], root, env)
        _, og_version = run(overlay_gen_cmd("--version"), root, env)
        result: dict[str, Any] = {
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "go_version": go_version.stdout.strip(),
            "overlay_gen_version": og_version.stdout.strip().removeprefix("overlay-gen").strip(),
            "python_version": platform.python_version(),
            "platform": f"{platform.system()} {platform.machine()}",
            "cpu_count": cpu_count(),
            "repeat": args.repeat,
            "units": "seconds (wall clock, median of repeat runs); ratios are of the medians; memory in MiB",
        }
        scratch = Scratch(root)
        builds = Builds(scratch, env)
        result["fixtures"] = [builds.fixture(fixtures.load(name), args.repeat) for name in args.fixtures]
        if args.scaling:
            result["scaling"] = Scaling(scratch, env).run(args.repeat)
        if args.runtime:
            gocache = user_gocache.stdout.strip()
            cache = Path(gocache) if gocache and gocache != "off" else root / "gocache-runtime"
            rows = Runtime(scratch, root, env, cache)
            result["runtime"] = rows.runtime(args)
            result["scheduler"] = rows.scheduler(args.repeat)
        return checked(result)


def checked(result: dict[str, Any]) -> dict[str, Any]:
    """``result`` with its targets checked."""
    result["targets"] = report.targets(result)
    result["targets_missed"] = [t["id"] for t in result["targets"] if t["status"] == report.MISSED]
    result["targets_unknown"] = [t["id"] for t in result["targets"] if t["status"] == report.UNKNOWN]
    return result


def _saved(path: Path) -> dict[str, Any] | None:
    """A run saved with --json-out, or None (and one line on stderr)."""
    try:
        result = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        print(f"bench: --from {path}: {exc}", file=sys.stderr)
        return None
    if not isinstance(result, dict) or "repeat" not in result:
        print(f"bench: --from {path}: not a run saved by scripts/bench --json-out", file=sys.stderr)
        return None
    return result


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # A SIGTERM unwinds like Ctrl-C, so the temp directories are removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.from_file:
        saved = _saved(args.from_file)
        if saved is None:
            return 1
        return _output(checked(saved), args)
    try:
        result = bench(args)
    except CommandFailed as exc:
        print(f"bench: command failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return _output(result, args)


def _output(result: dict[str, Any], args: argparse.Namespace) -> int:
    document = json.dumps(result, indent=2) + "\n"
    if args.json_out:
        args.json_out.write_text(document)
    text = report.table(result)
    if args.json:
        print(text, file=sys.stderr)
        sys.stdout.write(document)
    else:
        print(text)
    if args.check and (result["targets_missed"] or result["targets_unknown"]):
        return EXIT_MISSED
    return 0
