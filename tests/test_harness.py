"""Tests of the test harness itself (tests/otlp.py and tests/traces.py); no Go needed."""

from __future__ import annotations

import gc
import gzip
import json
import re
import socket
import threading
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2_grpc import LogsServiceStub
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2_grpc import MetricsServiceStub
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub
from opentelemetry.proto.common.v1.common_pb2 import (
    AnyValue,
    ArrayValue,
    InstrumentationScope,
    KeyValue,
    KeyValueList,
)
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord as PbLogRecord
from opentelemetry.proto.logs.v1.logs_pb2 import ResourceLogs, ScopeLogs, SeverityNumber
from opentelemetry.proto.metrics.v1.metrics_pb2 import (
    AggregationTemporality,
    Gauge,
    Histogram,
    HistogramDataPoint,
    Metric,
    NumberDataPoint,
    ResourceMetrics,
    ScopeMetrics,
)
from opentelemetry.proto.metrics.v1.metrics_pb2 import Exemplar as PbExemplar
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Status
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan
from otlp import Exemplar, LogRecord, MetricPoint, OtlpReceiver, Span, SpanEvent, latest
from servers import assert_propagated
from traces import ExpectedTraceError, Varying, assert_trace, compare, dump_tree, load_expected

TRACE = "0af7651916cd43dd8448eb211c80319c"
OTHER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
ROOT = "b7ad6b7169203331"
CHILD = "00f067aa0ba902b7"

# --- building and sending export requests ---------------------------------------------------------------------


def any_value(value: Any) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, str):
        return AnyValue(string_value=value)
    if isinstance(value, bytes):
        return AnyValue(bytes_value=value)
    if isinstance(value, list):
        return AnyValue(array_value=ArrayValue(values=[any_value(v) for v in value]))
    if isinstance(value, dict):
        return AnyValue(kvlist_value=KeyValueList(values=key_values(value)))
    raise TypeError(value)


def key_values(attributes: dict[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=k, value=any_value(v)) for k, v in attributes.items()]


def sample_request() -> ExportTraceServiceRequest:
    """A server root span and an erroring client child with every attribute type and an event."""
    root = PbSpan(
        trace_id=bytes.fromhex(TRACE),
        span_id=bytes.fromhex(ROOT),
        name="GET /items",
        kind=PbSpan.SPAN_KIND_SERVER,
        start_time_unix_nano=1_000,
        end_time_unix_nano=5_000,
        attributes=key_values({"http.request.method": "GET", "http.response.status_code": 200}),
    )
    child = PbSpan(
        trace_id=bytes.fromhex(TRACE),
        span_id=bytes.fromhex(CHILD),
        parent_span_id=bytes.fromhex(ROOT),
        name="db.query",
        kind=PbSpan.SPAN_KIND_CLIENT,
        status=Status(code=Status.STATUS_CODE_ERROR, message="connection refused"),
        attributes=key_values(
            {
                "s": "text",
                "b": True,
                "i": -7,
                "f": 2.5,
                "ls": ["a", "b"],
                "li": [1, 2],
                "kv": {"inner": 1},
                "raw": b"\x00\x01",
            }
        ),
        events=[
            PbSpan.Event(
                name="exception",
                time_unix_nano=3_000,
                attributes=key_values({"exception.message": "boom", "exception.escaped": False}),
            )
        ],
    )
    return ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(
                resource=Resource(attributes=key_values({"service.name": "shop", "process.pid": 42})),
                scope_spans=[
                    ScopeSpans(scope=InstrumentationScope(name="overlay-gen/net/http", version="0.1.0"), spans=[root]),
                    ScopeSpans(scope=InstrumentationScope(name="overlay-gen/database/sql"), spans=[child]),
                ],
            )
        ]
    )


def post(
    url: str, body: bytes | Iterable[bytes], content_type: str, encoding: str | None = None
) -> tuple[int, str, bytes]:
    headers = {"Content-Type": content_type}
    if encoding:
        headers["Content-Encoding"] = encoding
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as e:
        with e:
            return e.code, e.headers["Content-Type"], e.read()


def send(receiver: OtlpReceiver, request: ExportTraceServiceRequest) -> None:
    status, _, body = post(receiver.traces_url, request.SerializeToString(), "application/x-protobuf")
    assert status == 200, body


