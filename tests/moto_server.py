"""A throw-away AWS for tests: the moto server (PyPI's ``moto[server]``, the test extra), in a
process of its own on 127.0.0.1 and a free port, stopped by the tests.

moto answers the AWS APIs (S3, DynamoDB, SQS and the others) over HTTP as AWS does, keeping
everything in memory; ``reset()`` forgets it all (moto's ``/moto-api/reset``), so that every
fixture run starts from an empty account. ``variables`` is what an AWS SDK needs to reach it:
``AWS_ENDPOINT_URL``, a region, dummy credentials, and no shared config or credentials file of the
machine's.

This module is not named ``moto``: tests/ is on ``sys.path``, and it would hide the package.

    with MotoServer() as aws:
        aws.url  # http://127.0.0.1:PORT
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from servers import free_port, stop

REGION = "us-east-1"


class MotoServer:
    """``with MotoServer() as aws: aws.url``; ``aws.reset().variables`` for a fresh account."""

    STARTUP_TIMEOUT = 60.0

    def __init__(self) -> None:
        self.port = free_port()
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def variables(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            "MOTO_PORT": str(self.port),
        }

    def _request(self, path: str, method: str = "GET") -> bool:
        request = urllib.request.Request(self.url + path, method=method, data=b"" if method == "POST" else None)
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return bool(response.status == 200)
        except (OSError, urllib.error.URLError):
            return False

    def ping(self) -> bool:
        """Whether moto answers its own API."""
        return self._request("/moto-api/")

    def reset(self) -> MotoServer:
        """Forget every bucket, table and queue: an empty account, as a fresh moto has."""
        if not self._request("/moto-api/reset", method="POST"):
            raise RuntimeError(f"moto on {self.url} did not reset")
        return self

    def __enter__(self) -> MotoServer:
        self._dir = tempfile.TemporaryDirectory(prefix="overlay-gen-moto-")
        log = Path(self._dir.name) / "moto.log"
        # The server's own directory as working directory: nothing of the tests' is imported.
        command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        with log.open("wb") as out:
            self._proc = subprocess.Popen(
                command, cwd=self._dir.name, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out
            )
        deadline = time.monotonic() + self.STARTUP_TIMEOUT
        while not self.ping():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                detail = log.read_text(errors="replace")
                self.__exit__()
                raise RuntimeError(f"moto did not start on {self.url}:\n{detail}")
            time.sleep(0.1)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            stop(self._proc)
        finally:
            self._proc = None
            if self._dir is not None:
                self._dir.cleanup()
                self._dir = None
