"""The build rows: each fixture built plain, with overlay-gen's overlay and
instrumented by hand, cold, warm with nothing changed, and warm after a
one-line edit (docs/bench.md, "The build rows")."""

from __future__ import annotations

import json
import os
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import fixtures
from .common import CommandFailed, Scratch, copy_fixture, digest, file_digest, log, overlay_gen_cmd, remove, run
from .fixtures import FixtureSpec
from .memory import Measured, run_measured

PHASES = ("cold", "noop", "edit")  # in the order they run, on the same GOCACHE
PHASE_TITLES = {
    "cold": "cold: no previous output, empty GOCACHE, empty overlay-gen cache",
    "noop": "warm, nothing changed: the same commands again, same output path",
    "edit": "warm, one line changed: after appending one declaration to an application file",
}
VARIANTS = ("overlay", "manual", "plain")
# Samples of each phase per run of a variant. The warm phases take a tenth of
# a second to a few seconds, where one sample is mostly noise; they can be
# taken again in place: a no-op leaves everything as it was, and each edit
# gives the appended declaration a new string.
RUNS = {"cold": 1, "noop": 5, "edit": 3}

# overlay-gen's summary line says how many candidate files it parsed in this
# run: "parsed 1 files of 12 candidates", or "nothing changed of 12 candidates".
OF_CANDIDATES = re.compile(r"(?:parsed (\d+) files?|nothing changed) of (\d+) candidates?")


def parse_counts(summary: str) -> dict[str, int | None]:
    """Files parsed again in this run (not taken from overlay-gen's cache), and
    the files that may match, from overlay-gen's summary line (None: it does not say)."""
    if m := OF_CANDIDATES.search(summary):
        return {"reparsed": int(m.group(1) or 0), "candidates": int(m.group(2))}
    return {"reparsed": None, "candidates": None}


