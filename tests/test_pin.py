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
