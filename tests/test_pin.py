"""``overlay-gen pin``: before it the overlay cannot be made, after it everything builds."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from conftest import copy_fixture, go, overlay_gen, tree_digest

pytestmark = pytest.mark.gobuild

AUTOEXPORT = "go.opentelemetry.io/contrib/exporters/autoexport"
OTEL_API = "go.opentelemetry.io/otel"
OTEL = (
    "go.opentelemetry.io/contrib/exporters/autoexport",
    "go.opentelemetry.io/contrib/propagators/autoprop",
    "go.opentelemetry.io/otel",
    "go.opentelemetry.io/otel/sdk",
    "go.opentelemetry.io/otel/trace",
)


@pytest.fixture
def unpinned(tmp_path: Path, go_env: dict[str, str]) -> Path:
    """fixtures/spans as it was before anyone pinned it: standard library only."""
    root = copy_fixture("spans", tmp_path)
    (root / "go.mod").write_text("module example.com/spans\n\ngo 1.26\n")
    (root / "go.sum").unlink()
    (root / "overlay-gen.tools.go").unlink()
    return root


def test_generation_names_the_missing_modules_until_pin(unpinned: Path, go_env: dict[str, str]) -> None:
    go(unpinned, "build", "-o", os.devnull, ".", env=go_env)  # a plain build works
    proc = overlay_gen(unpinned, ".", env=go_env)
    assert proc.returncode == 4
    assert proc.stderr.count("\n") == 1
    assert proc.stderr.startswith("overlay-gen: go.mod lacks what the instrumentation imports: ")
    for module in OTEL:
        assert f"{module} v" in proc.stderr
    assert "(run 'overlay-gen pin'" in proc.stderr
    assert not (unpinned / "overlay.json").exists()


def test_pin_makes_the_overlay_build_and_keeps_plain_builds_working(unpinned: Path, go_env: dict[str, str]) -> None:
    proc = overlay_gen(unpinned, "pin", env=go_env)
    assert proc.returncode == 0, proc.stderr
    assert "go.mod, go.sum, overlay-gen.tools.go" in proc.stderr
    go_mod = (unpinned / "go.mod").read_text()
    for module in OTEL:
        assert f"\t{module} v" in go_mod
    tools = (unpinned / "overlay-gen.tools.go").read_text()
    assert tools.startswith("//go:build tools\n")
    assert "package main\n" in tools and '_ "go.opentelemetry.io/otel/sdk/trace"' in tools

    pinned = {name: (unpinned / name).read_bytes() for name in ("go.mod", "go.sum", "overlay-gen.tools.go")}
    again = overlay_gen(unpinned, "pin", env=go_env)
    assert again.returncode == 0 and "nothing changed" in again.stderr
    assert {name: (unpinned / name).read_bytes() for name in pinned} == pinned

    go(unpinned, "build", "-o", os.devnull, ".", env=go_env)  # plain build: the tools file is left out
    go(unpinned, "mod", "tidy", env=go_env)  # tidy keeps what the tools file imports
    for module in OTEL:
        assert f"\t{module} v" in (unpinned / "go.mod").read_text()

    proc = overlay_gen(unpinned, ".", env=go_env)
    assert proc.returncode == 0, proc.stderr
    go(unpinned, "build", "-overlay=overlay.json", "-o", os.devnull, ".", env=go_env)


def test_pin_adds_nothing_for_integrations_that_do_not_apply(unpinned: Path, go_env: dict[str, str]) -> None:
    """fixtures/spans uses net/http alone: no instrumentation package of a library it does not use."""
    proc = overlay_gen(unpinned, "pin", env=go_env)
    assert proc.returncode == 0, proc.stderr
    go_mod = (unpinned / "go.mod").read_text()
    tools = (unpinned / "overlay-gen.tools.go").read_text()
    for absent in ("redisotel", "otelgrpc", "go-redis", "gin-gonic", "labstack"):
        assert absent not in go_mod and absent not in tools, absent


def test_pin_takes_the_instrumentation_release_made_for_the_users_library(
    tmp_path: Path, go_env: dict[str, str]
) -> None:
    """A go-redis v9.9.0 program: pin adds redisotel v9.8.0 (the newest that requires no newer
    go-redis; redisotel is released with go-redis) and leaves go-redis where it was."""
    (tmp_path / "go.mod").write_text("module example.com/counter\n\ngo 1.26.0\n")
    (tmp_path / "main.go").write_text(
        'package main\n\nimport (\n\t"context"\n\n\t"github.com/redis/go-redis/v9"\n)\n\n'
        'func main() {\n\trdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})\n'
        '\t_ = rdb.Incr(context.Background(), "visits").Err()\n}\n'
    )
    go(tmp_path, "get", "github.com/redis/go-redis/v9@v9.9.0", env=go_env)
    proc = overlay_gen(tmp_path, "pin", env=go_env)
    assert proc.returncode == 0, proc.stderr
    go_mod = (tmp_path / "go.mod").read_text()
    assert "\tgithub.com/redis/go-redis/v9 v9.9.0" in go_mod
    assert "\tgithub.com/redis/go-redis/extra/redisotel/v9 v9.8.0" in go_mod
    generated = overlay_gen(tmp_path, ".", env=go_env)
    assert generated.returncode == 0, generated.stderr
    go(tmp_path, "build", "-overlay=overlay.json", "-o", os.devnull, ".", env=go_env)


# --- pin changes only what it must ------------------------------------------------

TRACED = """package main

