"""``overlay-gen explain``: what each integration and aspect did, and where it did nothing.

First every integration on offer, by name: it applies (to which library
release), it is not applicable (its library is not in the build's package
graph), or it is skipped (a library or Go release it does not support, or
switched off), never a silent nothing. Then, for each aspect in application
order: where it applied (file:line and function), where a candidate was
skipped and why (code tree-sitter could not parse, an ignore directive, a
placeholder without a value...), or that it matched nothing. Files left out
because gofmt rejected them come last.
"""

from __future__ import annotations

from collections import defaultdict

from .aspect import Aspect
from .pipeline import Result
from .report import Event


def explain(result: Result) -> str:
    by_aspect: dict[str, list[Event]] = defaultdict(list)
    for event in result.events:
        by_aspect[event.aspect].append(event)
    by_source: dict[str, list[Aspect]] = defaultdict(list)
    for aspect in result.aspects.aspects:
        by_source[aspect.source].append(aspect)
    lines = []
    for status in result.integrations:
        integration = status.integration
        lines.append(f"integration {integration.name}: {status.state}: {status.reason}")
        for aspect in by_source.pop(integration.display, []):
            lines += _aspect(aspect, by_aspect)
    for aspects in by_source.values():  # the user's, in load order
        for aspect in aspects:
            lines += _aspect(aspect, by_aspect)
    for line in result.staged.left_out:
        lines.append(f"left out: {line}: the rewritten file is not valid Go")
    return "\n".join(lines) + "\n"


def _aspect(aspect: Aspect, by_aspect: dict[str, list[Event]]) -> list[str]:
    lines = [f"{aspect.id}  ({aspect.source})" + (f": {aspect.doc}" if aspect.doc else "")]
    events = sorted(by_aspect.get(aspect.id, []), key=lambda e: (e.file, e.line, e.reason))
    if not events:
        lines.append("    matched nothing")
    for event in events:
        where = f"{event.file}:{event.line}" + (f" {event.function}" if event.function else "")
        lines.append(f"    skipped  {where}: {event.reason}" if event.skipped else f"    applied  {where}")
    return lines
