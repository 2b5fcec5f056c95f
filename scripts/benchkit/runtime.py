"""The runtime row (requests per second of fixtures/httpbench's server:
plain, with overlay-gen's overlay, instrumented by hand with otelhttp) and the
scheduler row (fixtures/gobench: goroutine start and context switch, plain and
with the overlay). docs/bench.md, "The runtime row" and "The scheduler row"."""

from __future__ import annotations

import argparse
import contextlib
import gzip
import http.server
import json
import os
import shutil
import signal
import statistics
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .common import FIXTURES, IGNORE_OUTPUT, CommandFailed, Scratch, overlay_gen_cmd, run
from .common import log as _log

# The runtime row: its fixture, the three servers, in table order, and the URL path.
RUNTIME_FIXTURE = "httpbench"
SCHEDULER_FIXTURE = "gobench"  # goroutine start and context switch, with and without runtime.g's field
# The servers, in table order: each of the two instrumented ones with metrics off (spans only,
# OTEL_METRICS_EXPORTER=none) and on (otlp: overlay-gen's span metrics, otelhttp's own metrics).
VARIANTS = ("plain", "overlay", "manual", "overlay+metrics", "manual+metrics")
WITH_METRICS = "+metrics"
RUNTIME_PATH = "/hello/bench"
START_TIMEOUT = 30.0  # seconds for a server to print "listening ADDR"
STOP_TIMEOUT = 15.0  # seconds for a server to flush its spans and exit after SIGTERM


