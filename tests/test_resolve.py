"""The package graph: what go list says, held as a networkx graph of frozen records."""

from __future__ import annotations

import os
from pathlib import Path

import attrs
import networkx as nx
import pytest
from conftest import copy_fixture, go

from overlay_gen.resolve import BuildContext, go_env, list_packages, package_graph


@pytest.fixture
def hello(tmp_path: Path, go_env: dict[str, str]) -> Path:
    root = copy_fixture("hello", tmp_path)
    go(root, "mod", "download", env=go_env)
    return root


def test_graph_holds_main_module_dependency_and_std(hello: Path) -> None:
    graph = package_graph(list_packages(BuildContext(hello)))
    pkg = {name: graph.nodes[name]["pkg"] for name in graph.nodes}
    assert pkg["example.com/hello"].origin == "main" and pkg["example.com/hello"].is_main
    assert pkg["example.com/greeting"].origin == "dependency"
    assert pkg["example.com/greeting"].module.version == "v1.0.0"
    assert pkg["text/tabwriter"].origin == "std" and pkg["text/tabwriter"].standard
    assert graph.has_edge("example.com/hello", "example.com/greeting")
    assert graph.has_edge("example.com/greeting", "strings")
    assert nx.is_directed_acyclic_graph(graph)
    assert pkg["example.com/hello"].go_files == (str(hello / "main.go"),)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        pkg["fmt"].name = "x"  # type: ignore[misc]


def test_test_variants_when_asked(hello: Path) -> None:
    plain = package_graph(list_packages(BuildContext(hello)))
    tested = package_graph(list_packages(BuildContext(hello, tests=True)))
    variant = "example.com/hello/calc [example.com/hello/calc.test]"
    assert variant not in plain.nodes
    pkg = tested.nodes[variant]["pkg"]
    assert pkg.is_test_variant and pkg.path == "example.com/hello/calc"
    assert pkg.test_files == (str(hello / "calc" / "calc_test.go"),)
    assert not [n for n in tested.nodes if n.endswith(".test")]  # the synthesized test main is left out


def test_environment_and_build_flags_decide_the_files(hello: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (hello / "calc" / "calc_windows.go").write_text('package calc\n\nconst OS = "windows"\n')
    (hello / "calc" / "calc_tagged.go").write_text("//go:build special\n\npackage calc\n\nconst Tag = 1\n")

    def files() -> set[str]:
        graph = package_graph(list_packages(BuildContext(hello, build_flags=("-tags=special",))))
        return {os.path.basename(f) for f in graph.nodes["example.com/hello/calc"]["pkg"].go_files}

    assert files() == {"calc.go", "calc_tagged.go"}
    monkeypatch.setenv("GOOS", "windows")
    assert files() == {"calc.go", "calc_tagged.go", "calc_windows.go"}


def test_go_env_finds_the_module_root_from_a_subdirectory(hello: Path) -> None:
    env = go_env(hello / "calc")
    assert env.module_root == hello
    assert Path(env.gofmt).name == "gofmt"
