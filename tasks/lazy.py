"""Importing a heavy SDK mid-run — the network, compute, policy, monitor and Graph SDKs load
when a check first needs them — without the cyclic collector's passes: an import builds tens
of thousands of long-lived objects, and each allocation threshold it crosses triggers a
collection over a heap that is mostly those objects (≈ 40 % of an SDK's import time on this
machine kind). Collections resume as they were;
reference counting frees as usual inside. See ``flows.heap`` for the command's start-up."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def importing() -> Iterator[None]:
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