import (
	"context"
	"fmt"
)

func main() {
	fmt.Println("total:", total(context.Background(), 3))
}

//dd:span span.name:total
func total(ctx context.Context, n int) int {
	return 2 * n
}
"""


def _module(root: Path, go_line: str, requires: dict[str, str], env: dict[str, str], program: str = TRACED) -> Path:
    """A module as its user left it: ``go_line``, ``requires`` and a complete go.sum."""
    root.mkdir(parents=True, exist_ok=True)
    lines = [f"module example.com/{root.name}", "", f"go {go_line}", ""]
    lines += [f"require {m} {v} // indirect" for m, v in sorted(requires.items())]
    (root / "go.mod").write_text("\n".join([*lines, ""]))
    (root / "main.go").write_text(program)
    go(root, "list", "-mod=mod", "-m", "all", env=env)  # fills go.sum, as the user's last go command did
    assert f"\ngo {go_line}\n" in (root / "go.mod").read_text()
    return root


def _build_list(root: Path, env: dict[str, str]) -> dict[str, str]:
    out = go(root, "list", "-m", "-f", "{{.Path}} {{.Version}}", "all", env=env).stdout
    return dict(line.split(" ", 1) for line in out.splitlines()[1:])  # the main module first, without a version


def _kept(root: Path, env: dict[str, str]) -> dict[str, str]:
    """What pin must not move: the build list's modules that go.mod requires or that provide a
    package to the build (not those in the graph only through another module's go.mod)."""
    required = {line.split()[0] for line in _requires(root)}
    listed = go(root, "list", "-deps", "-f", "{{with .Module}}{{.Path}}{{end}}", "./...", env=env).stdout
    return {m: v for m, v in _build_list(root, env).items() if m in required | set(listed.split())}


def _offline(env: dict[str, str]) -> dict[str, str]:
    return {**env, "GOPROXY": "off"}


def _go_version(line: str) -> tuple[int, ...]:
    """A go directive as the go command orders them: "1.24" (the language) is older than "1.24.0"."""
    parts = [int(x) for x in line.split(".")]
    return (*parts, -1) if len(parts) == 2 else tuple(parts)


def _releases(root: Path, module: str, env: dict[str, str], oldest: str) -> list[tuple[str, str, dict[str, str]]]:
    """The proxy's releases of ``module`` from ``oldest`` on, oldest first, each with its go
    directive and what its go.mod requires (go.opentelemetry.io/otel: its own version when it is
    otel): the facts pin chooses from, read from the proxy today rather than written down when
    the test was."""
    listed = go(root, "list", "-m", "-versions", module, env=env).stdout.split()[1:]
    versions = [v for v in listed if "-" not in v]
    versions = versions[versions.index(oldest) :]
    out = go(root, "list", "-m", "-json", *(f"{module}@{v}" for v in versions), env=env).stdout
    releases = []
    for record in json.loads("[" + out.replace("}\n{", "},{") + "]"):
        gomod = Path(record["GoMod"]).read_text()
        requires = dict(re.findall(r"^\s*(?:require\s+)?([\w./-]+) (v\S+)", gomod, re.M))
        requires.setdefault("go.opentelemetry.io/otel", record["Version"])
        releases.append((record["Version"], record["GoVersion"], requires))
    return releases


def _semver(version: str) -> tuple[int, ...]:
    return tuple(int(x) for x in version.lstrip("v").split("."))


def _contrib_for(root: Path, otel: str, env: dict[str, str]) -> str:
    """The newest autoexport release made with ``otel`` or an older otel (its go.mod's requirement)."""
    made = [
        v for v, _, needs in _releases(root, AUTOEXPORT, env, "v0.61.0") if _semver(needs[OTEL_API]) <= _semver(otel)
    ]
    return made[-1]


def _newest_fitting(root: Path, go_line: str, env: dict[str, str], oldest: str) -> str:
    """The newest otel release from ``oldest`` on whose go directive ``go_line`` allows."""
    releases = _releases(root, OTEL_API, env, oldest)
    return [v for v, g, _ in releases if _go_version(g) <= _go_version(go_line)][-1]


def _pinned_and_traced(root: Path, env: dict[str, str], go_line: str) -> dict[str, str]:
    """Pin ``root``; check that it changed nothing the module had and left it
    complete; build and run it traced. The build list after pin."""
    before = _kept(root, env)
    proc = overlay_gen(root, "pin", env=env)
    assert proc.returncode == 0, proc.stderr
    assert f"\ngo {go_line}\n" in (root / "go.mod").read_text()
    after = _build_list(root, env)
    assert {m: after.get(m) for m in before} == before  # nothing go.mod requires or the build compiles moved
    offline = _offline(env)
    go(root, "mod", "verify", env=offline)
    go(root, "build", "-o", os.devnull, ".", env=offline)  # a plain build, offline, right after pin
    generated = overlay_gen(root, ".", env=offline)
    assert generated.returncode == 0, generated.stderr
    go(root, "build", "-overlay=overlay.json", "-o", "app", ".", env=offline)
    run = subprocess.run(
        [str(root / "app")], env={**env, "OTEL_TRACES_EXPORTER": "console"}, capture_output=True, text=True, check=True
    )
    assert "total: 6" in run.stdout and '"Name":"total"' in run.stdout.replace(" ", "")
    pinned = {name: (root / name).read_bytes() for name in ("go.mod", "go.sum", "overlay-gen.tools.go")}
    again = overlay_gen(root, "pin", env=offline)  # idempotent, and needs no network
    assert again.returncode == 0 and "nothing changed" in again.stderr, again.stderr
    assert {name: (root / name).read_bytes() for name in pinned} == pinned
    return after


def test_pin_keeps_the_go_directive_and_every_module_the_build_has(tmp_path: Path, go_env: dict[str, str]) -> None:
    """go 1.24 and an old golang.org/x/net: pin takes the newest OpenTelemetry releases that
    need neither newer Go nor a newer x/net, not the newest. (x/sys, in the graph through
    x/net's go.mod only, may move: go.mod does not require it and the build compiles none of it.)"""
    root = _module(tmp_path / "old", "1.24", {"golang.org/x/net": "v0.40.0"}, go_env)
    after = _pinned_and_traced(root, go_env, "1.24")
    # otel v1.39.0 needs go 1.24.0, which "go 1.24" is older than: v1.38.0 (go 1.23.0) on the day
    # this was written, whatever the proxy's newest fitting release is now.
    assert _semver(after[OTEL_API]) <= _semver(_newest_fitting(root, "1.24", go_env, "v1.36.0"))
    assert after["golang.org/x/net"] == "v0.40.0"
    # The OpenTelemetry modules are one release set: autoexport's newest release that needs neither
    # (v0.61.0 that day: the proxy has no v0.62.0 or v0.63.0, and v0.64.0 needs go 1.24.0), and the
    # otel it was made with, not a newer otel whose sdk/log v0.14.0 breaks the stdoutlog v0.12.2 that
    # autoexport v0.61.0 requires.
    autoexport = [
        (v, needs[OTEL_API])
        for v, g, needs in _releases(root, AUTOEXPORT, go_env, "v0.61.0")
        if _go_version(g) <= _go_version("1.24") and _semver(needs.get("golang.org/x/net", "v0")) <= (0, 40, 0)
    ][-1]
    assert (after[AUTOEXPORT], after[OTEL_API]) == autoexport


def test_pin_works_with_the_oldest_opentelemetry_release_it_accepts(tmp_path: Path, go_env: dict[str, str]) -> None:
    """A module that already has otel v1.36.0 keeps it and gets the releases made with it."""
    root = _module(tmp_path / "oldest", "1.24", {"go.opentelemetry.io/otel": "v1.36.0"}, go_env)
    after = _pinned_and_traced(root, go_env, "1.24")
    for module in OTEL:
        assert after[module] in ("v1.36.0", "v0.61.0"), (module, after[module])


@pytest.mark.parametrize("requires", [{}, {"go.opentelemetry.io/otel": "v1.45.0"}], ids=["newest", "oldest"])
def test_pin_takes_the_newest_release_the_go_directive_allows(
    unpinned: Path, go_env: dict[str, str], requires: dict[str, str]
) -> None:
    """fixtures/spans (net/http: otel v1.45.0 at least) at go 1.25.0 gets the newest release made
    with go 1.25 (v1.46.0 on the day this was written, not v1.47.0: go 1.26.0); a module that has
    otel v1.45.0, the oldest net/http's integration accepts, keeps it and gets the contrib release
    made for it. Built and run."""
    main = (unpinned / "main.go").read_text()
    _module(unpinned, "1.25.0", requires, go_env, main)
    otel = requires.get("go.opentelemetry.io/otel") or _newest_fitting(unpinned, "1.25.0", go_env, "v1.45.0")
    autoexport = _contrib_for(unpinned, otel, go_env)
    before = _kept(unpinned, go_env)
    proc = overlay_gen(unpinned, "pin", env=go_env)
    assert proc.returncode == 0, proc.stderr
    assert "\ngo 1.25.0\n" in (unpinned / "go.mod").read_text()
    after = _build_list(unpinned, go_env)
    assert {m: after.get(m) for m in before} == before
    assert after["go.opentelemetry.io/otel"] == otel
    assert after[AUTOEXPORT] == autoexport
    offline = _offline(go_env)
    go(unpinned, "mod", "verify", env=offline)
    generated = overlay_gen(unpinned, ".", env=offline)
    assert generated.returncode == 0, generated.stderr
    go(unpinned, "build", "-overlay=overlay.json", "-o", "app", ".", env=offline)
    run = subprocess.run(
        [str(unpinned / "app")], env={**go_env, "OTEL_TRACES_EXPORTER": "console"}, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert '"Name":"checkout"' in run.stdout.replace(" ", "")


PGX_PROGRAM = """package main

import (
	"context"
	"fmt"
	"os"

	"github.com/jackc/pgx/v5"
)

func main() {
	conn, err := pgx.Connect(context.Background(), os.Getenv("DATABASE_URL"))
	if err != nil {
		fmt.Println("no database")
		return
	}
	defer conn.Close(context.Background())
}
"""


def test_pin_may_move_what_is_in_the_graph_only_through_a_dependencys_go_mod(
    tmp_path: Path, go_env: dict[str, str]
) -> None:
    """pgx's go.mod requires kr/pretty v0.3.0 for its own tests; every OpenTelemetry release moves
    it to v0.3.1. No package of the build comes from it and go.mod does not require it: pin moves
    it, and still moves nothing go.mod requires."""
    root = tmp_path / "pgxapp"
    root.mkdir()
    (root / "go.mod").write_text("module example.com/pgxapp\n\ngo 1.26.0\n\nrequire github.com/jackc/pgx/v5 v5.13.0\n")
    (root / "main.go").write_text(PGX_PROGRAM)
    go(root, "mod", "tidy", env=go_env)
    required = {line.split()[0]: line.split()[1] for line in _requires(root)}
    before = _build_list(root, go_env)
    assert before.get("github.com/kr/pretty") == "v0.3.0", "the case this test is about"
    proc = overlay_gen(root, "pin", env=go_env)
    assert proc.returncode == 0, proc.stderr
    after = _build_list(root, go_env)
    assert {m: after[m] for m in required} == required
    assert after["github.com/kr/pretty"] != "v0.3.0"
    offline = _offline(go_env)
    go(root, "mod", "verify", env=offline)
    assert overlay_gen(root, ".", env=offline).returncode == 0
    go(root, "build", "-overlay=overlay.json", "-o", os.devnull, ".", env=offline)


def _requires(root: Path) -> list[str]:
    """go.mod's require lines, "module version" each."""
    data = json.loads(go(root, "mod", "edit", "-json").stdout)
    return [f"{r['Path']} {r['Version']}" for r in data.get("Require") or []]


def test_pin_refuses_a_module_too_old_for_every_release_and_changes_nothing(
    tmp_path: Path, go_env: dict[str, str]
) -> None:
    root = _module(tmp_path / "ancient", "1.22", {"golang.org/x/net": "v0.30.0"}, go_env)
    before = tree_digest(root)
    proc = overlay_gen(root, "pin", env=go_env)
    assert proc.returncode == 4
    assert proc.stderr.count("\n") == 1
    assert proc.stderr.startswith("overlay-gen: no release overlay-gen accepts fits this module: ")
    assert "go.opentelemetry.io/otel v1.36.0, needs go 1.23.0, newer than go.mod's go 1.22" in proc.stderr
    assert tree_digest(root) == before  # go.mod, go.sum untouched, no tools file


def test_pin_keeps_a_vendored_module_consistent(tmp_path: Path, go_env: dict[str, str]) -> None:
    program = 'package main\n\nimport (\n\t"fmt"\n\n\t"golang.org/x/net/html/atom"\n)\n\n'
    program += 'func main() {\n\tfmt.Println(atom.Lookup([]byte("div")))\n}\n'
    root = _module(tmp_path / "vendored", "1.26.0", {"golang.org/x/net": "v0.40.0"}, go_env, program)
    go(root, "mod", "tidy", env=go_env)
    go(root, "mod", "vendor", env=go_env)
    proc = overlay_gen(root, "pin", env=go_env)
    assert proc.returncode == 0, proc.stderr
    assert "vendor/" in proc.stderr
    modules = (root / "vendor" / "modules.txt").read_text()
    assert "# go.opentelemetry.io/otel v" in modules
    offline = _offline(go_env)
    go(root, "build", "-mod=vendor", "-o", os.devnull, ".", env=offline)  # the unmodified program
    go(root, "build", "-o", os.devnull, ".", env=offline)  # vendor mode is the default with vendor/


def test_pin_with_nothing_to_pin_writes_nothing(tmp_path: Path, go_env: dict[str, str]) -> None:
    root = _module(tmp_path / "plain", "1.22", {}, go_env)
    before = tree_digest(root)
    proc = overlay_gen(root, "pin", "--no-builtin", env=go_env)
    assert proc.returncode == 0 and "nothing changed" in proc.stderr, proc.stderr
    assert tree_digest(root) == before  # no empty go.sum either
