"""Measuring processes for the benchmarks: a child's own CPU and peak memory (the kernel's
accounting, ``wait4``), the memory of a process tree sampled while it runs (``psutil``), the
CPU another process (the simulator) spent in a window, and the Prefect server a benchmark
reports to — the one ``$PREFECT_API_URL`` names, or one started here as ``scripts/test.sh``
starts it, so pullfix's numbers never include a server it did not start.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(proc: psutil.Process) -> float:
    """User + system CPU of ``proc`` and of its children it has waited for."""
    t = proc.cpu_times()
    return t.user + t.system + t.children_user + t.children_system


def tree_rss(proc: psutil.Process) -> int:
    """Resident memory of ``proc`` and every process below it, in bytes (0 once it is gone)."""
    total = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            continue
    return total


class PeakSampler:
    """Samples the resident memory of named process trees every ``interval`` seconds in a
    thread and keeps each tree's peak (bytes). The kernel's own peak (``ru_maxrss``) counts one
    process; a tree (a CLI and the server it started) needs sampling."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.trees: dict[str, psutil.Process] = {}
        self.peaks: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def watch(self, name: str, pid: int) -> None:
        try:
            self.trees[name] = psutil.Process(pid)
        except psutil.Error:
            return
        self.peaks.setdefault(name, 0)

    def _run(self) -> None:
        while not self._stop.is_set():
            for name, proc in list(self.trees.items()):
                self.peaks[name] = max(self.peaks.get(name, 0), tree_rss(proc))
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class ChildRun:
    """What one child process did: its exit code, output, wall time, and the kernel's count of
    its CPU and peak resident memory (the child and the descendants it waited for)."""

    returncode: int
    stdout: str
    stderr: str
    wall_s: float
    cpu_user_s: float
    cpu_sys_s: float
    max_rss_bytes: int
    tree_peak_bytes: int
    # seconds from the start to each stderr line (the CLI's progress lines when piped)
    stderr_times: list[tuple[float, str]] = field(default_factory=list)

    @property
    def cpu_s(self) -> float:
        return self.cpu_user_s + self.cpu_sys_s


def run_child(cmd: list[str], *, env: dict[str, str], timeout: float, cwd: Path = ROOT,
              sampler: PeakSampler | None = None, name: str = "child") -> ChildRun:
    """Run ``cmd`` to its end and account for it with ``wait4``; ``sampler`` also follows its
    process tree's memory. On ``timeout`` the child's process group is killed."""
    with tempfile.TemporaryFile() as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out,  # noqa: S603
                                stderr=subprocess.PIPE, start_new_session=True)
        if sampler is not None:
            sampler.watch(name, proc.pid)
        lines: list[tuple[float, str]] = []

        def read_stderr() -> None:
            assert proc.stderr is not None
            for raw in proc.stderr:
                lines.append((time.perf_counter() - t0, raw.decode(errors="replace").rstrip()))

        reader = threading.Thread(target=read_stderr, daemon=True)
        reader.start()
        timer = threading.Timer(timeout, lambda: _kill_group(proc.pid))
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        reader.join(10)
        if proc.stderr is not None:
            proc.stderr.close()
        out.seek(0)
        stdout = out.read().decode(errors="replace")
    peak = sampler.peaks.get(name, 0) if sampler is not None else 0
    return ChildRun(returncode=proc.returncode, stdout=stdout,
                    stderr="\n".join(line for _, line in lines), wall_s=wall,
                    cpu_user_s=usage.ru_utime, cpu_sys_s=usage.ru_stime,
                    max_rss_bytes=usage.ru_maxrss * 1024, tree_peak_bytes=peak,
                    stderr_times=lines)


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@dataclass
class PrefectServer:
    api_url: str
    process: subprocess.Popen[bytes] | None  # None: the server $PREFECT_API_URL names
    start_s: float = 0.0


@contextmanager
def prefect_server(*, workdir: Path, startup_timeout: float = 300) -> Iterator[PrefectServer]:
    """The Prefect server the sweep reports to: ``$PREFECT_API_URL`` when set; else a local
    ``prefect server start`` on a free port with its database in ``workdir`` (as
    ``scripts/test.sh`` does), stopped on exit."""
    if os.environ.get("PREFECT_API_URL"):
        yield PrefectServer(os.environ["PREFECT_API_URL"], None)
        return
    port = free_port()
    env = dict(os.environ, PREFECT_HOME=str(workdir / "prefect"),
               PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PREFECT_UI_API_URL=f"http://127.0.0.1:{port}/api")
    log = workdir / "prefect-server.log"
    t0 = time.perf_counter()
    proc = subprocess.Popen(  # noqa: S603
        [str(ROOT / ".venv" / "bin" / "prefect"), "server", "start", "--host", "127.0.0.1",
         "--port", str(port)], env=env, cwd=workdir, stdout=open(log, "wb"),  # noqa: SIM115
        stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/api"
    try:
        while True:
            try:
                urllib.request.urlopen(url + "/health", timeout=1)  # noqa: S310 - local
                break
            except OSError:
                pass
            if proc.poll() is not None:
                raise RuntimeError(f"the Prefect server did not start:\n{log.read_text()[-3000:]}")
            if time.perf_counter() - t0 > startup_timeout:
                raise RuntimeError(f"the Prefect server did not answer in {startup_timeout:.0f} s")
            time.sleep(0.2)
        yield PrefectServer(url, proc, time.perf_counter() - t0)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
