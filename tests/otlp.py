"""A real OTLP receiver for tests, over HTTP or gRPC: traces, metrics and logs.

``OtlpReceiver`` serves ``POST /v1/traces``, ``/v1/metrics`` and ``/v1/logs``
(OTLP/HTTP, the default) or the OTLP ``TraceService``, ``MetricsService`` and
``LogsService`` (``OtlpReceiver("grpc")``, with ``grpcio``) on 127.0.0.1 (a
free port) in the background, decodes each export request with the official
protobuf definitions (``opentelemetry-proto``) and keeps every span, metric
data point and log record as a frozen record (``Span``, ``MetricPoint``,
``LogRecord``) with plain Python values; both front ends share one store::

    with OtlpReceiver() as receiver:  # or OtlpReceiver("grpc")
        run_program(env={**env, **receiver.env()})
        spans = receiver.wait_for(2)
        points = receiver.wait_for_metrics(lambda ps: any(p.name == "http.server.request.duration" for p in ps))

Request bodies may be ``application/x-protobuf`` or ``application/json`` (OTLP
JSON: trace and span ids hex-encoded), optionally ``Content-Encoding: gzip``;
the answer is the signal's serialized ``Export...ServiceResponse`` in the
request's encoding. A request the receiver cannot decode is answered 400 (415 for an
unknown content type or encoding) and recorded in ``errors()``, which
``wait_for`` reports when it times out. Over gRPC, ``grpcio`` decodes the
request (and any ``grpc-encoding: gzip``) and answers a malformed one itself.
"""

from __future__ import annotations