def export_grpc(
    receiver: OtlpReceiver, request: ExportTraceServiceRequest, compression: grpc.Compression | None = None
) -> ExportTraceServiceResponse:
    """Send ``request`` as an OTLP/gRPC exporter would: TraceService/Export over a plain-text channel."""
    with grpc.insecure_channel(f"127.0.0.1:{receiver.port}") as channel:
        response: ExportTraceServiceResponse = TraceServiceStub(channel).Export(
            request, timeout=10, compression=compression
        )
        return response


def check_sample(spans: list[Span]) -> None:
    assert [s.name for s in spans] == ["GET /items", "db.query"]
    root, child = spans
    assert (root.trace_id, root.span_id, root.parent_span_id) == (TRACE, ROOT, "")
    assert (child.trace_id, child.span_id, child.parent_span_id) == (TRACE, CHILD, ROOT)
    assert (root.kind, root.status, root.status_message) == ("server", "unset", "")
    assert (child.kind, child.status, child.status_message) == ("client", "error", "connection refused")
    assert root.attributes == {"http.request.method": "GET", "http.response.status_code": 200}
    assert child.attributes == {
        "s": "text",
        "b": True,
        "i": -7,
        "f": 2.5,
        "ls": ["a", "b"],
        "li": [1, 2],
        "kv": {"inner": 1},
        "raw": b"\x00\x01",
    }
    types = {k: type(v) for k, v in child.attributes.items()}
    assert types == {"s": str, "b": bool, "i": int, "f": float, "ls": list, "li": list, "kv": dict, "raw": bytes}
    assert child.events == (SpanEvent("exception", {"exception.message": "boom", "exception.escaped": False}, 3_000),)
    assert type(child.events[0].attributes["exception.escaped"]) is bool
    assert root.events == ()
    assert root.resource == child.resource == {"service.name": "shop", "process.pid": 42}
    assert (root.scope, root.scope_version) == ("overlay-gen/net/http", "0.1.0")
    assert child.scope == "overlay-gen/database/sql"
    assert (root.start_time_unix_nano, root.end_time_unix_nano) == (1_000, 5_000)


# --- the receiver ---------------------------------------------------------------------------------------------


def test_receiver_decodes_protobuf() -> None:
    with OtlpReceiver() as receiver:
        assert receiver.endpoint == f"http://127.0.0.1:{receiver.port}"
        status, content_type, body = post(
            receiver.traces_url, sample_request().SerializeToString(), "application/x-protobuf"
        )
        assert (status, content_type) == (200, "application/x-protobuf")
        response = ExportTraceServiceResponse()
        response.ParseFromString(body)
        assert not response.HasField("partial_success")
        check_sample(receiver.spans())
        assert receiver.errors() == []


def test_receiver_decodes_gzip_and_chunked_bodies() -> None:
    payload = sample_request().SerializeToString()
    with OtlpReceiver() as receiver:
        status, _, _ = post(receiver.traces_url, gzip.compress(payload), "application/x-protobuf", "gzip")
        assert status == 200
        check_sample(receiver.spans())
        receiver.clear()
        assert receiver.spans() == []
        # An iterable body without a length goes out with Transfer-Encoding: chunked.
        status, _, _ = post(receiver.traces_url, iter([payload[:10], payload[10:]]), "application/x-protobuf")
        assert status == 200
        check_sample(receiver.spans())


def test_receiver_decodes_otlp_json() -> None:
    # OTLP/JSON as the spec writes it: hex ids, camelCase keys, integer enums, int64 as strings.
    body = {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "shop"}}]},
                "scopeSpans": [
                    {
                        "scope": {"name": "manual"},
                        "spans": [
                            {
                                "traceId": TRACE,
                                "spanId": ROOT,
                                "parentSpanId": "",
                                "name": "main",
                                "kind": 1,
                                "attributes": [
                                    {"key": "n", "value": {"intValue": "12"}},
                                    {"key": "ok", "value": {"boolValue": True}},
                                ],
                            },
                            {
                                "traceId": TRACE,
                                "spanId": CHILD,
                                "parentSpanId": ROOT,
                                "name": "work",
                                "kind": "SPAN_KIND_PRODUCER",
                                "status": {"code": 2, "message": "bad"},
                                "events": [{"name": "retry", "attributes": []}],
                            },
                        ],
                    }
                ],
            }
        ]
    }
    with OtlpReceiver() as receiver:
        status, content_type, answer = post(receiver.traces_url, json.dumps(body).encode(), "application/json")
        assert (status, content_type) == (200, "application/json")
        assert json.loads(answer) == {}
        main, work = receiver.spans()
    assert (main.trace_id, main.span_id, main.parent_span_id, main.kind) == (TRACE, ROOT, "", "internal")
    assert main.attributes == {"n": 12, "ok": True}
    assert type(main.attributes["n"]) is int
    assert (work.parent_span_id, work.kind, work.status, work.status_message) == (ROOT, "producer", "error", "bad")
    assert [e.name for e in work.events] == ["retry"]
    assert main.resource == {"service.name": "shop"}
    assert main.scope == "manual"


