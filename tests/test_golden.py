"""Golden tests: one txtar archive per case, ``tests/golden/<kind>/<case>.txtar``.

``<kind>`` is a join point or advice key (``call``, ``wrap-expression``...).
An archive holds a prose comment, an ``aspects.toml``, a small Go module
(``go.mod`` and its files) and the expectation, one of:

* ``want/<path>`` files: the rewritten (or added) module files, exactly; every
  file of the overlay must be listed and every listed file must be in it.
  Case names start with ``match-``.
* nothing: the run succeeds and rewrites nothing. Case names start with
  ``nomatch-``.
* an ``error`` section: the one-line message of the ``OverlayGenError`` the run
  raises, with the module directory written as ``$WORK``. Case names start
  with ``error-``.

Archives are read and written as bytes, so a case whose files end their lines
with CRLF keeps them. A case whose module has a ``_test.go`` file is generated with ``tests=True``
(``--tests``).

The pipeline runs in-process. ``OVERLAY_GEN_UPDATE_GOLDEN=1`` rewrites the
expectations of the archives in place from what the run produced (review the
diff!); the case's name prefix still has to agree with the outcome.

``test_golden_builds`` (``gobuild``) checks that every expected output
compiles: ``go build -overlay`` of the module (and ``go test -run '^$'`` for
cases with tests).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import attrs
import pytest
import txtar
from conftest import go

from overlay_gen.advice import REGISTRY as ADVICE
from overlay_gen.errors import OverlayGenError
from overlay_gen.join import REGISTRY as JOIN_POINTS
from overlay_gen.options import Options
from overlay_gen.pipeline import generate

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("OVERLAY_GEN_UPDATE_GOLDEN") == "1"
WANT = "want/"
ERROR = "error"
PREFIXES = ("match-", "nomatch-", "error-")


@attrs.frozen
class Case:
    path: Path
    archive: txtar.Archive

    @classmethod
    def load(cls, path: Path) -> Case:
        archive = txtar.parse(_read(path))
        case = cls(path, archive)
        names = archive.names()
        for required in ("aspects.toml", "go.mod"):
            assert required in names, f"{case.id}: the archive has no {required}"
        assert not (case.error is not None and case.want), f"{case.id}: both an error and want/ files"
        for name in names:
            assert not Path(name).is_absolute() and ".." not in Path(name).parts, f"{case.id}: bad name {name!r}"
        return case

    @property
    def id(self) -> str:
        return self.path.relative_to(GOLDEN).with_suffix("").as_posix()

    @property
    def prefix(self) -> str:
        return _prefix(self.path)

    @property
    def module_files(self) -> list[tuple[str, str]]:
        return [(n, d) for n, d in self.archive.files if n != ERROR and not n.startswith(WANT)]

    @property
    def want(self) -> dict[str, str]:
        return dict(self.archive.under(WANT))

    @property
    def error(self) -> str | None:
        data = self.archive.get(ERROR)
        return data.strip() if data is not None else None

    @property
    def tests(self) -> bool:
        return any(name.endswith("_test.go") for name, _ in self.module_files)


@attrs.frozen
class Outcome:
    error: str | None
    files: dict[str, str]  # module-relative path -> content, for every file of the overlay


def _prefix(path: Path) -> str:
    return next((p for p in PREFIXES if path.name.startswith(p)), "")


def _cases() -> list[Path]:
    return sorted(GOLDEN.glob("*/*.txtar"))


def _ids(paths: list[Path]) -> list[str]:
    return [p.relative_to(GOLDEN).with_suffix("").as_posix() for p in paths]


def _with_want() -> list[Path]:
    return [p for p in _cases() if any(n.startswith(WANT) for n in txtar.parse(_read(p)).names())]


def _read(path: Path) -> str:
    """A file's text as it is: a case with CRLF line endings keeps them (read_text would not)."""
    return path.read_bytes().decode()


def _write_module(case: Case, root: Path) -> None:
    for name, data in case.module_files:
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data.encode())


