"""Issue 7's targets, checked against a run's numbers, and the table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .builds import PHASE_TITLES, PHASES

MET, MISSED, UNKNOWN, NOT_RUN = "met", "MISSED", "unknown", "not run"

# id, what, limit (for the table), how a value is compared, how it is printed
TARGETS: list[dict[str, Any]] = [
    {"id": "1", "title": "cold build, (generate + overlay build) / manual", "limit": 1.10, "op": "<=", "unit": "x"},
    {"id": "2", "title": "warm, nothing changed, (generate + build) / manual", "limit": 2.0, "op": "<=", "unit": "x"},
    {"id": "2b", "title": "warm, nothing changed: packages recompiled", "limit": 0, "op": "<=", "unit": ""},
    {"id": "3", "title": "warm, one line changed, (generate + build) / manual", "limit": 1.2, "op": "<=", "unit": "x"},
    {"id": "3b", "title": "warm, one line changed: files parsed again", "limit": 1, "op": "<=", "unit": ""},
    {"id": "4", "title": "scaling, generation 1000 / 100 packages", "limit": 2.0, "op": "<=", "unit": "x"},
    {"id": "4b", "title": "scaling: the same 10 files rewritten", "limit": True, "op": "==", "unit": ""},
    {"id": "5", "title": "peak RSS of overlay-gen, largest case", "limit": 300.0, "op": "<=", "unit": " MB"},
    {"id": "6", "title": "runtime, requests/s overlay / manual", "limit": 0.95, "op": ">=", "unit": "x"},
    {"id": "6b", "title": "runtime with metrics, requests/s overlay / manual", "limit": 0.95, "op": ">=", "unit": "x"},
]


def _fmt(value: Any, unit: str) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.0f}{unit}" if unit == " MB" else f"{value:.2f}{unit}"
    return f"{value}{unit}"


def _ok(value: Any, op: str, limit: Any) -> bool:
    if op == "<=":
        return bool(value <= limit)
    if op == ">=":
        return bool(value >= limit)
    return bool(value == limit)


def _fixture_values(report: dict[str, Any], get: Callable[[dict[str, Any]], Any]) -> list[tuple[str, Any]] | None:
    fixtures = report.get("fixtures") or []
    return [(fx["name"], get(fx)) for fx in fixtures] if fixtures else None


def _cases(report: dict[str, Any], target_id: str) -> list[tuple[str, Any]] | None:
    """The (case, value) pairs a target is checked on; None when that part did not run."""
    scaling = report.get("scaling")
    runtime = report.get("runtime")
    if target_id == "1":
        return _fixture_values(report, lambda fx: fx["ratios"]["cold"]["overlay_over_manual"])
    if target_id == "2":
        return _fixture_values(report, lambda fx: fx["ratios"]["noop"]["overlay_over_manual"])
    if target_id == "2b":
        return _fixture_values(report, lambda fx: fx["compiled_packages"]["noop"]["overlay"])
    if target_id == "3":
        return _fixture_values(report, lambda fx: fx["ratios"]["edit"]["overlay_over_manual"])
    if target_id == "3b":
        return _fixture_values(report, lambda fx: fx["generation"]["edit"]["reparsed"])
    if target_id == "4":
        if not scaling or scaling.get("ratio_of") != "1000/100":
            return None
        return [("1000/100", scaling["ratio"])]
    if target_id == "4b":
        return [("synthetic", scaling["same_files_rewritten"])] if scaling else None
    if target_id == "5":
        cases = [(fx["name"], fx["peak_rss_mb"]) for fx in report.get("fixtures") or []]
        cases += [(f"synthetic {c['packages']}", c["peak_rss_mb"]) for c in (scaling or {}).get("cases", [])]
        return cases or None
    if target_id == "6":
        return [(runtime["fixture"], runtime["ratios"]["overlay_over_manual"])] if runtime else None
    if target_id == "6b":
        ratio = (runtime or {}).get("ratios", {}).get("overlay_over_manual_with_metrics")
        return [(runtime["fixture"], ratio)] if runtime and ratio is not None else None
    raise KeyError(target_id)


def targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Every target with its cases, its worst case and whether it is met."""
    result = []
    for spec in TARGETS:
        cases = _cases(report, spec["id"])
        entry: dict[str, Any] = {**spec, "cases": {}, "worst": None, "status": NOT_RUN}
        if cases is not None:
            entry["cases"] = dict(cases)
            known = [(name, value) for name, value in cases if value is not None]
            failing = [(n, v) for n, v in known if not _ok(v, spec["op"], spec["limit"])]
            if failing:
                entry["status"] = MISSED
            elif len(known) < len(cases):
                entry["status"] = UNKNOWN  # a value overlay-gen does not report
            else:
                entry["status"] = MET
            if known and not isinstance(known[0][1], bool):
                pick = min if spec["op"] == ">=" else max
                entry["worst"] = pick(known, key=lambda nv: nv[1])[0]
            elif known:
                entry["worst"] = next((n for n, v in known if not _ok(v, spec["op"], spec["limit"])), known[0][0])
            if spec["id"] == "3":
                entry["out_of_reach"] = out_of_reach(report, spec["limit"])
        result.append(entry)
    return result


