"""``overlay-gen go COMMAND``: the go command's arguments read as it reads them, then the real go command.

The first tests read command lines only (no go at all); those marked
``gobuild`` build, test and run fixtures/hello and small modules through
``overlay-gen go``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import copy_fixture, go, overlay_gen, overlay_gen_imports

from overlay_gen import gocommand
from overlay_gen.errors import UsageError


def _read(*argv: str, environ: dict[str, str] | None = None) -> gocommand.Invocation:
    return gocommand.parse(argv[0], argv[1:], environ or {})


@pytest.mark.parametrize(
    ("argv", "flags", "tests"),
    [
        (["build", "-o", "bin/x", "-v", "-tags=netgo", "-race", "./cmd/x"], ("-tags=netgo", "-race"), False),
        (["build", "-tags", "netgo", "--mod=vendor", "-gcflags", "all=-N", "."], ("-tags=netgo", "-mod=vendor"), False),
        (["install", "-trimpath", "-ldflags=-s -w", "-cover", "./..."], ("-cover",), False),
        # go build stops reading flags at the first package, as the go command does.
        (["build", ".", "-race"], (), False),
        # go test reads flags after its packages, and leaves the test binary's to it.
        (["test", "./...", "-run", "TestX", "-count=1", "-v", "-cover", "-args", "-race"], ("-cover",), True),
        (["test", "-coverprofile", "c.out", "./..."], ("-cover",), True),
        # An unknown flag's value may follow it: after it, go test reads no more packages or flags.
        (["test", "./...", "-myflag", "value", "-race"], (), True),
        (["vet", "-printf=false", "-tags=x", "./..."], ("-tags=x",), True),
        (["list", "-f", "{{.Dir}}", "-test", "-tags", "x", "./..."], ("-tags=x",), True),
        (["list", "-json=Dir", "-deps", "."], (), False),
    ],
    ids=[
        "build",
        "build-spaced",
        "install",
        "build-after-package",
        "test",
        "coverprofile",
        "test-unknown",
        "vet",
        "list-test",
        "list",
    ],
)
def test_graph_flags_reach_generation_and_the_others_do_not(
    argv: list[str], flags: tuple[str, ...], tests: bool
) -> None:
    call = _read(*argv)
    assert call.build_flags == flags
    assert call.tests is tests
    assert call.args == argv[1:]  # the go command gets them all, unchanged


def test_go_run_leaves_the_program_arguments_alone() -> None:
    call = _read("run", "-race", ".", "-tags=x", "-overlay", "o.json", "--", "-C", "elsewhere")
    assert call.build_flags == ("-race",)
    assert call.user_overlay is None and call.directory == Path(".")
    assert gocommand.command_line(call, "/ov.json") == [
        "go", "run", "-overlay=/ov.json", "-race", ".", "-tags=x", "-overlay", "o.json", "--", "-C", "elsewhere",
    ]  # fmt: skip
    files = _read("run", "main.go", "util.go", "-race")
    assert files.build_flags == () and files.args == ["main.go", "util.go", "-race"]


def test_the_users_overlay_is_taken_out_and_c_stays_first(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    call = _read("build", "-C", str(tmp_path / "sub"), "-overlay", "mine.json", "-modfile=alt.mod", ".")
    assert call.user_overlay == "mine.json"
    assert call.directory == tmp_path / "sub"
    assert call.build_flags == (f"-modfile={tmp_path / 'sub' / 'alt.mod'}",)  # go list runs in the module root
    assert gocommand.command_line(call, "/ov.json") == [
        "go", "build", "-C", str(tmp_path / "sub"), "-overlay=/ov.json", "-modfile=alt.mod", ".",
    ]  # fmt: skip


def test_an_overlay_in_goflags_is_merged_and_left_out_of_goflags() -> None:
    call = _read("build", ".", environ={"GOFLAGS": "-modcacherw -overlay=/tmp/mine.json -mod=mod"})
    assert call.user_overlay == "/tmp/mine.json"
    assert call.environ["GOFLAGS"] == "-modcacherw -mod=mod"
    command_line = _read("build", "-overlay=cli.json", ".", environ={"GOFLAGS": "-overlay=/tmp/mine.json"})
    assert command_line.user_overlay == "cli.json"  # the command line's wins, as in the go command


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["install", "example.com/tool@v1.2.0"], "go install example.com/tool@v1.2.0: a package at a version"),
        (["run", "example.com/tool@latest", "arg"], "go run example.com/tool@latest: a package at a version"),
        (["mod", "tidy"], "go mod: overlay-gen go runs build, install, run, test, vet and list"),
        (["build", "-C", "nowhere", "."], "go build -C nowhere: no such directory"),
    ],
    ids=["install-version", "run-version", "other-command", "no-such-C"],
)
def test_what_overlay_gen_go_refuses(argv: list[str], message: str) -> None:
    with pytest.raises(UsageError, match="^" + re.escape(message)):
        _read(*argv)


def test_overlays_merge_and_a_path_in_both_is_an_error(tmp_path: Path) -> None:
    ours = tmp_path / "overlay.json"
    ours.write_text(json.dumps({"Replace": {str(tmp_path / "main.go"): str(tmp_path / "shadow/main.go")}}))
    (tmp_path / "mine.json").write_text(json.dumps({"Replace": {"extra.go": "gen/extra.go", "gone.go": ""}}))
    call = gocommand.parse("build", ["-C", str(tmp_path), "-overlay=mine.json", "."], {})
    merged = json.loads(Path(gocommand.overlay_for(call, ours, tmp_path / "cache")).read_text())
    assert merged == {
        "Replace": {
            str(tmp_path / "extra.go"): str(tmp_path / "gen/extra.go"),
            str(tmp_path / "gone.go"): "",
            str(tmp_path / "main.go"): str(tmp_path / "shadow/main.go"),
        }
    }
    (tmp_path / "mine.json").write_text(json.dumps({"Replace": {"main.go": "mine/main.go"}}))
    with pytest.raises(UsageError, match="^" + re.escape(f"{tmp_path / 'main.go'}: in both -overlay mine.json and")):
        gocommand.overlay_for(call, ours, tmp_path / "cache")
    (tmp_path / "mine.json").write_text("{")
    with pytest.raises(UsageError, match=r"^-overlay mine\.json: not valid JSON"):
        gocommand.check_user_overlay(call)


def test_a_command_overlay_gen_go_does_not_run_is_one_line(tmp_path: Path) -> None:
    proc = overlay_gen(tmp_path, "go", "mod", "tidy")
    assert proc.returncode == 2
    assert proc.stderr == (
        "overlay-gen: go mod: overlay-gen go runs build, install, run, test, vet and list (run go mod itself)\n"
    )
    none = overlay_gen(tmp_path, "go", "-q")
    assert none.returncode == 2 and none.stderr.startswith("overlay-gen: overlay-gen go: no go command given")
    assert not list(tmp_path.iterdir())


# --- the real go command ----------------------------------------------------------------------------------------


@pytest.fixture
def hello(tmp_path: Path, go_env: dict[str, str]) -> Path:
    root = copy_fixture("hello", tmp_path)
    go(root, "mod", "download", env=go_env)
    return root


def _og(root: Path, env: dict[str, str], *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    proc = overlay_gen(root, *args, env=env)
    assert proc.returncode == code, proc.stdout + proc.stderr
    return proc


@pytest.mark.gobuild
def test_go_build_generates_and_builds_the_instrumented_program(
    hello: Path, go_env: dict[str, str], tmp_path: Path
) -> None:
    out = f"{tmp_path / 'bin'}{os.sep}"  # outside the module: a new file in it is a new input
    first = _og(hello, go_env, "go", "build", "-o", out, ".")
    assert "join points instrumented" in first.stderr  # generated: the summary line
    ran = subprocess.run([str(tmp_path / "bin" / "hello")], capture_output=True, text=True, env=go_env)
    assert "[overlay-gen] enter example.com/greeting.Hello" in ran.stderr
    assert "[overlay-gen] enter text/tabwriter.Writer.Init" in ran.stderr
    # -o, -v and -trimpath do not change what is generated: nothing changed, not a word from overlay-gen.
    again = _og(hello, go_env, "go", "build", "-o", out, ".")
    assert again.stderr == ""
    verbose = _og(hello, go_env, "go", "build", "-v", "-trimpath", "-o", out, ".")
    assert "overlay-gen" not in verbose.stderr
    assert _og(hello, go_env, "status").returncode == 0


def _program(root: Path, imports: str, body: str) -> None:
    """A main package of its own module (no OpenTelemetry runtime: nothing to pin)."""
    (root / "go.mod").write_text("module example.com/program\n\ngo 1.22\n")
    lines = "".join(f'\t"{name}"\n' for name in imports.split())
    (root / "main.go").write_text(f"package main\n\nimport (\n{lines})\n\nfunc main() {{\n{body}}}\n")
    (root / "overlay-gen.toml").write_text('disable = ["overlay-gen.runtime*"]\n')


def _start(root: Path, env: dict[str, str], *args: str, **popen: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "overlay_gen", *args],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


@pytest.mark.gobuild
def test_go_run_passes_arguments_stdin_stdout_and_is_the_go_command(tmp_path: Path, go_env: dict[str, str]) -> None:
    _program(
        tmp_path,
        "fmt io os",
        "\tin, _ := io.ReadAll(os.Stdin)\n"
        '\tfmt.Printf("args=%q stdin=%q ppid=%d\\n", os.Args[1:], in, os.Getppid())\n'
        '\tif len(os.Args) > 1 && os.Args[1] == "fail" {\n\t\tos.Exit(3)\n\t}\n',
    )
    proc = _start(tmp_path, go_env, "go", "run", ".", "-tags=x", "-v", "--", "-C", "d", stdin=subprocess.PIPE)
    out, err = proc.communicate("hello\n", timeout=300)
    assert proc.returncode == 0, err
    # go run's child: its parent is the process overlay-gen started as, which became the go command.
    assert out == f'args=["-tags=x" "-v" "--" "-C" "d"] stdin="hello\\n" ppid={proc.pid}\n'
    failed = _og(tmp_path, go_env, "go", "run", ".", "fail", code=1)  # go run's exit status for a failed program
    assert "exit status 3" in failed.stderr


@pytest.mark.gobuild
def test_go_run_is_stopped_by_ctrl_c_like_the_go_command(tmp_path: Path, go_env: dict[str, str]) -> None:
    _program(
        tmp_path,
        "fmt os os/signal",
        "\tc := make(chan os.Signal, 1)\n\tsignal.Notify(c, os.Interrupt)\n"
        '\tfmt.Println("ready")\n\t<-c\n\tfmt.Println("interrupted")\n\tos.Exit(7)\n',
    )
    # Its own process group, as a terminal's foreground job.
    proc = _start(tmp_path, go_env, "go", "run", ".", start_new_session=True)
    assert proc.stdout is not None
    assert proc.stdout.readline() == "ready\n"
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the whole group
    out, err = proc.communicate(timeout=60)
    assert out == "interrupted\n"
    assert proc.returncode == 1 and "exit status 7" in err


@pytest.mark.gobuild
def test_go_test_instruments_test_files_and_passes_failure_through(hello: Path, go_env: dict[str, str]) -> None:
    proc = _og(hello, go_env, "go", "test", "-v", "-count=1", "./calc")
    assert "[overlay-gen] instrumented test TestAdd" in proc.stdout
    assert "--- PASS: TestAdd" in proc.stdout
    (hello / "calc" / "fail_test.go").write_text(
        'package calc\n\nimport "testing"\n\nfunc TestFails(t *testing.T) { t.Fatal("no") }\n'
    )
    failed = _og(hello, go_env, "go", "test", "./calc", code=1)
    assert "--- FAIL: TestFails" in failed.stdout


@pytest.mark.gobuild
def test_go_vet_and_go_list_see_the_overlay(hello: Path, go_env: dict[str, str]) -> None:
    listed = _og(hello, go_env, "go", "list", "-f", "{{.GoFiles}}", ".")
    assert listed.stdout.strip() == "[main.go og.overlay-gen.build-info.go]"  # the file build-info adds
    _og(hello, go_env, "go", "vet", "./calc")
    (hello / "calc" / "bad.go").write_text('package calc\n\nimport "fmt"\n\nfunc Bad() { fmt.Printf("%d", "x") }\n')
    vetted = _og(hello, go_env, "go", "vet", "./calc", code=1)
    assert "Printf format %d has arg" in vetted.stderr


@pytest.mark.gobuild
def test_build_tags_reach_generation(tmp_path: Path, go_env: dict[str, str]) -> None:
    (tmp_path / "go.mod").write_text("module example.com/tags\n\ngo 1.22\n")
    (tmp_path / "main.go").write_text("package main\n\nfunc main() { special() }\n")
    (tmp_path / "plain.go").write_text("//go:build !special\n\npackage main\n\nfunc special() {}\n")
    (tmp_path / "special.go").write_text("//go:build special\n\npackage main\n\nfunc special() {}\n")
    (tmp_path / "a.toml").write_text(
        '[[aspect]]\nid = "t.special"\njoin-point = { function-declaration = { name = "special" } }\n'
        "[[aspect.advice]]\nprepend-statements = { template = 'println(\"special is instrumented\")' }\n"
    )
    base = ("go", "--no-builtin", "--aspects", "a.toml", "run")
    assert _og(tmp_path, go_env, *base, "-tags=special", ".").stderr.endswith("special is instrumented\n")
    replace = json.loads((tmp_path / "overlay.json").read_text())["Replace"]
    assert str(tmp_path / "special.go") in replace and str(tmp_path / "plain.go") not in replace
    _og(tmp_path, go_env, *base, ".")
    replace = json.loads((tmp_path / "overlay.json").read_text())["Replace"]
    assert str(tmp_path / "plain.go") in replace and str(tmp_path / "special.go") not in replace


@pytest.mark.gobuild
def test_the_users_overlay_is_merged(hello: Path, go_env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "extra.go").write_text('package main\n\nfunc init() { println("from the user\'s overlay") }\n')
    (tmp_path / "mine.json").write_text(json.dumps({"Replace": {"extra.go": str(tmp_path / "extra.go")}}))
    proc = _og(hello, go_env, "go", "run", f"-overlay={tmp_path / 'mine.json'}", ".")
    assert "from the user's overlay" in proc.stderr
    assert "[overlay-gen] enter example.com/greeting.Hello" in proc.stderr
    (tmp_path / "mine.json").write_text(json.dumps({"Replace": {"main.go": str(tmp_path / "extra.go")}}))
    conflict = _og(hello, go_env, "go", "build", f"-overlay={tmp_path / 'mine.json'}", ".", code=2)
    assert conflict.stderr.count("\n") == 1
    assert conflict.stderr.startswith(f"overlay-gen: {hello / 'main.go'}: in both -overlay ")


@pytest.mark.gobuild
def test_nothing_changed_runs_no_stage_before_go_build(hello: Path, go_env: dict[str, str], tmp_path: Path) -> None:
    """With nothing changed, overlay-gen go build answers from its record and
    becomes the go command: no stage of the pipeline is imported (what that
    costs in time, scripts/bench's go command row measures)."""
    out = f"{tmp_path / 'bin'}{os.sep}"
    _og(hello, go_env, "go", "build", "-o", out, ".")
    proc, imported = overlay_gen_imports(hello, "go", "build", "-o", out, ".", env=go_env)
    assert proc.returncode == 0, proc.stderr
    assert "overlay_gen.gocommand" in imported  # the list is read right
    assert not imported & {"overlay_gen.pipeline", "overlay_gen.resolve", "overlay_gen.instrument", "overlay_gen.emit"}
    (hello / "main.go").write_text((hello / "main.go").read_text() + "\nvar _ = 1\n")
    _, imported = overlay_gen_imports(hello, "go", "build", "-o", out, ".", env=go_env)
    assert "overlay_gen.pipeline" in imported
