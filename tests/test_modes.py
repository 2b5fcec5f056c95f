"""The ways the go command builds: go.work workspaces, vendor/, PGO, -cover, and
main packages that ``./...`` skips (overlay_gen/modes.py).

Each case builds as a user would: generation, then the stock ``go build
-overlay`` in the same mode, then the program, whose injected code must be
what runs. The workspace cases unset the suite's ``GOWORK=off``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import FIXTURES, copy_fixture, go, overlay_gen

from overlay_gen import gocmd, modes

MODES = Path(__file__).parent / "modes"


def _copy(name: str, dest: Path) -> Path:
    target = dest / name
    shutil.copytree(MODES / name, target)
    return target


def _with_otel(module: Path, path: str, env: dict[str, str]) -> None:
    """Give ``module`` fixtures/spans' pinned go.mod, go.sum and tools file, as
    ``overlay-gen pin`` would have, under the module path ``path``."""
    for name in ("go.mod", "go.sum", "overlay-gen.tools.go"):
        shutil.copy(FIXTURES / "spans" / name, module / name)
    go(module, "mod", "edit", f"-module={path}", env=env)


def _replace(root: Path) -> dict[str, str]:
    replace: dict[str, str] = json.loads((root / "overlay.json").read_text())["Replace"]
    return replace


def _span_names(stdout: str) -> list[str]:
    """The names of the spans OTEL_TRACES_EXPORTER=console printed (one JSON object a line)."""
    return [json.loads(line)["Name"] for line in stdout.splitlines() if line.startswith('{"Name"')]


def _run(binary: Path, env: dict[str, str], *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in env.items() if not k.startswith("OTEL_")}
    return subprocess.run(
        [str(binary), *args], capture_output=True, text=True, env={**clean, **extra}, timeout=60, check=False
    )


# --- workspaces ---------------------------------------------------------------------


@pytest.fixture
def work_env(go_env: dict[str, str]) -> Iterator[dict[str, str]]:
    """The suite's environment in workspace mode: GOWORK unset, the go command finds go.work."""
    env = {k: v for k, v in go_env.items() if k != "GOWORK"}
    old = os.environ.pop("GOWORK", None)
    yield env
    if old is not None:
        os.environ["GOWORK"] = old


@pytest.fixture
def workspace(tmp_path: Path, work_env: dict[str, str]) -> Path:
    """tests/modes/workspace: app (pinned, like fixtures/spans) and the
    workspace's own copy of example.com/greeting, which the module proxy
    serves too (without the //dd:span directive the workspace copy has)."""
    root = _copy("workspace", tmp_path)
    _with_otel(root / "app", "example.com/wsapp", work_env)
    go(root / "app", "mod", "edit", "-require=example.com/greeting@v1.0.0", env=work_env)
    sums = [line for line in (FIXTURES / "hello" / "go.sum").read_text().splitlines() if "greeting" in line]
    with (root / "app" / "go.sum").open("a") as f:
        f.write("\n".join(sums) + "\n")
    return root


def test_workspace_is_generated_as_a_whole_from_any_of_its_modules(workspace: Path, work_env: dict[str, str]) -> None:
    proc = overlay_gen(workspace / "app", ".", env=work_env)
    assert proc.returncode == 0, proc.stderr  # was: exit 4, "go.work workspaces are not supported yet"
    replace = _replace(workspace)  # the workspace's: next to go.work
    shadow = workspace / ".overlay-gen"
    # A workspace module is a main module: its files are overlaid in place.
    hello = str(workspace / "greeting" / "greeting.go")
    assert replace[hello] == str(shadow / "main" / "greeting" / "greeting.go")
    assert "spans.Start" in Path(replace[hello]).read_text()
    # go.work is read through the overlay: it uses the integration modules.
    assert replace[str(workspace / "go.work")] == str(shadow / "go.work")
    go_work = (shadow / "go.work").read_text()
    assert "./.overlay-gen/integrations/runtime" in go_work and "./app" in go_work
    assert str(workspace / "app" / "go.mod") not in replace
    # No integration module requires another: the go command would look v0.0.0 up.
    span_go_mod = (shadow / "integrations" / "span" / "go.mod").read_text()
    assert "overlay-gen.invalid/otelrt" not in span_go_mod and span_go_mod.startswith("module overlay-gen.invalid/")
    first = (workspace / "overlay.json").read_bytes()
    for directory in (workspace, workspace / "greeting"):
        again = overlay_gen(directory, ".", env=work_env)
        assert again.returncode == 0, again.stderr
        assert (workspace / "overlay.json").read_bytes() == first
    assert not (workspace / "app" / "overlay.json").exists()


