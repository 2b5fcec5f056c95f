"""A throw-away memcached server for tests: 127.0.0.1, a free TCP port, no UDP.

``memcached`` comes from Debian's packages (scripts/test installs it when it
is missing). It keeps everything in memory: nothing is left behind when it
stops.
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


class MemcachedServer:
    """``with MemcachedServer() as memcached: memcached.addr`` (``127.0.0.1:PORT``)."""

    STARTUP_TIMEOUT = 30.0

    def __init__(self) -> None:
        self.port = free_port()
        self._log: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def addr(self) -> str:
        return f"127.0.0.1:{self.port}"

    def ping(self) -> bool:
        """Whether the server answers ``version`` with its version."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"version\r\n")
                return s.recv(64).startswith(b"VERSION ")
        except OSError:
            return False

    def __enter__(self) -> MemcachedServer:
        server = shutil.which("memcached")
        if server is None:
            raise RuntimeError("memcached is not installed (scripts/test installs the memcached package)")
        command = [server, "-l", "127.0.0.1", "-p", str(self.port), "-U", "0", "-m", "64"]
        if os.geteuid() == 0:
            command += ["-u", "root"]  # memcached refuses root without being told which user to be
        fd, log = tempfile.mkstemp(prefix="overlay-gen-memcached-", suffix=".log")
        self._log = Path(log)
        with os.fdopen(fd, "wb") as out:
            self._proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        deadline = time.monotonic() + self.STARTUP_TIMEOUT
        while not self.ping():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                detail = self._log.read_text(errors="replace")
                self.__exit__()
                raise RuntimeError(f"memcached did not start on {self.addr}:\n{detail}")
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