import base64
import gzip
import http.server
import json
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import attrs
import grpc
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.logs.v1.logs_service_pb2_grpc import (
    LogsServiceServicer,
    add_LogsServiceServicer_to_server,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2_grpc import (
    MetricsServiceServicer,
    add_MetricsServiceServicer_to_server,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import (
    TraceServiceServicer,
    add_TraceServiceServicer_to_server,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan
from opentelemetry.proto.trace.v1.trace_pb2 import Status as PbStatus

TRACES_PATH = "/v1/traces"
METRICS_PATH = "/v1/metrics"
LOGS_PATH = "/v1/logs"
HTTP_PROTOBUF = "http/protobuf"
GRPC = "grpc"
PROTOCOLS = (HTTP_PROTOBUF, GRPC)  # values of OTEL_EXPORTER_OTLP_PROTOCOL the receiver serves
PROTOBUF = "application/x-protobuf"
JSON = "application/json"

KINDS: dict[int, str] = {
    PbSpan.SPAN_KIND_UNSPECIFIED: "unspecified",
    PbSpan.SPAN_KIND_INTERNAL: "internal",
    PbSpan.SPAN_KIND_SERVER: "server",
    PbSpan.SPAN_KIND_CLIENT: "client",
    PbSpan.SPAN_KIND_PRODUCER: "producer",
    PbSpan.SPAN_KIND_CONSUMER: "consumer",
}
STATUSES: dict[int, str] = {
    PbStatus.STATUS_CODE_UNSET: "unset",
    PbStatus.STATUS_CODE_OK: "ok",
    PbStatus.STATUS_CODE_ERROR: "error",
}


@attrs.frozen
class SpanEvent:
    name: str
    attributes: dict[str, Any] = attrs.field(factory=dict)
    time_unix_nano: int = 0


@attrs.frozen
class Span:
    """One received span. Ids are lower-case hex; ``parent_span_id`` is "" for no parent."""

    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    kind: str  # "internal", "server", "client", "producer", "consumer" or "unspecified"
    status: str = "unset"  # "unset", "ok" or "error"
    status_message: str = ""
    attributes: dict[str, Any] = attrs.field(factory=dict)
    events: tuple[SpanEvent, ...] = ()
    resource: dict[str, Any] = attrs.field(factory=dict)  # the resource's attributes
    scope: str = ""  # instrumentation scope name
    scope_version: str = ""
    start_time_unix_nano: int = 0
    end_time_unix_nano: int = 0

    def describe(self) -> str:
        """One line: name, kind, status and ids (for messages)."""
        status = self.status if not self.status_message else f"{self.status}: {self.status_message!r}"
        parent = self.parent_span_id or "-"
        return f"{self.name} [{self.kind}, {status}] trace={self.trace_id} span={self.span_id} parent={parent}"


@attrs.frozen
class Exemplar:
    """A measurement a histogram kept with the span it was made in (ids lower-case hex, "" for none)."""

    value: float
    trace_id: str = ""
    span_id: str = ""


@attrs.frozen
class MetricPoint:
    """One data point of a received metric. ``kind`` is "histogram", "sum", "gauge",
    "exponential_histogram" or "summary"; a histogram has ``count``, ``sum``, ``bounds`` and
    ``bucket_counts``, a sum or gauge its ``value``. The SDK exports cumulative points by default:
    each export repeats the series' total so far (``latest`` keeps the last of each series)."""

    name: str
    kind: str
    unit: str = ""
    description: str = ""
    attributes: dict[str, Any] = attrs.field(factory=dict)
    resource: dict[str, Any] = attrs.field(factory=dict)
    scope: str = ""
    temporality: str = ""  # "cumulative", "delta" or "" (a gauge)
    monotonic: bool = False  # a sum's
    value: float | int | None = None
    count: int = 0
    sum: float = 0.0
    bounds: tuple[float, ...] = ()
    bucket_counts: tuple[int, ...] = ()
    exemplars: tuple[Exemplar, ...] = ()
    time_unix_nano: int = 0

    def series(self) -> tuple[str, str, tuple[tuple[str, str], ...]]:
        """What identifies the point's series: name, scope and attributes."""
        return self.name, self.scope, tuple(sorted((k, repr(v)) for k, v in self.attributes.items()))


@attrs.frozen
class LogRecord:
    """One received log record (ids lower-case hex, "" when the record has none)."""

    body: Any
    severity_text: str = ""
    severity_number: int = 0
    attributes: dict[str, Any] = attrs.field(factory=dict)
    trace_id: str = ""
    span_id: str = ""
    resource: dict[str, Any] = attrs.field(factory=dict)
    scope: str = ""
    time_unix_nano: int = 0


def latest(points: Iterable[MetricPoint]) -> list[MetricPoint]:
    """The last point received of each series, in the order the series first arrived."""
    last: dict[tuple[str, str, tuple[tuple[str, str], ...]], MetricPoint] = {}
    for point in points:
        last[point.series()] = point
    return list(last.values())


# --- decoding -------------------------------------------------------------------------------------------------


def any_value(value: AnyValue) -> Any:
    """An OTLP ``AnyValue`` as a plain Python value (arrays become lists, kvlists dicts)."""
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return key_values(value.kvlist_value.values)
    return getattr(value, which)  # string_value, bool_value, int_value, double_value, bytes_value


def key_values(items: Iterable[KeyValue]) -> dict[str, Any]:
    return {kv.key: any_value(kv.value) for kv in items}


def spans_of(request: ExportTraceServiceRequest) -> list[Span]:
    """Every span of an export request, as records."""
    out: list[Span] = []
    for resource_spans in request.resource_spans:
        resource = key_values(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for pb in scope_spans.spans:
                out.append(
                    Span(
                        trace_id=pb.trace_id.hex(),
                        span_id=pb.span_id.hex(),
                        parent_span_id=pb.parent_span_id.hex(),
                        name=pb.name,
                        kind=KINDS.get(pb.kind, f"kind-{pb.kind}"),
                        status=STATUSES.get(pb.status.code, f"code-{pb.status.code}"),
                        status_message=pb.status.message,
                        attributes=key_values(pb.attributes),
                        events=tuple(SpanEvent(e.name, key_values(e.attributes), e.time_unix_nano) for e in pb.events),
                        resource=dict(resource),
                        scope=scope_spans.scope.name,
                        scope_version=scope_spans.scope.version,
                        start_time_unix_nano=pb.start_time_unix_nano,
                        end_time_unix_nano=pb.end_time_unix_nano,
                    )
                )
    return out


TEMPORALITIES = {
    AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE: "cumulative",
    AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA: "delta",
}


def _number(point: Any) -> float | int:
    return point.as_int if point.WhichOneof("value") == "as_int" else point.as_double


def _exemplars(point: Any) -> tuple[Exemplar, ...]:
    return tuple(Exemplar(_number(e), e.trace_id.hex(), e.span_id.hex()) for e in point.exemplars)


def metric_points_of(request: ExportMetricsServiceRequest) -> list[MetricPoint]:
    """Every data point of a metrics export request, as records."""
    out: list[MetricPoint] = []
    for resource_metrics in request.resource_metrics:
        resource = key_values(resource_metrics.resource.attributes)
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                kind = metric.WhichOneof("data") or ""
                data = getattr(metric, kind) if kind else None
                common = dict(
                    name=metric.name,
                    kind=kind,
                    unit=metric.unit,
                    description=metric.description,
                    resource=dict(resource),
                    scope=scope_metrics.scope.name,
                    temporality=TEMPORALITIES.get(getattr(data, "aggregation_temporality", None), ""),
                    monotonic=bool(getattr(data, "is_monotonic", False)),
                )
                for point in data.data_points if data is not None else ():
                    if kind in ("sum", "gauge"):
                        values: dict[str, Any] = dict(value=_number(point), exemplars=_exemplars(point))
                    elif kind == "histogram":
                        values = dict(
                            count=point.count,
                            sum=point.sum,
                            bounds=tuple(point.explicit_bounds),
                            bucket_counts=tuple(point.bucket_counts),
                            exemplars=_exemplars(point),
                        )
                    else:  # exponential histograms and summaries: counted, not decoded further
                        values = dict(count=point.count, sum=point.sum)
                    out.append(
                        MetricPoint(
                            **common,
                            **values,
                            attributes=key_values(point.attributes),
                            time_unix_nano=point.time_unix_nano,
                        )
                    )
    return out


def log_records_of(request: ExportLogsServiceRequest) -> list[LogRecord]:
    """Every log record of a logs export request, as records."""
    out: list[LogRecord] = []
    for resource_logs in request.resource_logs:
        resource = key_values(resource_logs.resource.attributes)
        for scope_logs in resource_logs.scope_logs:
            for record in scope_logs.log_records:
                out.append(
                    LogRecord(
                        body=any_value(record.body),
                        severity_text=record.severity_text,
                        severity_number=record.severity_number,
                        attributes=key_values(record.attributes),
                        trace_id=record.trace_id.hex(),
                        span_id=record.span_id.hex(),
                        resource=dict(resource),
                        scope=scope_logs.scope.name,
                        time_unix_nano=record.time_unix_nano,
                    )
                )
    return out


def _hex_ids_to_base64(obj: Any) -> None:
    """OTLP/JSON writes trace and span ids in hex where protobuf JSON expects base64: convert in place."""
    if isinstance(obj, list):
        for item in obj:
            _hex_ids_to_base64(item)
    elif isinstance(obj, dict):
        for key, value in obj.items():
            if key in ("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id") and isinstance(
                value, str
            ):
                if value and len(value) in (16, 32):  # hex; base64 of 8 or 16 bytes is 12 or 24 characters
                    obj[key] = base64.b64encode(bytes.fromhex(value)).decode()
            elif key not in ("attributes", "resource"):  # ids only live in spans and links
                _hex_ids_to_base64(value)


@attrs.frozen
class _Signal:
    """What the receiver does with one signal's export requests."""

    path: str
    request: type[Message]
    response: type[Message]
    records: Callable[[Any], list[Any]]


SIGNALS = {
    "spans": _Signal(TRACES_PATH, ExportTraceServiceRequest, ExportTraceServiceResponse, spans_of),
    "metrics": _Signal(METRICS_PATH, ExportMetricsServiceRequest, ExportMetricsServiceResponse, metric_points_of),
    "logs": _Signal(LOGS_PATH, ExportLogsServiceRequest, ExportLogsServiceResponse, log_records_of),
}
BY_PATH = {signal.path: name for name, signal in SIGNALS.items()}


def decode_request(body: bytes, content_type: str, signal: str = "spans") -> Any:
    """Decode an export request body (already un-gzipped) of one signal ("spans", "metrics" or
    "logs"). Raises ValueError on a malformed body."""
    request = SIGNALS[signal].request()
    if content_type == PROTOBUF:
        try:
            request.ParseFromString(body)
        except DecodeError as e:
            raise ValueError(f"malformed protobuf: {e}") from e
    elif content_type == JSON:
        try:
            data = json.loads(body)
            _hex_ids_to_base64(data)
            json_format.ParseDict(data, request, ignore_unknown_fields=True)
        except (ValueError, json_format.ParseError) as e:
            raise ValueError(f"malformed JSON: {e}") from e
    else:
        raise ValueError(f"unsupported content type {content_type!r}")
    return request


# --- the server -----------------------------------------------------------------------------------------------


class _UnsupportedMedia(Exception):
    pass


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    timeout = 10  # a silent client cannot keep a handler thread (and the receiver's exit) waiting forever

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    def do_POST(self) -> None:
        try:
            body = self._read_body()
        except (OSError, ValueError) as e:
            self._fail(400, f"cannot read body: {e}")
            return
        signal = BY_PATH.get(self.path.split("?", 1)[0])
        if signal is None:
            self._reply(404, "text/plain", b"not found\n")
            return
        content_type = (self.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        encoding = (self.headers.get("Content-Encoding") or "identity").strip().lower()
        try:
            if content_type not in (PROTOBUF, JSON):
                raise _UnsupportedMedia(f"unsupported Content-Type {content_type!r}")
            if encoding == "gzip":
                try:
                    body = gzip.decompress(body)
                except (OSError, EOFError) as e:
                    raise ValueError(f"malformed gzip body: {e}") from e
            elif encoding != "identity":
                raise _UnsupportedMedia(f"unsupported Content-Encoding {encoding!r}")
            request = decode_request(body, content_type, signal)
        except _UnsupportedMedia as e:
            self._fail(415, str(e))
            return
        except ValueError as e:
            self._fail(400, str(e))
            return
        self.server.receiver._add(signal, SIGNALS[signal].records(request))
        response = SIGNALS[signal].response()
        payload = response.SerializeToString() if content_type == PROTOBUF else json_format.MessageToJson(response)
        self._reply(200, content_type, payload if isinstance(payload, bytes) else payload.encode())

    def do_GET(self) -> None:
        self._reply(404, "text/plain", b"not found\n")

    do_PUT = do_DELETE = do_HEAD = do_GET

    def _read_body(self) -> bytes:
        if (self.headers.get("Transfer-Encoding") or "").strip().lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _fail(self, code: int, message: str) -> None:
        self.server.receiver._error(f"{self.command} {self.path}: {code} {message}")
        self._reply(code, "text/plain", message.encode() + b"\n")

    def _reply(self, code: int, content_type: str, payload: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)


class _Server(http.server.ThreadingHTTPServer):
    # Handler threads are joined by server_close (each serves one HTTP/1.0 request and ends).
    daemon_threads = False
    block_on_close = True

    def __init__(self, receiver: OtlpReceiver) -> None:
        self.receiver = receiver
        super().__init__(("127.0.0.1", 0), _Handler)


class _HttpFrontEnd:
    """OTLP/HTTP: a threading HTTP server whose serve_forever runs in a thread of its own."""

    def __init__(self, receiver: OtlpReceiver) -> None:
        self._server = _Server(receiver)
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"otlp-receiver-{self.port}"
        )
        self._thread.daemon = True
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
        if self._thread.is_alive():  # pragma: no cover - would be a bug in the receiver
            raise RuntimeError(f"{self._thread.name} did not stop")


class _TraceService(TraceServiceServicer):
    def __init__(self, receiver: OtlpReceiver) -> None:
        self.receiver = receiver

    def Export(self, request: ExportTraceServiceRequest, context: grpc.ServicerContext) -> ExportTraceServiceResponse:
        self.receiver._add("spans", spans_of(request))
        return ExportTraceServiceResponse()


class _MetricsService(MetricsServiceServicer):
    def __init__(self, receiver: OtlpReceiver) -> None:
        self.receiver = receiver

    def Export(
        self, request: ExportMetricsServiceRequest, context: grpc.ServicerContext
    ) -> ExportMetricsServiceResponse:
        self.receiver._add("metrics", metric_points_of(request))
        return ExportMetricsServiceResponse()


class _LogsService(LogsServiceServicer):
    def __init__(self, receiver: OtlpReceiver) -> None:
        self.receiver = receiver

    def Export(self, request: ExportLogsServiceRequest, context: grpc.ServicerContext) -> ExportLogsServiceResponse:
        self.receiver._add("logs", log_records_of(request))
        return ExportLogsServiceResponse()


class _GrpcFrontEnd:
    """OTLP/gRPC: the TraceService on a grpcio server; stop() joins every thread it used."""

    GRACE = 0.5  # seconds in-flight calls get to finish on stop

    def __init__(self, receiver: OtlpReceiver) -> None:
        self._executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="otlp-receiver-grpc")
        self._server = grpc.server(self._executor)
        add_TraceServiceServicer_to_server(_TraceService(receiver), self._server)
        add_MetricsServiceServicer_to_server(_MetricsService(receiver), self._server)
        add_LogsServiceServicer_to_server(_LogsService(receiver), self._server)
        try:
            self.port: int = self._server.add_insecure_port("127.0.0.1:0")
            if not self.port:  # older grpcio reports failure as port 0
                raise RuntimeError("cannot bind a gRPC port on 127.0.0.1")
            before = set(threading.enumerate())
            self._server.start()
        except BaseException:
            self._server.stop(None)
            self._executor.shutdown(wait=True)
            raise
        self._threads = [t for t in threading.enumerate() if t not in before]  # grpcio's polling thread

    def stop(self) -> None:
        # grpcio signals "stopped" just before its polling thread ends, and stop(grace) starts a
        # thread of its own: join those too, so that nothing outlives the receiver.
        before = set(threading.enumerate())
        stopped = self._server.stop(grace=self.GRACE).wait(timeout=10)
        self._threads += [t for t in threading.enumerate() if t not in before]
        self._executor.shutdown(wait=True)
        for thread in self._threads:
            thread.join(timeout=10)
        if not stopped or any(t.is_alive() for t in self._threads):  # pragma: no cover - a bug in grpcio
            raise RuntimeError(f"gRPC receiver on port {self.port} did not stop")


class OtlpReceiver:
    """An OTLP receiver of traces, metrics and logs on 127.0.0.1; a context manager (or ``start()``/``stop()``).

    ``protocol`` is ``"http/protobuf"`` (OTLP/HTTP; JSON bodies are accepted too) or ``"grpc"``.
    """

    def __init__(self, protocol: str = HTTP_PROTOBUF) -> None:
        if protocol not in PROTOCOLS:
            raise ValueError(f"unsupported OTLP protocol {protocol!r}: expected one of {', '.join(PROTOCOLS)}")
        self.protocol = protocol
        self._lock = threading.Condition()
        self._records: dict[str, list[Any]] = {signal: [] for signal in SIGNALS}
        self._errors: list[str] = []
        self._front: _HttpFrontEnd | _GrpcFrontEnd | None = None
        self.port = 0

    # lifecycle

    def start(self) -> OtlpReceiver:
        if self._front is not None:
            raise RuntimeError("OtlpReceiver already started")
        self._front = _GrpcFrontEnd(self) if self.protocol == GRPC else _HttpFrontEnd(self)
        self.port = self._front.port
        return self

    def stop(self) -> None:
        front, self._front = self._front, None
        if front is not None:
            front.stop()

    def __enter__(self) -> OtlpReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # addresses

    @property
    def endpoint(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:4318`` (OTEL_EXPORTER_OTLP_ENDPOINT)."""
        if not self.port:
            raise RuntimeError("OtlpReceiver not started")
        return f"http://127.0.0.1:{self.port}"

    @property
    def traces_url(self) -> str:
        """The full OTLP/HTTP traces URL (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT; not for gRPC)."""
        return self.endpoint + TRACES_PATH

    def env(self) -> dict[str, str]:
        """Standard OTel SDK environment variables that point an OTLP exporter of this protocol here."""
        return {
            "OTEL_EXPORTER_OTLP_ENDPOINT": self.endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": self.protocol,
            "OTEL_EXPORTER_OTLP_INSECURE": "true",
        }

    # received data

    def _add(self, signal: str, records: list[Any]) -> None:
        with self._lock:
            self._records[signal].extend(records)
            self._lock.notify_all()

    def _error(self, message: str) -> None:
        with self._lock:
            self._errors.append(message)
            self._lock.notify_all()

    def spans(self) -> list[Span]:
        """A snapshot of every span received so far, in arrival order."""
        with self._lock:
            return list(self._records["spans"])

    def metrics(self) -> list[MetricPoint]:
        """A snapshot of every metric data point received so far, in arrival order."""
        with self._lock:
            return list(self._records["metrics"])

    def logs(self) -> list[LogRecord]:
        """A snapshot of every log record received so far, in arrival order."""
        with self._lock:
            return list(self._records["logs"])

    def errors(self) -> list[str]:
        """Requests that were rejected (bad content type, encoding or body), one line each."""
        with self._lock:
            return list(self._errors)

    def clear(self) -> None:
        """Forget everything received so far."""
        with self._lock:
            for records in self._records.values():
                records.clear()
            self._errors.clear()

    def wait_for(self, until: int | Callable[[list[Span]], bool], timeout: float = 10.0) -> list[Span]:
        """Wait until ``until`` spans arrived (an int) or ``until(spans)`` holds; return the snapshot.

        Raises AssertionError after ``timeout`` seconds, listing the spans that did arrive.
        """
        return self._wait("spans", until, timeout, lambda span: span.describe())

    def wait_for_metrics(self, until: Callable[[list[MetricPoint]], bool], timeout: float = 10.0) -> list[MetricPoint]:
        """Wait until ``until(points)`` holds for the metric data points received; return them."""
        return self._wait("metrics", until, timeout, lambda p: f"{p.name} {p.kind} {p.attributes}")

    def wait_for_logs(self, until: int | Callable[[list[LogRecord]], bool], timeout: float = 10.0) -> list[LogRecord]:
        """Wait until ``until`` log records arrived (an int) or ``until(records)`` holds; return them."""
        return self._wait("logs", until, timeout, lambda r: f"{r.severity_text} {r.body!r} trace={r.trace_id}")

    def _wait(self, signal: str, until: Any, timeout: float, describe: Callable[[Any], str]) -> list[Any]:
        ready: Callable[[list[Any]], bool]
        if isinstance(until, int):
            count = until
            ready = lambda records: len(records) >= count  # noqa: E731
            wanted = f"{count} {signal}"
        else:
            ready = until
            wanted = f"predicate {getattr(until, '__qualname__', repr(until))}"
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                snapshot = list(self._records[signal])
                if ready(snapshot):
                    return snapshot
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._lock.wait(min(left, 0.1))
            errors = list(self._errors)
        lines = [f"timed out after {timeout:g}s waiting for {wanted} at {self.endpoint}; received {len(snapshot)}:"]
        lines += [f"  {describe(record)}" for record in snapshot] or [f"  (no {signal})"]
        if errors:
            lines.append("rejected requests:")
            lines += [f"  {e}" for e in errors]
        raise AssertionError("\n".join(lines))