@pytest.mark.gobuild
def test_workspace_build_links_the_instrumented_workspace_copy(workspace: Path, work_env: dict[str, str]) -> None:
    proc = overlay_gen(workspace / "app", ".", env=work_env)
    assert proc.returncode == 0, proc.stderr
    # Built in workspace mode from a module's directory and from the workspace's.
    go(workspace / "app", "build", "-overlay=../overlay.json", "-o", "app", ".", env=work_env)
    go(workspace, "build", "-overlay=overlay.json", "-o", "app2", "./app", env=work_env)
    for binary in (workspace / "app" / "app", workspace / "app2"):
        run = _run(binary, work_env, OTEL_TRACES_EXPORTER="console")
        assert run.returncode == 0, run.stderr
        assert run.stdout.startswith("hello from the workspace, workspace\n")  # the workspace's copy
        assert _span_names(run.stdout) == ["Hello"]  # ... instrumented
    assert not (workspace / "go.work.sum").exists()


@pytest.mark.gobuild
def test_workspace_module_copies_are_replaced_in_go_work(tmp_path: Path, work_env: dict[str, str]) -> None:
    """fixtures/hello as the module of a workspace: its module-cache dependency
    gets a module copy, replaced by the overlaid go.work."""
    root = tmp_path / "ws"
    root.mkdir()
    hello = copy_fixture("hello", root)
    for name in ("overlay-gen.toml", "aspects.toml"):  # a workspace's configuration is at its root
        (hello / name).rename(root / name)
    (root / "go.work").write_text("go 1.26.0\n\nuse ./hello\n")
    proc = overlay_gen(hello, ".", env=work_env)
    assert proc.returncode == 0, proc.stderr
    go_work = (root / ".overlay-gen" / "go.work").read_text()
    assert "example.com/greeting v1.0.0 => ./.overlay-gen/mod/example.com/greeting@v1.0.0" in go_work
    go(hello, "build", "-overlay=../overlay.json", "-o", "app", ".", env=work_env)
    run = _run(hello / "app", work_env)
    assert '[overlay-gen] enter example.com/greeting.Hello("overlay-gen")' in run.stderr
    assert "[overlay-gen] enter text/tabwriter.Writer.Init" in run.stderr


@pytest.mark.gobuild
def test_workspace_vendor_directory_is_overlaid_in_place(tmp_path: Path, work_env: dict[str, str]) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    hello = copy_fixture("hello", root)
    for name in ("overlay-gen.toml", "aspects.toml"):
        (hello / name).rename(root / name)
    (root / "go.work").write_text("go 1.26.0\n\nuse ./hello\n")
    go(root, "work", "vendor", env=work_env)
    proc = overlay_gen(hello, ".", env=work_env)
    assert proc.returncode == 0, proc.stderr
    replace = _replace(root)
    assert str(root / "vendor" / "example.com" / "greeting" / "greeting.go") in replace
    assert str(root / "go.work") not in replace  # nothing to replace: vendor/ is read from disk
    go(hello, "build", "-overlay=../overlay.json", "-o", "app", ".", env=work_env)
    assert '[overlay-gen] enter example.com/greeting.Hello("overlay-gen")' in _run(hello / "app", work_env).stderr


