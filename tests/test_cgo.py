"""A module copy of a cgo package: gcc and the linker read the disk, not the overlay.

The go command hands a cgo package's C compiler the package's directory; for a
module copy that directory holds only the rewritten files (the rest are
overlay entries), and once one of its C or header files is overlaid the go
command copies those, but no other directory's, to its work directory. So
the copy's files other than Go files are symbolic links to the module cache
(overlay_gen/emit.py): a header included from another directory and a static
library named by ``#cgo LDFLAGS: ${SRCDIR}/...`` are found, as
confluent-kafka-go's librdkafka_vendor/ needs. example.com/cgreeting (from
fixtures/modules) includes ``cinclude/greet.h``.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from conftest import go, overlay_gen

MAIN = """package main

import (
	"fmt"

	"example.com/cgreeting"
)

func main() { fmt.Println(cgreeting.Hello()) }
"""

ASPECTS = """
[[aspect]]
id = "cgo.dependency"
join-point = { all-of = [ { package = "example.com/cgreeting" }, { function-declaration = { name = "Hello" } } ] }

[[aspect.advice]]
prepend-statements = { imports = { fmt = "fmt" }, template = 'fmt.Println("[overlay-gen] enter {{function.name}}")' }
"""


@pytest.fixture
def cgo_app(tmp_path: Path, go_env: dict[str, str]) -> Path:
    root = tmp_path / "cgoapp"
    root.mkdir()
    (root / "go.mod").write_text("module example.com/cgoapp\n\ngo 1.22\n\nrequire example.com/cgreeting v1.0.0\n")
    (root / "main.go").write_text(MAIN)
    (root / "aspects.toml").write_text(ASPECTS)
    go(root, "mod", "tidy", env={**go_env, "CGO_ENABLED": "1"})
    return root


def _generate(root: Path, env: dict[str, str]) -> dict[str, str]:
    proc = overlay_gen(root, ".", "--no-builtin", "--aspects", "aspects.toml", env=env)
    assert proc.returncode == 0, proc.stderr
    return json.loads((root / "overlay.json").read_text())["Replace"]


def test_a_cgo_module_copy_links_its_other_files_than_go_files(cgo_app: Path, go_env: dict[str, str]) -> None:
    env = {**go_env, "CGO_ENABLED": "1"}
    replace = _generate(cgo_app, env)
    copy = cgo_app / ".overlay-gen" / "mod" / "example.com" / "cgreeting@v1.0.0"
    header = copy / "cinclude" / "greet.h"
    original = Path(go_env["GOMODCACHE"]) / "example.com" / "cgreeting@v1.0.0" / "cinclude" / "greet.h"
    assert header.is_symlink() and os.readlink(header) == str(original)
    assert str(header) not in replace
    # Go files stay overlay entries, the rewritten one a real file.
    assert replace[str(copy / "cinclude" / "cinclude.go")] == str(original.with_name("cinclude.go"))
    assert not (copy / "cgreeting.go").is_symlink()
    assert "[overlay-gen] enter" in (copy / "cgreeting.go").read_text()
    status = overlay_gen(cgo_app, "status", "--no-builtin", "--aspects", "aspects.toml", env=env)
    assert status.returncode == 0, status.stderr


@pytest.mark.gobuild
def test_a_rewritten_cgo_dependency_builds_and_runs(cgo_app: Path, go_env: dict[str, str]) -> None:
    env = {**go_env, "CGO_ENABLED": "1"}
    _generate(cgo_app, env)
    go(cgo_app, "build", "-overlay=overlay.json", "-o", "app", ".", env=env)
    run = subprocess.run([str(cgo_app / "app")], capture_output=True, text=True, check=True)
    assert run.stdout == "[overlay-gen] enter Hello\nhello from C\n"
