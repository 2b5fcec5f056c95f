"""Goroutine-local trace context: spans without a context.Context still nest, across goroutines."""

from __future__ import annotations

import subprocess
from collections import defaultdict
from pathlib import Path

import pytest
from conftest import FIXTURES, build_fixture, go, otlp_env
from otlp import OtlpReceiver
from test_nethttp import _service
from traces import assert_trace

pytestmark = pytest.mark.gobuild


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, go_env: dict[str, str]) -> Path:
    return build_fixture("goroutines", tmp_path_factory.mktemp("goroutines"), go_env)


def _load(app: Path, env: dict[str, str], url: str, n: int, concurrency: int) -> None:
    run = subprocess.run(
        [str(app), "load", url, str(n), str(concurrency)],
        env={**env, "OTEL_SDK_DISABLED": "true"},  # the loader's own client spans would be roots
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "failed 0"


def test_context_free_code_and_goroutines_nest_under_the_active_span(
    app: Path, go_env: dict[str, str], receiver: OtlpReceiver
) -> None:
    env = otlp_env(go_env, receiver)
    with _service(app, env, "serve") as url:
        _load(app, env, url, 8, 1)
        receiver.wait_for(9 * 8)
    one = [s for s in receiver.spans() if s.trace_id == _trace_of(receiver, "/order/7")]
    assert_trace(FIXTURES / "goroutines" / "expected-trace.toml", one)


def _trace_of(receiver: OtlpReceiver, path: str) -> str:
    return next(s.trace_id for s in receiver.spans() if s.attributes.get("url.path") == path)


def test_thousands_of_concurrent_requests_never_mix(app: Path, go_env: dict[str, str], receiver: OtlpReceiver) -> None:
    requests = 2000
    env = otlp_env(go_env, receiver, OTEL_BSP_MAX_QUEUE_SIZE="100000", OTEL_BSP_MAX_EXPORT_BATCH_SIZE="2000")
    with _service(app, env, "serve") as url:
        _load(app, env, url, requests, 64)
        receiver.wait_for(9 * requests, timeout=120)
    by_trace = defaultdict(list)
    for span in receiver.spans():
        by_trace[span.trace_id].append(span)
    assert len(by_trace) == requests  # one trace per request: nothing leaked into another
    for spans in by_trace.values():
        ids = {s.span_id: s for s in spans}
        (root,) = [s for s in spans if s.parent_span_id not in ids]
        assert root.name == "GET /order/{id}"
        order = root.attributes["url.path"].removeprefix("/order/")
        names = sorted(s.name for s in spans)
        assert names == sorted(["GET /order/{id}", "GET", "GET /stock/{id}"] + ["pack", "label"] * 3), names
        for span in spans:
            parent = ids.get(span.parent_span_id)
            expected_parent = {"pack": "GET /order/{id}", "label": "pack", "GET": "GET /order/{id}"}
            if span.name in expected_parent:
                assert parent is not None and parent.name == expected_parent[span.name]
            if span.name == "GET /stock/{id}":
                assert span.attributes["url.path"] == f"/stock/{order}"  # the same request's call


def test_memory_stays_flat_while_goroutines_come_and_go(app: Path, go_env: dict[str, str]) -> None:
    run = subprocess.run(
        [str(app), "churn", "60"], env={**go_env, "OTEL_TRACES_EXPORTER": "none"}, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    _, early, late = run.stdout.split()
    assert int(late) < int(early) * 1.5 + (1 << 20), run.stdout  # 55,000 more goroutines later


# The runtime tests of what the goroutine field touches: goroutine creation and exit, stacks
# (copied, grown, scanned), the scheduler, the garbage collector, panics and tracebacks. On the
# machine's Go release the whole runtime suite runs; on the other, these (the whole suite takes
# five minutes there too, most of it in tests of cgo, memory profiles and the like).
GOROUTINE_TESTS = (
    "Goroutine|Goexit|Stack|GC|Gc|Sched|Preempt|Panic|Recover|Traceback|LockOSThread|Finalizer|Chan|Select"
)


def test_runtime_suite_passes_with_the_goroutine_field(
    tmp_path: Path, toolchain_env: dict[str, str], go_env: dict[str, str]
) -> None:
    """Go's runtime and net/http tests with the overlaid runtime. TestSizeof pins the size of
    runtime.g, which the added field changes by design, so it is skipped."""
    from conftest import copy_fixture, overlay_gen

    root = copy_fixture("goroutines", tmp_path)
    proc = overlay_gen(root, ".", env=toolchain_env)
    assert proc.returncode == 0, proc.stderr
    selection = [] if toolchain_env is go_env else ["-run", GOROUTINE_TESTS]
    skip = ["-skip", "^TestSizeof$"]
    test = go(root, "test", "-short", *skip, *selection, "-overlay=overlay.json", "runtime", env=toolchain_env)
    assert "ok  \truntime" in test.stdout, test.stdout
    test = go(root, "test", "-short", "-overlay=overlay.json", "net/http", env=toolchain_env)
    assert "ok  \tnet/http" in test.stdout, test.stdout
