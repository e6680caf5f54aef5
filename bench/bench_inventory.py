"""Benchmark: fleet inventory over the simulator.

Serves a generated fleet (``fleet:SxC``), lists every cluster with pullfix's inventory (the
first step of a sweep) through the real SDK clients over HTTPS, and reports wall time and the
ARM requests made per route. Run:

    .venv/bin/python bench/bench_inventory.py 3x10 10x20 20x25

Numbers go in the README's "Benchmarks" section.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tasks.inventory import clusters  # noqa: E402
from tests.simharness import Sim  # noqa: E402


def run(spec: str, repeats: int = 3) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        sim = Sim(f"fleet:{spec}", Path(tmp))
        start_s = time.perf_counter() - t0
        try:
            times = []
            found = 0
            for _ in range(repeats):
                sim.control("DELETE", "stats")
                clients = sim.clients()
                t = time.perf_counter()
                found = len(clusters(clients))
                times.append(time.perf_counter() - t)
            stats = sim.stats()
        finally:
            sim.stop()
    requests = sum(v for k, v in stats.items())
    print(f"fleet {spec:>6}: {found:4d} clusters | simulator start {start_s:5.2f} s | inventory "
          f"median {statistics.median(times) * 1000:7.1f} ms (min {min(times) * 1000:.1f}) | "
          f"{requests} requests ({', '.join(f'{v}x {k}' for k, v in sorted(stats.items()))})")


if __name__ == "__main__":
    for arg in sys.argv[1:] or ["3x10", "10x20"]:
        run(arg)
