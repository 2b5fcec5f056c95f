"""Runs that overlap: the output on disk is always one whole generation's.

Two generations that differ in every way an overlay can (other files, other
contents, a file only one of them adds) are run at once; overlay.json and the
files its entries name must then be exactly one of the two generations.
Generation only (go list and gofmt): the fast tier.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGES, FILES = 6, 12  # enough files that writing the staging directory takes a while

# Variant A prepends to every F* function; variant B to the even ones only, with
# other text, and adds a file to each package.
ASPECTS = {
    "a": """
[[aspect]]
id = "c.a"
join-point = { all-of = [ { package = "example.com/c/..." }, { function-declaration = { name = "F*" } } ] }
[[aspect.advice]]
prepend-statements = { template = 'println("a {{function.name}}")' }
""",
    "b": """
[[aspect]]
id = "c.b"
join-point = { all-of = [ { package = "example.com/c/..." }, { function-declaration = { name = "F*[02468]" } } ] }
[[aspect.advice]]
prepend-statements = { template = 'println("b {{function.name}} of {{package.path}}")' }

[[aspect]]
id = "c.b-file"
join-point = { all-of = [ { package = "example.com/c/p..." }, { main-package = false } ] }
[[aspect.advice]]
add-file = { template = "var Seen = true" }
""",
}


@pytest.fixture
def module(tmp_path: Path, go_env: dict[str, str]) -> Path:
    root = tmp_path / "m"
    root.mkdir()
    (root / "go.mod").write_text("module example.com/c\n\ngo 1.22\n")
    imports = "".join(f'\t_ "example.com/c/p{p}"\n' for p in range(PACKAGES))
    (root / "main.go").write_text(f"package main\n\nimport (\n{imports})\n\nfunc main() {{}}\n")
    for p in range(PACKAGES):
        (root / f"p{p}").mkdir()
        for f in range(FILES):
            body = "".join(f"func F{f}{i}() int {{\n\treturn {i}\n}}\n\n" for i in range(10))
            (root / f"p{p}" / f"f{f}.go").write_text(f"package p{p}\n\n{body}")
    for name, text in ASPECTS.items():
        (root / f"{name}.toml").write_text(text)
    return root


def _command(variant: str) -> list[str]:
    return [sys.executable, "-m", "overlay_gen", ".", "--no-builtin", "--aspects", f"{variant}.toml"]


def _generate(root: Path, variant: str) -> None:
    proc = subprocess.run(_command(variant), cwd=root, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def _state(root: Path) -> tuple[str, dict[str, bytes]] | None:
    """overlay.json and the content of every file its entries name; None when
    there is no overlay. Fails when an entry names a file that is not there."""
    overlay = root / "overlay.json"
    if not overlay.exists() and not overlay.is_symlink():
        return None
    text = overlay.read_text()
    replace = json.loads(text)["Replace"]
    missing = [v for v in replace.values() if v and not os.path.exists(v)]
    assert not missing, f"overlay.json names files that are not there: {missing[:3]}"
    return text, {k: Path(v).read_bytes() for k, v in sorted(replace.items()) if v}


@pytest.fixture
def generations(module: Path) -> dict[str, tuple[str, dict[str, bytes]]]:
    """What each variant's generation leaves on disk, alone."""
    found = {}
    for variant in ("a", "b"):
        _generate(module, variant)
        state = _state(module)
        assert state is not None
        found[variant] = state
    assert found["a"] != found["b"] and set(found["a"][1]) != set(found["b"][1])
    return found


def test_runs_at_once_end_with_one_whole_generation(
    module: Path, generations: dict[str, tuple[str, dict[str, bytes]]]
) -> None:
    for round in range(3):
        variants = ["a", "b", "a", "b"] if round % 2 == 0 else ["b", "a", "b", "a"]
        procs = [
            subprocess.Popen(_command(v), cwd=module, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for v in variants
        ]
        outcomes = [p.communicate(timeout=120) for p in procs]
        for proc, (_, stderr) in zip(procs, outcomes, strict=True):
            assert proc.returncode == 0, stderr
            assert "Traceback" not in stderr
        assert _state(module) in generations.values()
        assert not [p.name for p in module.iterdir() if p.name.startswith((".overlay-gen.", "overlay.json."))]
    # The last one to write had waited: it says so, on one line of its own.
    waits = [line for _, stderr in outcomes for line in stderr.splitlines() if "waiting" in line]
    assert all(line.startswith("overlay-gen: another run is writing this overlay; waiting") for line in waits)
