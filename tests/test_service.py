"""fixtures/service, a service written like a real one (chi, gRPC, pgx's pool, go-redis, the MongoDB
driver), built with the overlay and, as its hand-instrumented twin (fixtures/service/manual), by
hand; both run against a real PostgreSQL, a real Redis, a real MongoDB-compatible server (FerretDB)
and a real OTLP receiver, and trace the same calls: one request, one trace holding its database and
cache spans where they happened."""

from __future__ import annotations

import json
import re
import secrets
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from conftest import copy_fixture, go, otlp_env, overlay_gen
from mongodb import MongoServer
from otlp import OtlpReceiver, Span
from postgres import PostgresServer
from redis import RedisServer

GET_ITEM = "SELECT name, price_cents, created_at FROM service_items WHERE id = $1"
INSERT_ITEM = "INSERT INTO service_items (name, price_cents) VALUES ($1, $2) RETURNING id, created_at"
HEALTH_CHECK = "grpc.health.v1.Health/Check"
LISTENING = re.compile(r"msg=listening http=(\S+) grpc=(\S+)")


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, go_env: dict[str, str]) -> Path:
    """A copy of fixtures/service, with its overlay generated."""
    root = copy_fixture("service", tmp_path_factory.mktemp("service"))
    proc = overlay_gen(root, ".", env=go_env)
    assert proc.returncode == 0, proc.stderr
    return root


@pytest.fixture(scope="module")
def overlay_binary(service: Path, go_env: dict[str, str]) -> Path:
    go(service, "build", "-overlay=overlay.json", "-o", "bin/service", "./cmd/service", env=go_env)
    return service / "bin" / "service"


@pytest.fixture(scope="module")
def manual_binary(service: Path, go_env: dict[str, str]) -> Path:
    go(service / "manual", "build", "-o", "../bin/manual", ".", env=go_env)
    return service / "bin" / "manual"


