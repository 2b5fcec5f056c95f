"""Expected-logs files: what a logging library's fixture prints and exports.

An expected-logs file is TOML, next to a fixture's expected-trace.toml; each record is
one the fixture logs, in order::

    [[record]]
    body = "item 7 served"          # the message, exactly as exported
    severity-text = "INFO"          # as exported: the library's own name where its bridge keeps it
                                    # (otelzap), else slog's name of the severity (logbridge exports
                                    # through otelslog: "ERROR+4" is FATAL)
    severity-number = 9             # OpenTelemetry's: 9 INFO, 13 WARN, 17 ERROR, 5 DEBUG...
    span = "GET /items/{id}"        # the received span (by name) whose trace_id and span_id the
                                    # record carries; omitted: the record has none
    attributes = { "item" = 7 }     # attributes the exported record has (others allowed)
    printed = true                  # default true: a line of the program's output holds the body,
                                    # and the key trace_id with the span's ids (or neither key)

``assert_logs`` checks the records the fixture exported (OTEL_LOGS_EXPORTER=otlp) against the
file, in order, and, where ``printed``, the program's output: the ids are in the library's own
field style, which the line shows, whatever that style is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs
from otlp import LogRecord, Span
from traces import ExpectedTraceError, expected_attributes, fmt, read_expected, same_value

RECORD_KEYS = frozenset({"body", "severity-text", "severity-number", "span", "attributes", "printed"})


@attrs.frozen
class ExpectedRecord:
    body: str
    severity_text: str
    severity_number: int
    span: str | None = None
    attributes: dict[str, Any] = attrs.field(factory=dict)
    printed: bool = True


def load_expected_logs(path: str | Path, variables: Mapping[str, str] | None = None) -> tuple[ExpectedRecord, ...]:
    """Parse an expected-logs file; raises ExpectedTraceError naming the file and key."""
    data = read_expected(path, variables)
    where = str(path)

    def fail(key: str, message: str) -> ExpectedTraceError:
        return ExpectedTraceError(f"{where}: {key}: {message}")

    unknown = sorted(set(data) - {"record"})
    if unknown:
        raise fail(unknown[0], "unknown key (allowed: record)")
    items = data.get("record", [])
    if not isinstance(items, list) or not items or not all(isinstance(item, dict) for item in items):
        raise fail("record", "must be a non-empty array of tables ([[record]])")
    return tuple(_parse_record(item, f"record[{i}]", fail) for i, item in enumerate(items))


def _parse_record(table: dict[str, Any], key: str, fail: Any) -> ExpectedRecord:
    unknown = sorted(set(table) - RECORD_KEYS)
    if unknown:
        raise fail(f"{key}.{unknown[0]}", f"unknown key (allowed: {', '.join(sorted(RECORD_KEYS))})")
    for required, kind in (("body", str), ("severity-text", str), ("severity-number", int)):
        if not isinstance(table.get(required), kind) or isinstance(table.get(required), bool):
            raise fail(f"{key}.{required}", f"required, a{'n integer' if kind is int else ' string'}")
    span = table.get("span")
    if span is not None and (not isinstance(span, str) or not span):
        raise fail(f"{key}.span", "a span's name")
    checked = expected_attributes(table, key, fail)
    printed = table.get("printed", True)
    if not isinstance(printed, bool):
        raise fail(f"{key}.printed", "must be true or false")
    return ExpectedRecord(table["body"], table["severity-text"], table["severity-number"], span, checked, printed)


def compare_logs(
    expected: Iterable[ExpectedRecord], records: Iterable[LogRecord], spans: Iterable[Span], output: str
) -> list[str]:
    """What differs between the expected records and those exported and printed."""
    expected, records = tuple(expected), list(records)
    by_name: dict[str, list[Span]] = {}
    for span in spans:
        by_name.setdefault(span.name, []).append(span)
    lines = output.splitlines()
    diffs: list[str] = []
    if len(records) != len(expected):
        diffs.append(f"{len(records)} records exported, expected {len(expected)}")
    for i, (want, got) in enumerate(zip(expected, records, strict=False)):
        where = f"record[{i}] {want.body!r}"
        if got.body != want.body:
            diffs.append(f"{where}: body {got.body!r}")
        if (got.severity_text, got.severity_number) != (want.severity_text, want.severity_number):
            diffs.append(f"{where}: severity {got.severity_text!r} {got.severity_number}")
        for name, value in want.attributes.items():
            if name not in got.attributes or not same_value(got.attributes[name], value):
                diffs.append(f"{where}: attribute {name} is {fmt(got.attributes.get(name))}, expected {fmt(value)}")
        ids = _ids(want, by_name, where, diffs)
        if (got.trace_id, got.span_id) != ids:
            diffs.append(f"{where}: exported with trace {got.trace_id or '-'} span {got.span_id or '-'}")
        if want.printed:
            diffs += _printed(want, ids, lines, where)
    return diffs


def _ids(want: ExpectedRecord, by_name: Mapping[str, list[Span]], where: str, diffs: list[str]) -> tuple[str, str]:
    if want.span is None:
        return "", ""
    candidates = by_name.get(want.span, [])
    if len(candidates) != 1:
        diffs.append(f"{where}: {len(candidates)} spans named {want.span!r} received, expected one")
        return "?", "?"
    return candidates[0].trace_id, candidates[0].span_id


def _printed(want: ExpectedRecord, ids: tuple[str, str], lines: list[str], where: str) -> list[str]:
    matching = [line for line in lines if want.body in line]
    if not matching:
        return [f"{where}: not printed"]
    trace_id, span_id = ids
    for line in matching:
        if trace_id:
            if "trace_id" in line and "span_id" in line and trace_id in line and span_id in line:
                return []
        elif "trace_id" not in line and "span_id" not in line:
            return []
    if trace_id:
        return [f"{where}: printed without trace_id {trace_id} and span_id {span_id}: {matching[0]!r}"]
    return [f"{where}: printed with ids: {matching[0]!r}"]


def assert_logs(
    expected: Iterable[ExpectedRecord], records: Iterable[LogRecord], spans: Iterable[Span], output: str
) -> None:
    records = list(records)
    diffs = compare_logs(expected, records, spans, output)
    if diffs:
        received = "\n".join(
            f"  {r.severity_text} {r.severity_number} {r.body!r} trace={r.trace_id or '-'} span={r.span_id or '-'} "
            f"{fmt(r.attributes)}"
            for r in records
        )
        raise AssertionError("logs differ:\n  " + "\n  ".join(diffs) + f"\nexported:\n{received}\nprinted:\n{output}")