def out_of_reach(report: dict[str, Any], limit: float) -> dict[str, dict[str, float]]:
    """Fixtures on which target 3 cannot be met by any run of overlay-gen, not
    only missed in this one: the overlay's rebuild compiles and links what the
    hand-instrumented one does, so ``limit`` leaves ``(limit - 1) x`` that
    rebuild for generation, and overlay-gen's own run with nothing changed
    (interpreter start, the up-to-date check) already takes longer."""
    found = {}
    for fx in report.get("fixtures") or []:
        edit, noop = fx["seconds"]["edit"], fx["seconds"]["noop"]
        budget = (limit - 1) * edit["manual"]
        if fx["ratios"]["edit"]["overlay_over_manual"] > limit and noop["generate"] > budget:
            found[fx["name"]] = {
                "rebuild_seconds": edit["manual"],
                "budget_seconds": round(budget, 4),
                "noop_generate_seconds": noop["generate"],
            }
    return found


def _target_line(t: dict[str, Any]) -> str:
    op = {"<=": "≤", ">=": "≥", "==": "="}[t["op"]]
    limit = f"{op}{_fmt(t['limit'], t['unit'])}".replace(" MB", "MB")
    if t["status"] == NOT_RUN:
        values = "(not measured in this run)"
    else:
        cases = t["cases"]
        worst = t["worst"]
        first = [worst] if worst is not None else []
        shown = [f"{n} {_fmt(cases[n], t['unit'])}" for n in (*first, *(n for n in cases if n != worst))]
        values = shown[0] + (f" ({', '.join(shown[1:])})" if shown[1:] else "")
    status = {MET: "met", MISSED: "MISSED", UNKNOWN: "UNKNOWN", NOT_RUN: "not run"}[t["status"]]
    return f"target {t['id']:<3} {t['title']:<52} {limit:<7} {status:<8} {values}"


def _build_section(report: dict[str, Any], phase: str) -> list[str]:
    rows = [PHASE_TITLES[phase]]
    extra_head = f" {'compiled o/m/p':>15}"
    if phase == "edit":
        extra_head += f" {'re-parsed':>9}"
    rows.append(
        f"{'':<10} {'generate':>9} {'overlay':>9} {'gen+ovl':>9} {'manual':>9} {'plain':>9} "
        f"{'/manual':>8} {'/plain':>8} {'gen MB':>7}{extra_head}"
    )
    for fx in report["fixtures"]:
        s, r, g = fx["seconds"][phase], fx["ratios"][phase], fx["generation"][phase]
        manual = f"{s['manual']:>9.3f}" if not fx["manual"]["same_as_plain"] else f"{'=plain':>9}"
        line = (
            f"{fx['name']:<10} {s['generate']:>9.3f} {s['overlay_build']:>9.3f} {s['overlay']:>9.3f} {manual} "
            f"{s['plain']:>9.3f} {r['overlay_over_manual']:>7.2f}x {r['overlay_over_plain']:>7.2f}x "
            f"{g['peak_rss_mb']:>7.0f}"
        )
        c = fx["compiled_packages"][phase]
        line += f" {c['overlay']}/{c['manual']}/{c['plain']}".rjust(16)
        if phase == "edit":
            line += f" {_fmt(g['reparsed'], ''):>9}"
        rows.append(line)
    return rows


GO_COMMAND_TITLE = "overlay-gen go build, nothing changed: one command in place of overlay-gen . && go build -overlay"


def _go_command_section(report: dict[str, Any]) -> list[str]:
    """``overlay-gen go build`` against plain ``go build``, nothing changed
    (runs saved before the row existed have none)."""
    measured = [fx for fx in report["fixtures"] if "go_command" in fx["seconds"]["noop"]]
    if not measured:
        return []
    rows = [
        GO_COMMAND_TITLE,
        f"{'':<10} {'go-cmd':>9} {'overlay':>9} {'added':>9} {'generate':>9} {'plain':>9} {'/plain':>8}",
    ]
    for fx in measured:
        s = fx["seconds"]["noop"]
        rows.append(
            f"{fx['name']:<10} {s['go_command']:>9.3f} {s['overlay_build']:>9.3f} "
            f"{s['go_command'] - s['overlay_build']:>9.3f} {s['generate']:>9.3f} {s['plain']:>9.3f} "
            f"{fx['ratios']['noop']['go_command_over_plain']:>7.2f}x"
        )
    rows.append(
        "go-cmd = overlay-gen go build; overlay = go build -overlay alone; added = go-cmd - overlay, against "
        "generate = overlay-gen . alone; plain = go build of the uninstrumented program"
    )
    return [*rows, ""]