def test_receiver_answers_404_elsewhere() -> None:
    payload = sample_request().SerializeToString()
    with OtlpReceiver() as receiver:
        assert post(receiver.endpoint + "/v1development/profiles", payload, "application/x-protobuf")[0] == 404
        assert post(receiver.endpoint + "/", payload, "application/x-protobuf")[0] == 404
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(receiver.traces_url, timeout=10)  # GET
        info.value.close()
        assert info.value.code == 404
        assert receiver.spans() == []


def test_receiver_rejects_what_it_cannot_decode() -> None:
    with OtlpReceiver() as receiver:
        payload = sample_request().SerializeToString()
        assert post(receiver.traces_url, payload, "text/plain")[0] == 415
        assert post(receiver.traces_url, payload, "application/x-protobuf", "br")[0] == 415
        assert post(receiver.traces_url, b"\x0a\x05ab", "application/x-protobuf")[0] == 400  # truncated
        assert post(receiver.traces_url, b"not gzip", "application/x-protobuf", "gzip")[0] == 400
        assert post(receiver.traces_url, b"{", "application/json")[0] == 400
        assert receiver.spans() == []
        errors = receiver.errors()
        assert len(errors) == 5
        assert "415 unsupported Content-Type 'text/plain'" in errors[0]
        assert "malformed protobuf" in errors[2]


def test_wait_for_returns_once_spans_arrive() -> None:
    with OtlpReceiver() as receiver:
        timer = threading.Timer(0.2, send, (receiver, sample_request()))
        timer.start()
        try:
            spans = receiver.wait_for(2, timeout=10)
        finally:
            timer.join()
        assert [s.name for s in spans] == ["GET /items", "db.query"]
        assert receiver.wait_for(lambda spans: any(s.status == "error" for s in spans), timeout=0)[1].name == "db.query"


def test_wait_for_times_out_with_what_arrived() -> None:
    with OtlpReceiver() as receiver:
        send(receiver, sample_request())
        post(receiver.traces_url, b"garbage", "text/plain")
        with pytest.raises(AssertionError) as info:
            receiver.wait_for(3, timeout=0.2)
        message = str(info.value)
        assert "timed out after 0.2s waiting for 3 spans" in message
        assert "received 2:" in message
        assert f"GET /items [server, unset] trace={TRACE} span={ROOT} parent=-" in message
        assert f"db.query [client, error: 'connection refused'] trace={TRACE} span={CHILD} parent={ROOT}" in message
        assert "rejected requests:" in message and "unsupported Content-Type 'text/plain'" in message

        def named_missing(spans: list[Span]) -> bool:
            return any(s.name == "missing" for s in spans)

        receiver.clear()
        with pytest.raises(AssertionError, match=r"waiting for predicate .*named_missing.*received 0:\n  \(no spans\)"):
            receiver.wait_for(named_missing, timeout=0.1)


def test_receiver_stops_cleanly() -> None:
    before = set(threading.enumerate())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        with OtlpReceiver() as receiver:
            send(receiver, sample_request())
            port = receiver.port
            assert f"otlp-receiver-{port}" in {t.name for t in threading.enumerate()}
        gc.collect()
    assert set(threading.enumerate()) - before == set()  # the server thread and every handler thread ended
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []  # sockets closed
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError):
        sock.connect(("127.0.0.1", port))
    receiver.stop()  # stopping twice is harmless


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_receiver_env_names_its_protocol(protocol: str) -> None:
    with OtlpReceiver(protocol) as receiver:
        assert receiver.protocol == protocol
        assert receiver.endpoint == f"http://127.0.0.1:{receiver.port}"
        assert receiver.env() == {
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
            "OTEL_EXPORTER_OTLP_INSECURE": "true",
        }


def test_receiver_rejects_an_unknown_protocol() -> None:
    with pytest.raises(ValueError, match=r"unsupported OTLP protocol 'http/json'"):
        OtlpReceiver("http/json")


