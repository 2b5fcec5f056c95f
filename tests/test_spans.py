"""//dd:span and the OpenTelemetry runtime, observed over real OTLP.

fixtures/spans is built once per module with overlay-gen and the stock
toolchain, then run pointed at a real OTLP receiver (OTLP/HTTP, and once
OTLP/gRPC); what arrives is compared with fixtures/spans/expected-trace.toml.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import FIXTURES, build_fixture, copy_fixture, go, otlp_env, overlay_gen
from otlp import OtlpReceiver
from traces import assert_trace

pytestmark = pytest.mark.gobuild

EXPECTED = FIXTURES / "spans" / "expected-trace.toml"


@pytest.fixture(scope="module")
def spans_app(tmp_path_factory: pytest.TempPathFactory, go_env: dict[str, str]) -> Path:
    return build_fixture("spans", tmp_path_factory.mktemp("spans"), go_env)


def _run(app: Path, env: dict[str, str], *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(app), *args], env={**env, **extra}, capture_output=True, text=True, timeout=60)


def test_annotated_functions_form_the_expected_trace(
    spans_app: Path, go_env: dict[str, str], receiver: OtlpReceiver
) -> None:
    run = _run(spans_app, otlp_env(go_env, receiver))
    assert run.returncode == 0, run.stderr
    assert "checkout: card declined" in run.stdout  # the program behaves as before
    # Spans are flushed when main returns: they are all there by the time it has exited.
    assert_trace(EXPECTED, receiver.spans())
    assert {s.scope for s in receiver.spans()} == {"overlay-gen"}


def test_spans_are_exported_over_grpc(spans_app: Path, go_env: dict[str, str], grpc_receiver: OtlpReceiver) -> None:
    env = otlp_env(go_env, grpc_receiver)
    assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "grpc"
    run = _run(spans_app, env)
    assert run.returncode == 0, run.stderr
    assert "checkout: card declined" in run.stdout
    assert_trace(EXPECTED, grpc_receiver.spans())
    assert {s.scope for s in grpc_receiver.spans()} == {"overlay-gen"}


def test_resource_from_the_standard_environment(
    spans_app: Path, go_env: dict[str, str], receiver: OtlpReceiver
) -> None:
    run = _run(
        spans_app,
        otlp_env(go_env, receiver),
        OTEL_SERVICE_NAME="shop",
        OTEL_RESOURCE_ATTRIBUTES="deployment.environment=test,team=payments",
    )
    assert run.returncode == 0, run.stderr
    resource = receiver.wait_for(1)[0].resource
    assert resource["service.name"] == "shop"
    assert resource["deployment.environment"] == "test" and resource["team"] == "payments"
    assert resource["telemetry.sdk.language"] == "go"


@pytest.mark.parametrize(
    "setting", [{"OTEL_SDK_DISABLED": "true"}, {"OTEL_TRACES_SAMPLER": "always_off"}, {"OTEL_TRACES_EXPORTER": "none"}]
)
def test_environment_turns_tracing_off(
    spans_app: Path, go_env: dict[str, str], receiver: OtlpReceiver, setting: dict[str, str]
) -> None:
    run = _run(spans_app, otlp_env(go_env, receiver), **setting)
    assert run.returncode == 0, run.stderr
    assert "checkout: card declined" in run.stdout
    assert receiver.spans() == [] and receiver.errors() == []
    # The same run without the setting does send spans: the receiver was listening.
    _run(spans_app, otlp_env(go_env, receiver))
    assert receiver.wait_for(11)


def test_console_exporter_prints_spans(spans_app: Path, go_env: dict[str, str]) -> None:
    run = _run(spans_app, go_env, OTEL_TRACES_EXPORTER="console")
    assert run.returncode == 0, run.stderr
    decoder, text, names = json.JSONDecoder(), run.stdout, []
    index = 0
    while (index := text.find("{", index)) >= 0:
        span, index = decoder.raw_decode(text, index)
        names.append(span["Name"])
    assert sorted(names) == sorted(
        [
            "checkout",
            "price",
            "Stack.Push",
            "checkout.func1",
            "weigh",
            "handle",
            "lookup",
            "explode",
            "refund",
            "charge",
            "audit",
        ]
    )


def test_os_exit_flushes_spans_and_keeps_the_exit_code(
    spans_app: Path, go_env: dict[str, str], receiver: OtlpReceiver
) -> None:
    run = _run(spans_app, otlp_env(go_env, receiver), "exit")
    assert run.returncode == 3, run.stderr
    assert {"checkout", "audit"} <= {s.name for s in receiver.spans()}


def test_panic_is_recorded_flushed_and_reported_at_the_original_line(
    spans_app: Path, go_env: dict[str, str], receiver: OtlpReceiver
) -> None:
    run = _run(spans_app, otlp_env(go_env, receiver), "crash")
    assert run.returncode == 2
    source = (FIXTURES / "spans" / "main.go").read_text().splitlines()
    line = next(i for i, text in enumerate(source, 1) if 'm["boom"] = 1' in text)
    assert "panic: assignment to entry in nil map" in run.stderr
    assert f"/main.go:{line} " in run.stderr, run.stderr
    (crash,) = [s for s in receiver.spans() if s.name == "crash"]
    assert crash.status == "error" and crash.status_message == "panic: assignment to entry in nil map"
    assert [e.name for e in crash.events] == ["exception"]
    assert "exception.stacktrace" in crash.events[0].attributes


def _start(app: Path, env: dict[str, str], mode: str) -> subprocess.Popen[str]:
    """Start the fixture in a mode that blocks, once it says it is waiting."""
    proc = subprocess.Popen([str(app), mode], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    while (line := proc.stdout.readline()) and line.strip() != "waiting":
        pass
    assert line.strip() == "waiting", proc.stderr.read() if proc.stderr else ""
    return proc


def test_sigterm_flushes_spans_and_still_stops_the_program(
    spans_app: Path, go_env: dict[str, str], receiver: OtlpReceiver
) -> None:
    # The batch exporter holds the spans for a minute: only the signal can flush them in time.
    proc = _start(spans_app, otlp_env(go_env, receiver, OTEL_BSP_SCHEDULE_DELAY="60000"), "wait")
    assert receiver.spans() == []
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == -signal.SIGTERM  # stopped by the signal, as without instrumentation
    names = {s.name for s in receiver.spans()}  # flushed before it stopped
    assert {"checkout", "audit"} <= names
    assert "wait" not in names  # still open when the program died


def test_program_that_handles_sigint_keeps_handling_it(
    spans_app: Path, go_env: dict[str, str], receiver: OtlpReceiver
) -> None:
    proc = _start(spans_app, otlp_env(go_env, receiver), "graceful")
    time.sleep(0.2)  # past signal.Notify
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err  # the program's own handler ran, the runtime did not stop it
    assert "graceful shutdown" in out
    assert {"checkout", "graceful"} <= {s.name for s in receiver.spans()}


def test_ignore_on_main_turns_the_runtime_off(tmp_path: Path, go_env: dict[str, str], receiver: OtlpReceiver) -> None:
    root = copy_fixture("spans", tmp_path)
    main = root / "main.go"
    main.write_text(main.read_text().replace("func main() {", "//overlay-gen:ignore\nfunc main() {", 1))
    proc = overlay_gen(root, ".", env=go_env)
    assert proc.returncode == 0, proc.stderr
    line = main.read_text().splitlines().index("func main() {") + 1
    assert f"main.go:{line}: aspect 'overlay-gen.runtime' skipped: an ignore directive" in proc.stderr
    go(root, "build", "-overlay=overlay.json", "-o", "spans", ".", env=go_env)
    run = _run(root / "spans", otlp_env(go_env, receiver))
    assert run.returncode == 0 and "checkout: card declined" in run.stdout
    time.sleep(0.5)
    assert receiver.spans() == []


def test_generation_works_offline(tmp_path: Path, go_env: dict[str, str]) -> None:
    root = copy_fixture("spans", tmp_path)
    offline = {**go_env, "GOPROXY": "off"}
    proc = overlay_gen(root, ".", env=offline)
    assert proc.returncode == 0, proc.stderr
    go(root, "build", "-overlay=overlay.json", "-o", os.devnull, ".", env=offline)
