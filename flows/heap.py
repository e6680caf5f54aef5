"""The process's long-lived heap and Python's cyclic garbage collector.

A pullfix process imports Prefect, the Azure SDKs and the Kubernetes client: about 400,000
objects that live as long as the process. The cyclic collector walks the older ones on every
full collection — and the imports themselves trigger dozens as the heap grows: with the
collector on, the start-up imports take ≈ 4.4 s of CPU on this machine kind, with it off
≈ 2.3 s. It walks them again, several times, when the interpreter shuts down (≈ 1.3 s: longer
than a remediation's own diagnosis).

So a command's start-up runs inside :func:`starting`: no collections while it imports, then
``gc.freeze()`` moves what it built into a permanent generation the collector skips, and the
collector is back on for the work — the pattern CPython documents for long-lived,
import-heavy processes (https://docs.python.org/3/library/gc.html#gc.freeze). Reference
counting still frees whatever is dropped; only a reference cycle made during start-up and
dropped later is never collected (start-up leaves a few hundred such objects, once).
"""

from __future__ import annotations

import atexit
import gc
from collections.abc import Iterator
from contextlib import contextmanager

from tasks.lazy import importing

_registered = False


@contextmanager
def starting() -> Iterator[None]:
    """A command's start-up (its imports, its first reads): no collections inside (as for a
    mid-run SDK import, :func:`tasks.lazy.importing`); what it built is then frozen out of the
    collector's sight, and collections resume."""
    try:
        with importing():
            yield
    finally:
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
