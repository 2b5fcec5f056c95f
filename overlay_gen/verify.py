"""Stage 8, verify: prove that every written file is still Go, with the toolchain's ``gofmt -e``.

tree-sitter-go lags the language, so the Go toolchain has the last word: one
``gofmt -e -l`` process checks all the files stage 7 wrote at once, and each
file it rejects is reported with gofmt's first message for it. Verdicts are
cached by the file's content and the Go release, so only new content is
checked.

Whose fault is a file that is not Go? A rewritten file gofmt rejects, and a
file tree-sitter could not parse around a join point, are checked as they are
on disk too: when the original is not valid Go either, the syntax error is the
user's, and the run fails naming their file, line and column
(:class:`.errors.SourceError`) rather than blaming the rewrite or newer syntax.
"""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .cache import Cache, Key
from .errors import GoEnvironmentError, SourceError

if TYPE_CHECKING:
    from .cache import Store
    from .emit import Written
    from .places import Layout


def rejected_files(
    layout: Layout, written: Sequence[Written], cache: Cache, unparsable: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The written files (by shadow path) gofmt rejects, each with its first error.
    ``unparsable`` holds the files (display name -> path) tree-sitter could not
    parse where a join point matched. Raises :class:`SourceError` when one of
    those, or the original of a rejected file, is not valid Go as it is."""
    from .cache import Memo

    staging = layout.staging
    verdicts = Memo(cache, "gofmt", str(layout.root))
    gofmt, release = layout.env.gofmt, layout.env.goversion
    try:
        bad = rejected(gofmt, [staging / w.shadow for w in written], verdicts, release)
        originals = dict(unparsable or {})
        originals.update((w.display, w.original) for w in written if staging / w.shadow in bad and w.original)
        theirs = rejected(gofmt, [Path(p) for p in originals.values()], verdicts, release)
    finally:
        verdicts.save()
    for display, path in sorted(originals.items()):
        if Path(path) in theirs:
            hint = "a syntax error in the file itself, not overlay-gen's"
            raise SourceError(f"{display}:{theirs[Path(path)]}", hint=hint)
    return {w.shadow: bad[staging / w.shadow] for w in written if staging / w.shadow in bad}


def rejected(gofmt: str, files: Sequence[Path], cache: Store | None = None, go_version: str = "") -> dict[Path, str]:
    """Files gofmt cannot parse, each with its first error (``line:col: message``)."""
    cache = cache or Cache(None)
    keys = {f: Key("gofmt").add(gofmt, go_version, hashlib.sha256(f.read_bytes()).digest()) for f in files}
    verdicts = {f: cache.get(key) for f, key in keys.items()}
    unknown = [f for f, verdict in verdicts.items() if not isinstance(verdict, str)]
    found = _run(gofmt, unknown)
    for f in unknown:
        cache.put(keys[f], found.get(f, ""))
    return {f: verdict for f, verdict in verdicts.items() if isinstance(verdict, str) and verdict} | found


def _run(gofmt: str, files: Sequence[Path]) -> dict[Path, str]:
    if not files:
        return {}
    try:
        proc = subprocess.run([gofmt, "-e", "-l", *map(str, files)], capture_output=True, text=True, check=False)
    except OSError as exc:
        raise GoEnvironmentError(f"{gofmt}: {exc.strerror}") from exc
    if proc.returncode == 0:
        return {}
    found: dict[Path, str] = {}
    by_name = {str(f): f for f in files}
    for line in proc.stderr.splitlines():
        for name, path in by_name.items():
            if line.startswith(name + ":") and path not in found:
                found[path] = line[len(name) + 1 :].strip()
    if not found:
        raise GoEnvironmentError(f"gofmt -e failed: {proc.stderr.strip().splitlines()[:1]}")
    return found
