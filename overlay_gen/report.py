"""What a run did, join point by join point: the material of the summary and ``explain``."""

from __future__ import annotations

import attrs


@attrs.frozen
class Event:
    """An aspect matched (``reason`` empty) or was skipped at ``file:line``."""

    aspect: str
    file: str
    line: int
    function: str = ""
    reason: str = ""
    # A skip nobody needs to act on (advice that would import a package into one
    # of its own dependencies): in explain, not on the command line.
    quiet: bool = False

    @property
    def skipped(self) -> bool:
        return bool(self.reason)

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
        if self.skipped:
            return f"{where}: aspect {self.aspect!r} skipped: {self.reason}"
        return f"{where}: aspect {self.aspect!r} applied" + (f" in {self.function}" if self.function else "")
