"""``overlay-gen pin``: before it the overlay cannot be made, after it everything builds."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import copy_fixture, go, overlay_gen

pytestmark = pytest.mark.gobuild

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
