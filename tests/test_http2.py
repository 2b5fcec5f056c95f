"""HTTP/2 servers record the status code they answered, on each Go release.

The x-net-http2 integration's fixture serves HTTP/2 over TLS through
golang.org/x/net/http2, as caddy does, and answers 201, an implicit 200 and
503 to x/net's HTTP/2 client. tests/test_integrations.py runs it with the
machine's Go 1.26 at each tested x/net release, where x/net answers through
its own response writer; here it runs with Go 1.27 too, where x/net serves
through net/http's internal HTTP/2 and net-http's own aspect tells the status.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import REPO, go, otlp_env, overlay_gen
from otlp import OtlpReceiver
from traces import assert_trace

FIXTURE = REPO / "aspects" / "x-net-http2" / "fixture"


@pytest.mark.gobuild
def test_x_net_http2_server_span_has_the_status_code_it_answered(
    tmp_path: Path, toolchain_env: dict[str, str], receiver: OtlpReceiver
) -> None:
    root = tmp_path / "h2app"
    shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns(".overlay-gen", "overlay.json"))
    proc = overlay_gen(root, ".", env=toolchain_env)
    assert proc.returncode == 0, proc.stderr
    go(root, "build", "-overlay=overlay.json", "-o", "h2app", ".", env=toolchain_env)
    env = otlp_env(toolchain_env, receiver)
    run = subprocess.run([str(root / "h2app")], cwd=root, env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "POST /items: HTTP/2.0 201" in run.stdout
    assert_trace(FIXTURE / "expected-trace.toml", receiver.spans())
