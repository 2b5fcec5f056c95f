"""A throw-away NATS server for tests: 127.0.0.1, a free port, no clustering, no JetStream.

``nats-server`` comes from Debian's packages (scripts/test installs it when
it is missing; bookworm's is 2.9, which supports message headers). It keeps
nothing on disk: nothing is left behind when it stops.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from servers import free_port, stop


class NatsServer:
    """``with NatsServer() as nats: nats.url`` (``nats://127.0.0.1:PORT``)."""

    STARTUP_TIMEOUT = 30.0

    def __init__(self) -> None:
        self.port = free_port()
        self._log: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def ping(self) -> bool:
        """Whether the server greets a client with its INFO line and answers PING with PONG."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                greeting = s.recv(4096)
                if not greeting.startswith(b"INFO "):
                    return False
                s.sendall(b'CONNECT {"verbose":false}\r\nPING\r\n')
                answer = b""
                while b"PONG" not in answer:
                    chunk = s.recv(4096)
                    if not chunk:
                        return False
                    answer += chunk
                return True
        except OSError:
            return False

    def __enter__(self) -> NatsServer:
        server = shutil.which("nats-server")
        if server is None:
            raise RuntimeError("nats-server is not installed (scripts/test installs the nats-server package)")
        # -a/-p: loopback and our port; no HTTP monitoring, cluster or JetStream unless asked.
        command = [server, "-a", "127.0.0.1", "-p", str(self.port)]
        fd, log = tempfile.mkstemp(prefix="overlay-gen-nats-", suffix=".log")
        self._log = Path(log)
        with os.fdopen(fd, "wb") as out:
            self._proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        deadline = time.monotonic() + self.STARTUP_TIMEOUT
        while not self.ping():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                detail = self._log.read_text(errors="replace")
                self.__exit__()
                raise RuntimeError(f"nats-server did not start on {self.url}:\n{detail}")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            stop(self._proc)
        finally:
            self._proc = None
            if self._log is not None:
                self._log.unlink(missing_ok=True)
                self._log = None