def table(report: dict[str, Any]) -> str:
    rows: list[str] = []
    runs = report["repeat"]
    median = f"median of {runs} run{'s' if runs != 1 else ''}"
    if report.get("fixtures"):
        for phase in PHASES:
            rows += [*_build_section(report, phase), ""]
            if phase == "noop":
                rows += _go_command_section(report)
        rows.append(
            f"seconds, {median}; gen+ovl = generate + overlay build; /manual, /plain = gen+ovl over the "
            "hand-instrumented and the uninstrumented build;"
        )
        rows.append(
            "gen MB = peak RSS of overlay-gen's process tree; compiled o/m/p = packages go build compiled "
            "(overlay, manual, plain)"
        )
        same = [fx["name"] for fx in report["fixtures"] if fx["manual"]["same_as_plain"]]
        if same:
            rows.append(
                f"manual =plain: {', '.join(same)} has no OpenTelemetry; its plain build is its hand-instrumented one"
            )
    scaling = report.get("scaling")
    if scaling:
        if rows:
            rows.append("")
        rows.append(
            f"scaling: synthetic module, the same {scaling['span_files']} files with //dd:span; "
            "overlay-gen with an empty cache, GOCACHE warm"
        )
        rows.append(
            f"{'packages':>8} {'graph':>6} {'seconds':>8} {'peak MB':>8} {'cores':>6} {'span files':>10} {'other':>6}"
        )
        for c in scaling["cases"]:
            rows.append(
                f"{c['packages']:>8} {c['graph_packages']:>6} {c['seconds']:>8.3f} {c['peak_rss_mb']:>8.0f} "
                f"{c['cores']:>6.2f} {c['span_files_rewritten']:>7}/{scaling['span_files']:<2} "
                f"{len(c['other_entries']):>6}"
            )
        if "ratio" in scaling:
            rows.append(
                f"generation {scaling['ratio_of']}: {scaling['ratio']:.2f}x; median of {scaling['repeat']} runs; "
                "graph = packages in go list -deps; cores = CPU time / wall time;"
            )
            rows.append("other = overlay entries outside the synthetic packages (main.go, the standard library)")
    rt = report.get("runtime")
    if rt:
        if rows:
            rows.append("")
        variants = ("plain", "overlay", "manual")
        rps, r = rt["requests_per_second"], rt["ratios"]
        rows.append(f"{'runtime':<12} {'requests/second':^26} {'overlay/':>9} {'overlay/':>9} {'manual/':>9}")
        rows.append(
            f"{'fixture':<12} " + " ".join(f"{v:>8}" for v in variants) + f" {'manual':>9} {'plain':>9} {'plain':>9}"
        )
        rows.append(
            f"{rt['fixture']:<12} " + " ".join(f"{rps[v]:>8.0f}" for v in variants) + " "
            f"{r['overlay_over_manual']:>8.2f}x {r['overlay_over_plain']:>8.2f}x {r['manual_over_plain']:>8.2f}x"
        )
        if "overlay_over_manual_with_metrics" in r:  # runs from before issue 16 have no metrics variants
            rows.append(
                f"{'+ metrics':<12} {'':>8} {rps['overlay+metrics']:>8.0f} {rps['manual+metrics']:>8.0f} "
                f"{r['overlay_over_manual_with_metrics']:>8.2f}x   metrics on/off: overlay "
                f"{r['overlay_metrics_on_over_off']:.2f}x, manual {r['manual_metrics_on_over_off']:.2f}x"
            )
        rows.append(
            f"requests/second, {median}: {rt['route']}, {rt['connections']} keep-alive connections for "
            f"{rt['duration_seconds']:g} s after {rt['warmup_seconds']:g} s of warm-up;"
        )
        rows.append("overlay and manual export every span over OTLP/HTTP to a sink in this process")
    sched = report.get("scheduler")
    if sched:
        ns, r = sched["nanoseconds"], sched["ratios"]
        rows += [
            "",
            f"{'scheduler':<20} {'plain':>8} {'overlay':>8} {'overlay/plain':>14}",
            *(
                f"{metric.removesuffix('_ns').replace('_', ' '):<20} {ns['plain'][metric]:>8.1f} "
                f"{ns['overlay'][metric]:>8.1f} {r[metric]:>13.2f}x"
                for metric in ("goroutine_start_ns", "context_switch_ns")
            ),
            f"nanoseconds per operation, {median}, GOMAXPROCS=1: {sched['fixture']} built plain and with the "
            "overlay (runtime.g's goroutine-local context)",
        ]
    if rows:
        rows.append("")
    rows.append("targets (issue 7): worst case first")
    rows += [_target_line(t) for t in report["targets"]]
    for t in report["targets"]:
        for name, why in t.get("out_of_reach", {}).items():
            rows.append(
                f"target {t['id']} on {name} is out of reach: {t['limit']:.2f}x its {why['rebuild_seconds']:.3f} s "
                f"rebuild leaves {why['budget_seconds']:.3f} s for overlay-gen (the overlay's rebuild compiles what "
                f"the manual one does), less than its run when nothing changed ({why['noop_generate_seconds']:.3f} s)"
            )
    rows.append(
        f"{report['go_version']}, overlay-gen {report['overlay_gen_version']}, {report['cpu_count']} CPUs, "
        f"{report['date']}"
    )
    return "\n".join(rows)
