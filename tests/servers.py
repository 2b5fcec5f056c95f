"""What every throw-away server of the tests (tests/redis.py, postgres.py, mariadb.py, memcached.py,
mongodb.py, kafka.py, nats.py, rabbitmq.py, moto_server.py) does alike: take a free loopback port,
and stop its process; and what the HTTP stand-ins that record the requests they receive
(elasticsearch.py, genai.py, moto_server.py) check alike: the trace context a program propagated."""

from __future__ import annotations

import re
import socket
import subprocess
from collections.abc import Callable, Iterable, Sequence
from typing import Any

TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop(proc: subprocess.Popen[bytes] | None, grace: float = 10) -> None:
    """Stop a server's process if it still runs: SIGTERM (a clean shutdown), then SIGKILL after
    ``grace`` seconds."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def assert_propagated(
    received: Sequence[tuple[str, str, str | None]], spans: Iterable[Any], owns: Callable[[Any], bool], what: str
) -> None:
    """Every request in ``received`` (method, path, traceparent header or None) carried a W3C
    traceparent that names an exported span ``owns`` accepts (``what`` it is, for the message:
    "an Elasticsearch span"), a span of its own: never one that was not recorded (the net/http span
    beneath a client's), never one two requests share."""
    exported = {(s.trace_id, s.span_id): s for s in spans}
    named: dict[tuple[str, str], tuple[str, str]] = {}
    assert received, "the server received no request"
    for method, path, traceparent in received:
        found = TRACEPARENT.match(traceparent or "")
        assert found, f"{method} {path}: traceparent {traceparent!r}"
        key = (found.group(1), found.group(2))
        assert key in exported, f"{method} {path}: traceparent {traceparent} names no exported span"
        span = exported[key]
        assert owns(span), f"{method} {path}: traceparent {traceparent} names {span.describe()}, not {what}"
        assert key not in named, f"{method} {path} and {named[key]} name the same span {traceparent}"
        named[key] = (method, path)