def _in_module(path: str, roots: list[Path]) -> str:
    for root in roots:
        try:
            return Path(path).relative_to(root).as_posix()
        except ValueError:
            continue
    pytest.fail(f"the overlay replaces {path}, which is outside the module")


def run(case: Case, root: Path) -> Outcome:
    """Write ``case``'s module into ``root`` and run the pipeline there."""
    _write_module(case, root)
    roots = sorted({root, root.resolve()}, key=lambda p: -len(str(p)))
    try:
        result = generate(
            Options(directory=root, aspect_files=(root / "aspects.toml",), builtin=False, tests=case.tests)
        )
    except OverlayGenError as exc:
        message = str(exc)
        for r in roots:
            message = message.replace(str(r), "$WORK")
        return Outcome(message, {})
    for name, data in case.module_files:  # overlay-gen never writes the module's own files
        assert _read(root / name) == data, f"{name} was changed in place"
    replace = json.loads(result.overlay.read_text())["Replace"]
    files = {_in_module(build, roots): _read(Path(shadow)) for build, shadow in replace.items()}
    return Outcome(None, files)


def update(case: Case, outcome: Outcome) -> Case:
    archive = case.archive
    archive.remove(lambda n: n == ERROR or n.startswith(WANT))
    if outcome.error is not None:
        archive.put(ERROR, outcome.error + "\n")
    for name, data in sorted(outcome.files.items()):
        archive.put(WANT + name, data)
    case.path.write_bytes(txtar.format(archive).encode())
    return Case.load(case.path)


def check(case: Case, outcome: Outcome) -> None:
    if case.prefix == "error-":
        assert case.error is not None, f"{case.id}: an error- case needs an error section"
        assert outcome.error is not None, f"expected the error {case.error!r}, but the run succeeded"
        assert outcome.error == case.error
        return
    assert case.error is None, f"{case.id}: only error- cases have an error section"
    assert outcome.error is None, f"the run failed: {outcome.error}"
    if case.prefix == "nomatch-":
        assert not case.want, f"{case.id}: a nomatch- case has no want/ files"
        assert outcome.files == {}, f"expected no rewritten file, got {sorted(outcome.files)}"
        return
    assert case.prefix == "match-", f"{case.id}: case names start with one of {', '.join(PREFIXES)}"
    assert case.want, f"{case.id}: a match- case needs want/ files"
    assert sorted(outcome.files) == sorted(case.want), "the overlay holds other files than want/"
    for name, want in case.want.items():
        assert outcome.files[name] == want, f"{name} differs from want/{name}"


@pytest.mark.parametrize("path", _cases(), ids=_ids(_cases()))
def test_golden(path: Path, tmp_path: Path, go_env: dict[str, str]) -> None:
    case = Case.load(path)
    outcome = run(case, tmp_path / "m")
    if UPDATE:
        case = update(case, outcome)
    check(case, outcome)


@pytest.mark.gobuild
@pytest.mark.parametrize("path", _with_want(), ids=_ids(_with_want()))
def test_golden_builds(path: Path, tmp_path: Path, go_env: dict[str, str]) -> None:
    case = Case.load(path)
    root = tmp_path / "m"
    outcome = run(case, root)
    if not UPDATE:
        check(case, outcome)
    overlay = f"-overlay={root / 'overlay.json'}"
    go(root, "build", "-o", os.devnull, overlay, "./...", env=go_env)
    if case.tests:
        go(root, "test", "-count=1", "-run", "^$", overlay, "./...", env=go_env)


def test_every_kind_has_golden_cases() -> None:
    """Each join point and advice kind: a match-, a nomatch- and an error- case."""
    have: dict[str, set[str]] = {}
    for path in _cases():
        have.setdefault(path.parent.name, set()).add(_prefix(path))
    kinds = set(JOIN_POINTS) | set(ADVICE)
    assert set(have) <= kinds, f"golden directories that name no kind: {sorted(set(have) - kinds)}"
    missing = [f"{k}: {p}*" for k in sorted(kinds) for p in PREFIXES if p not in have.get(k, set())]
    assert not missing, f"kinds without a case: {missing}"
