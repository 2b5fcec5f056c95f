"""Expected-trace files and their comparison with received spans.

An expected-trace file is TOML, usually next to a fixture::

    extra-spans = false          # default false: root spans not listed are a mismatch

    [resource]                   # optional: attributes every compared span's resource must have
    "service.name" = "spans"

    [[span]]                     # an expected root span
    name = "main"
    kind = "internal"            # default "internal"
    status = "unset"             # default "unset"; "ok" or "error"
    status-message = "boom"      # optional: the exact status message
    attributes = { "k" = "v" }   # required attributes (exact values and types); default {}
    # a value that differs on every run (a request id): { any = "string" } (or "int", "bool", "float")
    extra-attributes = false     # default false: any attribute not listed is a mismatch
    events = ["exception"]       # optional: the span's event names, exactly and in order
    extra-children = false       # default false: children not listed are a mismatch

      [[span.child]]
      name = "inner"

        [[span.child.child]]
        name = "deeper"

``${NAME}`` anywhere in the file stands for the value of NAME that the test
gives ``load_expected`` (a port its server was started on): ``"server.port" =
${MEMCACHED_PORT}`` is an integer once replaced, ``"${NAME}"`` a string.

``compare`` builds the received trees (by ``parent_span_id`` within each trace;
a span whose parent was not received is a root) and matches expected spans to
received ones order-insensitively: by name first, then, among spans of the same
name, the assignment with the fewest differences. Differences read like
``main > handle: status is "unset", expected "error"``.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import tomllib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
from otlp import KINDS, STATUSES, Span

SPAN_KINDS = frozenset(KINDS.values())
SPAN_STATUSES = frozenset(STATUSES.values())
TOP_KEYS = frozenset({"resource", "span", "extra-spans"})
SPAN_KEYS = frozenset(
    {
        "name",
        "kind",
        "status",
        "status-message",
        "attributes",
        "extra-attributes",
        "events",
        "extra-children",
        "child",
    }
)


class ExpectedTraceError(ValueError):
    """A malformed expected-trace file; the message names the file and the key."""


@attrs.frozen
class ExpectedSpan:
    name: str
    kind: str = "internal"
    status: str = "unset"
    status_message: str | None = None  # None: not checked
    attributes: dict[str, Any] = attrs.field(factory=dict)
    extra_attributes: bool = False
    events: tuple[str, ...] | None = None  # None: not checked
    extra_children: bool = False
    children: tuple[ExpectedSpan, ...] = ()


@attrs.frozen
class ExpectedTrace:
    spans: tuple[ExpectedSpan, ...] = ()
    resource: dict[str, Any] = attrs.field(factory=dict)
    extra_spans: bool = False
    path: Path | None = None


# --- loading ----------------------------------------------------------------------------------------------------


_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def load_expected(path: str | Path, variables: Mapping[str, str] | None = None) -> ExpectedTrace:
    """Parse an expected-trace TOML file, its ``${NAME}`` replaced by ``variables[NAME]``;
    raises ExpectedTraceError naming the file and key (or the variable it was not given)."""
    return parse_expected(read_expected(path, variables), path)


def read_expected(path: str | Path, variables: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The TOML of an expected-trace or expected-metrics file, its ``${NAME}`` replaced."""
    path = Path(path)
    given = variables or {}

    def value(match: re.Match[str]) -> str:
        if match.group(1) not in given:
            raise ExpectedTraceError(f"{path}: ${{{match.group(1)}}}: no such variable (given: {sorted(given)})")
        return given[match.group(1)]

    try:
        return tomllib.loads(_VARIABLE.sub(value, path.read_text()))
    except tomllib.TOMLDecodeError as e:
        raise ExpectedTraceError(f"{path}: invalid TOML: {e}") from e


