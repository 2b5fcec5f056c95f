"""What a run of overlay-gen is asked to do, and what it reports."""

from __future__ import annotations

from pathlib import Path

import attrs

SHADOW_DIR = ".overlay-gen"


@attrs.frozen
class Options:
    directory: Path
    overlay: Path | None = None  # default: overlay.json in the module root
    shadow: Path | None = None  # default: .overlay-gen in the module root
    build_flags: tuple[str, ...] = ()
    tests: bool = False
    strict: bool = False
    aspect_files: tuple[Path, ...] = ()
    builtin: bool = True


@attrs.frozen
class Summary:
    """What a generation did, as the command line reports it."""

    overlay: Path
    aspects: int
    applied: int  # join points instrumented
    rewritten: int
    added: int
    module_copies: int
    skipped: tuple[str, ...]  # join points left alone, and why (but the quiet ones)
    left_out: tuple[str, ...]  # rewritten files gofmt rejected
    candidates: int  # files that may match
    parsed: int  # of which parsed in this run (the others' results came from the cache)
    reused: bool = False  # nothing changed: the output on disk was already this run's