def test_workspace_vendor_directory_with_integration_modules_is_refused(
    workspace: Path, work_env: dict[str, str]
) -> None:
    go(workspace, "work", "vendor", env=work_env)
    proc = overlay_gen(workspace / "app", ".", env=work_env)
    assert proc.returncode == 4
    assert proc.stderr == (
        f"overlay-gen: {workspace / 'go.work'}: the integrations' Go modules cannot be added to a workspace's "
        "vendor directory (go work vendor) yet (build with -mod=readonly)\n"
    )
    assert not (workspace / "overlay.json").exists()


def test_workspace_uses_are_scanned() -> None:
    text = 'go 1.26\n\nuse ./a // the app\nuse (\n\t./b\n\t"./c d"\n)\n'
    assert modes.scan_uses(text) == ["./a", "./b", "./c d"]


# --- vendoring ----------------------------------------------------------------------


@pytest.fixture
def unpinned_vendored(tmp_path: Path, go_env: dict[str, str]) -> Path:
    """fixtures/spans before pin, with a dependency (example.com/greeting) vendored."""
    root = copy_fixture("spans", tmp_path)
    shutil.rmtree(root / "manual")
    (root / "overlay-gen.tools.go").unlink()
    # go 1.26.0, not go 1.26 (the language version, older than the 1.26.0 release): the runtime's
    # OpenTelemetry v1.47 needs go 1.26.0, and pin never raises the go directive.
    (root / "go.mod").write_text("module example.com/spans\n\ngo 1.26.0\n\nrequire example.com/greeting v1.0.0\n")
    sums = [line for line in (FIXTURES / "hello" / "go.sum").read_text().splitlines() if "greeting" in line]
    (root / "go.sum").write_text("\n".join(sums) + "\n")
    (root / "greet.go").write_text('package main\n\nimport "example.com/greeting"\n\nvar _ = greeting.Hello\n')
    go(root, "mod", "vendor", env=go_env)
    return root


@pytest.mark.gobuild
def test_vendored_module_after_pin_builds_with_the_runtime_and_a_stale_vendor_is_named(
    unpinned_vendored: Path, go_env: dict[str, str], tmp_path: Path
) -> None:
    root = unpinned_vendored
    before = tmp_path / "vendor-before-pin"
    shutil.copytree(root / "vendor", before)
    pinned = overlay_gen(root, "pin", env=go_env)
    assert pinned.returncode == 0, pinned.stderr
    # pin ran go mod vendor: generation works at once.
    proc = overlay_gen(root, ".", env=go_env)
    assert proc.returncode == 0, proc.stderr

    # A vendor/ older than go.mod: the go command's every detail line, and the one command.
    shutil.rmtree(root / "vendor")
    shutil.copytree(before, root / "vendor")
    stale = overlay_gen(root, ".", env=go_env)
    assert stale.returncode == 4
    assert stale.stderr.count("\n") == 1
    assert "inconsistent vendoring" in stale.stderr
    assert "go.opentelemetry.io/otel/sdk@v" in stale.stderr and "is explicitly required in go.mod" in stale.stderr
    assert "google.golang.org/protobuf@" in stale.stderr  # the last of them: nothing cut off
    assert stale.stderr.rstrip().endswith("(run 'go mod vendor' to bring vendor/ in line)")

    go(root, "mod", "vendor", env=go_env)
    proc = overlay_gen(root, ".", env=go_env)
    assert proc.returncode == 0, proc.stderr
    replace = _replace(root)
    assert str(root / "go.mod") not in replace  # vendor/modules.txt is read from disk: no go.mod is overlaid
    assert str(root / "_overlay-gen" / "otelrt" / "otelrt.go") in replace
    main = Path(replace[str(root / "main.go")]).read_text()
    assert '_og_otelrt "example.com/spans/_overlay-gen/otelrt"' in main.splitlines()[2]
    # -mod=vendor is the default with vendor/ and go 1.14 or later; said here too.
    go(root, "build", "-mod=vendor", "-overlay=overlay.json", "-o", "app", ".", env=go_env)
    run = _run(root / "app", go_env, OTEL_TRACES_EXPORTER="console")
    assert run.returncode == 0, run.stderr
    assert {"checkout", "audit", "charge"} <= set(_span_names(run.stdout))
    go(root, "build", "-mod=vendor", "-o", os.devnull, ".", env=go_env)  # the plain build still works