def parse_expected(data: Mapping[str, Any], path: str | Path | None = None) -> ExpectedTrace:
    """Build an ExpectedTrace from already-parsed TOML data (``path`` names it in errors)."""
    where = str(path) if path is not None else "<expected>"

    def fail(key: str, message: str) -> ExpectedTraceError:
        return ExpectedTraceError(f"{where}: {key}: {message}")

    unknown = sorted(set(data) - TOP_KEYS)
    if unknown:
        raise fail(unknown[0], f"unknown key (allowed: {', '.join(sorted(TOP_KEYS))})")
    resource = data.get("resource", {})
    if not isinstance(resource, dict):
        raise fail("resource", "must be a table")
    for key, value in resource.items():
        check_value(value, lambda m, k=key: fail(f"resource.{json.dumps(k)}", m))
    extra_spans = data.get("extra-spans", False)
    if not isinstance(extra_spans, bool):
        raise fail("extra-spans", "must be true or false")
    spans = _parse_spans(data.get("span", []), "span", fail)
    return ExpectedTrace(spans, dict(resource), extra_spans, Path(path) if path is not None else None)


def _parse_spans(items: Any, key: str, fail: Any) -> tuple[ExpectedSpan, ...]:
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise fail(key, f"must be an array of tables ([[{key}]])")
    return tuple(_parse_span(item, f"{key}[{i}]", fail) for i, item in enumerate(items))


def _parse_span(table: dict[str, Any], key: str, fail: Any) -> ExpectedSpan:
    unknown = sorted(set(table) - SPAN_KEYS)
    if unknown:
        raise fail(f"{key}.{unknown[0]}", f"unknown key (allowed: {', '.join(sorted(SPAN_KEYS))})")
    name = table.get("name")
    if not isinstance(name, str) or not name:
        raise fail(f"{key}.name", "required, a non-empty string")
    kind = table.get("kind", "internal")
    if kind not in SPAN_KINDS:
        raise fail(f"{key}.kind", f"{kind!r} is not one of {', '.join(sorted(SPAN_KINDS))}")
    status = table.get("status", "unset")
    if status not in SPAN_STATUSES:
        raise fail(f"{key}.status", f"{status!r} is not one of {', '.join(sorted(SPAN_STATUSES))}")
    status_message = table.get("status-message")
    if status_message is not None and not isinstance(status_message, str):
        raise fail(f"{key}.status-message", "must be a string")
    attributes = expected_attributes(table, key, fail)
    flags = {}
    for flag in ("extra-attributes", "extra-children"):
        flags[flag] = table.get(flag, False)
        if not isinstance(flags[flag], bool):
            raise fail(f"{key}.{flag}", "must be true or false")
    events = table.get("events")
    if events is not None and (not isinstance(events, list) or not all(isinstance(e, str) for e in events)):
        raise fail(f"{key}.events", "must be an array of strings")
    return ExpectedSpan(
        name=name,
        kind=kind,
        status=status,
        status_message=status_message,
        attributes=dict(attributes),
        extra_attributes=flags["extra-attributes"],
        events=tuple(events) if events is not None else None,
        extra_children=flags["extra-children"],
        children=_parse_spans(table.get("child", []), f"{key}.child", fail),
    )


@attrs.frozen
class Varying:
    """``{ any = "string" }``: the attribute is there, with a value of that type that differs from
    run to run (a request id, a message id), so not compared."""

    type: str

    def accepts(self, value: Any) -> bool:
        return type(value) is VARYING_TYPES[self.type]


VARYING_TYPES: dict[str, type] = {"string": str, "int": int, "bool": bool, "float": float}


def expected_attributes(table: dict[str, Any], key: str, fail: Any) -> dict[str, Any]:
    """The ``attributes`` table of the expected span, series or record at ``key``, each value
    checked (:func:`check_value`); ``fail(key, message)`` makes the error that names the key."""
    attributes = table.get("attributes", {})
    if not isinstance(attributes, dict):
        raise fail(f"{key}.attributes", "must be a table")
    return {
        name: check_value(value, lambda m, k=name: fail(f"{key}.attributes.{json.dumps(k)}", m))
        for name, value in attributes.items()
    }