def summary_line(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    summaries = [line for line in lines if line.startswith("overlay-gen:") and "warning" not in line]
    return summaries[-1] if summaries else (lines[-1] if lines else "")


@dataclass
class Build:
    """One go build: its time, the packages it compiled (go build -v), whether it linked."""

    seconds: float
    compiled: list[str]
    linked: bool


@dataclass
class Step:
    """One phase of one variant: the generation (overlay only) and the build."""

    build: Build
    generation: Measured | None = None
    go_command: float | None = None  # overlay, nothing changed: overlay-gen go build, one command

    @property
    def seconds(self) -> float:
        return self.build.seconds + (self.generation.seconds if self.generation else 0.0)


@dataclass
class Program:
    """Where one variant of a fixture is built from, and what."""

    rel_dir: str  # relative to the fixture copy
    mains: list[str]
    edit_file: str  # relative to the fixture copy
    edit_package: str  # the import path of the edited file's package


@dataclass
class Samples:
    steps: dict[str, dict[str, list[Step]]] = field(
        default_factory=lambda: {phase: {v: [] for v in VARIANTS} for phase in PHASES}
    )


def _outputs(out: Path) -> dict[str, tuple[int, str]]:
    """What tells whether go linked a binary again: its inode (go renames a
    new binary into place) and its bytes (its build ID changes with any
    input). Not its mtime: go touches an up-to-date binary."""
    result = {}
    for p in sorted(out.iterdir()):
        result[p.name] = (p.stat().st_ino, file_digest(p))
    return result


def compiled_packages(stderr: str) -> list[str]:
    """The packages go build -v compiled: it names each one it compiles, on stderr."""
    return [
        line.strip()
        for line in stderr.splitlines()
        if line.strip() and not line.startswith(("go: ", "#", " ", "\t")) and " " not in line.strip()
    ]


class Builds:
    def __init__(self, scratch: Scratch, base_env: dict[str, str]) -> None:
        self.scratch = scratch
        self.base_env = base_env
        self.edit_serial = 0

    def env(self, gocache: Path, og_cache: Path | None = None) -> dict[str, str]:
        env = {**self.base_env, "GOCACHE": str(gocache)}
        if og_cache is not None:
            env["OVERLAY_GEN_CACHE"] = str(og_cache)
        return env

    # --- setup, not measured ----------------------------------------------------

    def _go_list(self, cwd: Path, env: dict[str, str], template: str, *packages: str) -> list[str]:
        _, proc = run(["go", "list", "-f", template, *packages], cwd, env)
        return [line.strip() for line in proc.stdout.splitlines() if line.strip()]

    def _program(self, copy: Path, rel_dir: str, edit_file: str | None, env: dict[str, str]) -> Program:
        cwd = copy / rel_dir if rel_dir else copy
        run(["go", "mod", "download"], cwd, env)  # fills the shared module cache
        mains = self._go_list(cwd, env, '{{if eq .Name "main"}}{{.ImportPath}}{{end}}', "./...")
        if not mains:
            raise CommandFailed(f"go list ./... (in {cwd}): no main package")
        if edit_file is None:
            found = self._go_list(cwd, env, "{{.Dir}}{{range .GoFiles}} {{.}}{{end}}", mains[0])[0].split()
            if len(found) < 2:
                raise CommandFailed(f"go list {mains[0]} (in {cwd}): no Go file to edit")
            edit_file = (Path(found[0]) / found[1]).resolve().relative_to(copy.resolve()).as_posix()
        edit_dir = (copy / edit_file).parent
        package = self._go_list(edit_dir, env, "{{.ImportPath}}", ".")[0]
        return Program(rel_dir, mains, edit_file, package)

    def programs(self, spec: FixtureSpec) -> dict[str, Program]:
        """The plain/overlay program and the hand-instrumented one, with their
        main packages and the file the one-line edit changes."""
        setup = self.scratch("setup")
        copy = copy_fixture(spec.path, setup / spec.name)
        gocache = self.scratch("gocache-setup")
        env = self.env(gocache)
        plain = self._program(copy, "", spec.edit_file, env)
        if spec.manual_dir is None:
            manual = plain
        else:
            edit = spec.manual_edit_file
            if edit is None:
                same_path = Path(spec.manual_dir) / plain.edit_file
                edit = same_path.as_posix() if (copy / same_path).is_file() else None
            manual = self._program(copy, spec.manual_dir, edit, env)
        remove(gocache)
        remove(setup)
        return {"overlay": plain, "plain": plain, "manual": manual}

    # --- measured -----------------------------------------------------------------

    def build(self, cwd: Path, env: dict[str, str], out: Path, mains: Sequence[str], overlay: bool) -> Build:
        before = _outputs(out)
        flags = ["-overlay=overlay.json"] if overlay else []
        # -v names every package compiled (none when nothing changed); -o the
        # same directory every time, so that go skips the link when the
        # binary is up to date, as it does for a developer.
        elapsed, proc = run(["go", "build", "-v", *flags, "-o", str(out) + os.sep, *mains], cwd, env)
        return Build(elapsed, compiled_packages(proc.stderr), _outputs(out) != before)

    def go_command(self, cwd: Path, env: dict[str, str], out: Path, mains: Sequence[str], name: str) -> float:
        """``overlay-gen go build``, the same build in one command: its seconds.
        Run after the no-op pair, so that it too finds nothing changed."""
        cmd = overlay_gen_cmd("go", "build", "-v", "-o", str(out) + os.sep, *mains)
        elapsed, proc = run(cmd, cwd, env)
        said = [line for line in proc.stderr.splitlines() if line.startswith("overlay-gen:")]
        if said or compiled_packages(proc.stderr):
            log(f"{name}: warning: overlay-gen go build, nothing changed, yet: {said or proc.stderr.split()[:5]}")
        return elapsed

    def generate(self, cwd: Path, env: dict[str, str]) -> Measured:
        return run_measured(overlay_gen_cmd("."), cwd, env, self.scratch("gen-logs"))

    def variant(
        self, spec: FixtureSpec, variant: str, program: Program, serial: int, samples: Samples
    ) -> tuple[str, int]:
        """Cold, no-op and one-line-edit builds of one variant, in a fresh copy
        with a fresh GOCACHE (and overlay-gen cache); returns the digest of the
        cold build's binaries and the number of overlay entries."""
        work = self.scratch(f"work-{variant}")
        copy = copy_fixture(spec.path, work / spec.name)
        cwd = copy / program.rel_dir if program.rel_dir else copy
        gocache = self.scratch(f"gocache-{variant}")
        og_cache = self.scratch("overlay-gen-cache") if variant == "overlay" else None
        env = self.env(gocache, og_cache)
        out = self.scratch(f"bin-{variant}")
        cold_digest, entries = "", 0
        try:
            for phase, run_index in ((p, k) for p in PHASES for k in range(RUNS[p])):
                if phase == "edit":
                    fixtures.apply_edit(copy / program.edit_file, serial * RUNS["edit"] + run_index)
                title = PHASE_TITLES[phase].split(":")[0]
                log(f"{spec.name}: {variant}, {phase} ({title}, {run_index + 1}/{RUNS[phase]})")
                generation = self.generate(cwd, env) if variant == "overlay" else None
                built = self.build(cwd, env, out, program.mains, overlay=variant == "overlay")
                step = Step(built, generation)
                if variant == "overlay" and phase == "noop":
                    step.go_command = self.go_command(cwd, env, out, program.mains, spec.name)
                samples.steps[phase][variant].append(step)
                if phase == "cold":
                    cold_digest = digest(out)
                    if variant == "overlay":
                        entries = len(json.loads((cwd / "overlay.json").read_text()).get("Replace", {}))
                if phase == "noop" and built.compiled:
                    log(
                        f"{spec.name}: warning: {variant}: nothing changed, yet go compiled {len(built.compiled)} "
                        f"packages ({', '.join(built.compiled[:5])})"
                    )
                if phase == "edit" and (program.edit_package not in built.compiled or not built.linked):
                    log(
                        f"{spec.name}: warning: {variant}: the edit of {program.edit_file} did not make go "
                        f"compile {program.edit_package} and link again"
                    )
        finally:
            for path in (work, gocache, out, og_cache):
                if path is not None:
                    remove(path)
        return cold_digest, entries

    def fixture(self, spec: FixtureSpec, repeat: int) -> dict[str, Any]:
        programs = self.programs(spec)
        samples = Samples()
        digests: dict[str, str] = {}
        overlay_entries = 0
        for i in range(repeat):
            self.edit_serial += 1
            for variant in VARIANTS:  # they take turns, so a slow stretch of the machine hits all
                if variant == "manual" and spec.same_as_plain:
                    continue
                log(f"{spec.name}: {variant} builds ({i + 1}/{repeat})")
                digests[variant], entries = self.variant(spec, variant, programs[variant], self.edit_serial, samples)
                overlay_entries = max(overlay_entries, entries)
        if spec.same_as_plain:
            for phase in PHASES:
                samples.steps[phase]["manual"] = samples.steps[phase]["plain"]
        if digests["overlay"] == digests["plain"]:
            log(f"{spec.name}: warning: the overlay build produced the same binaries as the plain build")
        return summarize(spec, programs, samples, overlay_entries, digests["overlay"] != digests["plain"])


def _max_mb(values: list[int | None]) -> float | None:
    known = [v for v in values if v is not None]
    return max(known) / 2**20 if known else None


def _median(values: list[float]) -> float:
    return statistics.median(values)


def summarize(
    spec: FixtureSpec,
    programs: dict[str, Program],
    samples: Samples,
    overlay_entries: int,
    changes_binary: bool,
) -> dict[str, Any]:
    seconds: dict[str, dict[str, float]] = {}
    ratios: dict[str, dict[str, float]] = {}
    compiled: dict[str, dict[str, int]] = {}
    linked: dict[str, dict[str, bool]] = {}
    generation: dict[str, dict[str, Any]] = {}
    raw: dict[str, dict[str, list[float]]] = {}
    for phase in PHASES:
        steps = samples.steps[phase]
        gens = [s.generation for s in steps["overlay"] if s.generation is not None]
        raw[phase] = {
            "generate": [g.seconds for g in gens],
            "overlay_build": [s.build.seconds for s in steps["overlay"]],
            "overlay": [s.seconds for s in steps["overlay"]],
            "manual": [s.seconds for s in steps["manual"]],
            "plain": [s.seconds for s in steps["plain"]],
        }
        go_command = [s.go_command for s in steps["overlay"] if s.go_command is not None]
        if go_command:
            raw[phase]["go_command"] = go_command
        seconds[phase] = {key: _median(values) for key, values in raw[phase].items()}
        s = seconds[phase]
        ratios[phase] = {
            "overlay_over_manual": s["overlay"] / s["manual"],
            "overlay_over_plain": s["overlay"] / s["plain"],
            "manual_over_plain": s["manual"] / s["plain"],
        }
        if go_command:
            ratios[phase]["go_command_over_plain"] = s["go_command"] / s["plain"]
        compiled[phase] = {v: max(len(st.build.compiled) for st in steps[v]) for v in VARIANTS}
        linked[phase] = {v: any(st.build.linked for st in steps[v]) for v in VARIANTS}
        last = gens[-1]
        summary = summary_line(last.stderr)
        generation[phase] = {
            "summary": summary,
            **parse_counts(summary),
            "peak_rss_mb": max(g.peak_rss_mb for g in gens),
            "sampled_rss_mb": max(g.sampled_rss_bytes for g in gens) / 2**20,
            "maxrss_mb": _max_mb([g.maxrss_bytes for g in gens]),
            "inherited_floor_mb": max(g.floor_bytes for g in gens) / 2**20,
            "peak_processes": max(g.peak_processes for g in gens),
            "cpu_seconds": _median([g.cpu_seconds for g in gens]),
            "cores": _median([g.cores for g in gens]),
        }
    edit_ok = {
        v: all(programs[v].edit_package in st.build.compiled and st.build.linked for st in samples.steps["edit"][v])
        for v in VARIANTS
    }
    return {
        "name": spec.name,
        "main_packages": programs["plain"].mains,
        "manual": {
            "same_as_plain": spec.same_as_plain,
            "dir": spec.manual_dir,
            "main_packages": programs["manual"].mains,
        },
        "edit": {
            "line": fixtures.edit_line(0).strip().replace('"bench edit 0"', '"bench edit N"'),
            "file": programs["plain"].edit_file,
            "package": programs["plain"].edit_package,
            "manual_file": programs["manual"].edit_file,
            "manual_package": programs["manual"].edit_package,
            "recompiled_and_linked": edit_ok,
        },
        "overlay_entries": overlay_entries,
        "overlay_changes_binary": changes_binary,
        "seconds": seconds,
        "ratios": ratios,
        "compiled_packages": compiled,
        "linked": linked,
        "noop_compiled_overlay": sorted({p for st in samples.steps["noop"]["overlay"] for p in st.build.compiled}),
        "generation": generation,
        "peak_rss_mb": max(g["peak_rss_mb"] for g in generation.values()),
        "samples": raw,
    }
