"""What instrumented code needs from go.mod, decided without the network."""

from __future__ import annotations

from overlay_gen.requirements import missing, needs, runtime_go_mod, runtime_module, version_key


def test_runtime_module_is_read_from_the_shipped_sources() -> None:
    runtime = runtime_module()
    assert runtime.path == "overlay-gen.invalid/otelrt"
    assert "otelrt.go" in runtime.files and "signals_unix.go" in runtime.files
    assert "go.opentelemetry.io/otel/sdk/trace" in runtime.imports
    assert "os/signal" not in runtime.imports  # standard library packages need no module
    assert set(runtime.requires) >= {"go.opentelemetry.io/otel", "go.opentelemetry.io/contrib/exporters/autoexport"}
    assert all(v.startswith("v") for v in runtime.requires.values())


def test_needs_the_runtime_modules_only_when_the_runtime_is_imported() -> None:
    plain = needs({"fmt", "example.com/app/util"}, "example.com/app")
    assert not plain.runtime and not plain.modules and plain.packages == ()
    traced = needs({"overlay-gen.invalid/otelrt", "example.com/other/pkg"}, "example.com/app")
    assert traced.runtime and traced.modules == runtime_module().requires
    assert traced.packages == ("example.com/other/pkg",)


def test_missing_reports_absent_and_too_old_modules() -> None:
    need = needs({"overlay-gen.invalid/otelrt", "example.com/lib/x"}, "example.com/app")
    current = dict(runtime_module().requires)
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


def test_versions_order_as_semver() -> None:
    ordered = ["v0.9.0", "v1.2.0-rc.1", "v1.2.0", "v1.10.0", "v2.0.0"]
    assert sorted(reversed(ordered), key=version_key) == ordered


def test_runtime_go_mod_uses_the_main_modules_versions() -> None:
    go_mod = {"Go": "1.26.0", "Require": [{"Path": "go.opentelemetry.io/otel", "Version": "v1.99.0"}]}
    text = runtime_go_mod(go_mod)
    assert text.startswith("module overlay-gen.invalid/otelrt\n\ngo 1.26.0\n")
    assert "\tgo.opentelemetry.io/otel v1.99.0\n" in text
    assert f"\tgo.opentelemetry.io/otel/sdk {runtime_module().requires['go.opentelemetry.io/otel/sdk']}\n" in text
