"""What instrumented code needs from go.mod, decided without the network."""

from __future__ import annotations

from overlay_gen.integration import catalog, modules_by_path
from overlay_gen.model import version_key
from overlay_gen.requirements import missing, module_go_mod, needs

MODULES = modules_by_path(catalog())
RUNTIME = MODULES["overlay-gen.invalid/otelrt"]
NETHTTP = MODULES["overlay-gen.invalid/nethttp"]


def test_integration_modules_are_read_from_the_shipped_sources() -> None:
    assert RUNTIME.directory.name == "runtime"
    assert "otelrt.go" in RUNTIME.files and "signals_unix.go" in RUNTIME.files
    imports = RUNTIME.packages["overlay-gen.invalid/otelrt"]
    assert "go.opentelemetry.io/otel/sdk/trace" in imports
    assert "os/signal" not in imports  # standard library packages need no module
    assert set(RUNTIME.requires) >= {"go.opentelemetry.io/otel", "go.opentelemetry.io/contrib/exporters/autoexport"}
    assert all(v.startswith("v") for v in RUNTIME.requires.values())
    # A module that builds on the runtime requires it, and its package imports it.
    assert "overlay-gen.invalid/otelrt" in NETHTTP.requires
    assert "overlay-gen.invalid/otelrt" in NETHTTP.packages["overlay-gen.invalid/nethttp"]


def test_needs_only_the_integration_modules_imported_and_what_they_require() -> None:
    plain = needs({"fmt", "example.com/app/util"}, "example.com/app", MODULES)
    assert plain.modules == () and not plain.requires and plain.packages == ()

    traced = needs({"overlay-gen.invalid/nethttp", "example.com/other/pkg"}, "example.com/app", MODULES)
    assert [m.path for m in traced.modules] == ["overlay-gen.invalid/nethttp", "overlay-gen.invalid/otelrt"]
    assert set(traced.requires) >= set(RUNTIME.requires) - {"overlay-gen.invalid/otelrt"}
    assert not any(m.startswith("overlay-gen.invalid/") for m in traced.requires)
    assert traced.packages == ("example.com/other/pkg",)
    # What pin puts in the tools file: the packages the modules import, none of the integrations'.
    assert "go.opentelemetry.io/otel/sdk/trace" in traced.imports
    assert not any(p.startswith("overlay-gen.invalid/") for p in traced.imports)

    # log/slog's integration imports the runtime's logbridge, whose module comes along, and the slog bridge.
    slog = needs({"overlay-gen.invalid/slogtrace"}, "example.com/app", MODULES)
    assert [m.path for m in slog.modules] == ["overlay-gen.invalid/otelrt", "overlay-gen.invalid/slogtrace"]
    assert "go.opentelemetry.io/contrib/bridges/otelslog" in slog.requires
    assert "go.opentelemetry.io/contrib/bridges/otelslog" in slog.imports


def test_the_build_gets_only_the_integration_packages_imported_and_those_they_import() -> None:
    # net/http's integration imports the runtime's root package, none of its others (genai, sqlquery...).
    traced = needs({"overlay-gen.invalid/nethttp"}, "example.com/app", MODULES)
    assert traced.used == {"overlay-gen.invalid/nethttp", "overlay-gen.invalid/otelrt"}
    sql = needs({"overlay-gen.invalid/dbsql"}, "example.com/app", MODULES)
    assert {"overlay-gen.invalid/otelrt", "overlay-gen.invalid/otelrt/sqlquery"} <= sql.used
    assert "overlay-gen.invalid/otelrt/genai" not in sql.used
    assert {m.path for m in sql.modules} == {"overlay-gen.invalid/dbsql", "overlay-gen.invalid/otelrt"}
    assert RUNTIME.package_of("genai/stream.go") == "overlay-gen.invalid/otelrt/genai"
    assert RUNTIME.package_of("otelrt.go") == "overlay-gen.invalid/otelrt"


