"""Running overlay-gen with its time, CPU time and peak memory measured.

Peak RSS is the larger of two numbers:

* the largest sum, over the command's process tree (the command and every
  process it starts, and theirs: worker processes, ``go list``), of each
  process's VmRSS from ``/proc/PID/status``, sampled every 10 ms by a thread
  of the benchmark;
* the command's ``ru_maxrss`` from ``os.wait4``: the peak of the largest
  single process of the tree (Linux folds in the children it waited for),
  which a sample can miss.

Linux starts a child's ``ru_maxrss`` at its parent's peak (fork copies the
high-water mark, and exec keeps it), so ``ru_maxrss`` is only counted when it
is above this process's own peak at the time the command starts; otherwise
it says nothing about the command, and the samples decide. This process keeps
its own peak low (it hashes binaries in chunks).
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .common import CommandFailed, failure

INTERVAL = 0.010  # seconds between two samples
PROC = Path("/proc")


@dataclass
class Measured:
    """A finished command: wall-clock and CPU seconds, output, peak memory."""

    seconds: float
    cpu_seconds: float  # user + system, of the command and the children it waited for
    stdout: str
    stderr: str
    peak_rss_bytes: int  # the larger of the two below
    sampled_rss_bytes: int  # the largest sum over the process tree, of the samples
    maxrss_bytes: int | None  # ru_maxrss from wait4; None when not above the inherited floor
    floor_bytes: int  # this process's peak RSS when the command started, which the child inherits
    samples: int
    peak_processes: int  # the most processes the tree had at one sample

    @property
    def peak_rss_mb(self) -> float:
        return self.peak_rss_bytes / 2**20

    @property
    def cores(self) -> float:
        """CPU time over wall-clock time: how many cores it kept busy, on average."""
        return self.cpu_seconds / self.seconds if self.seconds > 0 else 0.0


def _ppid(pid: str) -> int | None:
    try:
        stat = (PROC / pid / "stat").read_text()
    except OSError:
        return None
    # pid (comm) state ppid ...: comm may hold spaces and parentheses
    return int(stat[stat.rindex(")") + 2 :].split()[1])


def _rss(pid: int) -> int:
    try:
        with open(PROC / str(pid) / "status", "rb") as f:
            for line in f:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1]) * 1024  # kB
    except (OSError, ValueError, IndexError):
        pass
    return 0  # gone, or a zombie (no VmRSS line)


class TreeSampler(threading.Thread):
    """Samples the summed VmRSS of a process and its descendants until stopped."""

    def __init__(self, root: int) -> None:
        super().__init__(name="rss-sampler", daemon=True)
        self.root = root
        self.tree = {root}
        self.seen: set[str] = set()  # pids whose parent was looked up (a parent is set at fork)
        self.peak = 0
        self.peak_processes = 0
        self.samples = 0
        self.halt = threading.Event()

    def _grow(self) -> None:
        """Add the processes started since the last look whose parent is in the tree."""
        try:
            pids = [p for p in os.listdir(PROC) if p.isdigit() and p not in self.seen]
        except OSError:
            return
        parents: dict[int, int] = {}
        for name in pids:
            self.seen.add(name)
            ppid = _ppid(name)
            if ppid is not None:
                parents[int(name)] = ppid
        grown = True
        while grown:  # a child may be listed before its parent
            grown = False
            for pid, ppid in list(parents.items()):
                if ppid in self.tree:
                    self.tree.add(pid)
                    del parents[pid]
                    grown = True

    def sample(self) -> None:
        self._grow()
        sizes = [_rss(pid) for pid in self.tree]
        self.samples += 1
        self.peak = max(self.peak, sum(sizes))
        self.peak_processes = max(self.peak_processes, sum(1 for s in sizes if s))

    def run(self) -> None:
        while not self.halt.is_set():
            self.sample()
            self.halt.wait(INTERVAL)

    def stop(self) -> None:
        self.halt.set()
        self.join()


def run_measured(cmd: Sequence[str], cwd: Path, env: dict[str, str], logs: Path) -> Measured:
    """Run ``cmd`` (its output to files in ``logs``), measuring its time, CPU
    time and peak RSS; raise CommandFailed if it exits non-zero."""
    out_path, err_path = logs / "stdout", logs / "stderr"
    floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux
    with out_path.open("wb") as out, err_path.open("wb") as err:
        start = time.perf_counter()
        try:
            proc = subprocess.Popen(
                list(cmd), cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True
            )
        except OSError as exc:
            raise CommandFailed(f"{' '.join(cmd)}: {exc.strerror}") from exc
        sampler = TreeSampler(proc.pid)
        sampler.start()
        try:
            # wait4, not Popen.wait: it also gives the process's resource usage.
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            sampler.stop()
            with contextlib.suppress(ChildProcessError):
                os.waitpid(proc.pid, 0)
            proc.returncode = -signal.SIGKILL  # reaped here: Popen must not wait for it
            raise
        elapsed = time.perf_counter() - start
        sampler.stop()
        proc.returncode = os.waitstatus_to_exitcode(status)
    stdout = out_path.read_text(errors="replace")
    stderr = err_path.read_text(errors="replace")
    if proc.returncode != 0:
        raise failure(cmd, cwd, proc.returncode, stderr + stdout)
    maxrss: int | None = usage.ru_maxrss * 1024
    if maxrss is not None and maxrss <= floor:
        maxrss = None  # the inherited peak, not the command's
    return Measured(
        seconds=elapsed,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        stdout=stdout,
        stderr=stderr,
        peak_rss_bytes=max(sampler.peak, maxrss or 0),
        sampled_rss_bytes=sampler.peak,
        maxrss_bytes=maxrss,
        floor_bytes=floor,
        samples=sampler.samples,
        peak_processes=sampler.peak_processes,
    )
