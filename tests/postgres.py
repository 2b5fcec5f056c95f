"""A throw-away PostgreSQL server for tests: its own cluster, 127.0.0.1, a free port.

The server comes from Debian's packages (scripts/test installs them when they
are missing). initdb refuses to run as root, so as root the cluster belongs to
the ``postgres`` user and the commands run through ``runuser``.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from servers import free_port


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or (
        [shutil.which(name)] if shutil.which(name) else []
    )
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} is not installed (scripts/test installs the postgresql package)")
    return str(found[-1])


class PostgresServer:
    """``with PostgresServer() as pg: pg.dsn`` (user postgres, database postgres, trust auth).

    The cluster lives in a directory of its own under the system's temporary
    directory (the postgres user must be able to reach it, which it cannot
    below pytest's private ones), removed when the server stops.
    """

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="overlay-gen-postgres-"))
        self.data = self.base / "data"
        self.port = free_port()
        self._as_postgres = os.geteuid() == 0

    @property
    def dsn(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres?sslmode=disable"

    def _run(self, *command: str) -> None:
        if self._as_postgres:
            command = ("runuser", "-u", "postgres", "--", *command)
        proc = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{proc.stdout}\n{proc.stderr}")

    def __enter__(self) -> PostgresServer:
        if self._as_postgres:
            shutil.chown(self.base, "postgres")
            self.base.chmod(0o755)
        self._run(_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync")
        options = f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.base / "log"), "-w", "start")
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._run(_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)