def test_vendor_mode_is_what_the_go_command_would_choose(tmp_path: Path) -> None:
    from overlay_gen.model import GoEnv

    env = GoEnv("", "", "go1.26", "linux", "amd64", str(tmp_path / "go.mod"), "", "", "1", "gofmt")
    assert not modes.vendor_mode(env, (), {"Go": "1.22"}, tmp_path)
    (tmp_path / "vendor").mkdir()
    assert modes.vendor_mode(env, (), {"Go": "1.22"}, tmp_path)
    assert not modes.vendor_mode(env, (), {"Go": "1.13"}, tmp_path)
    assert not modes.vendor_mode(env, ("-mod=mod",), {"Go": "1.22"}, tmp_path)
    assert not modes.vendor_mode(env, ("-mod", "readonly"), {"Go": "1.22"}, tmp_path)
    flagged = GoEnv("", "", "go1.26", "linux", "amd64", str(tmp_path / "go.mod"), "", "-mod=readonly", "1", "gofmt")
    assert not modes.vendor_mode(flagged, (), {"Go": "1.22"}, tmp_path)
    assert modes.vendor_mode(flagged, ("-mod=vendor",), {"Go": "1.22"}, tmp_path)


def test_go_failure_keeps_every_detail_line_on_one_line() -> None:
    stderr = (
        "go: inconsistent vendoring in /m:\n"
        "\tgo.opentelemetry.io/otel@v1.47.0: is explicitly required in go.mod, but not marked as explicit in "
        "vendor/modules.txt\n"
        "\tgo.opentelemetry.io/otel/sdk@v1.47.0: is explicitly required in go.mod, but not marked as explicit in "
        "vendor/modules.txt\n"
        "\n"
        "\tTo ignore the vendor directory, use -mod=readonly or -mod=mod.\n"
        "\tTo sync the vendor directory, run:\n"
        "\t\tgo mod vendor\n"
    )
    message, hint = gocmd.failure(stderr)
    assert message == (
        "go: inconsistent vendoring in /m: go.opentelemetry.io/otel@v1.47.0: is explicitly required in go.mod, "
        "but not marked as explicit in vendor/modules.txt; go.opentelemetry.io/otel/sdk@v1.47.0: is explicitly "
        "required in go.mod, but not marked as explicit in vendor/modules.txt"
    )
    assert hint == "run 'go mod vendor' to bring vendor/ in line"
    assert gocmd.failure("go: no such tool\n") == ("go: no such tool", None)


# --- PGO ----------------------------------------------------------------------------


@pytest.mark.gobuild
def test_main_package_with_default_pgo_builds_with_its_profile(tmp_path: Path, go_env: dict[str, str]) -> None:
    """tests/modes/pgo/default.pgo is a CPU profile of that program (PGO_PROFILE=default.pgo)."""
    root = _copy("pgo", tmp_path)
    _with_otel(root, "example.com/pgo", go_env)
    proc = overlay_gen(root, ".", env=go_env)
    assert proc.returncode == 0, proc.stderr
    go(root, "build", "-overlay=overlay.json", "-o", "app", ".", env=go_env)  # -pgo=auto: the default
    info = go(root, "version", "-m", "app", env=go_env).stdout
    assert f"build\t-pgo={root / 'default.pgo'}\n" in info  # the profile was applied
    run = _run(root / "app", go_env, OTEL_TRACES_EXPORTER="console")
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("sum: 600000001\n")
    assert _span_names(run.stdout) == ["Sum"]


# --- -cover -------------------------------------------------------------------------


