"""Spans are never lost at exit: every way out of an instrumented program flushes them.

The runtime integration's fixture (aspects/runtime/fixture) ends as its first
argument says: main returning (test_integrations.py checks that one against
its expected trace), log.Fatal, os.Exit in a dependency, a signal it does not
handle, a panic in a goroutine. It is built once per Go release and run with
the batch exporter holding spans for a minute, so only a flush on the way out
delivers them before the program is gone. Its package work is also tested
with ``go test`` and the overlay generated with ``--tests``: every test is a
span, with the spans of the code under test below it.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import tomllib
import urllib.request
from pathlib import Path

import pytest
from conftest import REPO, WITH_LOGS, WITH_METRICS, go, otlp_env, overlay_gen
from otlp import OtlpReceiver, Span
from traces import assert_trace, parse_expected

pytestmark = pytest.mark.gobuild

FIXTURE = REPO / "aspects" / "runtime" / "fixture"
HOLD = {"OTEL_BSP_SCHEDULE_DELAY": "60000"}  # no export on schedule while the program runs


def _copy(dest: Path) -> Path:
    root = dest / "exits"
    shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns(".overlay-gen", "overlay.json"))
    return root


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, toolchain_env: dict[str, str]) -> tuple[Path, dict[str, str]]:
    """The fixture built with the overlay, and the environment of the Go release that built it."""
    root = _copy(tmp_path_factory.mktemp("exits"))
    proc = overlay_gen(root, ".", env=toolchain_env)
    assert proc.returncode == 0, proc.stderr
    go(root, "build", "-overlay=overlay.json", "-o", "exits", ".", env=toolchain_env)
    return root / "exits", toolchain_env


def _run(
    built: tuple[Path, dict[str, str]], receiver: OtlpReceiver, mode: str, **extra: str
) -> subprocess.CompletedProcess[str]:
    app, env = built
    return subprocess.run(
        [str(app), mode], env=otlp_env(env, receiver, **HOLD, **extra), capture_output=True, text=True, timeout=60
    )


ORDER = """
[[span]]
name = "Order"
  [[span.child]]
  name = "pack"
  [[span.child]]
  name = "pack"
  [[span.child]]
  name = "pack"
"""


def _expect(toml: str, spans: list[Span]) -> None:
    assert_trace(parse_expected(tomllib.loads(toml)), spans)


def test_log_fatal_flushes_spans_metrics_and_logs(built: tuple[Path, dict[str, str]], receiver: OtlpReceiver) -> None:
    run = _run(built, receiver, "fatal", **WITH_METRICS, **WITH_LOGS)
    assert run.returncode == 1 and "giving up" in run.stderr, run.stderr
    # There when the program is gone: flushed inside os.Exit, all three signals (metrics are pushed
    # every 10 minutes here, so only the exit's flush can have sent them).
    _expect(ORDER, receiver.spans())
    assert "go.goroutine.count" in {point.name for point in receiver.metrics()}
    fatal = [record for record in receiver.logs() if record.body == "giving up"]
    assert [(r.severity_text, r.severity_number, r.trace_id) for r in fatal] == [("ERROR+4", 21, "")], receiver.logs()


def test_os_exit_in_a_dependency_flushes_spans_without_rewriting_it(
    built: tuple[Path, dict[str, str]], receiver: OtlpReceiver
) -> None:
    run = _run(built, receiver, "quit")
    assert run.returncode == 3 and "quitting with 3" in run.stdout, run.stderr
    _expect(ORDER, receiver.spans())
    # os.Exit itself flushes: the dependency is built as it is (no module copy, no import of the runtime).
    replace = json.loads((built[0].parent / "overlay.json").read_text())["Replace"]
    assert not [path for path in replace if "/quit/" in path]


def test_sigterm_flushes_a_servers_spans_and_still_stops_it(
    built: tuple[Path, dict[str, str]], receiver: OtlpReceiver
) -> None:
    app, env = built
    proc = subprocess.Popen(
        [str(app), "serve"],
        env=otlp_env(env, receiver, **HOLD),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("packed")
        line = proc.stdout.readline().split()
        assert line[:1] == ["listening"], line
        with urllib.request.urlopen(f"http://{line[1]}/order/abcd", timeout=10) as response:
            assert response.read() == b"4\n"
        assert [s.name for s in receiver.spans()] == []  # held by the batch exporter
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == -signal.SIGTERM  # stopped by the signal, as without instrumentation
    finally:
        proc.kill()
        proc.wait()
    _expect(
        ORDER
        + """
