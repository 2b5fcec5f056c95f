"""The scaling row: overlay-gen on a synthetic module of N packages of which
the same 10 files hold a ``//dd:span`` function (docs/bench.md, "The scaling
row")."""

from __future__ import annotations

import json
import shutil
import statistics
from pathlib import Path
from typing import Any

from .common import FIXTURES, Scratch, log, overlay_gen_cmd, remove, run
from .memory import Measured, run_measured

SIZES = (100, 1000)
SPAN_PACKAGES = 10  # p0000 ... p0009: the same 10 files in every size
FAN_OUT = 10  # package i imports packages FAN_OUT*i+1 ... FAN_OUT*i+FAN_OUT
MODULE = "example.com/synth"
# Its OpenTelemetry requirements (what the runtime imports), pinned as in fixtures/spans.
REQUIREMENTS_FROM = FIXTURES / "spans"
MIN_REPEAT = 3


def _name(i: int) -> str:
    return f"p{i:04d}"


def _children(i: int, size: int) -> list[int]:
    return [c for c in range(FAN_OUT * i + 1, FAN_OUT * i + FAN_OUT + 1) if c < size]


def write_module(root: Path, size: int) -> list[Path]:
    """A module of ``size`` packages in a tree (each imports up to 10 more, all
    reachable from main); returns the 10 files with a //dd:span function."""
    gomod = (REQUIREMENTS_FROM / "go.mod").read_text()
    requirements = gomod[gomod.index("\ngo ") :].split("\n", 2)[2]  # after the go directive
    root.mkdir(parents=True)
    (root / "go.mod").write_text(f"module {MODULE}\n\ngo 1.26.0\n{requirements}")
    shutil.copy(REQUIREMENTS_FROM / "go.sum", root / "go.sum")
    shutil.copy(REQUIREMENTS_FROM / "overlay-gen.tools.go", root / "overlay-gen.tools.go")
    (root / "main.go").write_text(
        "// Command synth is scripts/bench's synthetic module.\n"
        "package main\n\n"
        f'import (\n\t"fmt"\n\n\t"{MODULE}/p/{_name(0)}"\n)\n\n'
        f"func main() {{ fmt.Println({_name(0)}.F(1)) }}\n"
    )
    spans = []
    for i in range(size):
        name = _name(i)
        pkg = root / "p" / name
        pkg.mkdir(parents=True)
        children = _children(i, size)
        imports = "".join(f'\t"{MODULE}/p/{_name(c)}"\n' for c in children)
        terms = [f"x + {i}", *(f"{_name(c)}.F(x)" for c in children)]
        if i < SPAN_PACKAGES:
            terms.append("traced(x)")
        (pkg / f"{name}.go").write_text(
            f"// Package {name} is one of the synthetic module's packages.\n"
            f"package {name}\n\n"
            + (f"import (\n{imports})\n\n" if imports else "")
            + f"// F adds {i} and what the packages it imports add.\n"
            f"func F(x int) int {{\n\treturn {' + '.join(terms)}\n}}\n"
        )
        if i < SPAN_PACKAGES:
            span = pkg / "span.go"
            span.write_text(
                f"package {name}\n\n"
                'import "context"\n\n'
                "// Traced is one of the 10 functions overlay-gen instruments.\n"
                "//\n"
                "//dd:span\n"
                f"func Traced(ctx context.Context, x int) int {{ return x * {i + 2} }}\n\n"
                "func traced(x int) int { return Traced(context.Background(), x) }\n"
            )
            spans.append(span)
    return spans