def _fields(message: bytes | memoryview, number: int) -> Iterator[memoryview]:
    """The length-delimited fields ``number`` of a protobuf message."""
    buf = memoryview(message)
    pos, end = 0, len(buf)

    def varint() -> int:
        nonlocal pos
        value = shift = 0
        while True:
            byte = buf[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value
            shift += 7

    while pos < end:
        key = varint()
        wire = key & 7
        if wire == 0:
            varint()
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        elif wire == 2:
            size = varint()
            if key >> 3 == number:
                yield buf[pos : pos + size]
            pos += size
        else:
            raise ValueError(f"protobuf wire type {wire} not expected in OTLP")


def count_spans(request: bytes) -> int:
    """Spans in an ExportTraceServiceRequest: resource_spans (1) > scope_spans (2) > spans (2)."""
    return sum(1 for rs in _fields(request, 1) for ss in _fields(rs, 2) for _ in _fields(ss, 2))


class OtlpSink:
    """A minimal OTLP/HTTP receiver on 127.0.0.1: answers 200 to POST /v1/traces
    and counts the requests, bytes and spans it was sent; answers 200 to POST
    /v1/metrics and counts those exports too."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts = {"exports": 0, "bytes": 0, "spans": 0, "metric_exports": 0, "metric_bytes": 0}
        sink = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a collector would

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path == "/v1/metrics":
                    with sink.lock:
                        sink.counts["metric_exports"] += 1
                        sink.counts["metric_bytes"] += len(body)
                    self.send_response(200)
                    self.send_header("Content-Type", "application/x-protobuf")
                    self.send_header("Content-Length", "0")  # an empty ExportMetricsServiceResponse
                    self.end_headers()
                    return
                if self.path != "/v1/traces":
                    self.send_error(404)
                    return
                size = len(body)
                try:
                    if self.headers.get("Content-Encoding") == "gzip":
                        body = gzip.decompress(body)
                    spans = count_spans(body)
                except (OSError, EOFError, IndexError, ValueError):
                    self.send_error(400, "not an OTLP ExportTraceServiceRequest")
                    return
                with sink.lock:
                    sink.counts["exports"] += 1
                    sink.counts["bytes"] += size
                    sink.counts["spans"] += spans
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")  # an empty ExportTraceServiceResponse
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="otlp-sink", daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def take(self) -> dict[str, int]:
        """What arrived since the last call."""
        with self.lock:
            counts = dict(self.counts)
            self.counts = dict.fromkeys(counts, 0)
        return counts

    def __enter__(self) -> OtlpSink:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def kill(proc: subprocess.Popen[bytes]) -> None:
    """Stop a server that is still running, at once (the cleanup path)."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def last_line(path: Path) -> str:
    lines = [line.strip() for line in path.read_text(errors="replace").splitlines() if line.strip()]
    return f": {lines[-1]}" if lines else ""


def start_server(binary: Path, env: dict[str, str], logs: Path, stack: contextlib.ExitStack) -> tuple[Any, str]:
    """Start ``binary 127.0.0.1:0`` (it picks a free port) and wait for its
    "listening ADDR" line; the server is killed when ``stack`` closes, if it
    is still running then."""
    out, err = logs / f"{binary.name}.out", logs / f"{binary.name}.err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        try:
            proc = subprocess.Popen(
                [str(binary), "127.0.0.1:0"],
                cwd=logs,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                start_new_session=True,
            )
        except OSError as exc:
            raise CommandFailed(f"{binary}: {exc.strerror}") from exc
    stack.callback(kill, proc)
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        for line in out.read_text(errors="replace").splitlines():
            if line.startswith("listening "):
                return proc, line.split()[1]
        if proc.poll() is not None:
            raise CommandFailed(f"{binary} 127.0.0.1:0 exited {proc.returncode} before listening{last_line(err)}")
        if time.monotonic() > deadline:
            raise CommandFailed(f"{binary} 127.0.0.1:0 did not print 'listening ADDR' in {START_TIMEOUT:.0f} s")
        time.sleep(0.02)


def stop_server(proc: Any, logs: Path) -> None:
    """SIGTERM, as a service manager would: the server shuts down and flushes its spans."""
    binary = proc.args[0]
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        kill(proc)
        raise CommandFailed(f"{binary} did not exit within {STOP_TIMEOUT:.0f} s of SIGTERM") from None
    if code != 0:
        raise CommandFailed(f"{binary} exited {code} after SIGTERM{last_line(logs / (Path(binary).name + '.err'))}")


def seconds_flag(seconds: float) -> str:
    return f"{seconds:g}s"  # a Go time.Duration


class Runtime:
    def __init__(self, scratch: Scratch, root: Path, base_env: dict[str, str], user_gocache: Path) -> None:
        self.scratch = scratch
        self.root = root
        self.base_env = base_env
        self.user_gocache = user_gocache  # for these rows' builds, which are not timed

    def env(self, gocache: Path) -> dict[str, str]:
        return {**self.base_env, "GOCACHE": str(gocache)}

    def scheduler(self, repeat: int) -> dict[str, object]:
        """fixtures/gobench built plain and with the overlay (which adds the
        goroutine-local context to runtime.g): nanoseconds per goroutine start
        and per context switch. The two binaries take turns."""
        name = SCHEDULER_FIXTURE
        src = self.root / "fixtures" / name
        shutil.copytree(FIXTURES / name, src, ignore=shutil.ignore_patterns(*IGNORE_OUTPUT))
        env = self.env(self.user_gocache)
        _log(f"{name}: overlay-gen, then go build plain and with the overlay")
        run(["go", "mod", "download"], src, env)
        run(overlay_gen_cmd("."), src, env)
        bin_dir = self.scratch("bin-scheduler")
        run(["go", "build", "-o", str(bin_dir / "plain"), "."], src, env)
        run(["go", "build", "-overlay=overlay.json", "-o", str(bin_dir / "overlay"), "."], src, env)
        metrics = ("goroutine_start_ns", "context_switch_ns")
        samples: dict[str, dict[str, list[float]]] = {v: {m: [] for m in metrics} for v in ("plain", "overlay")}
        bare = {k: v for k, v in self.base_env.items() if not k.startswith("OTEL_")}
        for i in range(repeat):
            for variant in samples:
                _log(f"{name}: {variant} ({i + 1}/{repeat})")
                _, proc = run([str(bin_dir / variant)], src, {**bare, "OTEL_TRACES_EXPORTER": "none"})
                result = json.loads(proc.stdout)
                for metric in metrics:
                    samples[variant][metric].append(float(result[metric]))
        ns = {v: {m: statistics.median(s) for m, s in by.items()} for v, by in samples.items()}
        return {
            "fixture": name,
            "nanoseconds": ns,
            "ratios": {m: ns["overlay"][m] / ns["plain"][m] for m in metrics},
            "samples": samples,
        }

    def runtime(self, args: argparse.Namespace) -> dict[str, object]:
        """Requests per second of fixtures/httpbench's server: plain, built with
        the overlay, and instrumented by hand (otelhttp); the last two with
        metrics off and on."""
        name = RUNTIME_FIXTURE
        src = self.root / "fixtures" / name
        shutil.copytree(FIXTURES / name, src, ignore=shutil.ignore_patterns(*IGNORE_OUTPUT))

        # Setup, not timed: in the user's GOCACHE, so that a second run compiles nothing.
        env = self.env(self.user_gocache)
        _log(f"{name}: overlay-gen, then go build of the three servers and the load generator")
        run(["go", "mod", "download"], src, env)
        _, generated = run(overlay_gen_cmd("."), src, env)
        summary = generated.stderr.strip().splitlines()[-1] if generated.stderr.strip() else ""
        bin_dir = self.scratch("bin-runtime")
        run(["go", "build", "-o", str(bin_dir) + os.sep, "./cmd/plain", "./cmd/manual", "./cmd/load"], src, env)
        # cmd/plain again, with the overlay; named "overlay", which is also its service.name.
        run(["go", "build", "-overlay=overlay.json", "-o", str(bin_dir / "overlay"), "./cmd/plain"], src, env)
        binaries = {variant: bin_dir / variant.removesuffix(WITH_METRICS) for variant in VARIANTS}
        if (bin_dir / "plain").read_bytes() == (bin_dir / "overlay").read_bytes():
            _log(f"{name}: warning: the overlay build produced the same binary as the plain build")
        load = bin_dir / "load"

        # The servers export to the sink over OTLP/HTTP, whatever OTEL_* the caller has set.
        server_env = {key: value for key, value in self.base_env.items() if not key.startswith("OTEL_")}
        samples: dict[str, list[float]] = {variant: [] for variant in VARIANTS}
        runs: dict[str, list[dict[str, object]]] = {variant: [] for variant in VARIANTS}
        with contextlib.ExitStack() as stack:  # stops every server, then the sink, also on failure
            sink = stack.enter_context(OtlpSink())
            server_env.update(
                OTEL_TRACES_EXPORTER="otlp",
                OTEL_METRICS_EXPORTER="none",
                OTEL_LOGS_EXPORTER="none",
                OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
                OTEL_EXPORTER_OTLP_ENDPOINT=sink.endpoint,
            )
            with_metrics = {**server_env, "OTEL_METRICS_EXPORTER": "otlp"}
            # The variants take turns, so that a slow stretch of the machine hits all of them.
            for i in range(args.repeat):
                for variant in VARIANTS:
                    _log(
                        f"{name}: {variant} server, {args.connections} connections for {args.duration:g} s "
                        f"after {args.warmup:g} s of warm-up ({i + 1}/{args.repeat})"
                    )
                    logs = self.scratch(f"run-{variant}")
                    sink.take()
                    cpu = time.process_time()  # this process's: the sink's, mostly
                    env = with_metrics if variant.endswith(WITH_METRICS) else server_env
                    proc, addr = start_server(binaries[variant], env, logs, stack)
                    url = f"http://{addr}{RUNTIME_PATH}"
                    served = 0
                    if args.warmup > 0:
                        served += self.load(load, url, args.connections, args.warmup, logs)["requests"]
                    result = self.load(load, url, args.connections, args.duration, logs)
                    served += result["requests"]
                    stop_server(proc, logs)  # the server flushes its spans before it exits
                    exported = sink.take()
                    sink_cpu = time.process_time() - cpu
                    if variant != "plain" and exported["spans"] != served:
                        spans = exported["spans"]
                        _log(f"{name}: warning: {variant} served {served} requests and exported {spans} spans")
                    if variant.endswith(WITH_METRICS) and not exported["metric_exports"]:
                        _log(f"{name}: warning: {variant} exported no metrics")
                    samples[variant].append(result["requests_per_second"])
                    runs[variant].append(
                        {**result, "requests_served": served, "exported": exported, "bench_cpu_seconds": sink_cpu}
                    )

        rps = {variant: statistics.median(values) for variant, values in samples.items()}
        return {
            "fixture": name,
            "route": "GET /hello/{name}",
            "url_path": RUNTIME_PATH,
            "connections": args.connections,
            "duration_seconds": args.duration,
            "warmup_seconds": args.warmup,
            "export": "OTLP http/protobuf to a sink in the bench process; +metrics: metrics too (every 60 s, at exit)",
            "units": "requests per second (median of repeat runs); ratios are of the medians",
            "generation_summary": summary,
            "requests_per_second": rps,
            "ratios": {
                "overlay_over_manual": rps["overlay"] / rps["manual"],
                "overlay_over_plain": rps["overlay"] / rps["plain"],
                "manual_over_plain": rps["manual"] / rps["plain"],
                "overlay_over_manual_with_metrics": rps["overlay+metrics"] / rps["manual+metrics"],
                "overlay_metrics_on_over_off": rps["overlay+metrics"] / rps["overlay"],
                "manual_metrics_on_over_off": rps["manual+metrics"] / rps["manual"],
            },
            "samples": samples,
            "runs": runs,
        }

    def load(self, load: Path, url: str, connections: int, seconds: float, cwd: Path) -> dict[str, Any]:
        """One run of the load generator (built plain: its requests are not traced)."""
        cmd = [str(load), "-c", str(connections), "-d", seconds_flag(seconds), url]
        _, proc = run(cmd, cwd, self.base_env)
        result: dict[str, Any] = json.loads(proc.stdout)
        if result["errors"] or not result["requests"]:
            raise CommandFailed(f"{' '.join(cmd)}: {result['errors']} requests failed, {result['requests']} succeeded")
        return result
