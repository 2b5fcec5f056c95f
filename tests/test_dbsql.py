"""database/sql and log/slog, instrumented in the standard library, against a real PostgreSQL."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import FIXTURES, build_fixture, copy_fixture, otlp_env, overlay_gen
from otlp import OtlpReceiver
from postgres import PostgresServer
from test_nethttp import _get, _service
from traces import assert_trace


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
    assert_trace(FIXTURES / "dbapp" / "expected-trace.toml", receiver.spans())

    records = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    with_context, without = records
    (inventory,) = [s for s in receiver.spans() if s.name == "inventory"]
    assert (with_context["trace_id"], with_context["span_id"]) == (inventory.trace_id, inventory.span_id)
    assert with_context["msg"] == "inventory" and with_context["items"] == 1
    assert "trace_id" not in without and "span_id" not in without


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
    assert_trace(FIXTURES / "webapp" / "expected-trace-with-db.toml", receiver.spans())
    assert len({s.trace_id for s in receiver.spans()}) == 1


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
