"""database/sql and log/slog, instrumented in the standard library, against a real PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, REPO, build_fixture, copy_fixture, go, otlp_env, overlay_gen
from otlp import OtlpReceiver
from postgres import PostgresServer
from test_nethttp import _get, _service
from traces import ExpectedTrace, assert_trace, parse_expected


def expected_trace(path: Path, port: int) -> ExpectedTrace:
    """The expected trace at ``path``, its ``"server.port" = "PORT"`` the test server's port (which
    changes from run to run)."""
    data = tomllib.loads(path.read_text())

    def fill(spans: list[dict[str, Any]]) -> None:
        for span in spans:
            if span.get("attributes", {}).get("server.port") == "PORT":
                span["attributes"]["server.port"] = port
            fill(span.get("child", []))

    fill(data.get("span", []))
    return parse_expected(data, path)


@pytest.fixture(scope="module")
def dbapp(tmp_path_factory: pytest.TempPathFactory, go_env: dict[str, str]) -> Path:
    return build_fixture("dbapp", tmp_path_factory.mktemp("dbapp"), go_env)


@pytest.mark.gobuild
def test_database_operations_are_spans_and_logs_carry_their_ids(
    dbapp: Path, go_env: dict[str, str], receiver: OtlpReceiver, postgres: PostgresServer
) -> None:
    run = subprocess.run(
        [str(dbapp)], env=otlp_env(go_env, receiver, DBAPP_DSN=postgres.dsn), capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    assert 'inventory: as expected\nERROR: syntax error at or near "SELEC"' in run.stdout
    assert_trace(expected_trace(FIXTURES / "dbapp" / "expected-trace.toml", postgres.port), receiver.spans())

    records = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    outside, with_context, without_context = records
    (inventory,) = [s for s in receiver.spans() if s.name == "inventory"]
    assert outside["msg"] == "outside any span" and "trace_id" not in outside and "span_id" not in outside
    assert with_context["msg"] == "inventory" and with_context["items"] == 1
    assert without_context["msg"] == "no context: the goroutine's span"
    for record in (with_context, without_context):  # slog.Info: the goroutine's active span, the //dd:span's
        assert (record["trace_id"], record["span_id"]) == (inventory.trace_id, inventory.span_id)


@pytest.mark.gobuild
def test_one_trace_from_client_to_database_across_two_services(
    tmp_path_factory: pytest.TempPathFactory, go_env: dict[str, str], receiver: OtlpReceiver, postgres: PostgresServer
) -> None:
    webapp = build_fixture("webapp", tmp_path_factory.mktemp("webapp-db"), go_env)
    env = otlp_env(go_env, receiver)
    with (
        _service(webapp, {**env, "WEBAPP_DSN": postgres.dsn}, "items") as items,
        _service(webapp, env, "orders", items) as orders,
    ):
        assert _get(webapp, env, f"{orders}/orders/7") == "200 order 7: item 7: a stored item #7"
        receiver.wait_for(6)
    assert_trace(expected_trace(FIXTURES / "webapp" / "expected-trace-with-db.toml", postgres.port), receiver.spans())
    assert len({s.trace_id for s in receiver.spans()}) == 1


@pytest.mark.gobuild
def test_data_source_names_are_read_as_the_drivers_read_them(go_env: dict[str, str]) -> None:
    """The DSN parsers of the PostgreSQL and SQLite drivers, which have no integration of their own:
    aspects/database-sql/dsn's Go tests (the package beside them needs the overlay to compile)."""
    go(REPO / "aspects" / "database-sql", "test", "-count=1", "./dsn", env=go_env)


@pytest.mark.parametrize(
    ("switch", "package"), [("overlay-gen.database-sql*", "database/sql"), ("overlay-gen.log-slog*", "log/slog")]
)
def test_integrations_can_be_switched_off(tmp_path: Path, go_env: dict[str, str], switch: str, package: str) -> None:
    root = copy_fixture("dbapp", tmp_path)
    assert overlay_gen(root, ".", env=go_env).returncode == 0
    assert [k for k in json.loads((root / "overlay.json").read_text())["Replace"] if f"/src/{package}/" in k]
    (root / "overlay-gen.toml").write_text(f'disable = ["{switch}"]\n')
    proc = overlay_gen(root, ".", env=go_env)
    assert proc.returncode == 0, proc.stderr
    assert not [k for k in json.loads((root / "overlay.json").read_text())["Replace"] if f"/src/{package}/" in k]
