"""The command line's contract: one line on stderr, a documented exit code, no traceback."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from conftest import copy_fixture, overlay_gen, overlay_gen_imports

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


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["chek"],
            "no such command or directory 'chek' (commands: go, generate, status, diff, explain, lock, check, pin)",
        ),
        (
            ["go.mod"],
            "not a command or directory 'go.mod' (commands: go, generate, status, diff, explain, lock, check, pin)",
        ),
        (["diff", "nowhere"], "no such directory: 'nowhere' (give the Go module's directory)"),
        (["generate", "go.mod"], "not a directory: 'go.mod' (give the Go module's directory)"),
        (["status", "nowhere"], "no such directory: 'nowhere' (give the Go module's directory)"),
    ],
    ids=["command", "file", "diff-directory", "generate-file", "status-directory"],
)
def test_a_mistyped_command_or_directory_is_one_line(module: Path, args: list[str], message: str) -> None:
    _fails(overlay_gen(module, *args), 2, message)
    assert not (module / "overlay.json").exists()


def _stages_loaded(module: Path, *args: str) -> list[str]:
    """The pipeline's modules a run of overlay-gen imported."""
    proc, imported = overlay_gen_imports(module, *args)
    assert "overlay_gen.uptodate" in imported, proc.stderr  # the list is read right
    return sorted(imported & {f"overlay_gen.{m}" for m in ("pipeline", "resolve", "select", "instrument", "emit")})


def test_status_says_whether_the_overlay_is_up_to_date(module: Path, go_env: dict[str, str]) -> None:
    (module / "a.toml").write_text(ASPECT)
    _fails(
        overlay_gen(module, "status"),
        6,
        "overlay.json is out of date: no generation with these options is recorded (or the cache was removed) "
        "(generate again, or build with overlay-gen go)",
    )
    assert overlay_gen(module, ".", "--aspects", "a.toml", "--", "-tags=x").returncode == 0
    proc = overlay_gen(module, "status")
    assert proc.returncode == 0, proc.stderr
    assert _stages_loaded(module, "status") == []  # answered from the record: no stage ran
    assert (
        proc.stdout
        == f"overlay-gen status: overlay.json is up to date (generated with --aspects {module / 'a.toml'} -- -tags=x)\n"
    )
    # Other options than the last generation's: their own record.
    assert overlay_gen(module, "status", "--tests").returncode == 6

    (module / "main.go").write_text("package main\n\nfunc main() { println() }\n")
    _fails(
        overlay_gen(module, "status"),
        6,
        "overlay.json is out of date: main.go changed (generate again, or build with overlay-gen go)",
    )
    assert overlay_gen(module, ".", "--aspects", "a.toml", "--", "-tags=x").returncode == 0
    assert overlay_gen(module, "status").returncode == 0
    shadow = next((module / ".overlay-gen").rglob("main.go"))
    shadow.write_text(shadow.read_text() + "\n")
    _fails(
        overlay_gen(module, "status"),
        6,
        f"overlay.json is out of date: .overlay-gen/{shadow.relative_to(module / '.overlay-gen')} was changed "
        "after generation (generate again, or build with overlay-gen go)",
    )
    assert overlay_gen(module, ".", "--aspects", "a.toml", "--", "-tags=x").returncode == 0
    (module / "new.go").write_text("package main\n")
    assert overlay_gen(module, "status").stderr.startswith(
        "overlay-gen: overlay.json is out of date: a file was added to or removed from the module root ("
    )


def test_status_names_a_changed_go_environment(module: Path, go_env: dict[str, str]) -> None:
    assert overlay_gen(module, ".").returncode == 0
    assert overlay_gen(module, "status").returncode == 0
    proc = overlay_gen(module, "status", env={**go_env, "GOFLAGS": "-tags=other"})
    _fails(
        proc,
        6,
        "overlay.json is out of date: the Go environment changed: GOFLAGS "
        "(generate again, or build with overlay-gen go)",
    )


def _original_tree(root: Path, names: list[str], env: dict[str, str], dest: Path) -> Path:
    """The originals of the files a diff names, laid out under those names."""
    goroot = Path(subprocess.run(["go", "env", "GOROOT"], env=env, capture_output=True, text=True).stdout.strip())
    for name in names:
        if name.startswith("$GOROOT/"):
            source = goroot / name.removeprefix("$GOROOT/")
        elif "@" in name.split("/")[0] or "@" in name:
            source = Path(env["GOMODCACHE"]) / name
        else:
            source = root / name
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, dest / name)
    return dest


def test_diff_and_explain_describe_the_last_generation_and_its_patch_applies(
    tmp_path: Path, go_env: dict[str, str]
) -> None:
    hello = copy_fixture("hello", tmp_path / "a")
    # A main package with a test: build-info's added file is staged for both of its variants.
    (hello / "main_test.go").write_text('package main\n\nimport "testing"\n\nfunc TestProgram(t *testing.T) {}\n')
    assert overlay_gen(hello, ".", "--tests").returncode == 0
    proc = overlay_gen(hello, "diff")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "overlay-gen diff: as the last generation in this module: --tests\n"
    patch = proc.stdout
    names = [line.removeprefix("+++ b/") for line in patch.splitlines() if line.startswith("+++ ")]
    assert "calc/calc_test.go" in names  # the test file --tests instruments
    assert len(names) == len(set(names)), names  # each file once, added ones too
    assert patch == overlay_gen(hello, "diff", "--tests").stdout
    explained = overlay_gen(hello, "explain")
    assert "applied  calc/calc_test.go:5 TestAdd" in explained.stdout
    assert overlay_gen(hello, "lock", "--tests").returncode == 0  # the lock lists each file once too
    locked = [f["path"] for f in tomllib.loads((hello / "overlay-gen.lock").read_text())["file"]]
    assert sorted(locked) == sorted(set(locked)) == sorted(names), locked

    added = {line.removeprefix("+++ b/") for line in patch.splitlines() if line.startswith("+++ ")} - {
        line.removeprefix("--- a/") for line in patch.splitlines() if line.startswith("--- a/")
    }
    tree = _original_tree(hello, [n for n in names if n not in added], go_env, tmp_path / "tree")
    (tmp_path / "overlay.patch").write_text(patch)
    applied = subprocess.run(
        ["patch", "-p1", "--batch", "--forward", "-i", str(tmp_path / "overlay.patch")],
        cwd=tree,
        capture_output=True,
        text=True,
    )
    assert applied.returncode == 0, applied.stdout + applied.stderr
    replace = json.loads((hello / "overlay.json").read_text())["Replace"]
    assert (tree / "calc/calc_test.go").read_bytes() == Path(replace[str(hello / "calc/calc_test.go")]).read_bytes()
    assert (tree / "og.overlay-gen.build-info.go").exists()

    # Given options win over the record: without --tests, no test file.
    plain = overlay_gen(hello, "diff", "--", "-tags=none")
    assert plain.stderr == "" and "calc/calc_test.go" not in plain.stdout


def test_readme_command_line_names_every_command_and_option(capsys: pytest.CaptureFixture[str]) -> None:
    from conftest import REPO

    from overlay_gen.cli import COMMANDS, main

    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Command line\n") : readme.index("\n## ", readme.index("## Command line\n") + 1)]
    for command in COMMANDS:
        assert f"`overlay-gen {command}" in section or (command == "generate" and "overlay-gen [generate]" in section)
        with pytest.raises(SystemExit):
            main([command, "--help"])
        options = capsys.readouterr().out.split("options:")[1]
        for option in sorted(set(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", options))):
            assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", section), (command, option)