def test_grpc_receiver_decodes_export_requests() -> None:
    with OtlpReceiver("grpc") as receiver:
        response = export_grpc(receiver, sample_request())
        assert response == ExportTraceServiceResponse()
        assert not response.HasField("partial_success")
        check_sample(receiver.spans())
        receiver.clear()
        export_grpc(receiver, sample_request(), grpc.Compression.Gzip)  # grpc-encoding: gzip
        check_sample(receiver.spans())
        assert receiver.errors() == []


def test_grpc_receiver_wait_for_returns_once_spans_arrive() -> None:
    with OtlpReceiver("grpc") as receiver:
        timer = threading.Timer(0.2, export_grpc, (receiver, sample_request()))
        timer.start()
        try:
            spans = receiver.wait_for(2, timeout=10)
        finally:
            timer.join()
        assert [s.name for s in spans] == ["GET /items", "db.query"]


def test_grpc_receiver_answers_the_three_signals_only() -> None:
    with OtlpReceiver("grpc") as receiver, grpc.insecure_channel(f"127.0.0.1:{receiver.port}") as channel:
        profiles = channel.unary_unary(
            "/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export",
            request_serializer=lambda body: body,
            response_deserializer=lambda body: body,
        )
        with pytest.raises(grpc.RpcError) as info:
            profiles(b"", timeout=10)
        assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED
        MetricsServiceStub(channel).Export(sample_metrics(), timeout=10)
        LogsServiceStub(channel).Export(sample_logs(), timeout=10)
        check_sample_metrics(receiver.metrics())
        check_sample_logs(receiver.logs())
        assert receiver.spans() == []


def sample_metrics() -> ExportMetricsServiceRequest:
    """A cumulative histogram exported twice (one series) with an exemplar, and a gauge."""
    histogram = [
        Metric(
            name="http.server.request.duration",
            unit="s",
            histogram=Histogram(
                aggregation_temporality=AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE,
                data_points=[
                    HistogramDataPoint(
                        attributes=key_values({"http.route": "/items/{id}"}),
                        count=count,
                        sum=0.5 * count,
                        explicit_bounds=[0.1, 1.0],
                        bucket_counts=[0, count, 0],
                        exemplars=[
                            PbExemplar(as_double=0.5, trace_id=bytes.fromhex(TRACE), span_id=bytes.fromhex(ROOT))
                        ],
                    )
                ],
            ),
        )
        for count in (1, 3)
    ]
    gauge = Metric(name="go.goroutine.count", unit="{goroutine}", gauge=Gauge(data_points=[NumberDataPoint(as_int=7)]))
    return ExportMetricsServiceRequest(
        resource_metrics=[
            ResourceMetrics(
                resource=Resource(attributes=key_values({"service.name": "webapp"})),
                scope_metrics=[
                    ScopeMetrics(scope=InstrumentationScope(name="overlay-gen/net/http"), metrics=[*histogram, gauge])
                ],
            )
        ]
    )


def check_sample_metrics(points: list[MetricPoint]) -> None:
    assert [(p.name, p.kind) for p in points] == [
        ("http.server.request.duration", "histogram"),
        ("http.server.request.duration", "histogram"),
        ("go.goroutine.count", "gauge"),
    ]
    duration, goroutines = latest(points)
    assert (duration.count, duration.sum, duration.bounds, duration.bucket_counts) == (3, 1.5, (0.1, 1.0), (0, 3, 0))
    assert (duration.unit, duration.temporality, duration.attributes) == (
        "s",
        "cumulative",
        {"http.route": "/items/{id}"},
    )
    assert (duration.scope, duration.resource) == ("overlay-gen/net/http", {"service.name": "webapp"})
    assert duration.exemplars == (Exemplar(0.5, TRACE, ROOT),)
    assert (goroutines.value, goroutines.unit, goroutines.temporality) == (7, "{goroutine}", "")


def sample_logs() -> ExportLogsServiceRequest:
    record = PbLogRecord(
        body=AnyValue(string_value="item 7 served"),
        severity_text="INFO",
        severity_number=SeverityNumber.SEVERITY_NUMBER_INFO,
        attributes=key_values({"item": 7}),
        trace_id=bytes.fromhex(TRACE),
        span_id=bytes.fromhex(ROOT),
    )
    return ExportLogsServiceRequest(
        resource_logs=[
            ResourceLogs(
                resource=Resource(attributes=key_values({"service.name": "webapp"})),
                scope_logs=[ScopeLogs(scope=InstrumentationScope(name="zap"), log_records=[record])],
            )
        ]
    )


