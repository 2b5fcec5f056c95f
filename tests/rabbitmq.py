"""A throw-away RabbitMQ node for tests: AMQP 0-9-1 on 127.0.0.1 and a free port, user guest.

``rabbitmq-server`` comes from Debian's packages (scripts/test installs it
when it is missing; bookworm's is 3.10, on Erlang 25). Everything of the
node's is private and goes when it stops: its data, logs, configuration and
Erlang cookie live in a temporary directory (RABBITMQ_MNESIA_BASE,
RABBITMQ_LOG_BASE, RABBITMQ_CONFIG_FILE, HOME), its node name is unique,
its AMQP port (RABBITMQ_NODE_PORT) and Erlang distribution port
(RABBITMQ_DIST_PORT) are free ports on 127.0.0.1, and the Erlang port mapper
it registers with is an ``epmd`` of its own on another free port
(ERL_EPMD_PORT), started before the node and stopped after it: two test
workers each run one, and no epmd is left behind. The node is started
through Debian's real start script, not the wrapper in /usr/sbin, which
would switch to the rabbitmq user; it is stopped with SIGTERM (a clean
shutdown), SIGKILL after a grace period.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from servers import free_port, stop

# The AMQP 0-9-1 protocol header; a server answers it with a Connection.Start method frame.
PROTOCOL_HEADER = b"AMQP\x00\x00\x09\x01"


def _server_script() -> str | None:
    """Debian's rabbitmq-server start script (not /usr/sbin's wrapper, which su's to rabbitmq)."""
    found = sorted(glob.glob("/usr/lib/rabbitmq/lib/rabbitmq_server-*/sbin/rabbitmq-server"))
    if found:
        return found[-1]
    return shutil.which("rabbitmq-server")


def _epmd() -> str | None:
    return shutil.which("epmd") or next(iter(sorted(glob.glob("/usr/lib/erlang/erts-*/bin/epmd"))), None)


class RabbitMQServer:
    """``with RabbitMQServer() as rabbitmq: rabbitmq.url`` (``amqp://guest:guest@127.0.0.1:PORT/``)."""

    STARTUP_TIMEOUT = 60.0

    def __init__(self) -> None:
        self.port = free_port()
        self.dist_port = free_port()
        self.epmd_port = free_port()
        self.node = f"overlaygen-{uuid.uuid4().hex[:12]}@localhost"
        self._dir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._epmd: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def ping(self) -> bool:
        """Whether the node answers the AMQP protocol header with a Connection.Start method frame."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                s.sendall(PROTOCOL_HEADER)
                frame = s.recv(7)
                return len(frame) == 7 and frame[0] == 1  # frame type 1: a method
        except OSError:
            return False

    def __enter__(self) -> RabbitMQServer:
        script, epmd = _server_script(), _epmd()
        if script is None or epmd is None:
            raise RuntimeError("rabbitmq-server is not installed (scripts/test installs the rabbitmq-server package)")
        self._dir = Path(tempfile.mkdtemp(prefix="overlay-gen-rabbitmq-"))
        (self._dir / "home").mkdir()
        config = self._dir / "rabbitmq.conf"
        config.write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.port}\n"
            "log.console = false\n"
            "log.file.level = info\n"
            # The tests' machine may have little free disk: never block publishers for it.
            "disk_free_limit.absolute = 1\n"
        )
        (self._dir / "enabled_plugins").write_text("[].\n")
        (self._dir / "rabbitmq-env.conf").write_text("")
        env = {
            **os.environ,
            "HOME": str(self._dir / "home"),  # the Erlang cookie goes there
            "ERL_EPMD_PORT": str(self.epmd_port),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_USE_LONGNAME": "false",
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self._dir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self._dir / "log"),
            "RABBITMQ_CONFIG_FILE": str(config),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self._dir / "advanced.config"),
            "RABBITMQ_CONF_ENV_FILE": str(self._dir / "rabbitmq-env.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self._dir / "enabled_plugins"),
            "RABBITMQ_PID_FILE": str(self._dir / "rabbitmq.pid"),
            # Erlang distribution on loopback only.
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }
        log = self._dir / "server.log"
        with open(log, "wb") as out:
            self._epmd = subprocess.Popen(
                [epmd, "-port", str(self.epmd_port), "-address", "127.0.0.1"],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                env=env,
            )
            self._wait_for_port(self.epmd_port, self._epmd, log, "epmd")
            self._proc = subprocess.Popen(
                [script], stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=env, cwd=self._dir
            )
        deadline = time.monotonic() + self.STARTUP_TIMEOUT
        while not self.ping():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                detail = self._detail(log)
                self.__exit__()
                raise RuntimeError(f"rabbitmq-server did not start on 127.0.0.1:{self.port}:\n{detail}")
            time.sleep(0.2)
        return self

    def _wait_for_port(self, port: int, proc: subprocess.Popen[bytes], log: Path, what: str) -> None:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    detail = self._detail(log)
                    self.__exit__()
                    raise RuntimeError(f"{what} did not start on 127.0.0.1:{port}:\n{detail}") from None
                time.sleep(0.05)

    def _detail(self, log: Path) -> str:
        parts = [log.read_text(errors="replace")] if log.exists() else []
        if self._dir is not None:
            parts += [p.read_text(errors="replace")[-4000:] for p in sorted((self._dir / "log").glob("*.log"))]
        return "\n".join(parts)

    def __exit__(self, *exc: object) -> None:
        try:
            stop(self._proc, grace=30)
        finally:
            self._proc = None
            try:
                stop(self._epmd)
            finally:
                self._epmd = None
                if self._dir is not None:
                    shutil.rmtree(self._dir, ignore_errors=True)
                    self._dir = None
