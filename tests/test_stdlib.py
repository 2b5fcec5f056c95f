"""The instrumented standard library, on both supported Go releases: behaviour
unchanged (Go's own test suites pass with the overlay), traces as expected."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import FIXTURES, copy_fixture, go, otlp_env, overlay_gen
from otlp import OtlpReceiver
from postgres import PostgresServer
from test_dbsql import expected_trace
from traces import assert_trace

pytestmark = pytest.mark.gobuild

PACKAGES = ("net/http", "database/sql", "log/slog")


def _generate(root: Path, env: dict[str, str]) -> dict[str, str]:
    proc = overlay_gen(root, ".", env=env)
    assert proc.returncode == 0, proc.stderr
    return json.loads((root / "overlay.json").read_text())["Replace"]


def test_go_test_suites_pass_with_the_overlay(tmp_path: Path, toolchain_env: dict[str, str]) -> None:
    root = copy_fixture("dbapp", tmp_path)  # database/sql and log/slog; add net/http
    (root / "web.go").write_text('package main\n\nimport "net/http"\n\nvar _ = http.Get\n')
    replace = _generate(root, toolchain_env)
    for package in PACKAGES:
        assert [k for k in replace if f"/src/{package}/" in k], f"{package} is not instrumented"
    proc = go(root, "test", "-short", "-overlay=overlay.json", *PACKAGES, env=toolchain_env)
    for package in PACKAGES:
        assert f"ok  \t{package}" in proc.stdout, proc.stdout


def test_database_trace_on_each_release(
    tmp_path: Path, toolchain_env: dict[str, str], receiver: OtlpReceiver, postgres: PostgresServer
) -> None:
    root = copy_fixture("dbapp", tmp_path)
    _generate(root, toolchain_env)
    go(root, "build", "-overlay=overlay.json", "-o", "dbapp", ".", env=toolchain_env)
    run = subprocess.run(
        [str(root / "dbapp")],
        env=otlp_env(toolchain_env, receiver, DBAPP_DSN=postgres.dsn),
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert_trace(expected_trace(FIXTURES / "dbapp" / "expected-trace.toml", postgres.port), receiver.spans())
    assert '"trace_id"' in run.stdout


def test_http_trace_on_each_release(tmp_path: Path, toolchain_env: dict[str, str], receiver: OtlpReceiver) -> None:
    from test_nethttp import _get, _service

    root = copy_fixture("webapp", tmp_path)
    _generate(root, toolchain_env)
    go(root, "build", "-overlay=overlay.json", "-o", "webapp", ".", env=toolchain_env)
    env = otlp_env(toolchain_env, receiver)
    with _service(root / "webapp", env, "items") as items, _service(root / "webapp", env, "orders", items) as orders:
        assert _get(root / "webapp", env, f"{orders}/orders/7") == "200 order 7: item 7: a fine item #7"
        receiver.wait_for(5)
    assert_trace(FIXTURES / "webapp" / "expected-trace.toml", receiver.spans())