def check_sample_logs(records: list[LogRecord]) -> None:
    assert records == [
        LogRecord(
            body="item 7 served",
            severity_text="INFO",
            severity_number=SeverityNumber.SEVERITY_NUMBER_INFO,
            attributes={"item": 7},
            trace_id=TRACE,
            span_id=ROOT,
            resource={"service.name": "webapp"},
            scope="zap",
        )
    ]


def test_receiver_keeps_metrics_and_logs_over_http() -> None:
    with OtlpReceiver() as receiver:
        status, content_type, body = post(
            receiver.endpoint + "/v1/metrics", sample_metrics().SerializeToString(), "application/x-protobuf"
        )
        assert (status, content_type) == (200, "application/x-protobuf")
        ExportMetricsServiceResponse().ParseFromString(body)
        logs = json_format.MessageToJson(sample_logs()).encode()
        status, content_type, _ = post(receiver.endpoint + "/v1/logs", gzip.compress(logs), "application/json", "gzip")
        assert (status, content_type) == (200, "application/json")
        check_sample_metrics(receiver.wait_for_metrics(lambda points: len(points) == 3))
        check_sample_logs(receiver.wait_for_logs(1))
        assert receiver.spans() == [] and receiver.errors() == []
        receiver.clear()
        assert receiver.metrics() == [] and receiver.logs() == []


def test_grpc_receiver_stops_cleanly() -> None:
    before = set(threading.enumerate())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        with OtlpReceiver("grpc") as receiver:
            export_grpc(receiver, sample_request())
            port = receiver.port
            assert len(receiver.spans()) == 2
        gc.collect()
    assert set(threading.enumerate()) - before == set()  # grpcio's threads and the worker threads ended
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError):
        sock.connect(("127.0.0.1", port))
    with pytest.raises(grpc.RpcError) as info:
        export_grpc(receiver, sample_request())
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE
    receiver.stop()  # stopping twice is harmless


# --- expected traces ------------------------------------------------------------------------------------------


def span(
    name: str,
    span_id: str,
    parent: str = "",
    *,
    trace: str = TRACE,
    kind: str = "internal",
    status: str = "unset",
    attributes: dict[str, Any] | None = None,
    events: tuple[str, ...] = (),
    resource: dict[str, Any] | None = None,
) -> Span:
    return Span(
        trace_id=trace,
        span_id=span_id,
        parent_span_id=parent,
        name=name,
        kind=kind,
        status=status,
        attributes=attributes or {},
        events=tuple(SpanEvent(e) for e in events),
        resource={"service.name": "app"} if resource is None else resource,
    )


@pytest.fixture
def expect(tmp_path: Path) -> Any:
    def write(text: str) -> Path:
        path = tmp_path / "expected.toml"
        path.write_text(text)
        return path

    return write


SERVER_TREE = """
[resource]
"service.name" = "app"

[[span]]
name = "main"
attributes = { "run" = 1 }

  [[span.child]]
  name = "handle"
  kind = "server"
  attributes = { "route" = "/b" }

  [[span.child]]
  name = "handle"
  kind = "server"
  status = "error"
  attributes = { "route" = "/a" }
  events = ["exception"]

  [[span.child]]
  name = "log"
"""


def server_spans() -> list[Span]:
    # Received in a different order from the expectation (children before their parent, /a before /b).
    return [
        span("log", "03", "01"),
        span("handle", "02", "01", kind="server", status="error", attributes={"route": "/a"}, events=("exception",)),
        span("main", "01", attributes={"run": 1}),
        span("handle", "04", "01", kind="server", attributes={"route": "/b"}),
    ]


def test_compare_matching_tree(expect: Any) -> None:
    assert compare(load_expected(expect(SERVER_TREE)), server_spans()) == []


def test_compare_missing_child(expect: Any) -> None:
    spans = [s for s in server_spans() if s.name != "log"]
    assert compare(load_expected(expect(SERVER_TREE)), spans) == ['main: missing child span "log"']
    spans = [s for s in server_spans() if s.span_id != "04"]
    assert compare(load_expected(expect(SERVER_TREE)), spans) == ['main: expected 2 child spans "handle", received 1']


