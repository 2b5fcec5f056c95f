"""Stage 3: which integrations apply to a build, and why the others do not (no Go build)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import overlay_gen

from overlay_gen.errors import ConfigError
from overlay_gen.integration import APPLIES, NOT_APPLICABLE, SKIPPED, catalog, read_integration, statuses
from overlay_gen.model import Constraint, Module, Package

BY_NAME = {i.name: i for i in catalog()}


def _pkg(path: str, module: str = "", version: str = "", standard: bool = False) -> Package:
    mod = Module(module, version) if module else None
    return Package(import_path=path, name=path.rsplit("/", 1)[-1], dir="", go_files=(), standard=standard, module=mod)


def _states(reachable: set[str], packages: list[Package], go: str = "go1.26.8", disabled: tuple[str, ...] = ()):
    by_path = {p.path: p for p in packages}
    found = statuses(catalog(), frozenset(reachable), by_path, go, lambda a: any(a.startswith(d) for d in disabled))
    return {s.integration.name: (s.state, s.reason) for s in found}


def test_an_integration_applies_only_where_the_main_packages_reach_its_library() -> None:
    http = _pkg("net/http", standard=True)
    states = _states({"net/http"}, [http])
    assert states["net-http"] == (APPLIES, "net/http")
    assert states["runtime"] == (APPLIES, "every program")
    assert states["database-sql"] == (NOT_APPLICABLE, "database/sql is not in the build's package graph")
    assert states["chi"][0] == NOT_APPLICABLE

    chi = _pkg("github.com/go-chi/chi/v5", "github.com/go-chi/chi/v5", "v5.5.0")
    states = _states({"net/http", chi.path}, [http, chi])
    assert states["chi"] == (APPLIES, "github.com/go-chi/chi/v5 v5.5.0")
    # In the graph but not reached from a main package (a library package nobody imports): not applicable.
    assert _states({"net/http"}, [http, chi])["chi"][0] == NOT_APPLICABLE


def test_an_unsupported_release_of_the_library_or_of_go_skips_it_with_the_reason() -> None:
    old = _pkg("github.com/go-chi/chi/v5", "github.com/go-chi/chi/v5", "v5.0.7")
    http = _pkg("net/http", standard=True)
    states = _states({"net/http", old.path}, [http, old])
    assert states["chi"] == (SKIPPED, "github.com/go-chi/chi/v5 v5.0.7: it supports >=v5.0.8")

    states = _states({"net/http"}, [http], go="go1.28.0")
    assert states["net-http"] == (SKIPPED, "go1.28.0: it supports Go >=1.26, <1.28")
    assert states["runtime"][0] == APPLIES  # no Go constraint


def test_switching_off_an_integration_skips_those_built_on_it() -> None:
    chi = _pkg("github.com/go-chi/chi/v5", "github.com/go-chi/chi/v5", "v5.5.0")
    http = _pkg("net/http", standard=True)
    states = _states({"net/http", chi.path}, [http, chi], disabled=("overlay-gen.runtime",))
    assert states["runtime"] == (SKIPPED, "switched off in overlay-gen.toml")
    assert states["net-http"] == (SKIPPED, "needs runtime, which is skipped")
    assert states["chi"] == (SKIPPED, "needs net-http, which is skipped")  # a chain of requirements
    assert states["build-info"][0] == APPLIES  # built on nothing


def test_version_constraints() -> None:
    versions = Constraint.parse(">=v1.9.1, <v2.0.0", go=False)
    assert [versions.allows(v) for v in ("v1.9.0", "v1.9.1", "v1.12.0", "v2.0.0")] == [False, True, True, False]
    go = Constraint.parse(">=1.26, <1.28", go=True)
    assert [go.allows(v) for v in ("go1.25.9", "go1.26.0", "go1.27.3", "go1.28rc1")] == [False, True, True, False]
    for bad in ("1.2.3", ">=1.2", "~>v1.2.0", ">=v1.2"):
        with pytest.raises(ValueError):
            Constraint.parse(bad, go=False)


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ('description = "x"', "<builtin>/bad/integration.toml: integration: missing key 'uses'"),
        (
            'description = "x"\nuses = "y"\nversions = "1.0"',
            "<builtin>/bad/integration.toml: integration.versions: '1.0' is not a version constraint",
        ),
        (
            'description = "x"\nuses = "y"\ninstruments = ["example.com/lib"]\nversions = ">=v1.2.0"\n'
            'tested = ["v1.1.0"]',
            "<builtin>/bad/integration.toml: integration.tested[0]: v1.1.0 is outside the releases it supports",
        ),
        ('description = "x"\nuses = "y"\nversion = ">=v1.0.0"', "integration.version: unknown key"),
    ],
)
def test_malformed_metadata_is_one_line_naming_the_key(tmp_path: Path, metadata: str, message: str) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "integration.toml").write_text(
        f'[integration]\n{metadata}\n\n[[aspect]]\nid = "overlay-gen.bad.x"\n'
        'join-point = { main-package = true }\n[[aspect.advice]]\nadd-blank-import = { path = "fmt" }\n'
    )
    with pytest.raises(ConfigError) as caught:
        read_integration(folder)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_an_integrations_aspect_ids_start_with_its_name(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "integration.toml").write_text(
        '[integration]\ndescription = "x"\nuses = "y"\n\n[[aspect]]\nid = "overlay-gen.other.x"\n'
    )
    with pytest.raises(ConfigError, match=r"aspect\[0\]\.id: 'overlay-gen.other.x': .* start with 'overlay-gen.mine'"):
        read_integration(folder)


def test_explain_names_every_integration_and_why_it_does_not_apply(tmp_path: Path, go_env: dict[str, str]) -> None:
    """A chi release older than the integration supports: chi is skipped, saying so, and so are the
    integrations built on a runtime switched off; database/sql is not in the graph."""
    (tmp_path / "go.mod").write_text("module example.com/old\n\ngo 1.26\n\nrequire github.com/go-chi/chi/v5 v5.0.7\n")
    (tmp_path / "main.go").write_text(
        'package main\n\nimport (\n\t"net/http"\n\n\t"github.com/go-chi/chi/v5"\n)\n\n'
        'func main() { _ = http.ListenAndServe("127.0.0.1:0", chi.NewRouter()) }\n'
    )
    (tmp_path / "overlay-gen.toml").write_text('disable = ["overlay-gen.runtime*"]\n')  # nothing to pin
    tidy = overlay_gen(tmp_path, "explain", env={**go_env, "GOFLAGS": "-modcacherw -mod=mod"})
    assert tidy.returncode == 0, tidy.stderr
    lines = tidy.stdout.splitlines()
    assert "integration chi: skipped: github.com/go-chi/chi/v5 v5.0.7: it supports >=v5.0.8" in lines
    assert "integration net-http: skipped: needs runtime, which is skipped" in lines
    assert "integration database-sql: not applicable: database/sql is not in the build's package graph" in lines
    assert "integration build-info: applies: every program" in lines
    assert not any(line.startswith("overlay-gen.chi.") for line in lines)  # its aspects never loaded
    assert len([line for line in lines if line.startswith("integration ")]) == len(BY_NAME)


def test_a_program_pays_only_for_the_integrations_that_apply(tmp_path: Path, go_env: dict[str, str]) -> None:
    """fixtures/spans (net/http, no router, no database): the chi integration's Go module is neither
    listed, copied nor required; the net-http one is; database/sql's is not."""
    from conftest import copy_fixture

    from overlay_gen.aspect import configure
    from overlay_gen.cache import Cache
    from overlay_gen.fileindex import FileIndex
    from overlay_gen.model import BuildContext
    from overlay_gen.options import Options
    from overlay_gen.pipeline import plan, resolve_and_choose
    from overlay_gen.resolve import go_env as read_go_env

    root = copy_fixture("spans", tmp_path)
    cache = Cache(None)
    resolution, _ = resolve_and_choose(configure(root), BuildContext(root), read_go_env(root), cache, FileIndex(cache))
    assert "overlay-gen.invalid/nethttp" in resolution.integration_deps
    assert "overlay-gen.invalid/chitrace" not in resolution.integration_deps  # go.mod has no chi
    assert not [p for p in resolution.extra if p.import_path.startswith("github.com/go-chi/")]

    with plan(Options(directory=root)) as result:
        states = {s.integration.name: s.state for s in result.integrations}
        shipped = {w.display.split("@", 1)[0] for w in result.staged.files if w.display.startswith("overlay-gen.")}
        go_mod = (result.staged.directory / "go.mod").read_text()
    assert states["chi"] == NOT_APPLICABLE and states["database-sql"] == NOT_APPLICABLE
    assert shipped == {
        "overlay-gen.invalid/otelrt",
        "overlay-gen.invalid/nethttp",
        "overlay-gen.invalid/spans",
        "overlay-gen.invalid/goroutines",
        "overlay-gen.invalid/exittrace",  # every program: its spans are flushed at any exit
        "overlay-gen.invalid/logtrace",  # net/http imports log: its records carry the ids
    }
    assert "overlay-gen.invalid/chitrace" not in go_mod and "overlay-gen.invalid/dbsql" not in go_mod