def test_cover_build_that_would_ignore_the_overlay_is_refused(tmp_path: Path, go_env: dict[str, str]) -> None:
    root = copy_fixture("hello", tmp_path)
    for flags in (["-cover"], ["-covermode=atomic"], ["-coverpkg=./..."]):
        proc = overlay_gen(root, ".", "--", *flags, env=go_env)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.count("\n") == 1
        assert "golang/go#73802" in proc.stderr and "the overlay changes example.com/hello" in proc.stderr
        assert not (root / "overlay.json").exists()
    env = {**go_env, "GOFLAGS": f"{go_env['GOFLAGS']} -cover"}
    assert overlay_gen(root, ".", env=env).returncode == 2
    # Packages the overlay leaves alone may be covered.
    proc = overlay_gen(root, ".", "--tests", "--", "-cover", "-coverpkg=./calc", env=go_env)
    assert proc.returncode == 0, proc.stderr
    assert overlay_gen(root, ".", "--", "-cover=false", env=go_env).returncode == 0


@pytest.mark.gobuild
def test_go_test_cover_of_packages_the_overlay_leaves_alone_works(tmp_path: Path, go_env: dict[str, str]) -> None:
    root = copy_fixture("hello", tmp_path)
    proc = overlay_gen(root, ".", "--tests", "--", "-cover", "-coverpkg=./calc", env=go_env)
    assert proc.returncode == 0, proc.stderr
    flags = ("-v", "-count=1", "-cover", "-coverpkg=./calc", "-overlay=overlay.json")
    run = go(root, "test", *flags, "./calc", env=go_env)
    assert "[overlay-gen] instrumented test TestAdd" in run.stdout  # _test.go files: cover leaves them
    assert "coverage: 100.0% of statements" in run.stdout


def test_cover_flags() -> None:
    from overlay_gen.model import GoEnv

    env = GoEnv("", "", "go1.26", "linux", "amd64", "/m/go.mod", "", "", "1", "gofmt")
    assert modes.cover_requested(env, ["-cover"])
    assert modes.cover_requested(env, ["--cover=true"])
    assert modes.cover_requested(env, ["-coverpkg", "./..."])
    assert not modes.cover_requested(env, ["-cover=false"])
    assert not modes.cover_requested(env, ["-count=1", "-race"])


# --- main packages ./... skips ------------------------------------------------------


@pytest.mark.parametrize("skipped", ["_examples", "testdata"])
def test_main_package_in_a_directory_go_list_skips_is_instrumented(
    tmp_path: Path, go_env: dict[str, str], skipped: str
) -> None:
    root = _copy("underscore", tmp_path)
    if skipped != "_examples":
        (root / "_examples").rename(root / skipped)
    app = root / skipped / "app"
    proc = overlay_gen(app, ".", env=go_env)
    assert proc.returncode == 0, proc.stderr
    added = str(app / "og.overlay-gen.build-info.go")
    assert added in _replace(root)  # was: an empty overlay, and nothing said


@pytest.mark.gobuild
def test_program_under_an_underscore_directory_runs_instrumented(tmp_path: Path, go_env: dict[str, str]) -> None:
    root = _copy("underscore", tmp_path)
    proc = overlay_gen(root / "_examples" / "app", ".", env=go_env)
    assert proc.returncode == 0, proc.stderr
    go(root, "build", "-overlay=overlay.json", "-o", "app", "./_examples/app", env=go_env)
    run = _run(root / "app", go_env, OVERLAY_GEN_INFO="1")
    assert run.stdout == "hello from _examples\n"
    assert "overlay-gen: instrumented build of example.com/underscore/_examples/app" in run.stderr


def test_skipped_directory_without_a_package_is_refused(tmp_path: Path, go_env: dict[str, str]) -> None:
    root = _copy("underscore", tmp_path)
    empty = root / "_empty"
    empty.mkdir()
    proc = overlay_gen(empty, ".", env=go_env)
    assert proc.returncode == 4
    assert proc.stderr == f"overlay-gen: {empty}: no Go package in this directory or below it\n"
    assert not (root / "overlay.json").exists()
