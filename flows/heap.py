"""The process's long-lived heap and Python's cyclic garbage collector.

A pullfix process imports Prefect, the Azure SDKs and the Kubernetes client: about 400,000
objects that live as long as the process. The cyclic collector walks all of them on every full
collection (a sweep makes several, ≈ 0.15 s each at 1,000 clusters), and again, several times,
when the interpreter shuts down (≈ 1.3 s on this machine kind: longer than a remediation's own
diagnosis). ``gc.freeze()`` moves the objects alive at that moment into a permanent generation
the collector skips — the pattern CPython documents for long-lived, import-heavy processes
(https://docs.python.org/3/library/gc.html#gc.freeze). Reference counting still frees what
is dropped; only cycles created before a freeze are never collected, so :func:`settle`
collects first and is called once the imports are done, not per cluster.
"""

from __future__ import annotations

import atexit
import gc

_registered = False


def settle() -> None:
    """After the start-up imports: collect what start-up left behind, then keep the collector
    off what remains (modules, classes, SDK models)."""
    gc.collect()
    gc.freeze()


def freeze_at_exit() -> None:
    """When the process ends, spare the interpreter's shutdown its collections over the whole
    heap (the memory goes back to the system with the process). Registered with ``atexit``
    after Prefect's own handlers, so it runs first (last in, first out) and those — the log and
    event flushes — still run; a process that runs several commands (a test run) freezes once,
    at its end."""
    global _registered
    if not _registered:
        atexit.register(gc.freeze)
        _registered = True
