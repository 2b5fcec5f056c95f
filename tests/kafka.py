"""A throw-away Kafka broker for tests: franz-go's kfake on 127.0.0.1 and a free port.

No Kafka broker is in Debian's packages, and a real one needs a JVM and a
distribution no registry here serves. ``kfake`` (github.com/twmb/franz-go/pkg/kfake,
from the Go module proxy) is the in-memory cluster franz-go's authors test
their client against: it speaks the Kafka wire protocol as a broker does
(metadata, produce, fetch, list offsets, consumer groups and their offset
commits, transactions), so sarama, kafka-go and franz-go talk to it unchanged
(and librdkafka: confluent-kafka-go v2.11.1 produced, joined a group, consumed
and committed against it, headers kept, checked 2026-12-01).
``tests/kafka/`` is a small command around it (its flags: the port, the
partitions of each topic, topics to create at start; any other topic a client
asks for is created on demand). It is built once, by the first test session
that needs it, into ``build/kafka-<kfake version>/kafka`` (under a lock: test
workers start at once), with the go command's environment of the tests (the
module cache under build/).

    with KafkaServer(kafka_binary(go_env)) as broker:
        broker.addr  # 127.0.0.1:PORT, the one bootstrap broker
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from servers import free_port, stop

from overlay_gen.gocmd import scan_go_mod

REPO = Path(__file__).resolve().parent.parent
SOURCE = Path(__file__).resolve().parent / "kafka"
BUILD_TIMEOUT = 900  # seconds


def _version() -> str:
    """kfake's version, as tests/kafka/go.mod requires it (the binary's folder is named for it)."""
    _, requires = scan_go_mod((SOURCE / "go.mod").read_text())
    return requires["github.com/twmb/franz-go/pkg/kfake"][0]


def kafka_binary(env: dict[str, str]) -> Path:
    """The broker's binary, built first if it is missing; ``env`` is the go command's (module cache, proxy)."""
    binary = REPO / "build" / f"kafka-{_version()}" / "kafka"
    binary.parent.mkdir(parents=True, exist_ok=True)
    with open(binary.parent.parent / f"kafka-{_version()}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not binary.exists():
            built = binary.with_name("kafka.tmp")
            env = {**env, "GOFLAGS": "-modcacherw -mod=readonly", "GOWORK": "off", "CGO_ENABLED": "0"}
            proc = subprocess.run(
                ["go", "build", "-trimpath", "-o", str(built), "."],
                cwd=SOURCE,
                env=env,
                capture_output=True,
                text=True,
                timeout=BUILD_TIMEOUT,
                check=False,
            )
            if proc.returncode != 0:
                raise RuntimeError(f"building the Kafka broker (tests/kafka) failed:\n{proc.stdout}\n{proc.stderr}")
            os.replace(built, binary)
    return binary


class KafkaServer:
    """``with KafkaServer(binary) as broker: broker.addr`` (one broker, no auth, topics of one partition)."""

    STARTUP_TIMEOUT = 30.0

    def __init__(self, binary: Path, partitions: int = 1) -> None:
        self.binary = binary
        self.partitions = partitions
        self.port = free_port()
        self.base = Path(tempfile.mkdtemp(prefix="overlay-gen-kafka-"))
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def addr(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _accepts(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def __enter__(self) -> KafkaServer:
        log_path = self.base / "log"
        command = [str(self.binary), "-port", str(self.port), "-partitions", str(self.partitions)]
        with open(log_path, "wb") as log:  # the server keeps writing to its own copy
            self._proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        deadline = time.monotonic() + self.STARTUP_TIMEOUT
        while not (b"listening on" in log_path.read_bytes() and self._accepts()):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                detail = log_path.read_text(errors="replace")
                self.__exit__()
                raise RuntimeError(f"the Kafka broker did not start on {self.addr}:\n{detail}")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            stop(self._proc)
        finally:
            self._proc = None
            shutil.rmtree(self.base, ignore_errors=True)
