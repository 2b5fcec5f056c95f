"""A throw-away AWS for tests: the moto server (PyPI's ``moto[server]``, the test extra), in a
process of its own on 127.0.0.1 and a free port, stopped by the tests.

moto answers the AWS APIs (S3, DynamoDB, SQS and the others) over HTTP as AWS does, keeping
everything in memory; ``reset()`` forgets it all (moto's ``/moto-api/reset``), so that every
fixture run starts from an empty account. ``variables`` is what an AWS SDK needs to reach it:
``AWS_ENDPOINT_URL``, a region, dummy credentials, and no shared config or credentials file of the
machine's.

The SDKs reach moto through a recording proxy of the tests' own, on a port of its own: each
request's method, path and ``traceparent`` header is kept (``requests``), so that a test can check
what the program propagated: ``assert_propagated`` checks that every request made since ``mark()``
carried the trace context of an exported AWS span, a span of its own (not the HTTP span beneath it,
which is not recorded).

This module is not named ``moto``: tests/ is on ``sys.path``, and it would hide the package.

    with MotoServer() as aws:
        aws.url  # http://127.0.0.1:PORT, the proxy
"""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from servers import assert_propagated, free_port, stop

REGION = "us-east-1"
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "te", "trailer", "upgrade"}


class _Forward(BaseHTTPRequestHandler):
    """Records a request, hands it to moto, and moto's answer back."""

    protocol_version = "HTTP/1.1"
    server: _Proxy

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):  # trailers
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _forward(self) -> None:
        body = self._body()
        with self.server.lock:
            self.server.requests.append((self.command, self.path, self.headers.get("traceparent")))
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        headers["Content-Length"] = str(len(body))
        upstream = http.client.HTTPConnection("127.0.0.1", self.server.upstream, timeout=60)
        try:
            upstream.request(self.command, self.path, body=body, headers=headers)
            answer = upstream.getresponse()
            data = answer.read()
        finally:
            upstream.close()
        self.send_response(answer.status, answer.reason)
        for key, value in answer.getheaders():
            if key.lower() not in HOP_BY_HOP:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = _forward

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass


class _Proxy(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream: int) -> None:
        super().__init__(("127.0.0.1", 0), _Forward)
        self.upstream = upstream
        self.lock = threading.Lock()
        self.requests: list[tuple[str, str, str | None]] = []


class MotoServer:
    """``with MotoServer() as aws: aws.url`` (the proxy); ``aws.reset().variables`` for a fresh account."""

    STARTUP_TIMEOUT = 60.0

    def __init__(self) -> None:
        self.moto_port = free_port()
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._proxy: _Proxy | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The proxy's port, the one programs are given."""
        assert self._proxy is not None, "the server is not running"
        return int(self._proxy.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def requests(self) -> list[tuple[str, str, str | None]]:
        assert self._proxy is not None, "the server is not running"
        with self._proxy.lock:
            return list(self._proxy.requests)

    def mark(self) -> int:
        """Where the requests a test is about to cause begin (for ``assert_propagated``)."""
        return len(self.requests)

    def assert_propagated(self, spans: Iterable[Any], since: int = 0) -> None:
        """Every request received since ``since`` carried a W3C traceparent that names an exported
        AWS span (rpc.system.name aws-api: CLIENT or PRODUCER), each a span of its own."""
        assert_propagated(
            self.requests[since:],
            spans,
            lambda span: span.kind in ("client", "producer") and span.attributes.get("rpc.system.name") == "aws-api",
            "an AWS span",
        )

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
        """Asks moto itself (not through the proxy: nothing recorded)."""
        url = f"http://127.0.0.1:{self.moto_port}{path}"
        request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
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
        command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.moto_port)]
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
                raise RuntimeError(f"moto did not start on 127.0.0.1:{self.moto_port}:\n{detail}")
            time.sleep(0.1)
        self._proxy = _Proxy(self.moto_port)
        self._thread = threading.Thread(target=self._proxy.serve_forever, name="moto-proxy", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proxy is not None:
            self._proxy.shutdown()
            self._proxy.server_close()
            self._proxy = None
        try:
            stop(self._proc)
        finally:
            self._proc = None
            if self._dir is not None:
                self._dir.cleanup()
                self._dir = None
