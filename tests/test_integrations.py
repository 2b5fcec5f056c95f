"""Every integration, from its own folder of aspects/ (docs/integrations.md).

An integration with a fixture (``aspects/<name>/fixture/``: a program written
as a user of the library would write it, which exercises the library over
real loopback connections and exits) is checked twice:

* its golden files (``aspects/<name>/golden/<path>.golden``): what overlay-gen
  makes of the fixture's own files, exactly (fast tier: generation only);
  ``OVERLAY_GEN_UPDATE_GOLDEN=1`` rewrites them from the run. The suffix keeps
  them out of the integration's Go module (``go mod tidy`` in the folder);
* its trace (full tier): the fixture is built with the overlay at each library
  release the integration's ``tested`` list names (the oldest and the newest
  it claims), run against the servers ``fixture.toml`` asks for, and the spans
  it exports to a real OTLP receiver are compared with
  ``fixture/expected-trace.toml`` (in which ``${NAME}`` stands for what a
  server gave the fixture's variable NAME: its port); the metrics it exports
  in the same run keep to the conventions' attributes, and match
  ``fixture/expected-metrics.toml`` where the fixture has one (tests/metrics.py);
  a logging library's fixture exports its records too (OTEL_LOGS_EXPORTER=otlp),
  compared with ``fixture/expected-logs.toml`` with what it printed (tests/logs.py).

``fixture.toml`` (optional) says how to run it::

    servers = ["redis"]   # started by the tests: redis (REDIS_ADDR), postgres (DATABASE_URL),
                          # memcached (MEMCACHED_ADDR, MEMCACHED_PORT), mariadb (MYSQL_DSN),
                          # mongodb (MONGODB_URI), elasticsearch (ELASTICSEARCH_URL:
                          # tests/elasticsearch.py, a loopback stand-in), kafka (KAFKA_BROKERS,
                          # KAFKA_PORT: tests/kafka.py, franz-go's kfake, a fresh broker per
                          # test, so that fixed topics and groups start empty), nats (NATS_URL,
                          # NATS_PORT), rabbitmq (RABBITMQ_URL, RABBITMQ_PORT), genai
                          # (OPENAI_BASE_URL, OPENAI_API_KEY, ANTHROPIC_BASE_URL, ANTHROPIC_API_KEY,
                          # GENAI_PORT: tests/genai.py, a loopback stand-in for the OpenAI and
                          # Anthropic APIs), moto (AWS_ENDPOINT_URL, AWS_REGION, dummy
                          # credentials, MOTO_PORT: tests/moto_server.py; emptied before each run)
    timeout = 60          # seconds the program may take

All fixtures share the tests' module cache (build/gomodcache) and the user's
Go build cache, so each library and the OpenTelemetry SDK compile once.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURE_BUILD, WITH_LOGS, WITH_METRICS, go, otlp_env, overlay_gen
from logs import assert_logs, load_expected_logs
from metrics import assert_metrics, load_expected_metrics
from otlp import OtlpReceiver
from traces import assert_trace, load_expected

from overlay_gen.gocmd import scan_go_mod
from overlay_gen.integration import Integration, catalog
from overlay_gen.model import is_standard, within
from overlay_gen.options import SHADOW_DIR

UPDATE = os.environ.get("OVERLAY_GEN_UPDATE_GOLDEN") == "1"
GOLDEN = ".golden"  # what a golden file's name ends with
FIXTURE_KEYS = frozenset({"servers", "timeout"})

# What each server a fixture asks for gives it, from the session's server of that kind.
SERVERS: dict[str, tuple[str, Callable[[Any], dict[str, str]]]] = {
    "redis": ("redis", lambda server: {"REDIS_ADDR": server.addr}),
    "postgres": ("postgres", lambda server: {"DATABASE_URL": server.dsn}),
    "memcached": ("memcached", lambda server: {"MEMCACHED_ADDR": server.addr, "MEMCACHED_PORT": str(server.port)}),
    "mariadb": ("mariadb", lambda server: {"MYSQL_DSN": server.dsn}),
    "mongodb": ("mongodb", lambda server: {"MONGODB_URI": server.uri}),
    "elasticsearch": ("elasticsearch", lambda server: {"ELASTICSEARCH_URL": server.url}),
    "kafka": ("kafka", lambda server: {"KAFKA_BROKERS": server.addr, "KAFKA_PORT": str(server.port)}),
    "nats": ("nats", lambda server: {"NATS_URL": server.url, "NATS_PORT": str(server.port)}),
    "rabbitmq": ("rabbitmq", lambda server: {"RABBITMQ_URL": server.url, "RABBITMQ_PORT": str(server.port)}),
    "genai": (
        "genai",
        lambda server: {
            "OPENAI_BASE_URL": server.url + "/v1",
            "OPENAI_API_KEY": "sk-fixture",
            "ANTHROPIC_BASE_URL": server.url,
            "ANTHROPIC_API_KEY": "sk-ant-fixture",
            "GENAI_PORT": str(server.port),
        },
    ),
    # Every run gets an empty AWS account: a fixture creates its buckets, tables and queues anew.
    "moto": ("moto", lambda server: server.reset().variables),
}

INTEGRATIONS = catalog()
WITH_FIXTURE = [i for i in INTEGRATIONS if (i.file.parent / "fixture").is_dir()]


def _fixture(integration: Integration) -> Path:
    return integration.file.parent / "fixture"


def _settings(integration: Integration) -> dict[str, Any]:
    path = _fixture(integration) / "fixture.toml"
    settings = tomllib.loads(path.read_text()) if path.is_file() else {}
    unknown = set(settings) - FIXTURE_KEYS
    assert not unknown, f"{path}: unknown keys {sorted(unknown)}"
    assert all(s in SERVERS for s in settings.get("servers", [])), f"{path}: servers are {sorted(SERVERS)}"
    return settings


def library_module(integration: Integration, go_mod: Path) -> str:
    """The module of the first library package the integration instruments, as go.mod requires it."""
    _, requires = scan_go_mod(go_mod.read_text())
    library = next(p for p in integration.instruments if not is_standard(p))
    return max((m for m in requires if within(library, m)), key=len)


def _copy(integration: Integration, dest: Path) -> Path:
    root = dest / integration.name
    shutil.copytree(_fixture(integration), root, ignore=shutil.ignore_patterns(".overlay-gen", "overlay.json"))
    return root


def _generated(root: Path, env: dict[str, str]) -> dict[str, str]:
    """Generate the fixture's overlay; the shadow content of each of its own files, by module path
    (not module copies of its dependencies, which live in the shadow directory, nor its go.mod)."""
    proc = overlay_gen(root, ".", env=env)
    assert proc.returncode == 0, proc.stderr
    replace = json.loads((root / "overlay.json").read_text())["Replace"]
    found = {}
    for build, shadow in replace.items():
        path = Path(build)
        if path.is_relative_to(root) and not path.is_relative_to(root / SHADOW_DIR) and path.name != "go.mod":
            found[path.relative_to(root).as_posix()] = Path(shadow).read_text()
    return found


# --- what every integration's folder holds (no Go needed) -------------------------------


@pytest.mark.parametrize("integration", INTEGRATIONS, ids=[i.name for i in INTEGRATIONS])
def test_integration_folder_is_complete(integration: Integration) -> None:
    folder = integration.file.parent
    assert integration.aspect_ids, f"{folder}: no aspects"
    libraries = [p for p in integration.instruments if not is_standard(p)]
    if not libraries:
        return
    # A library integration says which releases it supports, is tested on its oldest and newest
    # (one, when they are the same release: go-redis v8's, zap's), and has a fixture with an
    # expected trace and golden files.
    assert integration.versions is not None, f"{integration.display}: no 'versions'"
    tested = integration.tested
    assert tested and len(set(tested)) == len(tested), f"{integration.display}: 'tested' names the oldest and newest"
    assert (folder / "fixture" / "expected-trace.toml").is_file(), f"{folder}: no fixture/expected-trace.toml"
    assert (folder / "golden").is_dir(), f"{folder}: no golden/ (OVERLAY_GEN_UPDATE_GOLDEN=1 writes it)"
    module = library_module(integration, folder / "fixture" / "go.mod")
    _, requires = scan_go_mod((folder / "fixture" / "go.mod").read_text())
    assert requires[module][0] == integration.tested[-1], "the fixture's go.mod requires the newest tested release"
    _settings(integration)


@pytest.mark.parametrize("integration", WITH_FIXTURE, ids=[i.name for i in WITH_FIXTURE])
def test_golden_files_are_what_overlay_gen_makes_of_the_fixture(
    integration: Integration, tmp_path: Path, go_env: dict[str, str]
) -> None:
    found = _generated(_copy(integration, tmp_path), go_env)
    golden = integration.file.parent / "golden"
    if UPDATE:
        shutil.rmtree(golden, ignore_errors=True)
        for name, text in found.items():
            (golden / (name + GOLDEN)).parent.mkdir(parents=True, exist_ok=True)
            (golden / (name + GOLDEN)).write_text(text)
    files = [p for p in golden.rglob("*") if p.is_file()]
    assert all(p.name.endswith(GOLDEN) for p in files), f"{golden}: every file ends with {GOLDEN}"
    want = {p.relative_to(golden).as_posix().removesuffix(GOLDEN): p.read_text() for p in files}
    assert sorted(found) == sorted(want), "the overlay holds other files of the fixture than golden/"
    for name, text in want.items():
        assert found[name] == text, f"{name} differs from golden/{name} (OVERLAY_GEN_UPDATE_GOLDEN=1 rewrites it)"


# --- the fixture, built and run at each tested release -------------------------------------


def _runs() -> list[Any]:
    return [
        pytest.param(i, version, id=f"{i.name}-{version}" if version else i.name)
        for i in WITH_FIXTURE
        for version in (i.tested or [""])
    ]


@pytest.mark.gobuild
@pytest.mark.parametrize(("integration", "version"), _runs())
def test_fixture_exports_the_expected_trace(
    integration: Integration,
    version: str,
    tmp_path: Path,
    go_env: dict[str, str],
    receiver: OtlpReceiver,
    request: pytest.FixtureRequest,
) -> None:
    settings = _settings(integration)
    root = _copy(integration, tmp_path)
    if version:  # a library's integration (the runtime's fixture tests every program's)
        module = library_module(integration, root / "go.mod")
        if f"{module} {version}" not in (root / "go.mod").read_text():  # the fixture has the newest
            # The package, not the module: its dependencies' go.sum entries (a module root may hold no package);
            # and the fixture's own package: what the releases it moved with the library import that the
            # newest did not (aws-sdk-go-v2's config at v1.41.1 imports internal/ini) gets its go.sum entries.
            library = next(p for p in integration.instruments if not is_standard(p))
            go(root, "get", f"{library}@{version}", ".", env=go_env)
            assert f"{module} {version}" in (root / "go.mod").read_text()
    proc = overlay_gen(root, ".", env=go_env)
    assert proc.returncode == 0, proc.stderr
    go(root, "build", *FIXTURE_BUILD, "-o", "fixture", ".", env=go_env)

    extra: dict[str, str] = {}
    servers = []
    for name in settings.get("servers", []):
        fixture_name, variables = SERVERS[name]
        servers.append(request.getfixturevalue(fixture_name))
        extra.update(variables(servers[-1]))
    # A server that records the trace context it receives checks it (tests/elasticsearch.py, genai.py,
    # moto_server.py).
    marks = [(server, server.mark()) for server in servers if hasattr(server, "assert_propagated")]
    logs = _fixture(integration) / "expected-logs.toml"
    run = subprocess.run(
        [str(root / "fixture")],
        cwd=root,
        env=otlp_env(go_env, receiver, **WITH_METRICS, **(WITH_LOGS if logs.exists() else {}), **extra),
        capture_output=True,
        text=True,
        timeout=settings.get("timeout", 60),
    )
    assert run.returncode == 0, f"the fixture failed ({run.returncode}):\n{run.stdout}\n{run.stderr}"
    spans = receiver.spans()
    # The expected trace may name what the servers gave the fixture: ${MEMCACHED_PORT}.
    assert_trace(load_expected(_fixture(integration) / "expected-trace.toml", extra), spans)
    # Its metrics, where the fixture lists them; every fixture's keep to the conventions' attributes.
    metrics = _fixture(integration) / "expected-metrics.toml"
    assert_metrics(load_expected_metrics(metrics, extra) if metrics.exists() else (), receiver.metrics(), spans)
    # A logging library's fixture: what it printed and exported, with the ids of the spans it logged in.
    if logs.exists():
        assert_logs(load_expected_logs(logs, extra), receiver.logs(), spans, run.stdout + run.stderr)
    for server, mark in marks:
        server.assert_propagated(spans, since=mark)


def _tested_packages(integration: Integration) -> list[str]:
    """The module's packages that have Go tests, as ./dir patterns (not its fixture, a module of
    its own; not the packages without tests, which may build only under the overlay: dbsql)."""
    folder = integration.file.parent
    dirs = {p.parent.relative_to(folder) for p in folder.rglob("*_test.go")}
    kept = [d for d in dirs if not d.parts or d.parts[0] not in ("fixture", "golden")]
    return sorted(f"./{d.as_posix()}" if d.parts else "." for d in kept)


WITH_GO_TESTS = [i for i in INTEGRATIONS if i.module is not None and _tested_packages(i)]


@pytest.mark.gobuild
@pytest.mark.parametrize("integration", WITH_GO_TESTS, ids=[i.name for i in WITH_GO_TESTS])
def test_integration_modules_own_go_tests_pass(integration: Integration, go_env: dict[str, str]) -> None:
    """An integration's Go module may test its own code (go-redis: which words of a command are
    kept; the runtime's sqlquery package); those tests run here, in every package of the module
    that has them, against the module's own go.mod."""
    go(integration.file.parent, "test", "-count=1", *_tested_packages(integration), env=go_env)
