"""What the user got wrong is reported as theirs: one line, their file and line, a documented exit code.

Generation only (go list and gofmt): the fast tier.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import copy_fixture, overlay_gen

TRACE_WORK = """
[[aspect]]
id = "t.work"
join-point = { all-of = [ { package = "example.com/u/..." }, { function-declaration = { name = "work" } } ] }
[[aspect.advice]]
prepend-statements = { template = 'println("work")' }
"""


@pytest.fixture
def module(tmp_path: Path, go_env: dict[str, str]) -> Path:
    (tmp_path / "go.mod").write_text("module example.com/u\n\ngo 1.22\n")
    (tmp_path / "main.go").write_text("package main\n\nfunc main() { work() }\n")
    (tmp_path / "work.go").write_text("package main\n\nfunc work() {}\n")
    (tmp_path / "a.toml").write_text(TRACE_WORK)
    return tmp_path


def _one_line(proc, code: int) -> str:  # type: ignore[no-untyped-def]
    assert proc.returncode == code, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.startswith("overlay-gen: ")
    return str(proc.stderr.removeprefix("overlay-gen: ").strip())


THEIRS = "(a syntax error in the file itself, not overlay-gen's)"


@pytest.mark.parametrize(
    ("source", "where"),
    [
        # The join point's own function cannot be parsed: it was reported as newer Go syntax.
        ("package main\n\nfunc work() {\n\tx := \n}\n", "work.go:5:1: expected operand"),
        # The function parses, the error is elsewhere: the rewrite was blamed ("not valid Go").
        ("package main\n\nfunc work() {}\n\nfunc other() {\n\tif {\n\t}\n}\n", "work.go:6:5: missing condition"),
    ],
    ids=["in-the-join-point", "elsewhere-in-the-file"],
)
def test_syntax_error_in_the_users_file_is_reported_as_theirs(module: Path, source: str, where: str) -> None:
    (module / "work.go").write_text(source)
    message = _one_line(overlay_gen(module, ".", "--no-builtin", "--aspects", "a.toml"), 4)
    assert message.startswith(where), message
    assert message.endswith(THEIRS)
    assert "rewritten" not in message and "newer Go syntax" not in message
    assert not (module / "overlay.json").exists() and not (module / ".overlay-gen").exists()


def test_syntax_error_is_reported_in_a_subdirectory_by_its_module_path(module: Path) -> None:
    (module / "lib").mkdir()
    (module / "lib" / "lib.go").write_text("package lib\n\nfunc work() {\n\treturn (\n}\n")
    (module / "main.go").write_text('package main\n\nimport _ "example.com/u/lib"\n\nfunc main() { work() }\n')
    message = _one_line(overlay_gen(module, ".", "--no-builtin", "--aspects", "a.toml"), 4)
    assert message.startswith("lib/lib.go:5:1: "), message


def _read_only(directory: Path) -> list[str]:
    """A command prefix under which ``directory`` cannot be written: its mode
    for an ordinary user; for root (whom modes do not stop) a read-only bind
    mount in a mount namespace of its own (util-linux's unshare, on every
    machine the tests run on)."""
    if os.geteuid() != 0:
        directory.chmod(0o555)
        return []
    unshare = shutil.which("unshare")
    script = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'
    prefix = [unshare or "unshare", "-m", "sh", "-c", script, str(directory)]
    probe = subprocess.run([*prefix, "touch", str(directory / "probe")], capture_output=True, text=True)
    assert unshare is not None and "Read-only file system" in probe.stderr, (
        f"cannot make a directory read-only for root: {probe.stderr.strip()}"
    )
    return prefix


def test_read_only_module_directory_is_one_line_naming_the_path(module: Path, go_env: dict[str, str]) -> None:
    prefix = _read_only(module)
    try:
        command = [*prefix, sys.executable, "-m", "overlay_gen", ".", "--no-builtin", "--aspects", "a.toml"]
        proc = subprocess.run(command, cwd=module, env=go_env, capture_output=True, text=True)
        message = _one_line(proc, 4)
        assert message.startswith(f"{module}/.overlay-gen"), message
        assert ": cannot write: " in message and "-o and --shadow-dir put them elsewhere" in message
        assert sorted(p.name for p in module.iterdir()) == ["a.toml", "go.mod", "main.go", "work.go"]
        # Elsewhere, the same module generates.
        out = module.parent / "out"
        command += ["-o", str(out / "overlay.json"), "--shadow-dir", str(out / "shadow")]
        proc = subprocess.run(command, cwd=module, env=go_env, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        assert json.loads((out / "overlay.json").read_text())["Replace"]
    finally:
        module.chmod(0o755)


@pytest.mark.gobuild
def test_pin_in_a_read_only_module_directory_is_one_line_naming_it(tmp_path: Path, go_env: dict[str, str]) -> None:
    root = copy_fixture("hello", tmp_path)
    (root / "overlay-gen.tools.go").unlink(missing_ok=True)
    before = {p.name: p.read_bytes() for p in root.iterdir() if p.is_file()}
    prefix = _read_only(root)
    try:
        command = [*prefix, sys.executable, "-m", "overlay_gen", "pin"]
        message = _one_line(subprocess.run(command, cwd=root, env=go_env, capture_output=True, text=True), 4)
        assert message.startswith(f"{root}/"), message
        assert ": cannot write: " in message and "pin edits go.mod, go.sum and overlay-gen.tools.go" in message
    finally:
        root.chmod(0o755)
    assert {p.name: p.read_bytes() for p in root.iterdir() if p.is_file()} == before
