"""End to end on the bundled fixture: generate, build with the stock toolchain, run.

fixtures/hello's aspects instrument a function of the main module, one of a
module dependency (example.com/greeting, from the module cache through a
module copy) and one of the standard library (text/tabwriter).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from conftest import FIXTURES, copy_fixture, go, overlay_gen, tree_digest


@pytest.fixture
def hello(tmp_path: Path, go_env: dict[str, str]) -> Path:
    root = copy_fixture("hello", tmp_path)
    go(root, "mod", "download", env=go_env)
    return root


def _generate(root: Path, env: dict[str, str], *args: str) -> dict[str, str]:
    proc = overlay_gen(root, ".", *args, env=env)
    assert proc.returncode == 0, proc.stderr
    return json.loads((root / "overlay.json").read_text())["Replace"]


def test_overlay_covers_main_module_dependency_and_stdlib(hello: Path, go_env: dict[str, str]) -> None:
    replace = _generate(hello, go_env)
    goroot = go(hello, "env", "GOROOT", env=go_env).stdout.strip()
    shadow = hello / ".overlay-gen"
    copy = shadow / "mod" / "example.com" / "greeting@v1.0.0"
    assert replace[str(hello / "main.go")] == str(shadow / "main" / "main.go")
    assert replace[f"{goroot}/src/text/tabwriter/tabwriter.go"] == str(
        shadow / "goroot/src/text/tabwriter/tabwriter.go"
    )
    # The dependency: a module copy made of overlay entries, and a replace in an overlaid go.mod.
    assert replace[str(hello / "go.mod")] == str(shadow / "go.mod")
    assert (
        "replace example.com/greeting v1.0.0 => ./.overlay-gen/mod/example.com/greeting@v1.0.0"
        in (shadow / "go.mod").read_text()
    )
    assert (copy / "greeting.go").read_text().count("[overlay-gen] enter") == 1
    assert replace[str(copy / "go.mod")].endswith("example.com/greeting/@v/v1.0.0.mod")
    # Nothing under GOMODCACHE is a key: the go command would refuse the overlay.
    modcache = go_env["GOMODCACHE"]
    assert not [k for k in replace if k.startswith(modcache)]
    # Untouched files are not copied: the shadow holds only rewritten and added files, and the overlay.
    shadow_files = sorted(str(p.relative_to(shadow)) for p in shadow.rglob("*") if p.is_file())
    assert shadow_files == [
        ".gitignore",
        "go.mod",
        "goroot/src/text/tabwriter/tabwriter.go",
        "main/main.go",
        "main/og.overlay-gen.build-info.go",
        "mod/example.com/greeting@v1.0.0/greeting.go",
        "overlay.json",
    ]


@pytest.mark.gobuild
def test_built_program_runs_injected_code_in_all_three_places(hello: Path, go_env: dict[str, str]) -> None:
    _generate(hello, go_env)
    go(hello, "build", "-overlay=overlay.json", "-o", "app", ".", env=go_env)
    run = subprocess.run([str(hello / "app")], capture_output=True, text=True, env={**go_env, "OVERLAY_GEN_INFO": "1"})
    assert run.returncode == 0, run.stderr
    assert "hello, overlay-gen" in run.stdout  # behaviour unchanged
    assert '[overlay-gen] enter example.com/greeting.Hello("overlay-gen")' in run.stderr  # module dependency
    assert "[overlay-gen] enter text/tabwriter.Writer.Init" in run.stderr  # standard library
    assert "overlay-gen: instrumented build of example.com/hello" in run.stderr  # built-in aspect

    plain = hello / "plain"
    go(hello, "build", "-o", str(plain), ".", env=go_env)
    untouched = subprocess.run([str(plain)], capture_output=True, text=True, env={**go_env, "OVERLAY_GEN_INFO": "1"})
    assert untouched.stdout == run.stdout and untouched.stderr == ""


@pytest.mark.gobuild
@pytest.mark.parametrize(
    ("trimpath", "shadow_outside"),
    [(False, False), (True, False), (True, True)],
    ids=["plain", "trimpath", "trimpath-outside"],
)
def test_panic_in_instrumented_function_reports_original_line(
    hello: Path, go_env: dict[str, str], trimpath: bool, shadow_outside: bool
) -> None:
    args = ["--shadow-dir", str(hello.parent / "shadow")] if shadow_outside else []
    _generate(hello, go_env, *args)
    flags = ["-trimpath"] if trimpath else []
    go(hello, "build", *flags, "-overlay=overlay.json", "-o", "app", ".", env=go_env)
    run = subprocess.run([str(hello / "app"), "panic"], capture_output=True, text=True, env=go_env)
    assert run.returncode != 0
    assert '[overlay-gen] enter example.com/hello.explode("panic")' in run.stderr  # the injected code ran
    assert "[overlay-gen] leave explode" in run.stderr
    source = (hello / "main.go").read_text().splitlines()
    panic_line = next(i for i, line in enumerate(source, 1) if "panic(message)" in line)
    call_line = next(i for i, line in enumerate(source, 1) if "explode(os.Args[1])" in line)
    if trimpath and not shadow_outside:
        # cmd/go's -trimpath rewrites the package directory before the overlay
        # mapping, so a package at the module root shows its shadow's name
        # (docs/overlay.md); the line numbers stay the original ones.
        where = "example.com/hello/.overlay-gen/main/main.go"
    else:
        where = "example.com/hello/main.go" if trimpath else str(hello / "main.go")
    assert f"\t{where}:{panic_line} " in run.stderr, run.stderr
    assert f"\t{where}:{call_line} " in run.stderr, run.stderr


@pytest.mark.gobuild
def test_go_test_runs_instrumented_test_files(hello: Path, go_env: dict[str, str]) -> None:
    replace = _generate(hello, go_env, "--tests")
    assert str(hello / "calc" / "calc_test.go") in replace
    proc = go(hello, "test", "-v", "-count=1", "-overlay=overlay.json", "./calc", env=go_env)
    assert "[overlay-gen] instrumented test TestAdd" in proc.stdout
    assert "--- PASS: TestAdd" in proc.stdout


@pytest.mark.gobuild
def test_vendored_dependency_is_overlaid_in_place(hello: Path, go_env: dict[str, str]) -> None:
    go(hello, "mod", "vendor", env=go_env)
    replace = _generate(hello, go_env)
    vendored = str(hello / "vendor" / "example.com" / "greeting" / "greeting.go")
    assert replace[vendored] == str(hello / ".overlay-gen" / "main" / "vendor/example.com/greeting/greeting.go")
    assert str(hello / "go.mod") not in replace  # no module copy, no replace
    go(hello, "build", "-overlay=overlay.json", "-o", "app", ".", env=go_env)
    run = subprocess.run([str(hello / "app")], capture_output=True, text=True, env=go_env)
    assert "[overlay-gen] enter example.com/greeting.Hello" in run.stderr


def test_user_files_and_module_cache_are_never_modified(hello: Path, go_env: dict[str, str]) -> None:
    module_dir = Path(go_env["GOMODCACHE"]) / "example.com" / "greeting@v1.0.0"
    before, cache_before = tree_digest(hello), tree_digest(module_dir)
    _generate(hello, go_env, "--tests")
    after = {k: v for k, v in tree_digest(hello).items() if not k.startswith(".overlay-gen") and k != "overlay.json"}
    assert after == before
    assert tree_digest(module_dir) == cache_before


_CONFIG = (FIXTURES / "hello" / "overlay-gen.toml").read_text()


def _outputs(root: Path) -> dict[str, bytes]:
    return {"overlay.json": (root / "overlay.json").read_bytes(), **tree_digest(root / ".overlay-gen")}


@pytest.mark.parametrize(
    ("breakage", "exit_code", "message"),
    [
        ("aspect", 3, "bad.toml: not valid TOML"),
        (
            "go-list",
            4,
            "go list: example.com/nowhere: no required module provides package example.com/nowhere; to add it: go get",
        ),
        ("strict", 5, "the rewritten file is not valid Go"),
    ],
)
def test_failing_run_leaves_previous_output_intact(
    hello: Path, go_env: dict[str, str], breakage: str, exit_code: int, message: str
) -> None:
    _generate(hello, go_env)
    previous = _outputs(hello)
    args = ["."]
    if breakage == "aspect":
        (hello / "bad.toml").write_text("[[aspect]\n")
        (hello / "overlay-gen.toml").write_text(_CONFIG.replace('"aspects.toml"', '"aspects.toml", "bad.toml"'))
    elif breakage == "go-list":
        (hello / "broken").mkdir()
        (hello / "broken" / "b.go").write_text('package broken\n\nimport _ "example.com/nowhere"\n')
    else:
        (hello / "bad.toml").write_text(_BROKEN_RENDER)
        (hello / "overlay-gen.toml").write_text(_CONFIG.replace('"aspects.toml"', '"aspects.toml", "bad.toml"'))
        (hello / "main.go").write_text(
            (hello / "main.go").read_text().replace("func main", "//demo:count 1 +\nfunc main")
        )
        args.append("--strict")
    proc = overlay_gen(hello, *args, env=go_env)
    assert proc.returncode == exit_code, proc.stderr
    assert message in proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert _outputs(hello) == previous
    assert not list(hello.glob(".overlay-gen.*")) and not list(hello.glob("overlay.json.*"))


# A template that parses with placeholders standing in, but whose rendered
# code is not Go: the directive's arguments are pasted into an expression.
_BROKEN_RENDER = """
[[aspect]]
id = "demo.count"
join-point = { directive = "demo:count" }
[[aspect.advice]]
prepend-statements = { template = "println({{directive.args}})" }
"""


def test_rewritten_file_that_is_not_go_is_left_out_with_a_warning(hello: Path, go_env: dict[str, str]) -> None:
    (hello / "bad.toml").write_text(_BROKEN_RENDER)
    (hello / "overlay-gen.toml").write_text(_CONFIG.replace('"aspects.toml"', '"aspects.toml", "bad.toml"'))
    (hello / "calc" / "calc.go").write_text(
        (hello / "calc" / "calc.go").read_text().replace("// Add adds.", "// Add adds.\n//demo:count 1 +")
    )
    proc = overlay_gen(hello, ".", env=go_env)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"warning: calc/calc\.go:\d+:\d+: .*left out, the rewritten file is not valid Go", proc.stderr)
    replace = json.loads((hello / "overlay.json").read_text())["Replace"]
    assert str(hello / "calc" / "calc.go") not in replace
    assert str(hello / "main.go") in replace  # the rest of the overlay is still there


def test_node_tree_sitter_cannot_parse_is_skipped_and_reported(tmp_path: Path, go_env: dict[str, str]) -> None:
    (tmp_path / "go.mod").write_text("module example.com/newsyntax\n\ngo 1.26\n")
    (tmp_path / "main.go").write_text(
        "package main\n\nfunc Fresh() *int {\n\treturn new(int64(-64) + 0)\n}\n\n"
        "func Plain() int {\n\treturn 1\n}\n\nfunc main() { _, _ = Fresh(), Plain() }\n"
    )
    (tmp_path / "a.toml").write_text(
        '[[aspect]]\nid = "t.all"\njoin-point = { function-declaration = { name = "[FP]*" } }\n'
        '[[aspect.advice]]\nprepend-statements = { template = "println(\\"{{function.name}}\\")" }\n'
    )
    proc = overlay_gen(tmp_path, ".", "--no-builtin", "--aspects", "a.toml", env=go_env)
    assert proc.returncode == 0, proc.stderr
    assert "main.go:3: aspect 't.all' skipped: tree-sitter-go cannot parse this code" in proc.stderr
    shadow = (tmp_path / ".overlay-gen" / "main" / "main.go").read_text()
    assert 'println("Plain")' in shadow and 'println("Fresh")' not in shadow


def test_generation_is_deterministic_across_runs_and_clones(tmp_path: Path, go_env: dict[str, str]) -> None:
    first = copy_fixture("hello", tmp_path / "a")
    second = copy_fixture("hello", tmp_path / "b")
    _generate(first, go_env)
    once = _outputs(first)
    _generate(first, go_env)
    assert _outputs(first) == once
    _generate(second, go_env)
    other = _outputs(second)
    assert {k: v for k, v in other.items() if k != "overlay.json"} == {
        k: v for k, v in once.items() if k != "overlay.json"
    }
    assert other["overlay.json"].replace(bytes(second), bytes(first)) == once["overlay.json"]
    assert list(json.loads(once["overlay.json"])["Replace"]) == sorted(json.loads(once["overlay.json"])["Replace"])
    for path, content in once.items():
        assert bytes(tmp_path) not in content or path == "overlay.json", f"{path} holds a machine path"


def test_builtin_aspect_can_be_switched_off(hello: Path, go_env: dict[str, str]) -> None:
    (hello / "overlay-gen.toml").write_text(
        _CONFIG.replace('"overlay-gen.runtime*"', '"overlay-gen.runtime*", "overlay-gen.build-*"')
    )
    replace = _generate(hello, go_env)
    assert not [k for k in replace if "build-info" in k]
    (hello / "overlay-gen.toml").write_text('disable = ["overlay-gen.runtime*", "overlay-gen.bild-info"]\n')
    proc = overlay_gen(hello, ".", env=go_env)
    assert proc.returncode == 3
    assert proc.stderr.strip() == (
        "overlay-gen: overlay-gen.toml: disable[1]: 'overlay-gen.bild-info' matches no aspect "
        "(did you mean 'overlay-gen.build-info'?)"
    )


def test_go_flags_after_double_dash_reach_go_list(tmp_path: Path, go_env: dict[str, str]) -> None:
    (tmp_path / "go.mod").write_text("module example.com/tags\n\ngo 1.22\n")
    (tmp_path / "main.go").write_text("package main\n\nfunc main() {}\n")
    (tmp_path / "extra.go").write_text("//go:build special\n\npackage main\n\nfunc Special() {}\n")
    (tmp_path / "a.toml").write_text(
        '[[aspect]]\nid = "t.special"\njoin-point = { function-declaration = { name = "Special" } }\n'
        '[[aspect.advice]]\nprepend-statements = { template = "println()" }\n'
    )
    base = ["--no-builtin", "--aspects", "a.toml"]
    assert overlay_gen(tmp_path, ".", *base, env=go_env).returncode == 0
    assert str(tmp_path / "extra.go") not in json.loads((tmp_path / "overlay.json").read_text())["Replace"]
    assert overlay_gen(tmp_path, ".", *base, "--", "-tags=special", env=go_env).returncode == 0
    assert str(tmp_path / "extra.go") in json.loads((tmp_path / "overlay.json").read_text())["Replace"]


def test_overlay_path_option_relative_to_the_working_directory(hello: Path, go_env: dict[str, str]) -> None:
    proc = overlay_gen(hello, ".", "-o", "build/ov.json", env=go_env)
    assert proc.returncode == 0, proc.stderr
    replace = json.loads((hello / "build" / "ov.json").read_text())["Replace"]
    assert str(hello / "main.go") in replace and all(os.path.isabs(k) for k in replace)
    assert not (hello / "overlay.json").exists()