[[span]]
name = "GET /order/{n}"
kind = "server"
extra-attributes = true
attributes = { "http.route" = "/order/{n}" }
  [[span.child]]
  name = "Order"
  extra-children = true
""",
        receiver.spans(),
    )


def test_panic_in_a_goroutine_is_recorded_and_flushed(
    built: tuple[Path, dict[str, str]], receiver: OtlpReceiver
) -> None:
    run = _run(built, receiver, "panic")
    assert run.returncode == 2
    assert "panic: assignment to entry in nil map" in run.stderr  # the runtime still prints it
    assert "goroutine " in run.stderr and "work.worker(" in run.stderr, run.stderr
    message = "panic: assignment to entry in nil map"
    # worker's span recorded the panic as it unwound; Crash's, the goroutine's active span when
    # the panic killed the program, is ended with it by the runtime's hook.
    _expect(
        ORDER
        + f"""
[[span]]
name = "Crash"
status = "error"
status-message = "{message}"
events = ["exception"]
  [[span.child]]
  name = "worker"
  status = "error"
  status-message = "{message}"
  events = ["exception"]
""",
        receiver.spans(),
    )
    (crash,) = [s for s in receiver.spans() if s.name == "Crash"]
    assert "work.worker" in crash.events[0].attributes["exception.stacktrace"]  # where it panicked


def test_go_test_makes_a_span_of_each_test(
    tmp_path: Path, toolchain_env: dict[str, str], receiver: OtlpReceiver
) -> None:
    root = _copy(tmp_path)
    proc = overlay_gen(root, ".", "--tests", env=toolchain_env)
    assert proc.returncode == 0, proc.stderr
    env = otlp_env(toolchain_env, receiver, EXITS_FAIL="1", **HOLD)
    test = go(root, "test", "-overlay=overlay.json", "-count=1", "./work", env=env, check=False)
    assert test.returncode == 1 and "failing as asked" in test.stdout, test.stdout + test.stderr
    _expect(  # a root span per test, a child per subtest, the code under test below
        """
[resource]
"service.name" = "work"

[[span]]
name = "TestOrder"
attributes = { "test.case.name" = "TestOrder", "test.case.result.status" = "pass" }
  [[span.child]]
  name = "Order"
    [[span.child.child]]
    name = "pack"
    [[span.child.child]]
    name = "pack"

[[span]]
name = "TestCheck"
attributes = { "test.case.name" = "TestCheck", "test.case.result.status" = "pass" }
  [[span.child]]
  name = "TestCheck/positive"
  attributes = { "test.case.name" = "TestCheck/positive", "test.case.result.status" = "pass" }
    [[span.child.child]]
    name = "Check"
  [[span.child]]
  name = "TestCheck/negative"
  attributes = { "test.case.name" = "TestCheck/negative", "test.case.result.status" = "pass" }
    [[span.child.child]]
    name = "Check"
    status = "error"

[[span]]
name = "TestServe"
attributes = { "test.case.name" = "TestServe", "test.case.result.status" = "pass" }
  [[span.child]]
  name = "GET"
  kind = "client"
  attributes = { "http.response.status_code" = 202 }
  extra-attributes = true
    [[span.child.child]]
    name = "GET"
    kind = "server"
    attributes = { "url.path" = "/served", "http.response.status_code" = 202 }
    extra-attributes = true

[[span]]
name = "TestFails"
attributes = { "test.case.name" = "TestFails", "test.case.result.status" = "fail" }
status = "error"
status-message = "test failed"
""",
        receiver.spans(),
    )


def test_go_suites_of_the_rewritten_std_packages_pass(tmp_path: Path, toolchain_env: dict[str, str]) -> None:
    """Go's own tests of os, os/signal and testing, with the overlay that rewrites them (generated
    with --tests: testing's own test binary links os/signal). The runtime's, with the panic hook,
    run in test_goroutines.py."""
    root = _copy(tmp_path)
    proc = overlay_gen(root, ".", "--tests", env=toolchain_env)
    assert proc.returncode == 0, proc.stderr
    replace = json.loads((root / "overlay.json").read_text())["Replace"]
    for package in ("os", "os/signal", "testing"):
        assert [p for p in replace if Path(p).parent.as_posix().endswith(f"/src/{package}")], package
    test = go(root, "test", "-short", "-overlay=overlay.json", "os", "os/signal", "testing", env=toolchain_env)
    for package in ("os", "os/signal", "testing"):
        assert f"ok  \t{package}\t" in test.stdout, test.stdout
