"""The runtime's metrics as a user configures them: the Prometheus endpoint (scraped and parsed
with the Prometheus client's own text parser), the console exporter, and none. What each
integration's metrics hold is checked with its fixture (tests/test_integrations.py,
tests/metrics.py)."""

from __future__ import annotations

import http.server
import json
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import build_fixture, otlp_env
from otlp import OtlpReceiver
from prometheus_client.parser import text_string_to_metric_families
from servers import free_port
from test_nethttp import _service

pytestmark = pytest.mark.gobuild


@pytest.fixture(scope="module")
def webapp(tmp_path_factory: pytest.TempPathFactory, go_env: dict[str, str]) -> Path:
    return build_fixture("webapp", tmp_path_factory.mktemp("webapp"), go_env)


def _fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        with e:
            return e.code, e.read().decode()


def test_the_prometheus_endpoint_serves_the_request_metrics_and_its_scrapes_are_not_traced(
    webapp: Path, go_env: dict[str, str], receiver: OtlpReceiver
) -> None:
    port = free_port()
    env = otlp_env(
        go_env,
        receiver,
        OTEL_METRICS_EXPORTER="prometheus",
        OTEL_EXPORTER_PROMETHEUS_HOST="127.0.0.1",
        OTEL_EXPORTER_PROMETHEUS_PORT=str(port),
    )
    with _service(webapp, env, "items") as items:
        for path in ("/items/1", "/items/2", "/fail"):
            _fetch(items + path)  # Python's client: the server's spans only
        _fetch(f"http://127.0.0.1:{port}/metrics")  # a first scrape, which must not count as a request
        status, text = _fetch(f"http://127.0.0.1:{port}/metrics")
        assert status == 200, text
        receiver.wait_for(3)
    families = {family.name: family for family in text_string_to_metric_families(text)}
    duration = families["http_server_request_duration_seconds"]
    assert duration.type == "histogram"  # in seconds: the exporter names the unit in the suffix
    counts = {
        (s.labels["http_route"], s.labels["http_response_status_code"], s.labels.get("error_type")): s.value
        for s in duration.samples
        if s.name.endswith("_count")
    }
    assert counts == {("/items/{id}", "200", None): 2.0, ("/fail", "500", "500"): 1.0}
    assert not [s for s in duration.samples if "url_path" in s.labels or "client_address" in s.labels]
    assert families["go_goroutine_count"].type in ("gauge", "unknown")  # an up-down counter: a gauge
    assert "go_memory_used_bytes" in families
    # The spans: the three requests, never a scrape.
    served = sorted(str(s.attributes.get("url.path")) for s in receiver.spans() if s.kind == "server")
    assert served == ["/fail", "/items/1", "/items/2"]


class _Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"hello"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def hello() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hi"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.mark.parametrize("exporter", ["console", "none"])
def test_the_console_exporter_prints_the_metrics_at_exit_and_none_records_nothing(
    exporter: str, webapp: Path, go_env: dict[str, str], receiver: OtlpReceiver, hello: str
) -> None:
    env = otlp_env(go_env, receiver, OTEL_METRICS_EXPORTER=exporter, OTEL_TRACES_EXPORTER="none")
    run = subprocess.run([str(webapp), "get", hello], env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and run.stdout.startswith("200 hello"), run.stdout + run.stderr
    exported = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    names = {m["Name"] for export in exported for scope in export["ScopeMetrics"] for m in scope["Metrics"]}
    if exporter == "console":
        assert {"http.client.request.duration", "go.goroutine.count"} <= names, run.stdout
    else:
        assert not exported, run.stdout
    assert receiver.metrics() == [] and receiver.errors() == []  # console or none: nothing over OTLP