class Scaling:
    def __init__(self, scratch: Scratch, base_env: dict[str, str]) -> None:
        self.scratch = scratch
        self.base_env = base_env

    def run(self, repeat: int, sizes: tuple[int, ...] = SIZES) -> dict[str, Any]:
        repeat = max(repeat, MIN_REPEAT)
        modules: dict[int, tuple[Path, dict[str, str], list[Path], int]] = {}
        base = self.scratch("synth")
        for size in sizes:
            root = base / f"synth-{size}"
            spans = write_module(root, size)
            env = {**self.base_env, "GOCACHE": str(self.scratch(f"gocache-synth-{size}"))}
            log(f"scaling: {size} packages: go mod download, go list -deps ./... (GOCACHE warm-up)")
            run(["go", "mod", "download"], root, env)
            _, listed = run(["go", "list", "-deps", "./..."], root, env)
            graph = sum(1 for line in listed.stdout.splitlines() if line.strip())
            modules[size] = (root, env, spans, graph)

        samples: dict[int, list[Measured]] = {size: [] for size in sizes}
        rewritten: dict[int, dict[str, Any]] = {}
        for i in range(repeat):
            for size in sizes:  # the sizes take turns
                root, env, spans, _ = modules[size]
                for stale in (*root.glob("overlay.json*"), *root.glob(".overlay-gen*")):
                    remove(stale)
                og_cache = self.scratch("overlay-gen-cache")
                log(f"scaling: overlay-gen on {size} packages ({i + 1}/{repeat})")
                gen_env = {**env, "OVERLAY_GEN_CACHE": str(og_cache)}
                samples[size].append(run_measured(overlay_gen_cmd("."), root, gen_env, self.scratch("gen-logs")))
                remove(og_cache)
                rewritten[size] = _rewritten(root, spans)
        remove(base)
        for _, env, _, _ in modules.values():
            remove(Path(env["GOCACHE"]))

        seconds = {size: statistics.median(m.seconds for m in samples[size]) for size in sizes}
        result: dict[str, Any] = {
            "module": MODULE,
            "sizes": list(sizes),
            "span_files": SPAN_PACKAGES,
            "fan_out": FAN_OUT,
            "repeat": repeat,
            "cases": [
                {
                    "packages": size,
                    "graph_packages": modules[size][3],
                    "seconds": seconds[size],
                    "peak_rss_mb": max(m.peak_rss_mb for m in samples[size]),
                    "sampled_rss_mb": max(m.sampled_rss_bytes for m in samples[size]) / 2**20,
                    "maxrss_mb": max((m.maxrss_bytes or 0) for m in samples[size]) / 2**20 or None,
                    "cpu_seconds": statistics.median(m.cpu_seconds for m in samples[size]),
                    "cores": statistics.median(m.cores for m in samples[size]),
                    **rewritten[size],
                    "samples": [m.seconds for m in samples[size]],
                }
                for size in sizes
            ],
        }
        if len(sizes) >= 2:
            small, large = min(sizes), max(sizes)
            result["ratio"] = seconds[large] / seconds[small]
            result["ratio_of"] = f"{large}/{small}"
        # The same 10 files in every size, no other file of the synthetic
        # packages, and the same other entries (main.go, the standard library).
        cases = result["cases"]
        result["same_files_rewritten"] = all(
            c["span_files_rewritten"] == SPAN_PACKAGES and c["other_synthetic_files_rewritten"] == 0 for c in cases
        ) and all(c["other_entries"] == cases[0]["other_entries"] for c in cases)
        return result


def _rewritten(root: Path, spans: list[Path]) -> dict[str, Any]:
    """What the overlay replaces: the span files, other files of the synthetic packages, the rest."""
    replace = json.loads((root / "overlay.json").read_text()).get("Replace", {})
    keys = {Path(k).resolve() for k in replace}
    span_files = {p.resolve() for p in spans}
    synthetic = (root / "p").resolve()
    return {
        "overlay_entries": len(replace),
        "span_files_rewritten": len(keys & span_files),
        "other_synthetic_files_rewritten": sum(1 for k in keys - span_files if k.is_relative_to(synthetic)),
        "other_entries": sorted(
            k.relative_to(root.resolve()).as_posix() if k.is_relative_to(root.resolve()) else k.as_posix()
            for k in keys - span_files
            if not k.is_relative_to(synthetic)
        ),
    }
