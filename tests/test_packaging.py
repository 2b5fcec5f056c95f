"""The wheel carries the package, the integrations (aspects and Go code) and the overlay-gen command."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import REPO


@pytest.mark.slow
def test_wheel_ships_builtin_aspects_and_loads_them(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path), str(REPO)], check=True
    )
    (wheel,) = tmp_path.glob("overlay_gen-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        entry_points = zf.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
        zf.extractall(tmp_path / "site")
    shipped = sorted(n.removeprefix("overlay_gen/aspects/") for n in names if n.startswith("overlay_gen/aspects/"))
    # Each integration's aspects and Go module; not its fixture or golden files, which only the tests read.
    wanted = sorted(
        p.relative_to(REPO / "aspects").as_posix()
        for p in (REPO / "aspects").rglob("*")
        if p.is_file() and not {"fixture", "golden"} & set(p.relative_to(REPO / "aspects").parts)
    )
    assert shipped == wanted
    assert "runtime/integration.toml" in shipped and "runtime/otelrt.go" in shipped
    assert "overlay-gen = overlay_gen.cli:main" in entry_points
    # Import from the unpacked wheel, far from the source tree.
    probe = (
        "import overlay_gen.aspect as a, overlay_gen.integration as i;"
        "found = i.catalog(); print(found[0].file);"
        "print([x.id for n in found for x in a.load_file(n.file, n.display, integration=True)])"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path / "site")},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.splitlines()[0].startswith(str(tmp_path / "site" / "overlay_gen" / "aspects"))
    assert "overlay-gen.build-info" in out