def test_a_module_below_an_instrumented_librarys_path_is_no_part_of_it() -> None:
    # rueidisotel is a module of its own, below the path of rueidis, the library: pin requires it.
    need = needs(
        {"overlay-gen.invalid/rueidistrace"}, "example.com/app", MODULES, libraries={"github.com/redis/rueidis"}
    )
    assert "github.com/redis/rueidis/rueidisotel" in need.requires
    assert "github.com/redis/rueidis/rueidisotel" in need.imports
    # The library's own package too (at the user's release): the program may not import every
    # package of it the integration does, and what those require must be in go.mod.
    assert "github.com/redis/rueidis" in need.imports


def test_missing_reports_absent_and_too_old_modules_but_takes_any_library_release() -> None:
    need = needs({"overlay-gen.invalid/otelrt", "example.com/lib/x"}, "example.com/app", MODULES)
    current = dict(need.requires)
    old_otel = "v1.0.0"
    go_mod = {
        "Require": [
            *({"Path": m, "Version": v} for m, v in current.items() if m != "go.opentelemetry.io/otel"),
            {"Path": "go.opentelemetry.io/otel", "Version": old_otel},
        ]
    }
    assert missing(need, go_mod) == [
        f"go.opentelemetry.io/otel {current['go.opentelemetry.io/otel']}",
        "example.com/lib/x",
    ]
    go_mod["Require"].append({"Path": "example.com/lib", "Version": "v0.1.0"})
    go_mod["Require"][-2]["Version"] = "v99.0.0"  # newer than needed is fine
    assert missing(need, go_mod) == []
    # An instrumented library's module: the user's release, older than the integration's own go.mod names.
    library = needs({"overlay-gen.invalid/otelrt"}, "example.com/app", MODULES, libraries={"go.opentelemetry.io/otel"})
    assert missing(library, {"Require": [{"Path": m, "Version": "v0.0.1"} for m in library.requires]}) == [
        f"{m} {v}" for m, v in sorted(library.requires.items()) if m != "go.opentelemetry.io/otel"
    ]


def test_versions_order_as_semver() -> None:
    ordered = ["v0.9.0", "v1.2.0-rc.1", "v1.2.0", "v1.10.0", "v2.0.0"]
    assert sorted(reversed(ordered), key=version_key) == ordered


def test_pre_releases_and_pseudo_versions_order_as_the_go_command_orders_them() -> None:
    # Pre-release identifiers compare one by one, numbers as numbers and below words; pseudo-versions
    # (a module without releases, gomemcache: v0.0.0-<commit time>-<commit>) by their commit time.
    ordered = [
        "v0.0.0-20190913173617-a41fca850d0b",
        "v0.0.0-20260422231931-4d751bb6e37c",
        "v1.2.0-alpha",
        "v1.2.0-alpha.1",
        "v1.2.0-alpha.beta",
        "v1.2.0-beta.2",
        "v1.2.0-beta.11",
        "v1.2.0-rc.2",
        "v1.2.0-rc.2.0.20240101000000-abcdefabcdef",  # a commit after rc.2
        "v1.2.0-rc.10",
        "v1.2.0",
        "v1.2.1-0.20240101000000-abcdefabcdef",  # a commit after v1.2.0
        "v1.2.1",
    ]
    assert sorted(reversed(ordered), key=version_key) == ordered
    assert version_key("v1.2.0+incompatible") == version_key("v1.2.0")


def test_module_go_mod_uses_the_main_modules_versions() -> None:
    go_mod = {"Go": "1.26.0", "Require": [{"Path": "go.opentelemetry.io/otel", "Version": "v1.99.0"}]}
    text = module_go_mod(NETHTTP, go_mod)
    assert text.startswith("module overlay-gen.invalid/nethttp\n\ngo 1.26.0\n")
    assert "\tgo.opentelemetry.io/otel v1.99.0\n" in text
    assert f"\tgo.opentelemetry.io/otel/trace {NETHTTP.requires['go.opentelemetry.io/otel/trace']}\n" in text
    assert "\toverlay-gen.invalid/otelrt v0.0.0\n" in text
