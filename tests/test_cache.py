"""The result cache: a run after an edit redoes only what the edit touched, and
its output is always the output of a run without the cache.

Most tests generate for fixtures/hello (its aspects rewrite the main module, a
module-cache dependency and text/tabwriter) in-process, with a cache of their
own, and compare against ``Cache(None)`` runs in the same directory.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import copy_fixture, go, overlay_gen

from overlay_gen import fileindex, instrument, resolve
from overlay_gen.cache import Cache, Key
from overlay_gen.fileindex import FileIndex, go_header
from overlay_gen.options import Options, Summary
from overlay_gen.pipeline import generate

# --- the store ---------------------------------------------------------------


def test_keys_differ_for_different_parts() -> None:
    assert Key("k").add("ab", "c").hexdigest() != Key("k").add("a", "bc").hexdigest()
    assert Key("k").add("a").hexdigest() != Key("j").add("a").hexdigest()
    assert Key("k").add_all(["b", "a"]).hexdigest() == Key("k").add_all(["a", "b"]).hexdigest()


def test_store_round_trip_and_unreadable_entries(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    key = Key("thing").add("x")
    assert cache.get(key) is None
    cache.put(key, {"value": (1, b"2")})
    assert cache.get(key) == {"value": (1, b"2")}
    path = next(p for p in (tmp_path / "thing").rglob("*") if p.is_file())
    path.write_bytes(b"\x80not a pickle")
    assert cache.get(key) is None
    assert not path.exists(), "an unreadable entry is removed"


def test_off_keeps_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVERLAY_GEN_CACHE", "off")
    cache = Cache.default()
    assert cache.directory is None
    cache.put(Key("thing"), 1)
    assert cache.get(Key("thing")) is None


# --- the file index ----------------------------------------------------------

HEADER_SOURCE = b"""// Copyright notice.

//go:build linux && !race

// Package p does things.
package p

/*
#include <stdio.h>
*/
import "C"

import (
\t"fmt" // why
\tstr "strings"
)

//go:embed data/*.txt
var files embed.FS

