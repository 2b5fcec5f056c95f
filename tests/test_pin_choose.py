"""How pin chooses versions, decided without the network: a stand-in for the go command."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from overlay_gen.pin import Misfit, PinError, Release, choose, go_key, newest_fitting
from overlay_gen.requirements import Needs

OTEL, SDK, AUTOEXPORT = (
    "go.opentelemetry.io/otel",
    "go.opentelemetry.io/otel/sdk",
    "go.opentelemetry.io/contrib/exporters/autoexport",
)
NET = "golang.org/x/net"

CORE = [("v1.36.0", "1.23.0"), ("v1.38.0", "1.23.0"), ("v1.39.0", "1.24.0"), ("v1.47.0", "1.26.0")]
RELEASES = {
    OTEL: [Release(v, g, {}) for v, g in CORE],
    SDK: [Release(v, g, {OTEL: v, **({NET: "v0.59.0"} if v == "v1.47.0" else {})}) for v, g in CORE],
    AUTOEXPORT: [
        Release("v0.61.0", "1.23.0", {OTEL: "v1.36.0", SDK: "v1.36.0", NET: "v0.40.0"}),
        Release("v0.64.0", "1.24.0", {OTEL: "v1.39.0", SDK: "v1.39.0", NET: "v0.47.0"}),
        Release("v0.72.0", "1.26.0", {OTEL: "v1.47.0", SDK: "v1.47.0", NET: "v0.59.0"}),
    ],
}


class FakeScratch:
    """The go command as pin asks it: each module's releases, and whether a set fits."""

    def __init__(self) -> None:
        self.checked: list[dict[str, str]] = []

    def releases(self, module: str, floor: str) -> list[Release]:
        from overlay_gen.model import version_key

        return [r for r in RELEASES[module] if version_key(r.version) >= version_key(floor)]

    def check(self, versions: Mapping[str, str], go_line: str, selected: Mapping[str, str]) -> Misfit | None:
        self.checked.append(dict(versions))
        for module, version in versions.items():
            release = next(r for r in RELEASES[module] if r.version == version)
            if go_key(release.go) > go_key(go_line):
                return Misfit(f"needs go {release.go}, newer than go.mod's go {go_line}")
            for path, required in release.requires.items():
                if path in selected and required > selected[path]:
                    return Misfit(f"would move {path} {selected[path]} to {required}", f"{path}@{required}")
        return None


def _choose(
    go_line: str, selected: Mapping[str, str] | None = None, libraries: frozenset[str] = frozenset()
) -> dict[str, str]:
    need = Needs((), frozenset(), {OTEL: "v1.36.0", SDK: "v1.36.0", AUTOEXPORT: "v0.61.0"}, libraries, ())
    return choose(need, selected or {}, go_line, FakeScratch())  # type: ignore[arg-type]


def test_the_newest_release_set_the_go_directive_allows() -> None:
    assert _choose("1.26.0") == {OTEL: "v1.47.0", SDK: "v1.47.0", AUTOEXPORT: "v0.72.0"}
    assert _choose("1.24.0") == {OTEL: "v1.39.0", SDK: "v1.39.0", AUTOEXPORT: "v0.64.0"}
    # "go 1.24" is older than 1.24.0: the contrib release made for otel v1.36.0 goes with v1.38.0
    assert _choose("1.24") == {OTEL: "v1.38.0", SDK: "v1.38.0", AUTOEXPORT: "v0.61.0"}


def test_no_module_the_build_has_moves() -> None:
    assert _choose("1.26.0", {NET: "v0.47.0"}) == {OTEL: "v1.39.0", SDK: "v1.39.0", AUTOEXPORT: "v0.64.0"}
    # The user's own otel is kept, and the others follow it.
    assert _choose("1.26.0", {OTEL: "v1.36.0"}) == {OTEL: "v1.36.0", SDK: "v1.36.0", AUTOEXPORT: "v0.61.0"}


def test_a_module_the_build_has_older_than_needed_is_not_upgraded() -> None:
    with pytest.raises(PinError, match=r"older than the v1.36.0 .* go get go.opentelemetry.io/otel@v1.36.0"):
        _choose("1.26.0", {OTEL: "v1.30.0"})


def test_nothing_fits_says_why_about_the_oldest_release() -> None:
    with pytest.raises(PinError) as failed:
        _choose("1.22")
    assert str(failed.value).startswith(
        "no release overlay-gen accepts fits this module: the oldest, go.opentelemetry.io/otel v1.36.0, "
        "needs go 1.23.0, newer than go.mod's go 1.22"
    )
    with pytest.raises(PinError, match=r"would move golang.org/x/net v0.30.0 to v0.40.0") as moved:
        _choose("1.26.0", {NET: "v0.30.0"})
    # The upgrade it would need is named, as the command that takes it.
    assert moved.value.hint is not None and "go get golang.org/x/net@v0.40.0, then pin again" in moved.value.hint


def test_an_instrumented_library_is_the_users() -> None:
    assert OTEL not in _choose("1.26.0", libraries=frozenset({OTEL}))


def test_go_directives_order_as_the_go_command_orders_them() -> None:
    ordered = ["1.16", "1.23.0", "1.24", "1.24rc1", "1.24.0", "1.24.1", "1.25", "1.26.0"]
    assert sorted(reversed(ordered), key=go_key) == ordered
    assert go_key("") == go_key("1.16")  # no directive: Go 1.16


def test_newest_fitting_bisects() -> None:
    asked: list[int] = []

    def fits(n: int) -> bool:
        asked.append(n)
        return n <= 13

    assert newest_fitting(list(range(100)), fits) == 13
    assert len(asked) <= 8
    assert newest_fitting([5, 6], lambda n: False) is None
