"""The wheel carries the package, the built-in aspects and the overlay-gen command."""

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
    assert shipped == sorted(p.name for p in (REPO / "aspects").glob("*.toml"))
    assert "overlay-gen = overlay_gen.cli:main" in entry_points
    # Import from the unpacked wheel, far from the source tree.
    probe = (
        "import overlay_gen.aspect as a; from pathlib import Path;"
        "files = a.builtin_files(); print(files[0][0]);"
        "print([x.id for p, d in files for x in a.load_file(p, d)])"
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
