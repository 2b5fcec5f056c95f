"""Expected-metrics files and their comparison with received metric data points.

An expected-metrics file is TOML, next to a fixture's expected-trace.toml::

    [[metric]]                       # one series: a metric name and its exact attribute set
    name = "http.server.request.duration"
    unit = "s"                       # required
    kind = "histogram"               # default "histogram"; "sum" or "gauge"
    scope = "overlay-gen/pgx"        # optional: the instrumentation scope (a span's, for span metrics)
    attributes = { "http.route" = "/users/{id}", "http.response.status_code" = 200 }
    # a value that differs on every run (a port): { any = "int" } (or "string", "bool", "float")
    count = 2                        # a histogram's count of measurements (optional)
    sum = 14                         # a histogram's sum of measurements (optional)
    value = 1                        # a sum's or gauge's value (optional)

``${NAME}`` stands for the values the test gives, as in expected-trace files. Each
received series is its last point (the SDK exports cumulative totals). Every series of a
metric the file names must be listed, so a route template that became a raw path (one
series per path) is a mismatch; metrics the file does not name are not compared.

``assert_metrics`` also checks what holds for every program, listed or not: no data point
carries an attribute the conventions keep out of metrics for its cardinality (a path, a URL,
a statement, a client address, a message id), and every exemplar names a span that was
received.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs
from otlp import MetricPoint, Span, latest
from traces import ExpectedTraceError, expected_attributes, fmt, read_expected, same_value

METRIC_KEYS = frozenset({"name", "unit", "kind", "scope", "attributes", "count", "sum", "value"})
METRIC_KINDS = frozenset({"histogram", "sum", "gauge"})
# Attributes of spans that no metric may carry: unbounded values.
HIGH_CARDINALITY = frozenset(
    {
        "url.path",
        "url.full",
        "url.query",
        "db.query.text",
        "client.address",
        "client.port",
        "network.peer.address",
        "network.peer.port",
        "user_agent.original",
        "messaging.message.id",
        "messaging.message.conversation_id",
        "gen_ai.response.id",
    }
)


@attrs.frozen
class ExpectedSeries:
    name: str
    unit: str
    kind: str = "histogram"
    attributes: dict[str, Any] = attrs.field(factory=dict)
    count: int | None = None
    value: float | int | None = None
    scope: str | None = None  # None: any
    sum: float | int | None = None

    def describe(self) -> str:
        return f"{self.name}{f' ({self.scope})' if self.scope else ''} {fmt(self.attributes)}"


def load_expected_metrics(path: str | Path, variables: Mapping[str, str] | None = None) -> tuple[ExpectedSeries, ...]:
    """Parse an expected-metrics file; raises ExpectedTraceError naming the file and key."""
    return parse_expected_metrics(read_expected(path, variables), path)


def parse_expected_metrics(data: Mapping[str, Any], path: str | Path | None = None) -> tuple[ExpectedSeries, ...]:
    where = str(path) if path is not None else "<expected>"

    def fail(key: str, message: str) -> ExpectedTraceError:
        return ExpectedTraceError(f"{where}: {key}: {message}")

    unknown = sorted(set(data) - {"metric"})
    if unknown:
        raise fail(unknown[0], "unknown key (allowed: metric)")
    items = data.get("metric", [])
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise fail("metric", "must be an array of tables ([[metric]])")
    return tuple(_parse_series(item, f"metric[{i}]", fail) for i, item in enumerate(items))


def _parse_series(table: dict[str, Any], key: str, fail: Any) -> ExpectedSeries:
    unknown = sorted(set(table) - METRIC_KEYS)
    if unknown:
        raise fail(f"{key}.{unknown[0]}", f"unknown key (allowed: {', '.join(sorted(METRIC_KEYS))})")
    for required in ("name", "unit"):
        if not isinstance(table.get(required), str) or (required == "name" and not table[required]):
            raise fail(f"{key}.{required}", "required, a string")
    kind = table.get("kind", "histogram")
    if kind not in METRIC_KINDS:
        raise fail(f"{key}.kind", f"{kind!r} is not one of {', '.join(sorted(METRIC_KINDS))}")
    checked = expected_attributes(table, key, fail)
    count = table.get("count")
    if count is not None and (kind != "histogram" or not isinstance(count, int) or isinstance(count, bool)):
        raise fail(f"{key}.count", "a histogram's count, an integer")
    value = table.get("value")
    if value is not None and (kind == "histogram" or not isinstance(value, int | float) or isinstance(value, bool)):
        raise fail(f"{key}.value", "a sum's or gauge's value, a number")
    total = table.get("sum")
    if total is not None and (kind != "histogram" or not isinstance(total, int | float) or isinstance(total, bool)):
        raise fail(f"{key}.sum", "a histogram's sum, a number")
    scope = table.get("scope")
    if scope is not None and not isinstance(scope, str):
        raise fail(f"{key}.scope", "a string")
    return ExpectedSeries(table["name"], table["unit"], kind, checked, count, value, scope, total)


def compare_metrics(expected: Iterable[ExpectedSeries], points: Iterable[MetricPoint]) -> list[str]:
    """What differs between the expected series and the last point of each received series."""
    expected = tuple(expected)
    series = latest(points)
    diffs: list[str] = []
    matched: set[int] = set()
    for want in expected:
        candidates = [
            i
            for i, got in enumerate(series)
            if i not in matched
            and got.name == want.name
            and want.scope in (None, got.scope)
            and _same_attributes(got.attributes, want.attributes)
        ]
        if not candidates:
            diffs.append(f"{want.describe()}: no such series")
            continue
        matched.add(candidates[0])
        got = series[candidates[0]]
        if (got.unit, got.kind) != (want.unit, want.kind):
            diffs.append(f"{want.describe()}: a {got.kind} in {got.unit!r}, expected a {want.kind} in {want.unit!r}")
        if want.count is not None and got.count != want.count:
            diffs.append(f"{want.describe()}: count {got.count}, expected {want.count}")
        if want.value is not None and got.value != want.value:
            diffs.append(f"{want.describe()}: value {got.value}, expected {want.value}")
        if want.sum is not None and got.sum != want.sum:
            diffs.append(f"{want.describe()}: sum {got.sum}, expected {want.sum}")
    named = {want.name for want in expected}
    for i, got in enumerate(series):
        if got.name in named and i not in matched:
            diffs.append(f"{got.name} {fmt(got.attributes)}: a series not expected")
    return diffs


def _same_attributes(got: Mapping[str, Any], want: Mapping[str, Any]) -> bool:
    return set(got) == set(want) and all(same_value(got[k], want[k]) for k in want)


def invariant_diffs(points: Iterable[MetricPoint], spans: Iterable[Span]) -> list[str]:
    """What every program's metrics must satisfy: low-cardinality attributes only, and exemplars
    that name received spans; a histogram of measured calls has one (the fixtures' spans are all
    sampled, and each bucket keeps the last measurement of a sampled span)."""
    received = {(span.trace_id, span.span_id) for span in spans}
    diffs: list[str] = []
    for point in latest(points):
        leaked = sorted(HIGH_CARDINALITY & set(point.attributes))
        if leaked:
            diffs.append(f"{point.name}: attributes {', '.join(leaked)} do not belong on a metric")
        if point.kind == "histogram" and point.count and not point.exemplars:
            diffs.append(f"{point.name} {fmt(point.attributes)}: no exemplar")
        for exemplar in point.exemplars:
            if exemplar.trace_id and (exemplar.trace_id, exemplar.span_id) not in received:
                diffs.append(
                    f"{point.name}: exemplar names span {exemplar.span_id} of trace {exemplar.trace_id}, not received"
                )
    return diffs


def assert_metrics(expected: Iterable[ExpectedSeries], points: Iterable[MetricPoint], spans: Iterable[Span]) -> None:
    points = list(points)
    diffs = invariant_diffs(points, spans) + compare_metrics(expected, points)
    if diffs:
        received = "\n".join(
            f"  {p.name} [{p.kind}, {p.unit}, {p.scope}] {fmt(p.attributes)}"
            f" count={p.count} sum={p.sum:g} value={p.value}"
            for p in latest(points)
        )
        raise AssertionError("metrics differ:\n  " + "\n  ".join(diffs) + "\nreceived series:\n" + received)
