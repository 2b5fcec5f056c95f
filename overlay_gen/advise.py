"""Stage 5c, advise: turn a file's matches into edits.

For each match, each advice of its aspect renders its template for that site
and returns edits; advice that acts on whole packages runs once per package.
A site whose advice cannot apply (a placeholder without a value, an edit that
would touch code tree-sitter could not parse, an import that would make a
cycle) is skipped as a whole and reported. The result is the file's edits and
the imports they need, which stage 6 applies (:func:`overlay_gen.edits.apply`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import attrs

from .advice import ImportAllocator, NewFile, Site, Skip
from .aspect import Aspect
from .captures import Capture, Missing, where
from .edits import Edit, Import
from .match import UNPARSABLE, FileMatches
from .model import Package
from .parse import ParsedFile
from .report import Event

ORDER_STEP = 1000  # priorities: aspect index * ORDER_STEP + advice index


@attrs.frozen
class FileResult:
    """What advice does to one file: its edits, the imports they add, the
    files it adds to the package, and what happened at each join point."""

    path: str
    display: str
    package: Package
    original: bytes
    edits: tuple[Edit, ...]
    imports: tuple[Import, ...]  # imports the edits need, added after the package clause
    import_at: int | None  # the end of the package clause
    new_files: tuple[NewFile, ...]
    events: tuple[Event, ...]
    added_imports: tuple[str, ...]  # import paths the advice added (new files' included)

    @property
    def changed(self) -> bool:
        """Does the file itself change (not only get new files beside it)?"""
        return bool(self.edits or self.imports)


def advise(
    found: FileMatches,
    aspects: Sequence[Aspect],
    done: set[tuple[int, int]],
    depends: Callable[[str], frozenset[str]] = lambda path: frozenset(),
) -> FileResult:
    """Apply the advice of ``found``'s matches. ``done`` holds the package-wide
    (aspect, advice) pairs already applied in this package, and is updated.
    ``depends(path)`` is what the package ``path`` depends on: an advice that
    would import a package into one of that package's own dependencies (an
    import cycle) is skipped."""
    pf = found.pf
    allocator = ImportAllocator(pf.source, pf.import_paths)
    all_edits: list[Edit] = []
    new_files: list[NewFile] = []
    events = list(found.events)
    for match in found.matches:
        aspect = aspects[match.aspect]
        capture = Capture(pf, match.node, aspect.id, aspect.join_point.directive_names())
        line = pf.line(match.node) if match.node is not None else 1
        trial = _Trial(allocator)
        try:
            for index, advice in enumerate(aspect.advice):
                key = (match.aspect, index)
                if advice.ACCEPTS is None and key in done:
                    continue
                site = Site(capture, match.aspect * ORDER_STEP + index, trial.allocator, trial.new_files)
                trial.edits += advice.edits(site)
                if advice.ACCEPTS is None:
                    trial.package_wide.append(key)
            if any(pf.overlaps_error(e.start, e.end) for e in trial.edits):
                raise Skip(UNPARSABLE)
            cycle = next(
                (p for p in _import_paths(trial.allocator, trial.new_files) if pf.package.path in depends(p)), ""
            )
            if cycle:
                why = f"importing {cycle} into {pf.package.path} would make an import cycle"
                events.append(Event(aspect.id, pf.display, line, where(pf, match.node), reason=why, quiet=True))
                continue
        except (Skip, Missing) as why:
            events.append(Event(aspect.id, pf.display, line, where(pf, match.node), reason=str(why)))
            continue
        allocator = trial.allocator
        all_edits += trial.edits
        new_files += trial.new_files
        done.update(trial.package_wide)
        events.append(Event(aspect.id, pf.display, line, where(pf, match.node)))

    all_edits += _orphaned_imports(pf, all_edits)
    clause = pf.package_clause
    added = tuple(sorted(_import_paths(allocator, new_files)))
    return FileResult(
        pf.path,
        pf.display,
        pf.package,
        pf.source,
        tuple(sorted(set(all_edits), key=lambda e: e.sort_key)),
        tuple(allocator.added),
        clause.end_byte if clause is not None else None,
        tuple(new_files),
        tuple(events),
        added,
    )


def _import_paths(allocator: ImportAllocator, new_files: Sequence[NewFile]) -> set[str]:
    """What the advice imports, into the file and into the files it adds."""
    return {i.path for i in allocator.added} | {i.path for f in new_files for i in f.imports}


@attrs.define
class _Trial:
    """What one match's advice would add; kept only if all of it applies."""

    allocator: ImportAllocator
    edits: list[Edit] = attrs.field(factory=list)
    new_files: list[NewFile] = attrs.field(factory=list)
    package_wide: list[tuple[int, int]] = attrs.field(factory=list)

    def __attrs_post_init__(self) -> None:
        self.allocator = self.allocator.copy()


def _orphaned_imports(pf: ParsedFile, edits: Sequence[Edit]) -> list[Edit]:
    """Blank the imports whose every use an edit replaced (``replace-call-target``
    on a package's only call): Go rejects an import that is not used."""
    replaced = [(e.start, e.end) for e in edits if e.end > e.start]
    if not replaced:
        return []
    uses: dict[str, list[int]] = {}
    for node in pf.nodes(frozenset({"selector_expression", "qualified_type"})):
        operand = node.child_by_field_name("operand") or node.child_by_field_name("package")
        if operand is not None and operand.type in ("identifier", "package_identifier"):
            uses.setdefault(pf.text(operand), []).append(operand.start_byte)
    inserted = "\n".join(e.text for e in edits)
    orphaned = []
    for spec in pf.import_specs:
        found = uses.get(spec.local, [])
        if spec.local in ("_", ".") or not found or re.search(rf"\b{re.escape(spec.local)}\.", inserted):
            continue
        if all(any(start <= use < end for start, end in replaced) for use in found):
            name = spec.node.child_by_field_name("name")
            if name is not None:
                orphaned.append(Edit(name.start_byte, name.end_byte, "_", "overlay-gen"))
            else:
                orphaned.append(Edit(spec.node.start_byte, spec.node.start_byte, "_ ", "overlay-gen"))
    return orphaned
