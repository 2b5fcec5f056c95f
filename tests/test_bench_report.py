"""scripts/bench's verdicts: which of issue 7's targets a run's numbers meet,
and which misses no run of overlay-gen could avoid (scripts/benchkit/report.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO

sys.path.insert(0, str(REPO / "scripts"))
from benchkit import report
from benchkit.common import failure


def fixture(name: str, edit: tuple[float, float, float], noop_generate: float = 0.07) -> dict[str, Any]:
    """A fixture's numbers as the bench's JSON holds them; ``edit`` is the
    one-line edit's (generate, overlay build, manual build) seconds."""
    gen, build, manual = edit
    phases = {
        "cold": (1.0, 30.0, 30.0),
        "noop": (noop_generate, 0.1, 0.1),
        "edit": (gen, build, manual),
    }
    return {
        "name": name,
        "manual": {"same_as_plain": False},
        "seconds": {
            phase: {"generate": g, "overlay_build": b, "overlay": g + b, "manual": m, "plain": m}
            for phase, (g, b, m) in phases.items()
        },
        "ratios": {
            phase: {"overlay_over_manual": (g + b) / m, "overlay_over_plain": (g + b) / m}
            for phase, (g, b, m) in phases.items()
        },
        "compiled_packages": {
            phase: dict.fromkeys(("overlay", "manual", "plain"), int(phase != "noop")) for phase in phases
        },
        "generation": {phase: {"reparsed": 1, "peak_rss_mb": 30.0} for phase in phases},
        "peak_rss_mb": 100.0,
    }


def target(run: dict[str, Any], target_id: str) -> dict[str, Any]:
    return next(t for t in report.targets(run) if t["id"] == target_id)


def test_a_target_is_met_when_every_fixture_is_within_it() -> None:
    run = {"fixtures": [fixture("big", (0.2, 2.0, 2.0)), fixture("small", (0.1, 1.0, 1.0))]}
    edit = target(run, "3")
    assert edit["status"] == report.MET
    assert edit["worst"] == "big"
    assert edit["out_of_reach"] == {}


def test_one_fixture_over_the_limit_misses_the_target() -> None:
    run = {"fixtures": [fixture("big", (0.2, 2.0, 2.0)), fixture("slow", (0.9, 1.0, 1.0))]}
    edit = target(run, "3")
    assert edit["status"] == report.MISSED
    assert edit["worst"] == "slow"
    # 0.2 x 1.0 s leaves 0.2 s, more than a 0.07 s no-op run: missed, not out of reach.
    assert edit["out_of_reach"] == {}


def test_a_rebuild_too_short_for_any_run_is_out_of_reach() -> None:
    run = {"fixtures": [fixture("tiny", (0.17, 0.22, 0.2), noop_generate=0.07)]}
    edit = target(run, "3")
    assert edit["status"] == report.MISSED
    assert edit["out_of_reach"]["tiny"]["budget_seconds"] == pytest.approx(0.04)
    lines = report.table({**run, "repeat": 1, "targets": report.targets(run), **_run()}).splitlines()
    assert any(line.startswith("target 3 on tiny is out of reach") and "0.040 s" in line for line in lines)


def test_a_missing_value_leaves_the_target_unknown() -> None:
    run = {"fixtures": [fixture("big", (0.2, 2.0, 2.0))]}
    run["fixtures"][0]["generation"]["edit"]["reparsed"] = None
    assert target(run, "3b")["status"] == report.UNKNOWN


def test_parts_not_run_are_reported_as_such() -> None:
    assert target({"fixtures": []}, "4")["status"] == report.NOT_RUN
    assert target({"fixtures": []}, "6")["status"] == report.NOT_RUN


def _run() -> dict[str, Any]:
    return {"go_version": "go1.26", "overlay_gen_version": "0", "cpu_count": 2, "date": "today"}


@pytest.mark.parametrize(("edit", "code"), [((0.2, 2.0, 2.0), 0), ((0.17, 0.22, 0.2), 3)], ids=["met", "missed"])
def test_a_saved_run_is_checked_again(tmp_path: Path, edit: tuple[float, float, float], code: int) -> None:
    saved = tmp_path / "bench.json"
    saved.write_text(json.dumps({"fixtures": [fixture("one", edit)], "repeat": 3, **_run()}))
    bench = [sys.executable, str(REPO / "scripts" / "bench"), "--from", str(saved), "--check"]
    proc = subprocess.run(bench, capture_output=True, text=True)
    assert proc.returncode == code, proc.stderr
    verdict = next(line for line in proc.stdout.splitlines() if line.startswith("target 3 "))
    assert ("MISSED" in verdict) == bool(code)
    assert ("target 3 on one is out of reach" in proc.stdout) == bool(code)


