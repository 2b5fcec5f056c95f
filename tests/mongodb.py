"""A throw-away MongoDB-compatible server for tests: FerretDB v1 over SQLite, 127.0.0.1, a free port.

FerretDB v1 speaks the MongoDB wire protocol and stores documents in SQLite
(``--handler=sqlite``): a real server that the MongoDB drivers talk to as they
talk to MongoDB, from the Go module proxy (no Debian package has one). It is
built once, by the first test session that needs it, into
``build/ferretdb-<version>/ferretdb`` (under a lock: test workers start at
once). ``go install`` of its command gives a binary that panics at start: its
``build/version/version.txt`` is generated from git, which a module has not.
So the module is copied out of the module cache, the file written, and the
command built in the copy.

The server runs in a temporary state directory of its own, removed when it
stops, with its telemetry reporter and its debug HTTP listener off.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time
from pathlib import Path

from servers import free_port, stop

REPO = Path(__file__).resolve().parent.parent
VERSION = "v1.24.2"
MODULE = "github.com/FerretDB/FerretDB"
BINARY = REPO / "build" / f"ferretdb-{VERSION}" / "ferretdb"
BUILD_TIMEOUT = 1800  # seconds: a cold build compiles SQLite (modernc.org/sqlite) on 2 cores


def ferretdb(env: dict[str, str]) -> Path:
    """The FerretDB binary, built first if it is missing; ``env`` is the go command's (module cache, proxy)."""
    BINARY.parent.mkdir(parents=True, exist_ok=True)
    with open(BINARY.parent.parent / f"ferretdb-{VERSION}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not BINARY.exists():
            _build(env)
    return BINARY


def _go(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    proc = subprocess.run(
        ["go", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"building FerretDB: go {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def _build(env: dict[str, str]) -> None:
    env = {**env, "GOFLAGS": "-modcacherw -mod=readonly", "GOWORK": "off", "GOTOOLCHAIN": "local", "CGO_ENABLED": "0"}
    scratch = Path(tempfile.mkdtemp(prefix="ferretdb-", dir=BINARY.parent))
    try:
        downloaded = json.loads(_go(["mod", "download", "-json", f"{MODULE}@{VERSION}"], scratch, env))
        source = scratch / "src"
        shutil.copytree(downloaded["Dir"], source, copy_function=shutil.copyfile)  # not the cache's read-only modes
        for path in [source, *source.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        (source / "build" / "version" / "version.txt").write_text(VERSION + "\n")
        built = scratch / "ferretdb"
        _go(["build", "-trimpath", "-o", str(built), "./cmd/ferretdb"], source, env)
        os.replace(built, BINARY)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _bson(fields: dict[str, int | str]) -> bytes:
    """A BSON document of int32 and string fields (all the ping below needs)."""
    body = b""
    for key, value in fields.items():
        name = key.encode() + b"\0"
        if isinstance(value, int):
            body += b"\x10" + name + struct.pack("<i", value)
        else:
            text = value.encode() + b"\0"
            body += b"\x02" + name + struct.pack("<i", len(text)) + text
    return struct.pack("<i", len(body) + 5) + body + b"\0"


class MongoServer:
    """``with MongoServer(binary) as mongo: mongo.uri`` (``mongodb://127.0.0.1:PORT``, no auth)."""

    STARTUP_TIMEOUT = 60.0

    def __init__(self, binary: Path) -> None:
        self.binary = binary
        self.base = Path(tempfile.mkdtemp(prefix="overlay-gen-mongodb-"))
        self.port = free_port()
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def addr(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def uri(self) -> str:
        return f"mongodb://{self.addr}/"

    def ping(self) -> bool:
        """Whether the server answers an OP_MSG ``{ping: 1}`` with ``ok: 1``."""
        message = struct.pack("<I", 0) + b"\0" + _bson({"ping": 1, "$db": "admin"})
        header = struct.pack("<iiii", 16 + len(message), 1, 0, 2013)  # OP_MSG
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                s.sendall(header + message)
                answer = b""
                while len(answer) < 4 or len(answer) < struct.unpack("<i", answer[:4])[0]:
                    chunk = s.recv(4096)
                    if not chunk:
                        return False
                    answer += chunk
        except OSError:
            return False
        return b"\x01ok\x00" + struct.pack("<d", 1.0) in answer

    def __enter__(self) -> MongoServer:
        state = self.base / "state"
        data = self.base / "data"
        state.mkdir()
        data.mkdir()
        command = [
            str(self.binary),
            "--handler=sqlite",
            f"--sqlite-url=file:{data}/",
            f"--state-dir={state}",
            f"--listen-addr={self.addr}",
            "--debug-addr=-",  # no HTTP listener (its default port is shared by every instance)
            "--telemetry=disable",
            "--log-level=warn",
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FERRETDB_", "OTEL_"))}
        env["DO_NOT_TRACK"] = "1"
        with open(self.base / "log", "wb") as log:  # the server keeps writing to its own copy
            self._proc = subprocess.Popen(
                command, cwd=self.base, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )
        deadline = time.monotonic() + self.STARTUP_TIMEOUT
        while not self.ping():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                detail = (self.base / "log").read_text(errors="replace")
                self.__exit__()
                raise RuntimeError(f"FerretDB did not start on {self.addr}:\n{detail}")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            stop(self._proc)
        finally:
            self._proc = None
            shutil.rmtree(self.base, ignore_errors=True)
