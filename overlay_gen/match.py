"""Stage 5b, match: join points against parsed files.

For a candidate file, parse it (only when some aspect still needs it) and find
the nodes each aspect's join point selects. Package-wide aspects (whose advice
all acts on whole packages) match once per package, in the first file where
they match: the files of a package are matched in order, passing on the
package-wide aspects still pending. A node that overlaps a part of the file
tree-sitter could not parse (syntax newer than tree-sitter-go), or that
``//overlay-gen:ignore`` covers, is reported as skipped, never edited.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import attrs
from tree_sitter import Node

from .aspect import Aspect
from .captures import where
from .join import full_match
from .parse import ParsedFile
from .places import Layout
from .report import Event
from .select import Candidate, PackageCandidates

UNPARSABLE = "tree-sitter-go cannot parse this code (newer Go syntax?), so it is left as it is"
IGNORED = "an ignore directive (//overlay-gen:ignore or //orchestrion:ignore) keeps it out"


@attrs.frozen
class Match:
    aspect: int  # index into the aspect list
    node: Node | None  # None: the whole package


@attrs.define
class FileMatches:
    pf: ParsedFile
    matches: list[Match] = attrs.field(factory=list)
    events: list[Event] = attrs.field(factory=list)


def pending_aspects(candidates: PackageCandidates) -> set[int]:
    """The package-wide aspects that may match in a package, before its first file."""
    return {i for c in candidates.files for i in c.package_aspects}


def match_file(
    cand: Candidate,
    pending: set[int],
    aspects: Sequence[Aspect],
    layout: Layout,
    package_names: Mapping[str, str],
    read: Callable[[str], bytes],
) -> FileMatches | None:
    """The matches in one candidate file, if it has any. ``pending`` holds the
    package-wide aspects no earlier file of the package matched; those that
    match here are taken out. ``package_names`` maps import paths to package
    names (how an unnamed import is referred to); ``read`` gives a file's bytes."""
    wanted = [*cand.node_aspects, *sorted(i for i in cand.package_aspects if i in pending)]
    if not wanted:
        return None
    display = layout.display(cand.path, cand.package)
    pf = ParsedFile(cand.path, display, cand.package, read(cand.path), package_names, layout.env.goversion)
    if pf.ignored:
        return None
    found = FileMatches(pf)
    for index in sorted(wanted):
        aspect = aspects[index]
        jp = aspect.join_point
        if not jp.matches_file(pf):
            continue
        if jp.node_types is None:
            found.matches.append(Match(index, None))
            pending.discard(index)
            continue
        for node in pf.nodes(jp.node_types):
            if not full_match(jp, node, pf):
                continue
            if pf.overlaps_error(node.start_byte, node.end_byte):
                found.events.append(Event(aspect.id, pf.display, pf.line(node), where(pf, node), UNPARSABLE))
            elif pf.function_ignored(node):
                found.events.append(Event(aspect.id, pf.display, pf.line(node), where(pf, node), IGNORED))
            else:
                found.matches.append(Match(index, node))
                if aspect.package_scoped:
                    pending.discard(index)
                    break
    return found if found.matches or found.events else None
