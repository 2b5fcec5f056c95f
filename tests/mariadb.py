"""A throw-away MariaDB server for tests: its own data directory, 127.0.0.1, a free port.

``mariadbd`` and ``mariadb-install-db`` come from Debian's packages
(scripts/test installs mariadb-server when it is missing). The data directory
is initialised anew in a temporary directory, removed when the server stops;
``root`` has no password, and the database ``test`` exists. The server reads
no option file (``--no-defaults``): nothing of the machine's configuration.
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


def _bin(*names: str) -> str:
    for name in names:
        for found in (shutil.which(name), f"/usr/sbin/{name}", f"/usr/bin/{name}"):  # sbin: not on every PATH
            if found and os.path.exists(found):
                return found
    raise RuntimeError(f"MariaDB's {names[0]} is not installed (scripts/test installs the mariadb-server package)")


class MariaDBServer:
    """``with MariaDBServer() as db: db.dsn`` (go-sql-driver/mysql's form: root, no password, database test)."""

    STARTUP_TIMEOUT = 60.0
    DATABASE = "test"

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="overlay-gen-mariadb-"))
        self.data = self.base / "data"
        self.port = free_port()
        self._proc: subprocess.Popen[bytes] | None = None
        # mariadbd runs as root only when told so; as another user it runs as that user.
        self._user = ["--user=root"] if os.geteuid() == 0 else []

    @property
    def addr(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def dsn(self) -> str:
        return f"root@tcp({self.addr})/{self.DATABASE}"

    def ready(self) -> bool:
        """Whether the server greets a connection (MySQL protocol version 10)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                greeting = s.recv(5)
                return len(greeting) == 5 and greeting[4] == 10
        except OSError:
            return False

    def __enter__(self) -> MariaDBServer:
        install = [_bin("mariadb-install-db", "mysql_install_db"), "--no-defaults", f"--datadir={self.data}"]
        install += [*self._user, "--auth-root-authentication-method=normal", "--skip-test-db", "--skip-name-resolve"]
        proc = subprocess.run(install, capture_output=True, text=True, timeout=120, check=False)
        if proc.returncode != 0:
            shutil.rmtree(self.base, ignore_errors=True)
            raise RuntimeError(f"{' '.join(install)} failed:\n{proc.stdout}\n{proc.stderr}")
        init = self.base / "init.sql"
        init.write_text(f"CREATE DATABASE IF NOT EXISTS {self.DATABASE};\n")
        log = self.base / "log"
        command = [_bin("mariadbd", "mysqld"), "--no-defaults", f"--datadir={self.data}", *self._user]
        command += [f"--port={self.port}", "--bind-address=127.0.0.1", f"--socket={self.base / 'sock'}"]
        command += [f"--pid-file={self.base / 'pid'}", f"--log-error={log}", f"--init-file={init}"]
        command += ["--skip-name-resolve", "--skip-log-bin", "--innodb-buffer-pool-size=16M"]
        command += ["--innodb-flush-log-at-trx-commit=0", "--skip-innodb-doublewrite"]
        with open(self.base / "output", "wb") as output:  # what it says before it opens its log
            self._proc = subprocess.Popen(
                command, cwd=self.base, stdin=subprocess.DEVNULL, stdout=output, stderr=output
            )
        deadline = time.monotonic() + self.STARTUP_TIMEOUT
        while not self.ready():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                detail = "".join(p.read_text(errors="replace") for p in (self.base / "output", log) if p.exists())
                self.__exit__()
                raise RuntimeError(f"mariadbd did not start on {self.addr}:\n{detail}")
            time.sleep(0.1)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            stop(self._proc, grace=30)
        finally:
            self._proc = None
            shutil.rmtree(self.base, ignore_errors=True)
