"""The command line's contract: one line on stderr, a documented exit code, no traceback."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import overlay_gen

ASPECT = """
[[aspect]]
id = "t.enter"
join-point = { all-of = [ { package = "example.com/cli" }, { function-declaration = { name = "main" } } ] }
[[aspect.advice]]
prepend-statements = { template = 'println("enter")' }
"""


@pytest.fixture
def module(tmp_path: Path, go_env: dict[str, str]) -> Path:
    (tmp_path / "go.mod").write_text("module example.com/cli\n\ngo 1.22\n")
    (tmp_path / "main.go").write_text("package main\n\nfunc main() {}\n")
    (tmp_path / "overlay-gen.toml").write_text('disable = ["overlay-gen.runtime*"]\n')  # no modules to pin
    return tmp_path


def _fails(proc, code: int, message: str) -> None:  # type: ignore[no-untyped-def]
    assert proc.returncode == code, proc.stderr
    assert proc.stderr == f"overlay-gen: {message}\n"
    assert not proc.stdout


def test_not_a_go_module(tmp_path: Path, go_env: dict[str, str]) -> None:
    proc = overlay_gen(tmp_path, ".", env={**go_env, "GO111MODULE": "on"})
    _fails(proc, 4, f"{tmp_path}: not inside a Go module (run overlay-gen in a directory with a go.mod)")
    assert not (tmp_path / "overlay.json").exists()


def test_no_go_on_path(module: Path, go_env: dict[str, str]) -> None:
    python_dir = os.path.dirname(shutil.which("python3") or "/usr/bin/python3")
    proc = overlay_gen(module, ".", env={**go_env, "PATH": python_dir})
    assert shutil.which("go", path=python_dir) is None
    _fails(proc, 4, "go: not found on PATH (install Go 1.26 or newer, or put it on PATH)")


def test_usage_error(module: Path) -> None:
    proc = overlay_gen(module, ".", "--no-such-flag")
    _fails(proc, 2, "unrecognized arguments: --no-such-flag (see overlay-gen --help)")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[aspect]\n", "a.toml: not valid TOML: "),
        (
            ASPECT.replace("join-point", "joinpoint"),
            "a.toml: aspect 't.enter': joinpoint: unknown key (did you mean 'join-point'?)",
        ),
        (
            ASPECT.replace("function-declaration", "function-declration"),
            "a.toml: aspect 't.enter': join-point.all-of[1].function-declration: unknown join point "
            "(did you mean 'function-declaration'?)",
        ),
        (
            ASPECT.replace('name = "main"', "name = 3"),
            "a.toml: aspect 't.enter': join-point.all-of[1].function-declaration.name: "
            "expected a string, found an integer",
        ),
        (
            ASPECT.replace("prepend-statements", "prepend-statement"),
            "a.toml: aspect 't.enter': advice[0].prepend-statement: unknown advice "
            "(did you mean 'prepend-statements'?)",
        ),
        (
            ASPECT.replace('println("enter")', 'println("{{function.nam}}")'),
            "a.toml: aspect 't.enter': advice[0].prepend-statements.template: unknown placeholder "
            "{{function.nam}} (did you mean 'function.name'?)",
        ),
        (
            ASPECT.replace('println("enter")', "println(("),
            "a.toml: aspect 't.enter': advice[0].prepend-statements.template: not valid Go statements "
            "(line 1 of the template)",
        ),
    ],
    ids=["toml", "aspect-key", "join-point-kind", "type", "advice-kind", "placeholder", "template-syntax"],
)
def test_malformed_aspect_file(module: Path, text: str, message: str) -> None:
    (module / "a.toml").write_text(text)
    proc = overlay_gen(module, ".", "--aspects", "a.toml")
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr.startswith(f"overlay-gen: {message}")
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert not (module / "overlay.json").exists() and not (module / ".overlay-gen").exists()


def test_malformed_config_file(module: Path) -> None:
    (module / "overlay-gen.toml").write_text('aspect = ["x.toml"]\n')
    _fails(overlay_gen(module, "."), 3, "overlay-gen.toml: aspect: unknown key (did you mean 'aspects'?)")


def test_missing_aspect_file_named_in_config(module: Path) -> None:
    (module / "overlay-gen.toml").write_text('aspects = ["nowhere.toml"]\n')
    _fails(
        overlay_gen(module, "."),
        3,
        "overlay-gen.toml: aspects[0]: nowhere.toml: no such file (aspect files are named relative to the module root)",
    )


def test_duplicate_aspect_id(module: Path) -> None:
    (module / "a.toml").write_text(ASPECT)
    (module / "b.toml").write_text(ASPECT)
    (module / "overlay-gen.toml").write_text('aspects = ["a.toml", "b.toml"]\n')
    _fails(overlay_gen(module, "."), 3, "b.toml: aspect id 't.enter' is already used in a.toml")


def test_success_prints_a_summary_and_the_subcommand_is_optional(module: Path) -> None:
    (module / "a.toml").write_text(ASPECT)
    for args in ([".", "--aspects", "a.toml"], ["generate", ".", "--aspects", "a.toml"]):
        proc = overlay_gen(module, *args)
        assert proc.returncode == 0, proc.stderr
        assert "2 join points instrumented" in proc.stderr  # main, and the built-in aspect's package
        assert f"wrote {module / 'overlay.json'}" in proc.stderr
    quiet = overlay_gen(module, ".", "-q", "--aspects", "a.toml")
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_version(module: Path) -> None:
    proc = overlay_gen(module, "--version")
    assert proc.returncode == 0 and proc.stdout.startswith("overlay-gen 0.")


def test_import_cycle_skips_are_in_explain_not_on_the_command_line(tmp_path: Path) -> None:
    (tmp_path / "go.mod").write_text("module example.com/c\n\ngo 1.22\n")
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "lib.go").write_text("package lib\n\nfunc Lib() {}\n")
    (tmp_path / "obs").mkdir()
    (tmp_path / "obs" / "obs.go").write_text('package obs\n\nimport "example.com/c/lib"\n\nfunc Seen() { lib.Lib() }\n')
    (tmp_path / "main.go").write_text('package main\n\nimport "example.com/c/obs"\n\nfunc main() { obs.Seen() }\n')
    (tmp_path / "a.toml").write_text(
        '[[aspect]]\nid = "c.cycle"\n'
        'join-point = { all-of = [ { package = "example.com/c/lib" }, { function-declaration = { name = "Lib" } } ] }\n'
        '[[aspect.advice]]\nprepend-statements = { imports = { obs = "example.com/c/obs" }, template = "obs.Seen()" }\n'
    )
    proc = overlay_gen(tmp_path, ".", "--no-builtin", "--aspects", "a.toml")
    assert proc.returncode == 0, proc.stderr
    assert "import cycle" not in proc.stderr and "0 join points instrumented" in proc.stderr
    explained = overlay_gen(tmp_path, "explain", ".", "--no-builtin", "--aspects", "a.toml")
    assert "importing example.com/c/obs into example.com/c/lib would make an import cycle" in explained.stdout