def test_compare_extra_child(expect: Any) -> None:
    spans = [*server_spans(), span("cache", "05", "01")]
    assert compare(load_expected(expect(SERVER_TREE)), spans) == ['main: unexpected child span "cache"']
    allowed = SERVER_TREE.replace('attributes = { "run" = 1 }', 'attributes = { "run" = 1 }\nextra-children = true')
    assert compare(load_expected(expect(allowed)), spans) == []


def test_compare_picks_the_matching_one_of_several_same_named_spans(expect: Any) -> None:
    text = '[[span]]\nname = "main"\n[[span.child]]\nname = "handle"\nstatus = "error"\n'
    spans = [span("main", "01"), span("handle", "02", "01"), span("handle", "03", "01", status="error")]
    assert compare(load_expected(expect(text)), spans) == ['main: expected 1 child span "handle", received 2']
    text = text.replace('name = "main"', 'name = "main"\nextra-children = true')
    assert compare(load_expected(expect(text)), spans) == []


def test_compare_many_same_named_children(expect: Any) -> None:
    # More same-named siblings than the exhaustive assignment handles: matched greedily, still exactly.
    routes = [f"/r{i}" for i in range(10)]
    text = '[[span]]\nname = "main"\n' + "".join(
        f'[[span.child]]\nname = "handle"\nattributes = {{ route = "{r}" }}\n' for r in routes
    )
    spans = [span("main", "01")]
    spans += [span("handle", f"1{i}", "01", attributes={"route": r}) for i, r in enumerate(reversed(routes))]
    assert compare(load_expected(expect(text)), spans) == []
    spans[3] = span("handle", "13", "01", attributes={"route": "/other"})
    assert compare(load_expected(expect(text)), spans) == [
        'main > handle: attribute "route" is "/other", expected "/r7"'
    ]


def test_compare_wrong_status_reports_the_closest_span(expect: Any) -> None:
    # Both "handle" children now have status unset: /a is the closest match for the erroring expectation.
    spans = [s for s in server_spans() if s.span_id != "02"]
    spans.append(span("handle", "02", "01", kind="server", attributes={"route": "/a"}, events=("exception",)))
    assert compare(load_expected(expect(SERVER_TREE)), spans) == ['main > handle: status is "unset", expected "error"']


def test_compare_attributes(expect: Any) -> None:
    path = expect('[[span]]\nname = "main"\nattributes = { "k" = "v", "n" = 1 }\n')
    assert compare(load_expected(path), [span("main", "01", attributes={"k": "v", "n": 1})]) == []
    assert compare(load_expected(path), [span("main", "01", attributes={"n": 1})]) == [
        'main: attribute "k" is missing, expected "v"'
    ]
    # Same value, other type: a bool is not an int, a string is not a number.
    assert compare(load_expected(path), [span("main", "01", attributes={"k": "v", "n": True})]) == [
        'main: attribute "n" is true, expected 1'
    ]
    assert compare(load_expected(path), [span("main", "01", attributes={"k": "v", "n": "1"})]) == [
        'main: attribute "n" is "1", expected 1'
    ]


def test_compare_unexpected_attribute(expect: Any) -> None:
    spans = [span("main", "01", attributes={"k": "v", "extra": [1, 2]})]
    strict = expect('[[span]]\nname = "main"\nattributes = { "k" = "v" }\n')
    assert compare(load_expected(strict), spans) == ['main: unexpected attribute "extra" = [1, 2]']
    lenient = expect('[[span]]\nname = "main"\nattributes = { "k" = "v" }\nextra-attributes = true\n')
    assert compare(load_expected(lenient), spans) == []


def test_compare_events(expect: Any) -> None:
    spans = [span("main", "01", events=("log", "exception"))]
    assert compare(load_expected(expect('[[span]]\nname = "main"\nevents = ["exception"]\n')), spans) == [
        'main: events are ["log", "exception"], expected ["exception"]'
    ]
    assert compare(load_expected(expect('[[span]]\nname = "main"\nevents = ["log", "exception"]\n')), spans) == []
    assert compare(load_expected(expect('[[span]]\nname = "main"\n')), spans) == []  # events not checked


def test_compare_extra_root_span(expect: Any) -> None:
    spans = [*server_spans(), span("background", "aa", trace=OTHER_TRACE)]
    assert compare(load_expected(expect(SERVER_TREE)), spans) == ['unexpected root span "background"']
    assert compare(load_expected(expect("extra-spans = true\n" + SERVER_TREE)), spans) == []
    assert compare(load_expected(expect("extra-spans = true\n" + SERVER_TREE)), spans[-1:]) == [
        'missing root span "main"'
    ]


