"""``overlay-gen explain``: what each aspect did, and where it did nothing.

For each aspect, in application order: where it applied (file:line and
function), where a candidate was skipped and why (code tree-sitter could not
parse, an ignore directive, a placeholder without a value...), or that it
matched nothing. Files left out because gofmt rejected them come last.
"""

from __future__ import annotations

from collections import defaultdict

from .pipeline import Result
from .report import Event


def explain(result: Result) -> str:
    by_aspect: dict[str, list[Event]] = defaultdict(list)
    for event in result.events:
        by_aspect[event.aspect].append(event)
    lines = []
    for aspect in result.aspects.aspects:
        events = sorted(by_aspect.get(aspect.id, []), key=lambda e: (e.file, e.line, e.reason))
        lines.append(f"{aspect.id}  ({aspect.source})" + (f": {aspect.doc}" if aspect.doc else ""))
        if not events:
            lines.append("    matched nothing")
        for event in events:
            where = f"{event.file}:{event.line}" + (f" {event.function}" if event.function else "")
            lines.append(f"    skipped  {where}: {event.reason}" if event.skipped else f"    applied  {where}")
    for line in result.staged.left_out:
        lines.append(f"left out: {line}: the rewritten file is not valid Go")
    return "\n".join(lines) + "\n"
