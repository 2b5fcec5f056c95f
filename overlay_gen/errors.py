"""The one way errors reach the user.

Every error overlay-gen expects is an :class:`OverlayGenError`. Its message
starts with its context (a file, an aspect id, a TOML key path), may end with a
hint in parentheses, and fits on one line. The CLI prints it as
``overlay-gen: <message>`` and exits with the class's ``exit_code``; anything
else is a bug and gets a traceback and exit code 1.

Exit codes (also in README.md):

====  =====================================================================
0     success
1     internal error (a bug in overlay-gen: please report it)
2     usage error (bad command-line arguments)
3     configuration error (overlay-gen.toml, an aspect file)
4     Go environment error (no go on PATH, not a module, go list failed, a
      Go file of the build that is not valid Go as it is, a directory
      overlay-gen writes to that cannot be written, pin found no release
      that fits the module)
5     rewrite error (conflicting edits, or a rewritten file that is not Go
      with --strict)
6     check found differences from overlay-gen.lock, or status found the
      overlay out of date
====  =====================================================================
"""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Iterator


class OverlayGenError(Exception):
    """Base class of every error overlay-gen reports to its user."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} ({self.hint})"
        return self.message


class UsageError(OverlayGenError):
    """The command line does not make sense."""

    exit_code = 2


class ConfigError(OverlayGenError):
    """An aspect file or overlay-gen.toml is malformed.

    ``where`` is the file, ``aspect`` the aspect id when known and ``key`` the
    TOML key path, e.g. ``advice[0].prepend-statements.template``.
    """

    exit_code = 3

    def __init__(
        self,
        where: str,
        message: str,
        *,
        aspect: str | None = None,
        key: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.where = where
        self.aspect = aspect
        self.key = key
        context = where
        if aspect:
            context += f": aspect {aspect!r}"
        if key:
            context += f": {key}"
        super().__init__(f"{context}: {message}", hint=hint)


class GoEnvironmentError(OverlayGenError):
    """The Go toolchain is missing, the directory is no module, go list failed."""

    exit_code = 4


class SourceError(GoEnvironmentError):
    """A Go file of the build is not valid Go before any rewriting: the user's
    own syntax error (go build fails on it too), never overlay-gen's."""


class RewriteError(OverlayGenError):
    """Edits conflict, or (with --strict) a rewritten file is not valid Go."""

    exit_code = 5


class WriteError(GoEnvironmentError):
    """A file or directory overlay-gen writes cannot be written: a read-only
    module directory, a full disk. The message names the path."""


_NOT_WRITABLE = (errno.EACCES, errno.EPERM, errno.EROFS)


@contextlib.contextmanager
def writing(what: object, hint: str | None = None) -> Iterator[None]:
    """Report an OSError raised inside as a :class:`WriteError` naming the path
    it failed on (else ``what``), on one line: for every place overlay-gen
    writes. ``hint`` is given when the path is not writable (permissions, a
    read-only file system)."""
    try:
        yield
    except OSError as exc:
        path = exc.filename if exc.filename is not None else what
        given = hint if exc.errno in _NOT_WRITABLE else None
        raise WriteError(f"{path}: cannot write: {exc.strerror or exc}", hint=given) from None