def check_value(value: Any, fail: Any) -> Any:
    """Attribute values are what OTLP can carry: strings, booleans, integers, floats and arrays of
    them; or ``{ any = TYPE }`` (:class:`Varying`). Returns the value as compared."""
    if isinstance(value, dict):
        if set(value) != {"any"} or value["any"] not in VARYING_TYPES:
            raise fail(f"a table value must be {{ any = TYPE }}, TYPE one of {', '.join(VARYING_TYPES)}")
        return Varying(value["any"])
    if isinstance(value, list):
        return [check_value(item, fail) for item in value]
    if not isinstance(value, str | bool | int | float):
        raise fail(f"{type(value).__name__} is not an attribute value (string, boolean, integer, float, array)")
    return value


# --- formatting -------------------------------------------------------------------------------------------------


def fmt(value: Any) -> str:
    """A value as TOML would write it: "s", true, 1, 1.0, [..], {..}."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(fmt(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{fmt(k) if not _bare(k) else k} = {fmt(v)}" for k, v in value.items()) + "}"
    if isinstance(value, Varying):
        return f"any {value.type}"
    if isinstance(value, bytes):
        return f"bytes({value.hex()})"
    if value is None:
        return "null"
    return repr(value)


def _bare(key: Any) -> bool:
    return isinstance(key, str) and bool(key) and all(c.isalnum() or c in "_-." for c in key)


def same_value(got: Any, want: Any) -> bool:
    """Equal values of the same type (1 is neither true nor 1.0); lists element by element; any
    value of its type for a :class:`Varying`."""
    if isinstance(want, Varying):
        return want.accepts(got)
    if isinstance(want, list | tuple):
        return (
            isinstance(got, list | tuple)
            and len(got) == len(want)
            and all(same_value(g, w) for g, w in zip(got, want, strict=True))
        )
    if type(got) is not type(want):
        return False
    if isinstance(want, float) and math.isnan(want):
        return math.isnan(got)
    return bool(got == want)


def dump_tree(spans: Iterable[Span]) -> str:
    """The received spans as indented trees, one per trace: name [kind, status] {attributes} events=[...]."""
    tree = _Tree(list(spans))
    if not tree.spans:
        return "(no spans)"
    lines: list[str] = []
    by_trace: dict[str, list[Span]] = defaultdict(list)
    for root in tree.roots:
        by_trace[root.trace_id].append(root)
    for trace_id, roots in by_trace.items():
        resources = {fmt(s.resource) for s in tree.spans if s.trace_id == trace_id}
        lines.append(f"trace {trace_id} resource {' | '.join(sorted(resources))}")

        def walk(span: Span, depth: int) -> None:
            lines.append("  " * depth + _line(span))
            for child in tree.children(span):
                walk(child, depth + 1)

        for root in roots:
            walk(root, 1)
    return "\n".join(lines)


def _line(span: Span) -> str:
    status = span.status if not span.status_message else f"{span.status}: {fmt(span.status_message)}"
    parts = [f"{span.name} [{span.kind}, {status}]"]
    if span.attributes:
        parts.append(fmt(span.attributes))
    if span.events:
        parts.append("events=" + fmt([e.name for e in span.events]))
    return " ".join(parts)


# --- comparison -------------------------------------------------------------------------------------------------


class _Tree:
    def __init__(self, spans: list[Span]) -> None:
        self.spans = spans
        ids = {(s.trace_id, s.span_id) for s in spans}
        self._children: dict[tuple[str, str], list[Span]] = defaultdict(list)
        self.roots: list[Span] = []
        for span in spans:
            if span.parent_span_id and (span.trace_id, span.parent_span_id) in ids:
                self._children[(span.trace_id, span.parent_span_id)].append(span)
            else:
                self.roots.append(span)

    def children(self, span: Span) -> list[Span]:
        return self._children.get((span.trace_id, span.span_id), [])

    def subtree(self, span: Span) -> Iterable[Span]:
        yield span
        for child in self.children(span):
            yield from self.subtree(child)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


class _Matcher:
    """Matches expected spans to received ones; memoizes span-against-span differences."""

    # Above this many same-named siblings the best assignment is approximated greedily.
    EXACT_LIMIT = 7

    def __init__(self, tree: _Tree) -> None:
        self.tree = tree
        self._memo: dict[tuple[int, int], tuple[list[str], list[Span]]] = {}

    def span(self, want: ExpectedSpan, got: Span) -> tuple[list[str], list[Span]]:
        """Differences of ``got`` (and its subtree) against ``want``, and the received spans matched.

        The differences are relative to the span: ": ..." for its own, " > child: ..." below it.
        """
        key = (id(want), id(got))
        if key not in self._memo:
            self._memo[key] = self._span(want, got)
        return self._memo[key]

    def _span(self, want: ExpectedSpan, got: Span) -> tuple[list[str], list[Span]]:
        diffs: list[str] = []
        if got.kind != want.kind:
            diffs.append(f": kind is {fmt(got.kind)}, expected {fmt(want.kind)}")
        if got.status != want.status:
            diffs.append(f": status is {fmt(got.status)}, expected {fmt(want.status)}")
        if want.status_message is not None and got.status_message != want.status_message:
            diffs.append(f": status message is {fmt(got.status_message)}, expected {fmt(want.status_message)}")
        for key, value in want.attributes.items():
            if key not in got.attributes:
                diffs.append(f": attribute {fmt(key)} is missing, expected {fmt(value)}")
            elif not same_value(got.attributes[key], value):
                have = got.attributes[key]
                types = f" ({type(have).__name__})" if fmt(have) == fmt(value) else ""
                diffs.append(f": attribute {fmt(key)} is {fmt(have)}{types}, expected {fmt(value)}")
        if not want.extra_attributes:
            for key in got.attributes.keys() - want.attributes.keys():
                diffs.append(f": unexpected attribute {fmt(key)} = {fmt(got.attributes[key])}")
        if want.events is not None:
            names = [e.name for e in got.events]
            if names != list(want.events):
                diffs.append(f": events are {fmt(names)}, expected {fmt(list(want.events))}")
        child_diffs, matched = self.siblings(
            want.children, self.tree.children(got), want.extra_children, "child span", " > "
        )
        diffs += [d if d.startswith(" > ") else ": " + d for d in child_diffs]
        return diffs, [got, *matched]

    def siblings(
        self,
        wanted: Sequence[ExpectedSpan],
        received: Sequence[Span],
        allow_extra: bool,
        what: str,
        sep: str,
    ) -> tuple[list[str], list[Span]]:
        """Match expected siblings to received ones by name, then by the fewest differences.

        Returns the differences (a sibling's own start with ``sep``, the rest describe the set)
        and every received span matched (with their matched descendants).
        """
        diffs: list[str] = []
        matched: list[Span] = []
        names = list(dict.fromkeys([w.name for w in wanted] + [r.name for r in received]))
        for name in names:
            want = [w for w in wanted if w.name == name]
            got = [r for r in received if r.name == name]
            if len(want) > len(got):
                if not got:
                    diffs.append(f"missing {what} {fmt(name)}")
                else:
                    diffs.append(f"expected {_plural(len(want), what)} {fmt(name)}, received {len(got)}")
            elif len(got) > len(want) and not allow_extra:
                if not want:
                    diffs.append(
                        f"unexpected {what} {fmt(name)}"
                        if len(got) == 1
                        else f"{len(got)} unexpected {what}s {fmt(name)}"
                    )
                else:
                    diffs.append(f"expected {_plural(len(want), what)} {fmt(name)}, received {len(got)}")
            if want and got:
                pairs = self._assign(want, got)
                for w, r in pairs:
                    span_diffs, span_matched = self.span(w, r)
                    diffs += [f"{sep}{name}{d}" for d in span_diffs]
                    matched += span_matched
        return diffs, matched

    def _assign(self, want: list[ExpectedSpan], got: list[Span]) -> list[tuple[ExpectedSpan, Span]]:
        """The pairing of same-named spans with the fewest differences (ties: received order)."""
        cost = [[len(self.span(w, r)[0]) for r in got] for w in want]
        n, m = len(want), len(got)
        if n == 1:
            j = min(range(m), key=lambda j: cost[0][j])
            return [(want[0], got[j])]
        if max(n, m) <= self.EXACT_LIMIT:
            # Exhaustive over the smaller side's choices of the larger side.
            best: tuple[int, tuple[int, ...]] | None = None
            if n <= m:
                for perm in itertools.permutations(range(m), n):
                    total = sum(cost[i][j] for i, j in enumerate(perm))
                    if best is None or total < best[0]:
                        best = (total, perm)
                        if total == 0:
                            break
                assert best is not None
                return [(want[i], got[j]) for i, j in enumerate(best[1])]
            for perm in itertools.permutations(range(n), m):
                total = sum(cost[i][j] for j, i in enumerate(perm))
                if best is None or total < best[0]:
                    best = (total, perm)
                    if total == 0:
                        break
            assert best is not None
            return [(want[i], got[j]) for j, i in enumerate(best[1])]
        # Greedy: cheapest pairs first.
        pairs: list[tuple[ExpectedSpan, Span]] = []
        used_w: set[int] = set()
        used_r: set[int] = set()
        for _, i, j in sorted((cost[i][j], i, j) for i in range(n) for j in range(m)):
            if i not in used_w and j not in used_r:
                used_w.add(i)
                used_r.add(j)
                pairs.append((want[i], got[j]))
        return pairs


def compare(expected: ExpectedTrace, spans: Iterable[Span]) -> list[str]:
    """Human-readable differences between the expected trace and the received spans (empty: they match)."""
    tree = _Tree(list(spans))
    matcher = _Matcher(tree)
    diffs, matched = matcher.siblings(expected.spans, tree.roots, expected.extra_spans, "root span", "")
    if expected.resource:
        checked = tree.spans if not expected.extra_spans else _subtrees(tree, matched)
        diffs += _resource_diffs(expected.resource, checked)
    return diffs


def _subtrees(tree: _Tree, spans: Iterable[Span]) -> list[Span]:
    seen: dict[int, Span] = {}
    for span in spans:
        for s in tree.subtree(span):
            seen.setdefault(id(s), s)
    return list(seen.values())


def _resource_diffs(want: Mapping[str, Any], spans: Iterable[Span]) -> list[str]:
    counts: dict[str, int] = defaultdict(int)
    for span in spans:
        for key, value in want.items():
            if key not in span.resource:
                counts[f"resource: attribute {fmt(key)} is missing, expected {fmt(value)}"] += 1
            elif not same_value(span.resource[key], value):
                counts[f"resource: attribute {fmt(key)} is {fmt(span.resource[key])}, expected {fmt(value)}"] += 1
    return [f"{message} ({_plural(n, 'span')})" for message, n in counts.items()]


def assert_trace(expected: str | Path | ExpectedTrace, spans: Iterable[Span]) -> None:
    """Raise AssertionError listing every difference and the received trees, unless the spans match."""
    spans = list(spans)
    trace = expected if isinstance(expected, ExpectedTrace) else load_expected(expected)
    diffs = compare(trace, spans)
    if diffs:
        source = f" ({trace.path})" if trace.path else ""
        raise AssertionError(
            f"received spans differ from the expected trace{source}:\n"
            + "\n".join(f"  - {d}" for d in diffs)
            + "\nreceived:\n"
            + dump_tree(spans)
        )
