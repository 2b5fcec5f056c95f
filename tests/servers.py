"""What every throw-away server of the tests (tests/redis.py, postgres.py, mariadb.py, memcached.py,
mongodb.py, kafka.py) does alike: take a free loopback port, and stop its process."""

from __future__ import annotations

import socket
import subprocess


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