def test_compare_three_levels(expect: Any) -> None:
    path = expect(
        '[[span]]\nname = "main"\n'
        '[[span.child]]\nname = "mid"\n'
        '[[span.child.child]]\nname = "leaf"\nkind = "server"\n'
        '[[span.child.child.child]]\nname = "tip"\n'
    )
    spans = [span("tip", "04", "03"), span("leaf", "03", "02", kind="server"), span("mid", "02", "01")]
    assert compare(load_expected(path), [*spans, span("main", "01")]) == []
    wrong = [span("tip", "04", "03"), span("leaf", "03", "02", kind="client"), span("mid", "02", "01")]
    assert compare(load_expected(path), [*wrong, span("main", "01")]) == [
        'main > mid > leaf: kind is "client", expected "server"'
    ]
    # Without "main", "mid" (its parent is absent) becomes a root.
    assert compare(load_expected(path), spans) == ['missing root span "main"', 'unexpected root span "mid"']


def test_compare_links_parents_within_a_trace(expect: Any) -> None:
    path = expect('[[span]]\nname = "main"\n[[span.child]]\nname = "work"\n')
    same_trace = [span("main", "01"), span("work", "02", "01")]
    assert compare(load_expected(path), same_trace) == []
    # The same parent id in another trace is not this main span.
    other_trace = [span("main", "01"), span("work", "02", "01", trace=OTHER_TRACE)]
    assert compare(load_expected(path), other_trace) == [
        'main: missing child span "work"',
        'unexpected root span "work"',
    ]


def test_compare_resource(expect: Any) -> None:
    path = expect('[resource]\n"service.name" = "app"\n[[span]]\nname = "main"\n')
    assert compare(load_expected(path), [span("main", "01")]) == []
    assert compare(load_expected(path), [span("main", "01", resource={"service.name": "other"})]) == [
        'resource: attribute "service.name" is "other", expected "app" (1 span)'
    ]


def test_load_expected_defaults(expect: Any) -> None:
    trace = load_expected(expect('[[span]]\nname = "main"\n'))
    (main,) = trace.spans
    assert (main.kind, main.status, main.attributes, main.events, main.children) == (
        "internal",
        "unset",
        {},
        None,
        (),
    )
    assert (main.extra_attributes, main.extra_children, trace.extra_spans, trace.resource) == (False, False, False, {})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('spans = []\n[[span]]\nname = "main"\n', r": spans: unknown key"),
        ('[[span]]\nname = "main"\natributes = {}\n', r": span\[0\]\.atributes: unknown key"),
        (
            '[[span]]\nname = "main"\n[[span.child]]\nname = "a"\n[[span.child]]\nname = "b"\nstatus-code = 2\n',
            r": span\[0\]\.child\[1\]\.status-code: unknown key",
        ),
        ('[[span]]\nkind = "server"\n', r": span\[0\]\.name: required"),
        ('[[span]]\nname = "main"\nkind = "Server"\n', r": span\[0\]\.kind: 'Server' is not one of"),
        ('[[span]]\nname = "main"\nstatus = "failed"\n', r": span\[0\]\.status: 'failed' is not one of"),
        ('[[span]]\nname = "main"\nevents = "exception"\n', r": span\[0\]\.events: must be an array of strings"),
        ('[[span]]\nname = "main"\nattributes = { t = 1979-05-27 }\n', r': span\[0\]\.attributes\."t": date is not'),
        ("[[span]\n", r": invalid TOML"),
    ],
)
def test_load_expected_rejects_malformed_files(expect: Any, text: str, message: str) -> None:
    path = expect(text)
    with pytest.raises(ExpectedTraceError, match=re.escape(str(path)) + message):
        load_expected(path)


def test_load_expected_replaces_the_variables_it_is_given(expect: Any) -> None:
    path = expect('[[span]]\nname = "get"\nattributes = { "server.port" = ${PORT}, "server.address" = "${HOST}" }\n')
    (get,) = load_expected(path, {"PORT": "11311", "HOST": "127.0.0.1"}).spans
    assert get.attributes == {"server.port": 11311, "server.address": "127.0.0.1"}
    with pytest.raises(ExpectedTraceError, match=re.escape(f"{path}: ${{PORT}}: no such variable")):
        load_expected(path, {"HOST": "127.0.0.1"})
    with pytest.raises(ExpectedTraceError, match=re.escape(f"{path}: ${{PORT}}: no such variable (given: [])")):
        load_expected(path)


