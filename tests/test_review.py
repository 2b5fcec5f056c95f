"""Reviewable and reproducible builds: diff, explain, lock, check, and determinism."""

from __future__ import annotations

import json
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from conftest import copy_fixture, go, overlay_gen, tree_digest


@pytest.fixture
def hello(tmp_path: Path, go_env: dict[str, str]) -> Path:
    root = copy_fixture("hello", tmp_path / "a")
    go(root, "mod", "download", env=go_env)
    return root


def _ok(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    proc = overlay_gen(root, *args, env=env)
    assert proc.returncode == 0, proc.stderr
    return proc


def _original_tree(root: Path, env: dict[str, str], dest: Path) -> Path:
    """The files the overlay starts from, laid out under the names diff uses."""
    shutil.copytree(root, dest, ignore=shutil.ignore_patterns(".overlay-gen*", "overlay.json"))
    goroot = Path(go(root, "env", "GOROOT", env=env).stdout.strip())
    std = dest / "$GOROOT" / "src" / "text" / "tabwriter"
    std.mkdir(parents=True)
    shutil.copyfile(goroot / "src/text/tabwriter/tabwriter.go", std / "tabwriter.go")
    shutil.copytree(Path(env["GOMODCACHE"]) / "example.com/greeting@v1.0.0", dest / "example.com/greeting@v1.0.0")
    return dest


@pytest.mark.parametrize("tool", ["patch", "git"])
def test_diff_applies_to_the_original_tree_and_gives_the_overlay(
    hello: Path, go_env: dict[str, str], tmp_path: Path, tool: str
) -> None:
    patch = _ok(hello, go_env, "diff").stdout
    assert not (hello / "overlay.json").exists() and not (hello / ".overlay-gen").exists()  # diff writes nothing
    names = [line[len("+++ b/") :] for line in patch.splitlines() if line.startswith("+++ ")]
    assert names == sorted(names)
    assert names == [
        "$GOROOT/src/text/tabwriter/tabwriter.go",
        "example.com/greeting@v1.0.0/greeting.go",
        "go.mod",
        "main.go",
        "og.overlay-gen.build-info.go",
    ]
    assert "--- /dev/null\n+++ b/og.overlay-gen.build-info.go" in patch

    tree = _original_tree(hello, go_env, tmp_path / "tree")
    (tmp_path / "overlay.patch").write_text(patch)
    if tool == "patch":
        command = ["patch", "-p1", "--batch", "--forward", "-i", str(tmp_path / "overlay.patch")]
    else:
        command = ["git", "apply", "-p1", "--unsafe-paths", "--verbose", str(tmp_path / "overlay.patch")]
    applied = subprocess.run(command, cwd=tree, capture_output=True, text=True)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "rej" not in applied.stdout

    _ok(hello, go_env, ".")
    shadow = hello / ".overlay-gen"
    expected = {
        "$GOROOT/src/text/tabwriter/tabwriter.go": shadow / "goroot/src/text/tabwriter/tabwriter.go",
        "example.com/greeting@v1.0.0/greeting.go": shadow / "mod/example.com/greeting@v1.0.0/greeting.go",
        "go.mod": shadow / "go.mod",
        "main.go": shadow / "main/main.go",
        "og.overlay-gen.build-info.go": shadow / "main/og.overlay-gen.build-info.go",
    }
    for name, generated in expected.items():
        assert (tree / name).read_bytes() == generated.read_bytes(), name


def test_diff_is_stable_and_stat_sums_it_up(hello: Path, go_env: dict[str, str]) -> None:
    first = _ok(hello, go_env, "diff").stdout
    assert _ok(hello, go_env, "diff").stdout == first
    stat = _ok(hello, go_env, "diff", "--stat").stdout.splitlines()
    assert stat[0].split() == ["$GOROOT/src/text/tabwriter/tabwriter.go", "|", "+3", "-0"]
    assert stat[-1] == " 5 files changed, 27 insertions(+), 2 deletions(-)"
    assert sum(1 for line in first.splitlines() if line.startswith("+") and not line.startswith("+++")) == 27


def test_explain_says_where_each_aspect_applied_or_why_not(tmp_path: Path, go_env: dict[str, str]) -> None:
    (tmp_path / "go.mod").write_text("module example.com/explain\n\ngo 1.26\n")
    (tmp_path / "main.go").write_text(
        "package main\n\nfunc Fresh() *int64 {\n\treturn new(int64(-64))\n}\n\n"
        "func Plain() int {\n\treturn 1\n}\n\nfunc main() { _, _ = Fresh(), Plain() }\n"
    )
    (tmp_path / "a.toml").write_text(
        '[[aspect]]\nid = "t.funcs"\ndoc = "Fresh and Plain."\n'
        'join-point = { all-of = [ { package = "example.com/explain" }, '
        '{ function-declaration = { name = "[FP]*" } } ] }\n'
        '[[aspect.advice]]\nprepend-statements = { template = "println(\\"{{function.name}}\\")" }\n\n'
        '[[aspect]]\nid = "t.none"\njoin-point = { function-declaration = { name = "Nowhere" } }\n'
        '[[aspect.advice]]\nprepend-statements = { template = "println()" }\n'
    )
    out = _ok(tmp_path, go_env, "explain", "--no-builtin", "--aspects", "a.toml").stdout
    assert out.splitlines() == [
        "t.funcs  (a.toml): Fresh and Plain.",
        "    skipped  main.go:3 Fresh: tree-sitter-go cannot parse this code (newer Go syntax?), "
        "so it is left as it is",
        "    applied  main.go:7 Plain",
        "t.none  (a.toml)",
        "    matched nothing",
    ]
    assert not (tmp_path / "overlay.json").exists()


def _lock(root: Path, env: dict[str, str]) -> dict[str, object]:
    _ok(root, env, "lock")
    return tomllib.loads((root / "overlay-gen.lock").read_text())


def test_lock_records_what_decides_the_overlay(hello: Path, go_env: dict[str, str]) -> None:
    locked = _lock(hello, go_env)
    go_version = go(hello, "env", "GOVERSION", env=go_env).stdout.strip()
    assert locked["go"] == go_version and locked["goos"] and locked["goarch"]
    assert locked["flags"] == [] and locked["tests"] is False
    assert str(locked["aspects"]).startswith("sha256:")
    assert locked["integrations"] == ["build-info"]  # hello switches the runtime, and all built on it, off
    files = {f["path"]: f for f in locked["file"]}  # type: ignore[attr-defined]
    assert sorted(files) == [
        "$GOROOT/src/text/tabwriter/tabwriter.go",
        "example.com/greeting@v1.0.0/greeting.go",
        "go.mod",
        "main.go",
        "og.overlay-gen.build-info.go",
    ]
    assert "input" not in files["og.overlay-gen.build-info.go"]
    assert all(str(f["output"]).startswith("sha256:") for f in files.values())
    assert str(hello) not in (hello / "overlay-gen.lock").read_text()


def _check(root: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return overlay_gen(root, "check", env=env)


def test_check_passes_then_catches_every_kind_of_change(hello: Path, go_env: dict[str, str]) -> None:
    _lock(hello, go_env)
    assert _check(hello, go_env).returncode == 0  # no shadow directory yet: the digests alone
    _ok(hello, go_env, ".")
    ok = _check(hello, go_env)
    assert ok.returncode == 0 and "5 files match overlay-gen.lock" in ok.stderr

    shadow_main = hello / ".overlay-gen" / "main" / "main.go"
    shadow_main.write_text(shadow_main.read_text() + "// edited by hand\n")
    tampered = _check(hello, go_env)
    assert tampered.returncode == 6
    assert "overlay-gen check: main.go: the shadow file .overlay-gen/main/main.go was changed\n" in tampered.stderr
    assert tampered.stderr.endswith("overlay-gen: 1 differences from overlay-gen.lock\n")

    _ok(hello, go_env, ".")
    (hello / "main.go").write_text((hello / "main.go").read_text().replace("2, 3", "3, 4"))
    edited = _check(hello, go_env)
    assert edited.returncode == 6
    assert "main.go: the original differs from the lock" in edited.stderr
    assert "main.go: the generated file differs from the lock" in edited.stderr

    _lock(hello, go_env)
    (hello / "aspects.toml").write_text((hello / "aspects.toml").read_text().replace("leave", "exit"))
    assert "aspects: the lock has 'sha256:" in _check(hello, go_env).stderr


def test_check_uses_the_locked_flags(hello: Path, go_env: dict[str, str]) -> None:
    (hello / "calc" / "extra.go").write_text("//go:build special\n\npackage calc\n\nfunc explode() {}\n")
    _ok(hello, go_env, "lock", "--", "-tags=special")
    locked = tomllib.loads((hello / "overlay-gen.lock").read_text())
    assert locked["flags"] == ["-tags=special"]
    assert "calc/extra.go" in {f["path"] for f in locked["file"]}
    assert _check(hello, go_env).returncode == 0
    refused = overlay_gen(hello, "check", "--", "-tags=other", env=go_env)
    assert refused.returncode == 2 and "check takes its build flags from the lock" in refused.stderr


def test_two_clones_give_identical_shadows_and_locks(tmp_path: Path, go_env: dict[str, str]) -> None:
    clones = [copy_fixture("hello", tmp_path / name) for name in ("one", "two")]
    for clone in clones:
        _ok(clone, go_env, ".")
        _ok(clone, go_env, "lock")
    one, two = (tree_digest(c / ".overlay-gen") for c in clones)
    # overlay.json, which the overlay path links to, holds absolute paths: the clones differ there by their root.
    overlays = [
        d.pop("overlay.json").decode().replace(str(c), "$ROOT") for d, c in zip([one, two], clones, strict=True)
    ]
    assert overlays[0] == overlays[1]
    assert one == two
    assert (clones[0] / "overlay-gen.lock").read_bytes() == (clones[1] / "overlay-gen.lock").read_bytes()


def test_generation_needs_no_network_once_modules_are_cached(hello: Path, go_env: dict[str, str]) -> None:
    _ok(hello, {**go_env, "GOPROXY": "off"}, ".")
    assert json.loads((hello / "overlay.json").read_text())["Replace"]


@pytest.mark.gobuild
def test_clones_build_byte_identical_binaries_from_a_shared_cache(tmp_path: Path, go_env: dict[str, str]) -> None:
    env = {**go_env, "GOCACHE": str(tmp_path / "gocache")}
    clones = [copy_fixture("hello", tmp_path / name) for name in ("one", "two")]
    builds = []
    for clone in clones:
        _ok(clone, env, ".")
        builds.append(go(clone, "build", "-x", "-trimpath", "-overlay=overlay.json", "-o", "app", ".", env=env))
    compiles = [line for line in builds[1].stderr.splitlines() if "/compile " in line or line.startswith("compile ")]
    assert [line for line in builds[0].stderr.splitlines() if "/compile " in line]  # the first one did compile
    assert compiles == []  # the second checkout compiled nothing
    assert (clones[0] / "app").read_bytes() == (clones[1] / "app").read_bytes()