func F() { fmt.Println(str.ToUpper("import (")) }
"""


def test_go_header_is_what_go_list_reads() -> None:
    header = go_header(HEADER_SOURCE)
    assert header.startswith(b"// Copyright notice.\n\n//go:build linux && !race")
    assert b'import "C"' in header and b"#include <stdio.h>" in header
    assert b'str "strings"\n)' in header
    assert header.endswith(b"\n//go:embed data/*.txt")
    assert b"func F" not in header and b"var files" not in header


def test_header_digest_ignores_bodies_but_not_imports(tmp_path: Path) -> None:
    path = tmp_path / "p.go"
    path.write_bytes(HEADER_SOURCE)
    index = FileIndex(Cache(None))
    header, digest = index.header(str(path)), index.digest(str(path))

    body_edit = HEADER_SOURCE.replace(b"ToUpper", b"ToLower")
    assert go_header(body_edit) == go_header(HEADER_SOURCE)
    import_edit = HEADER_SOURCE.replace(b'"fmt" // why', b'"fmt"\n\t"os"')
    assert go_header(import_edit) != go_header(HEADER_SOURCE)

    fresh = FileIndex(Cache(None))
    path.write_bytes(body_edit)
    assert fresh.header(str(path)) == header and fresh.digest(str(path)) != digest


def test_index_trusts_a_signature_only_once_the_file_has_settled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = Cache(tmp_path / "cache")
    path = tmp_path / "f.go"
    path.write_bytes(b"package a\n")
    first = FileIndex(cache)
    first.digest(str(path))
    first.save()
    # Same size, written within the file system's timestamp granularity: the
    # signature may be the same, so a just-written file is never taken on trust.
    path.write_bytes(b"package b\n")
    assert FileIndex(cache).digest(str(path)) == FileIndex(Cache(None)).digest(str(path))

    monkeypatch.setattr(fileindex, "SETTLED_NS", 10_000_000)
    time.sleep(0.05)  # now the file has settled: it is trusted by signature
    settled = FileIndex(cache)
    digest = settled.digest(str(path))
    settled.save()
    entries = cache.load_state("files")
    assert isinstance(entries, dict) and entries[str(path)][1] == digest


# --- generation --------------------------------------------------------------


@pytest.fixture
def hello(tmp_path: Path, go_env: dict[str, str]) -> Path:
    root = copy_fixture("hello", tmp_path)
    go(root, "mod", "download", env=go_env)
    return root


def _output(root: Path) -> dict[str, bytes]:
    """overlay.json and every shadow file."""
    shadow = root / ".overlay-gen"
    files = {str(p.relative_to(shadow)): p.read_bytes() for p in sorted(shadow.rglob("*")) if p.is_file()}
    return {"overlay.json": (root / "overlay.json").read_bytes(), **files}


def _run(root: Path, cache: Cache, **options: object) -> tuple[Summary, dict[str, bytes]]:
    summary = generate(Options(directory=root, **options), cache=cache)  # type: ignore[arg-type]
    return summary, _output(root)


def _uncached(root: Path, **options: object) -> dict[str, bytes]:
    return _run(root, Cache(None), **options)[1]


def test_one_line_edit_parses_only_its_package_and_matches_an_uncached_run(hello: Path, tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    first, before = _run(hello, cache)
    assert first.parsed > 1 and not first.reused

    main = hello / "main.go"
    main.write_text(main.read_text().replace('"explode: " + why', '"exploded: " + why'))
    second, after = _run(hello, cache)
    assert second.parsed == 1, "only main.go is parsed again"
    assert after != before
    assert after == _uncached(hello)


def test_an_edit_parses_only_the_edited_file_of_its_package(hello: Path, tmp_path: Path) -> None:
    calc = hello / "calc"
    (calc / "boom.go").write_text("package calc\n\nfunc explode() { panic(Add(1, 2)) }\n")
    (calc / "notes.go").write_text("package calc\n\n// Nothing here may explode.\nconst Notes = 1\n")
    cache = Cache(tmp_path / "cache")
    first, _ = _run(hello, cache)
    assert first.parsed >= 2

    (calc / "boom.go").write_text("package calc\n\nfunc explode() { panic(Add(2, 3)) }\n")
    second, output = _run(hello, cache)
    assert second.parsed == 1, "notes.go, a candidate of the same package, comes from the cache"
    assert output == _uncached(hello)


def test_nothing_changed_reuses_the_output_unless_it_was_touched(hello: Path, tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    _run(hello, cache)
    expected = _output(hello)
    again, output = _run(hello, cache)
    assert again.reused and again.parsed == 0 and output == expected

    os.utime(hello / "main.go")  # touched, not changed: its digest says so
    assert _run(hello, cache)[0].reused

    shadow_main = hello / ".overlay-gen" / "main" / "main.go"
    shadow_main.write_text("package main\n")  # someone edited the shadow: regenerate
    repaired, output = _run(hello, cache)
    assert not repaired.reused and output == expected


def test_go_list_runs_only_when_what_it_reads_changed(
    hello: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = Cache(tmp_path / "cache")
    _run(hello, cache)
    calls: list[object] = []
    real = resolve.list_packages

    def counting(ctx: resolve.BuildContext) -> list[resolve.Package]:
        calls.append(ctx)
        return real(ctx)

    monkeypatch.setattr(resolve, "list_packages", counting)

    main = hello / "main.go"
    main.write_text(main.read_text().replace('"overlay-gen"', '"overlay-gen, again"'))
    _run(hello, cache)
    assert calls == [], "a body edit keeps the package graph"

    main.write_text(
        main.read_text()
        .replace('\t"os"\n', '\t"os"\n\t"strings"\n')
        .replace("w.Flush()", "w.Flush()\n\t_ = strings.ToUpper")
    )
    _, output = _run(hello, cache)
    assert len(calls) == 1, "an import edit changes it"
    assert output == _uncached(hello)


@pytest.mark.parametrize(
    "edit",
    [
        "aspect file",
        "disable in overlay-gen.toml",
        "new file in a package",
        "removed test file",
        "build flag",
    ],
)
def test_a_stale_entry_is_never_used(hello: Path, tmp_path: Path, edit: str) -> None:
    cache = Cache(tmp_path / "cache")
    options: dict[str, object] = {}
    if edit == "removed test file":
        options["tests"] = True
    elif edit == "build flag":
        (hello / "calc" / "calc_tagged.go").write_text("//go:build special\n\npackage calc\n\nfunc explode() {}\n")
    _, before = _run(hello, cache, **options)
    if edit == "aspect file":
        aspects = hello / "aspects.toml"
        aspects.write_text(
            aspects.read_text().replace('println("[overlay-gen] enter', 'println("[overlay-gen] entering')
        )
    elif edit == "disable in overlay-gen.toml":
        config = hello / "overlay-gen.toml"
        config.write_text(config.read_text().replace('disable = ["', 'disable = ["hello.stdlib", "'))
    elif edit == "new file in a package":
        (hello / "calc" / "more.go").write_text("package calc\n\nfunc explode() { panic(1) }\n")
    elif edit == "removed test file":
        (hello / "calc" / "calc_test.go").unlink()
    else:
        options["build_flags"] = ("-tags=special",)
    summary, output = _run(hello, cache, **options)
    assert not summary.reused
    assert output != before, "the edit changes the overlay"
    assert output == _uncached(hello, **options)


def test_parallel_workers_give_the_serial_output(hello: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    serial = _uncached(hello)
    monkeypatch.setattr(instrument, "PARALLEL_MIN_FILES", 0)
    used: list[tuple[int, int]] = []
    real = instrument._in_parallel

    def spy(candidates: object, todo: list[int], ctx: object, cache: object, workers: int) -> object:
        used.append((len(todo), workers))
        return real(candidates, todo, ctx, cache, workers)  # type: ignore[arg-type]

    monkeypatch.setattr(instrument, "_in_parallel", spy)
    parallel = _run(hello, Cache(tmp_path / "cache"))[1]
    assert parallel == serial
    [(packages, workers)] = used
    assert packages >= 3 and workers == min(len(os.sched_getaffinity(0)), packages), "a worker per core"


def test_cache_entries_are_pickles_of_plain_records(hello: Path, tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    _run(hello, cache)
    kinds = {p.name for p in (tmp_path / "cache").iterdir() if p.is_dir()}
    assert {"resolve", "select", "file-result", "gofmt", "uptodate"} <= kinds
    for entry in (tmp_path / "cache" / "file-result").rglob("*"):
        if entry.is_file():
            _, pending, done = pickle.loads(entry.read_bytes())
            assert isinstance(pending, frozenset) and isinstance(done, frozenset)
    assert json.loads((hello / "overlay.json").read_text())["Replace"]


def test_a_changed_go_env_is_not_up_to_date(hello: Path, go_env: dict[str, str]) -> None:
    (hello / "calc" / "calc_tagged.go").write_text("//go:build special\n\npackage calc\n\nfunc explode() {}\n")
    assert overlay_gen(hello, ".", env=go_env).returncode == 0
    before = _output(hello)
    tagged = {**go_env, "GOFLAGS": f"{go_env.get('GOFLAGS', '')} -tags=special".strip()}
    proc = overlay_gen(hello, ".", env=tagged)  # the same command; go env says GOFLAGS changed
    assert proc.returncode == 0, proc.stderr
    assert "nothing changed" not in proc.stderr
    assert _output(hello) != before
    assert "nothing changed" in overlay_gen(hello, ".", env=tagged).stderr


def test_an_up_to_date_run_loads_no_stage(hello: Path, go_env: dict[str, str]) -> None:
    assert overlay_gen(hello, ".", env=go_env).returncode == 0
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "overlay_gen", "."],
        cwd=hello,
        env=go_env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "nothing changed" in proc.stderr
    loaded = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "overlay_gen.uptodate" in loaded
    assert not loaded & {
        "attrs",
        "overlay_gen.aspect",
        "overlay_gen.select",
        "overlay_gen.parse",
        "tree_sitter",
        "networkx",
        # Standard modules it does without, a few milliseconds each.
        "typing",
        "tempfile",
        "multiprocessing",
        "concurrent.futures",
    }