def test_a_file_that_is_no_saved_run_is_one_line_and_exit_1(tmp_path: Path) -> None:
    bad = tmp_path / "bench.json"
    bad.write_text("[1, 2]")
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "bench"), "--from", str(bad)], capture_output=True)
    assert proc.returncode == 1
    assert proc.stderr.decode().splitlines() == [f"bench: --from {bad}: not a run saved by scripts/bench --json-out"]


def test_each_edit_of_a_phase_changes_one_line(tmp_path: Path) -> None:
    from benchkit import fixtures

    main = tmp_path / "main.go"
    main.write_text("package main\n\nfunc main() {}")
    fixtures.apply_edit(main, 3)
    first = main.read_text().splitlines()
    fixtures.apply_edit(main, 4)
    second = main.read_text().splitlines()
    assert first[:-1] == second[:-1] == ["package main", "", "func main() {}"]
    assert first[-1] == fixtures.edit_line(3).strip() and second[-1] == fixtures.edit_line(4).strip()


def test_the_go_command_row_is_shown_when_measured_and_old_runs_still_print() -> None:
    fx = fixture("small", (0.2, 2.0, 2.0))
    base = {"repeat": 1, **_run()}
    old = {**base, "fixtures": [fx]}
    assert report.GO_COMMAND_TITLE not in report.table({**old, "targets": report.targets(old)})
    fx["seconds"]["noop"]["go_command"] = 0.16
    fx["ratios"]["noop"]["go_command_over_plain"] = 1.6
    new = {**base, "fixtures": [fx]}
    lines = report.table({**new, "targets": report.targets(new)}).splitlines()
    row = lines[lines.index(report.GO_COMMAND_TITLE) + 2].split()
    assert row == ["small", "0.160", "0.100", "0.060", "0.070", "0.100", "1.60x"]


def test_a_failed_go_build_is_reported_by_its_error_not_the_last_package_it_listed() -> None:
    # go build -v goes on listing the packages it builds after one failed.
    output = "a/b\n# example.com/app/c\nc/c.go:3:1: undefined: x\noverlay-gen.invalid/redistrace\n"
    message = str(failure(["go", "build", "-v", "./..."], Path("/w"), 1, output))
    assert message == "go build -v ./... (in /w) exited 1: c/c.go:3:1: undefined: x"
    assert str(failure(["go", "env"], Path("/w"), 1, "go: bad\nlast line\n")).endswith(": last line")


def _runtime(rps: dict[str, float]) -> dict[str, Any]:
    ratios = {
        "overlay_over_manual": rps["overlay"] / rps["manual"],
        "overlay_over_plain": rps["overlay"] / rps["plain"],
        "manual_over_plain": rps["manual"] / rps["plain"],
    }
    if "overlay+metrics" in rps:
        ratios |= {
            "overlay_over_manual_with_metrics": rps["overlay+metrics"] / rps["manual+metrics"],
            "overlay_metrics_on_over_off": rps["overlay+metrics"] / rps["overlay"],
            "manual_metrics_on_over_off": rps["manual+metrics"] / rps["manual"],
        }
    return {
        "fixture": "httpbench",
        "route": "GET /hello/{name}",
        "connections": 8,
        "duration_seconds": 10.0,
        "warmup_seconds": 2.0,
        "requests_per_second": rps,
        "ratios": ratios,
    }


def test_the_runtime_with_metrics_is_its_own_target_and_row() -> None:
    rps = {"plain": 1000.0, "overlay": 900.0, "manual": 900.0, "overlay+metrics": 850.0, "manual+metrics": 900.0}
    run = {**_run(), "runtime": _runtime(rps)}
    assert target(run, "6")["status"] == report.MET
    assert target(run, "6b")["status"] == report.MISSED  # 850 / 900 < 0.95
    lines = report.table({**run, "repeat": 1, "targets": report.targets(run)}).splitlines()
    (row,) = [line for line in lines if line.startswith("+ metrics")]
    assert "850" in row and "0.94x" in row and "overlay 0.94x, manual 1.00x" in row
    old = {**_run(), "runtime": _runtime({k: v for k, v in rps.items() if "+" not in k})}
    assert target(old, "6b")["status"] == report.NOT_RUN  # a run from before the metrics variants
    assert not [
        line
        for line in report.table({**old, "repeat": 1, "targets": report.targets(old)}).splitlines()
        if line.startswith("+ metrics")
    ]
