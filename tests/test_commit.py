"""Runs that overlap or die: the output on disk is always one whole generation's.

Two generations that differ in every way an overlay can (other files, other
contents, a file only one of them adds) are run at once, and killed with
SIGKILL at points spread over a run; after each, overlay.json and the files
its entries name must be exactly one of the two generations, or the output
from before, and the next run must succeed. Generation only (go list and
gofmt): the fast tier.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
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


def test_a_run_killed_at_any_point_leaves_the_previous_output_and_the_next_run_works(
    module: Path, generations: dict[str, tuple[str, dict[str, bytes]]]
) -> None:
    start = time.monotonic()
    _generate(module, "a")
    duration = time.monotonic() - start  # a run that has work to do (the output was b's)
    kills = 6
    for i in range(kills):
        variant = "ab"[i % 2]
        before = _state(module)
        proc = subprocess.Popen(_command(variant), cwd=module, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(duration * (i + 0.5) / kills)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        after = _state(module)
        assert after == before or after == generations[variant], f"kill {i}: a mix of two generations"
        # The next run works, and writes its whole generation.
        _generate(module, variant)
        assert _state(module) == generations[variant]
    # What a killed run left beside the output (its staging directory, its lock
    # file) goes with the next run that writes.
    _generate(module, "b" if variant == "a" else "a")
    assert not [p.name for p in module.iterdir() if p.name.startswith((".overlay-gen.", "overlay.json."))]


# overlay-gen's command, killed by itself (SIGKILL) right after the KILL_AFTER-th
# call, inside emit.commit, of one of the functions that change the file system
# (a tree removed counts as one: what is removed is no longer in use).
_KILLED_IN_COMMIT = """
import os, shutil, signal, sys
from pathlib import Path
from overlay_gen import emit
from overlay_gen.cli import main

after, calls, inside = int(os.environ["KILL_AFTER"]), [0], [False]

def counted(fn):
    def call(*args, **kwargs):
        result = fn(*args, **kwargs)
        if inside[0]:
            calls[0] += 1
            if calls[0] == after:
                os.kill(os.getpid(), signal.SIGKILL)
        return result
    return call

for owner, name in [(os, "replace"), (os, "rename"), (os, "symlink"), (shutil, "rmtree"), (shutil, "copyfile"),
                    (Path, "unlink"), (Path, "write_text"), (emit, "_exchange")]:
    if hasattr(owner, name):
        setattr(owner, name, counted(getattr(owner, name)))
commit = emit.commit

def commit_counted(*args, **kwargs):
    inside[0] = True
    try:
        return commit(*args, **kwargs)
    finally:
        inside[0] = False

emit.commit = commit_counted
sys.exit(main(sys.argv[1:]))
"""


def _as_an_earlier_release_left_it(root: Path) -> None:
    """overlay.json a plain file, as overlay-gen wrote it before it was a link into the shadow directory."""
    text = (root / "overlay.json").read_text()
    (root / "overlay.json").unlink()
    (root / "overlay.json").write_text(text)
    (root / ".overlay-gen" / "overlay.json").unlink()


@pytest.mark.parametrize("earlier", [False, True], ids=["from-this-release", "from-an-earlier-release"])
def test_a_run_killed_at_each_step_of_its_commit_leaves_one_whole_generation(
    module: Path, generations: dict[str, tuple[str, dict[str, bytes]]], earlier: bool
) -> None:
    variant, step = "b", 0
    while True:
        step += 1
        variant = "b" if variant == "a" else "a"  # the output on disk is the other one's
        if earlier:
            _as_an_earlier_release_left_it(module)
        before = _state(module)
        argv = ["-c", _KILLED_IN_COMMIT, *_command(variant)[3:]]
        proc = subprocess.run([sys.executable, *argv], cwd=module, env={**os.environ, "KILL_AFTER": str(step)})
        after = _state(module)
        assert after == before or after == generations[variant], f"killed at step {step}: a mix of generations"
        if proc.returncode == 0:
            assert after == generations[variant]
            break
        assert proc.returncode == -signal.SIGKILL
        _generate(module, variant)
        assert _state(module) == generations[variant]
    assert step > 1, "the commit was never interrupted"
