"""Which fixtures the build rows measure, and how: ``bench.toml``.

A fixture of the build rows is a directory directly under ``fixtures/`` with a
``go.mod`` and either a ``bench.toml`` or a hand-instrumented twin in
``manual/`` (a nested module, with its own ``go.mod``). Its ``bench.toml``,
all keys optional:

    [manual]
    dir = "manual"                 # the hand-instrumented twin, a nested module
    same-as-plain = false          # true: the program has no OpenTelemetry; the plain build is the twin

    [edit]
    file = "main.go"               # the file "one line changed" edits, for the plain and overlay builds
    manual-file = "manual/main.go" # the same code in the twin

Without ``[edit]``, the file edited is the first Go file of the fixture's
first main package, and in the twin the file at the same path under the
twin's directory if there is one, else the first Go file of the twin's first
main package. The edit appends one declaration, ``var overlayGenBenchEdit =
"bench edit N"``, with a new N every repeat (docs/bench.md).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from .common import FIXTURES, CommandFailed

# The runtime row's and the scheduler row's fixtures are never build rows;
# neither is a fixture with no twin and no bench.toml (goroutines).
NOT_BUILD_ROWS = frozenset({"httpbench", "gobench"})
EDIT_NAME = "overlayGenBenchEdit"


@dataclass(frozen=True)
class FixtureSpec:
    name: str
    path: Path
    manual_dir: str | None  # relative to the fixture; None: the plain build is the twin
    edit_file: str | None  # relative to the fixture; None: found with go list
    manual_edit_file: str | None  # relative to the fixture

    @property
    def same_as_plain(self) -> bool:
        return self.manual_dir is None


def fixture_names() -> list[str]:
    """The fixtures of the build rows, sorted."""
    return sorted(
        p.name
        for p in FIXTURES.iterdir()
        if p.is_dir()
        and (p / "go.mod").is_file()
        and p.name not in NOT_BUILD_ROWS
        and ((p / "bench.toml").is_file() or (p / "manual" / "go.mod").is_file())
    )


def load(name: str) -> FixtureSpec:
    path = FIXTURES / name
    config: dict[str, object] = {}
    toml = path / "bench.toml"
    if toml.is_file():
        try:
            config = tomllib.loads(toml.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise CommandFailed(f"{toml}: {exc}") from exc
    manual = _table(config, "manual", toml)
    edit = _table(config, "edit", toml)
    same = manual.get("same-as-plain", False)
    manual_dir = None if same is True else _string(manual, "dir", toml) or "manual"
    if manual_dir is not None and not (path / manual_dir / "go.mod").is_file():
        raise CommandFailed(f"{toml}: fixture {name} has no hand-instrumented twin: no {manual_dir}/go.mod")
    edit_file = _string(edit, "file", toml)
    manual_edit = _string(edit, "manual-file", toml)
    for rel in (edit_file, manual_edit):
        if rel is not None and not (path / rel).is_file():
            raise CommandFailed(f"{toml}: [edit] names {rel}, which fixture {name} does not have")
    return FixtureSpec(name, path, manual_dir, edit_file, manual_edit)


def _table(config: dict[str, object], key: str, toml: Path) -> dict[str, object]:
    value = config.get(key, {})
    if not isinstance(value, dict):
        raise CommandFailed(f"{toml}: [{key}] must be a table")
    return value


def _string(table: dict[str, object], key: str, toml: Path) -> str | None:
    value = table.get(key)
    if value is not None and not isinstance(value, str):
        raise CommandFailed(f"{toml}: {key} must be a string")
    return value


def edit_line(serial: int) -> str:
    """The declaration the "one line changed" edit appends: a package-level
    variable holding a new string, so the package's object file changes (Go
    compiles the package again) and the binary is linked again."""
    return f'var {EDIT_NAME} = "bench edit {serial}"\n'


def apply_edit(file: Path, serial: int) -> None:
    """Append the edit's declaration or, when an earlier edit of this run
    appended it, give it a new string: one line changed either way."""
    text = file.read_text()
    if not text.endswith("\n"):
        text += "\n"
    lines = text.splitlines(keepends=True)
    if lines[-1].startswith(f"var {EDIT_NAME} = "):
        lines[-1] = edit_line(serial)
    else:
        lines.append(edit_line(serial))
    file.write_text("".join(lines))
