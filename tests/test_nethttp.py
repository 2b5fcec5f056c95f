"""net/http, instrumented in the standard library: client and server spans, one trace across services."""

from __future__ import annotations

import http.server
import json
import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar

import pytest
from conftest import FIXTURES, WITH_METRICS, build_fixture, copy_fixture, otlp_env, overlay_gen
from otlp import OtlpReceiver, latest
from traces import assert_trace

EXPECTED = FIXTURES / "webapp" / "expected-trace.toml"


@pytest.fixture(scope="module")
def webapp(tmp_path_factory: pytest.TempPathFactory, go_env: dict[str, str]) -> Path:
    return build_fixture("webapp", tmp_path_factory.mktemp("webapp"), go_env)


@contextmanager
def _service(app: Path, env: dict[str, str], role: str, *args: str) -> Iterator[str]:
    """Run a webapp service on a free port; yield its base URL; stop it with SIGTERM."""
    proc = subprocess.Popen([str(app), role, "127.0.0.1:0", *args], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().split()
        assert line[:1] == ["listening"], line
        yield f"http://{line[1]}"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def _get(app: Path, env: dict[str, str], url: str) -> str:
    run = subprocess.run([str(app), "get", url], env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return run.stdout.strip()


@pytest.mark.gobuild
def test_one_trace_across_two_services(webapp: Path, go_env: dict[str, str], receiver: OtlpReceiver) -> None:
    env = otlp_env(go_env, receiver)
    with _service(webapp, env, "items") as items, _service(webapp, env, "orders", items) as orders:
        assert _get(webapp, env, f"{orders}/orders/7") == "200 order 7: item 7: a fine item #7"
        receiver.wait_for(5)
    assert_trace(EXPECTED, receiver.spans())
    assert len({s.trace_id for s in receiver.spans()}) == 1
    assert not [s for s in receiver.spans() if "/v1/traces" in str(s.attributes.get("url.full", ""))]


@pytest.mark.gobuild
def test_server_errors_and_transport_errors(webapp: Path, go_env: dict[str, str], receiver: OtlpReceiver) -> None:
    env = otlp_env(go_env, receiver)
    with _service(webapp, env, "items") as items:
        assert _get(webapp, env, f"{items}/fail").startswith("500 broken on purpose")
        receiver.wait_for(2)
    by_kind = {s.kind: s for s in receiver.spans()}
    for kind in ("client", "server"):
        assert by_kind[kind].status == "error"
        assert by_kind[kind].attributes["http.response.status_code"] == 500
        assert by_kind[kind].attributes["error.type"] == "500"
    assert by_kind["server"].name == "GET /fail"

    receiver.clear()
    closed = items  # the service has stopped: nothing listens there any more
    assert _get(webapp, env, f"{closed}/items/1").startswith("error:")
    (span,) = receiver.wait_for(1)
    assert span.kind == "client" and span.status == "error"
    assert "http.response.status_code" not in span.attributes
    assert span.attributes["error.type"] == "*net.OpError"
    assert [e.name for e in span.events] == ["exception"]


@pytest.mark.gobuild
def test_server_continues_an_incoming_traceparent(webapp: Path, go_env: dict[str, str], receiver: OtlpReceiver) -> None:
    import urllib.request

    trace_id, parent_id = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    env = otlp_env(go_env, receiver)
    with _service(webapp, env, "items") as items:
        request = urllib.request.Request(f"{items}/items/3", headers={"traceparent": f"00-{trace_id}-{parent_id}-01"})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200
        spans = receiver.wait_for(2)
    server = next(s for s in spans if s.kind == "server")
    assert (server.trace_id, server.parent_span_id) == (trace_id, parent_id)
    assert server.name == "GET /items/{id}"
    describe = next(s for s in spans if s.name == "describe")
    assert describe.parent_span_id == server.span_id  # r.Context() holds the server span


class _Headers(http.server.BaseHTTPRequestHandler):
    seen: ClassVar[list[dict[str, str]]] = []

    def do_GET(self) -> None:
        self.seen.append({k.lower(): v for k, v in self.headers.items()})
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.gobuild
@pytest.mark.parametrize(("propagators", "header"), [(None, "traceparent"), ("b3", "b3")])
def test_client_sends_the_configured_propagation_headers(
    webapp: Path, go_env: dict[str, str], receiver: OtlpReceiver, propagators: str | None, header: str
) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Headers)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Headers.seen = []
    try:
        extra = {"OTEL_PROPAGATORS": propagators} if propagators else {}
        url = f"http://127.0.0.1:{server.server_address[1]}/plain"
        assert _get(webapp, otlp_env(go_env, receiver, **extra), url) == "204"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    (headers,) = _Headers.seen
    (span,) = receiver.wait_for(1)
    assert header in headers
    assert span.trace_id in headers[header]
    assert ("traceparent" in headers) == (header == "traceparent")


def test_net_http_integration_can_be_switched_off(tmp_path: Path, go_env: dict[str, str]) -> None:
    root = copy_fixture("webapp", tmp_path)
    goroot = subprocess.run(["go", "env", "GOROOT"], capture_output=True, text=True, check=True).stdout.strip()
    client_go = os.path.join(goroot, "src", "net", "http", "client.go")
    assert overlay_gen(root, ".", env=go_env).returncode == 0
    assert client_go in json.loads((root / "overlay.json").read_text())["Replace"]
    (root / "overlay-gen.toml").write_text('disable = ["overlay-gen.net-http*"]\n')
    proc = overlay_gen(root, ".", env=go_env)
    assert proc.returncode == 0, proc.stderr
    replace = json.loads((root / "overlay.json").read_text())["Replace"]
    assert not [k for k in replace if "/net/http/" in k]
    assert "otelrt/nethttp" not in (root / ".overlay-gen" / "main" / "main.go").read_text()


@pytest.mark.gobuild
def test_requests_through_a_transport_alone_are_traced_once(
    webapp: Path, go_env: dict[str, str], receiver: OtlpReceiver
) -> None:
    env = otlp_env(go_env, receiver)
    with _service(webapp, env, "items") as items, _service(webapp, env, "proxy", items) as proxy:
        assert _get(webapp, env, f"{proxy}/items/7") == "200 item 7: a fine item #7"
        receiver.wait_for(5)
    assert_trace(FIXTURES / "webapp" / "expected-trace-proxy.toml", receiver.spans())


def _post(app: Path, env: dict[str, str], url: str, body: str, *how: str) -> str:
    run = subprocess.run([str(app), "post", url, body, *how], env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return run.stdout.strip()


@pytest.mark.gobuild
def test_body_sizes_are_on_the_spans_and_in_the_size_histograms(
    webapp: Path, go_env: dict[str, str], receiver: OtlpReceiver
) -> None:
    """A POST of a declared length and a chunked one: the server span has the bytes the handler
    read and wrote, the client span the lengths it declared and was told; the server's size
    histograms count both requests by their route."""
    env = otlp_env(go_env, receiver, **WITH_METRICS)
    with _service(webapp, env, "items") as items:
        for how in ((), ("chunked",)):
            assert _post(webapp, env, f"{items}/items/7/notes", "hello", *how) == "200 noted 5 bytes"
        receiver.wait_for(4)
    spans = receiver.spans()
    server = [s for s in spans if s.kind == "server"]
    client = [s for s in spans if s.kind == "client"]
    assert [s.name for s in server] == ["POST /items/{id}/notes"] * 2
    for span in server:
        assert (span.attributes["http.request.body.size"], span.attributes["http.response.body.size"]) == (5, 13)
    declared, chunked = sorted(client, key=lambda s: "http.request.body.size" in s.attributes, reverse=True)
    assert declared.attributes["http.request.body.size"] == 5
    assert "http.request.body.size" not in chunked.attributes  # a length the client never knew
    assert declared.attributes["http.response.body.size"] == chunked.attributes["http.response.body.size"] == 13
    points = receiver.wait_for_metrics(lambda p: any(m.name == "http.server.response.body.size" for m in p))
    sizes = {p.name: p for p in latest(points) if p.name.startswith("http.server.") and p.name.endswith(".size")}
    for name, total in (("http.server.request.body.size", 10), ("http.server.response.body.size", 26)):
        point = sizes[name]
        assert (point.unit, point.count, point.sum) == ("By", 2, total), point
        assert point.attributes["http.route"] == "/items/{id}/notes"
