"""A throw-away Redis server for tests: 127.0.0.1, a free port, no persistence.

``redis-server`` comes from Debian's packages (scripts/test installs it when
it is missing). The server runs in a temporary directory of its own, removed
when it stops.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from servers import free_port, stop


class RedisServer:
    """``with RedisServer() as redis: redis.addr`` (``127.0.0.1:PORT``)."""

    STARTUP_TIMEOUT = 30.0

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="overlay-gen-redis-"))
        self.port = free_port()
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def addr(self) -> str:
        return f"127.0.0.1:{self.port}"

    def ping(self) -> bool:
        """Whether the server answers PING with PONG."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def __enter__(self) -> RedisServer:
        server = shutil.which("redis-server")
        if server is None:
            shutil.rmtree(self.base, ignore_errors=True)
            raise RuntimeError("redis-server is not installed (scripts/test installs the redis-server package)")
        command = [server, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no"]
        command += ["--dir", str(self.base), "--logfile", str(self.base / "log"), "--daemonize", "no"]
        self._proc = subprocess.Popen(command, cwd=self.base, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + self.STARTUP_TIMEOUT
        while not self.ping():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                log = self.base / "log"
                detail = log.read_text(errors="replace") if log.exists() else ""
                self.__exit__()
                raise RuntimeError(f"redis-server did not start on {self.addr}:\n{detail}")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            stop(self._proc)
        finally:
            self._proc = None
            shutil.rmtree(self.base, ignore_errors=True)