@contextmanager
def _running(binary: Path, env: dict[str, str], log: Path) -> Iterator[str]:
    """Run the service on free ports; yield its base URL; stop it with SIGTERM (a graceful stop)."""
    with log.open("wb") as out:
        proc = subprocess.Popen([str(binary)], env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 60
        while not (found := LISTENING.search(log.read_text(errors="replace"))):
            assert proc.poll() is None, f"the service exited ({proc.returncode}):\n{log.read_text()}"
            assert time.monotonic() < deadline, f"the service did not start:\n{log.read_text()}"
            time.sleep(0.05)
        yield f"http://{found.group(1)}"
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
    assert code == 0, f"the service stopped with {code}:\n{log.read_text()}"
    assert "shutting down" in log.read_text()


def _request(url: str, body: Any = None, trace_id: str = "", parent_id: str = "") -> tuple[int, dict[str, str], Any]:
    """(status, headers, decoded JSON body) of a GET, or of a POST when there is a body; with a traceparent."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if trace_id:
        headers["traceparent"] = f"00-{trace_id}-{parent_id}-01"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), json.loads(e.read())


def _ids() -> tuple[str, str]:
    """A new trace id and parent span id, for an incoming traceparent."""
    return secrets.token_hex(16), secrets.token_hex(8)


def _exercise(base: str) -> dict[str, Any]:
    """What the tests do to the service: a health check, a new item read twice (a cache miss, then a hit).
    Each request carries a traceparent of its own; returns the trace and parent ids by request."""
    status, _, body = _request(f"{base}/healthz")
    assert (status, body) == (200, {"status": "ok"})
    traces: dict[str, Any] = {}

    traces["post"] = _ids()
    status, headers, item = _request(f"{base}/items", {"name": "lamp", "price_cents": 1999}, *traces["post"])
    assert status == 201, item
    assert headers["Location"] == f"/items/{item['id']}"
    assert (item["name"], item["price_cents"]) == ("lamp", 1999)

    for read in ("miss", "hit"):
        traces[read] = _ids()
        status, headers, got = _request(f"{base}/items/{item['id']}", None, *traces[read])
        assert (status, headers["X-Cache"]) == (200, read)
        assert got == item
    status, _, body = _request(f"{base}/items/999999999")
    assert status == 404, body
    traces["item"] = item
    return traces


def _trace(spans: list[Span], trace_id: str) -> list[Span]:
    return [s for s in spans if s.trace_id == trace_id]


def _ancestors(span: Span, trace: list[Span]) -> list[Span]:
    """The span's parents, nearest first, as far as they were received."""
    by_id = {s.span_id: s for s in trace}
    chain = []
    while span.parent_span_id in by_id:
        span = by_id[span.parent_span_id]
        chain.append(span)
    return chain


def _server_span(trace: list[Span], parent_id: str) -> Span:
    """The trace's HTTP server span, which continues the incoming traceparent."""
    (server,) = [s for s in trace if s.kind == "server" and "http.request.method" in s.attributes]
    assert server.parent_span_id == parent_id, server.describe()
    return server


def _below(span: Span, ancestor: Span, trace: list[Span]) -> None:
    assert ancestor in _ancestors(span, trace), f"{span.describe()} is not below {ancestor.describe()}"


@pytest.mark.gobuild
def test_overlay_traces_http_grpc_sql_and_redis_of_a_real_service(
    overlay_binary: Path,
    go_env: dict[str, str],
    receiver: OtlpReceiver,
    postgres: PostgresServer,
    redis: RedisServer,
    mongodb: MongoServer,
    tmp_path: Path,
) -> None:
    env = otlp_env(go_env, receiver, **_service_env(postgres, redis, mongodb))
    with _running(overlay_binary, env, tmp_path / "service.log") as base:
        traces = _exercise(base)
    spans = receiver.spans()  # the service flushed its spans as it stopped
    item = traces["item"]

    # The cache miss: the one server span, named after chi's route; below it the gRPC health check
    # (as the twin's otelgrpc makes it), the SQL query, and Redis's GET (a miss) and SET (the fill),
    # whose text holds the key but not the cached value.
    trace_id, parent_id = traces["miss"]
    trace = _trace(spans, trace_id)
    server = _server_span(trace, parent_id)
    assert server.name == "GET /items/{id}" and server.attributes["http.route"] == "/items/{id}"
    assert server.attributes["url.path"] == f"/items/{item['id']}"
    assert server.attributes["http.response.status_code"] == 200
    assert server.resource["service.name"] == "service"
    (client,) = [s for s in trace if s.name == HEALTH_CHECK and s.kind == "client"]
    (backend,) = [s for s in trace if s.name == HEALTH_CHECK and s.kind == "server"]
    assert backend.parent_span_id == client.span_id
    assert client.attributes["rpc.system.name"] == "grpc" and client.attributes["rpc.method"] == HEALTH_CHECK
    _below(client, server, trace)
    (query,) = [s for s in trace if s.attributes.get("db.query.text") == GET_ITEM]
    assert query.kind == "client" and query.name == "SELECT service_items" and query.status == "unset"
    assert query.attributes["db.system.name"] == "postgresql"
    assert query.attributes["db.query.summary"] == "SELECT service_items"
    assert "db.collection.name" not in query.attributes  # not read from SQL text
    assert (query.attributes["db.namespace"], query.attributes["server.port"]) == ("postgres", postgres.port)
    _below(query, server, trace)
    # MongoDB: the item's reviews counted (CountDocuments runs an aggregate), in the same trace.
    (count,) = [s for s in trace if s.attributes.get("db.system.name") == "mongodb"]
    assert count.name == "aggregate reviews" and count.kind == "client", count.describe()
    assert (count.attributes["db.namespace"], count.attributes["db.collection.name"]) == ("catalog", "reviews")
    assert count.attributes["server.port"] == mongodb.port
    _below(count, server, trace)
    commands = {s.name: s for s in trace if s.attributes.get("db.system.name") == "redis"}
    assert sorted(commands) == ["GET", "SET"], [s.describe() for s in trace]
    assert commands["GET"].attributes["db.query.text"] == f"GET item:{item['id']}"
    assert str(commands["SET"].attributes["db.query.text"]).startswith(f"SET item:{item['id']} ?")
    assert "lamp" not in json.dumps([s.attributes for s in commands.values()])
    for span in commands.values():
        assert span.kind == "client" and span.status == "unset"
        _below(span, server, trace)

    # The cache hit: Redis answered, so no SQL and no health check.
    trace = _trace(spans, traces["hit"][0])
    _server_span(trace, traces["hit"][1])
    assert [s.name for s in trace if s.attributes.get("db.system.name") == "redis"] == ["GET"]
    assert not [s for s in trace if s.attributes.get("db.system.name") in ("postgresql", "mongodb")]
    assert not [s for s in trace if s.name == HEALTH_CHECK]

    # The new item: an INSERT below the POST's server span.
    trace = _trace(spans, traces["post"][0])
    server = _server_span(trace, traces["post"][1])
    assert server.name == "POST /items" and server.attributes["http.response.status_code"] == 201  # as chi reports it
    (insert,) = [s for s in trace if s.attributes.get("db.query.text") == INSERT_ITEM]
    assert insert.name == insert.attributes["db.query.summary"] == "INSERT service_items"
    _below(insert, server, trace)

    # The table was created at startup, outside any request.
    (create,) = [s for s in spans if str(s.attributes.get("db.query.text", "")).startswith("CREATE TABLE")]
    assert create.parent_span_id == ""


@pytest.mark.gobuild
def test_hand_instrumented_twin_traces_http_grpc_sql_and_redis(
    manual_binary: Path,
    go_env: dict[str, str],
    receiver: OtlpReceiver,
    postgres: PostgresServer,
    redis: RedisServer,
    mongodb: MongoServer,
    tmp_path: Path,
) -> None:
    env = otlp_env(go_env, receiver, **_service_env(postgres, redis, mongodb))
    with _running(manual_binary, env, tmp_path / "manual.log") as base:
        traces = _exercise(base)
    spans = receiver.spans()
    item = traces["item"]

    trace_id, parent_id = traces["miss"]
    trace = _trace(spans, trace_id)
    server = _server_span(trace, parent_id)
    assert server.name == "GET /items/{id}" and server.attributes["http.route"] == "/items/{id}"
    assert server.attributes["http.response.status_code"] == 200
    # gRPC: the client span in the handler, the server span below it (the context crossed the call).
    (client,) = [s for s in trace if s.name == HEALTH_CHECK and s.kind == "client"]
    (backend,) = [s for s in trace if s.name == HEALTH_CHECK and s.kind == "server"]
    assert backend.parent_span_id == client.span_id
    _below(client, server, trace)
    # SQL: the query in the handler (otelpgx: its prepare and its query).
    queries = [s for s in trace if s.attributes.get("db.query.text") == GET_ITEM]
    assert queries, [s.describe() for s in trace]
    for query in queries:
        assert query.kind == "client"
        _below(query, server, trace)
    # MongoDB: otelmongo's span of the count.
    (count,) = [s for s in trace if "mongodb" in (s.attributes.get("db.system"), s.attributes.get("db.system.name"))]
    assert count.kind == "client"
    _below(count, server, trace)
    # Redis: the cache miss, then the cache fill.
    redis_spans = {s.name: s for s in trace if s.attributes.get("db.system") == "redis"}
    assert {"get", "set"} <= redis_spans.keys(), [s.describe() for s in trace]
    assert redis_spans["get"].attributes["db.statement"] == f"get item:{item['id']}"
    for span in redis_spans.values():
        assert span.kind == "client"
        _below(span, server, trace)

    # The cache hit: Redis only.
    trace = _trace(spans, traces["hit"][0])
    _server_span(trace, traces["hit"][1])
    assert [s.name for s in trace if s.attributes.get("db.system") == "redis"] == ["get"]
    assert not [s for s in trace if "db.query.text" in s.attributes or s.name == HEALTH_CHECK]


def _service_env(postgres: PostgresServer, redis: RedisServer, mongodb: MongoServer) -> dict[str, str]:
    return {
        "LISTEN_ADDR": "127.0.0.1:0",
        "GRPC_ADDR": "127.0.0.1:0",
        "DATABASE_URL": postgres.dsn,
        "REDIS_ADDR": redis.addr,
        "MONGODB_URI": f"{mongodb.uri}/catalog",
    }