def test_load_expected_takes_any_value_of_a_type_for_what_differs_on_every_run(expect: Any) -> None:
    path = expect('[[span]]\nname = "get"\nattributes = { "aws.request_id" = { any = "string" }, "n" = 1 }\n')
    (get,) = load_expected(path).spans
    assert get.attributes == {"aws.request_id": Varying("string"), "n": 1}
    assert compare(load_expected(path), [span("get", "01", attributes={"aws.request_id": "R1", "n": 1})]) == []
    assert compare(load_expected(path), [span("get", "01", attributes={"aws.request_id": 7, "n": 1})]) == [
        'get: attribute "aws.request_id" is 7, expected any string'
    ]
    assert compare(load_expected(path), [span("get", "01", attributes={"n": 1})]) == [
        'get: attribute "aws.request_id" is missing, expected any string'
    ]
    with pytest.raises(ExpectedTraceError, match=r'attributes\."x": a table value must be \{ any = TYPE \}'):
        load_expected(expect('[[span]]\nname = "get"\nattributes = { "x" = { any = "uuid" } }\n'))


def test_assert_trace(expect: Any) -> None:
    path = expect(SERVER_TREE)
    assert_trace(path, server_spans())  # matches: no error
    spans = [s for s in server_spans() if s.name != "log"]
    with pytest.raises(AssertionError) as info:
        assert_trace(path, spans)
    message = str(info.value)
    assert message.startswith(f"received spans differ from the expected trace ({path}):\n")
    assert '  - main: missing child span "log"\n' in message
    assert message.endswith(
        "received:\n"
        f'trace {TRACE} resource {{service.name = "app"}}\n'
        "  main [internal, unset] {run = 1}\n"
        '    handle [server, error] {route = "/a"} events=["exception"]\n'
        '    handle [server, unset] {route = "/b"}'
    )


def test_dump_tree_without_spans() -> None:
    assert dump_tree([]) == "(no spans)"


# --- what the HTTP stand-ins check of the trace context they received ------------------------------------------


def test_propagated_trace_context_must_name_an_exported_span_of_the_integration() -> None:
    client = span("GET", "00f067aa0ba902b7", kind="client", attributes={"db.system.name": "elasticsearch"})
    inner = span("GET", "53995c3f42cd8ad8", client.span_id, kind="client")  # a net/http span: not the integration's
    owns = lambda s: s.attributes.get("db.system.name") == "elasticsearch"  # noqa: E731
    header = f"00-{TRACE}-{client.span_id}-01"
    assert_propagated([("GET", "/a", header)], [client, inner], owns, "an Elasticsearch span")
    failures = {
        "traceparent None": [("GET", "/a", None)],
        "names no exported span": [("GET", "/a", f"00-{TRACE}-{'1' * 16}-01")],
        "not an Elasticsearch span": [("GET", "/a", f"00-{TRACE}-{inner.span_id}-01")],
        "name the same span": [("GET", "/a", header), ("GET", "/b", header)],
        "received no request": [],
    }
    for message, received in failures.items():
        with pytest.raises(AssertionError, match=message):
            assert_propagated(received, [client, inner], owns, "an Elasticsearch span")


# --- expected metrics -----------------------------------------------------------------------------------------


def test_expected_metrics_compare_a_histograms_count_and_sum(tmp_path: Path) -> None:
    from metrics import compare_metrics, load_expected_metrics

    path = tmp_path / "expected-metrics.toml"
    path.write_text(
        '[[metric]]\nname = "http.server.response.body.size"\nunit = "By"\n'
        'attributes = { "http.route" = "/users/{id}" }\ncount = 2\nsum = 14\n'
    )
    expected = load_expected_metrics(path)

    def point(total: float) -> MetricPoint:
        return MetricPoint(
            "http.server.response.body.size",
            "histogram",
            "By",
            attributes={"http.route": "/users/{id}"},
            count=2,
            sum=total,
        )

    assert compare_metrics(expected, [point(14)]) == []
    assert compare_metrics(expected, [point(15)]) == [
        'http.server.response.body.size {http.route = "/users/{id}"}: sum 15, expected 14'
    ]
    path.write_text(path.read_text().replace('unit = "By"', 'unit = "By"\nkind = "sum"').replace("count = 2\n", ""))
    with pytest.raises(ExpectedTraceError, match=r"metric\[0\]\.sum"):
        load_expected_metrics(path)
