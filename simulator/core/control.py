"""The control API (``/_sim/...``): what tests and operators use to steer the simulator —
reset, snapshot/restore, the write journal, fault injection, the clock and settings.
Guarded by the ``x-sim-control`` key from the connection file."""

from __future__ import annotations

from typing import Any

from simulator.core import errors, faults, throttling
from simulator.core.routing import Ctx, Reply, route
from simulator.core.world import merge


@route("POST", "/_sim/reset", service="control", write=False)
def reset(ctx: Ctx) -> Any:
    ctx.world.reset()
    ctx.server.dispatcher.buckets.clear()
    ctx.server.dispatcher.stats.clear()
    return Reply(204)


@route("GET", "/_sim/stats", service="control")
def stats(ctx: Ctx) -> Any:
    """Requests served per route since the last reset (control calls excluded)."""
    return {k: v for k, v in ctx.server.dispatcher.stats.items() if "/_sim/" not in k}


@route("GET", "/_sim/internals", service="control")
def internals(ctx: Ctx) -> Any:
    """How much work the twin did since it started (full Kubernetes syncs and skipped ones,
    kubelet passes, pull evaluations, index rebuilds) and whether its indexes agree with a
    full scan of the resources: what tests use to prove reads cost no re-evaluation."""
    return {"counters": dict(ctx.world.counters), "index_problems": ctx.world.check_indexes()}


@route("DELETE", "/_sim/stats", service="control", write=False)
def clear_stats(ctx: Ctx) -> Any:
    ctx.server.dispatcher.stats.clear()
    return Reply(204)


@route("GET", "/_sim/snapshot", service="control")
def snapshot(ctx: Ctx) -> Any:
    return ctx.world.snapshot()


@route("POST", "/_sim/restore", service="control", write=False)
def restore(ctx: Ctx) -> Any:
    ctx.world.restore(ctx.json())
    return Reply(204)


@route("GET", "/_sim/journal", service="control")
def journal(ctx: Ctx) -> Any:
    return {"value": list(ctx.world.journal)}


@route("DELETE", "/_sim/journal", service="control", write=False)
def clear_journal(ctx: Ctx) -> Any:
    ctx.world.journal.clear()
    return Reply(204)


@route("POST", "/_sim/faults", service="control", write=False)
def add_fault(ctx: Ctx) -> Any:
    """One fault (see :mod:`simulator.core.faults`): when it strikes (``phase``), which
    requests (``method``/``path``/``host``), how often (``count``, ``probability``+``seed``)."""
    fault = faults.validate(ctx.json())
    ctx.world.state["faults"].append(fault)
    ctx.server.persist()  # a restarted simulator keeps failing as it was told to
    return Reply(201, fault)


@route("GET", "/_sim/faults", service="control")
def list_faults(ctx: Ctx) -> Any:
    return {"value": ctx.world.state["faults"]}


@route("DELETE", "/_sim/faults", service="control", write=False)
def clear_faults(ctx: Ctx) -> Any:
    ctx.world.state["faults"].clear()
    ctx.server.persist()
    return Reply(204)


@route("POST", "/_sim/clock", service="control", write=False)
def advance_clock(ctx: Ctx) -> Any:
    seconds = float(ctx.json().get("advance_seconds", 0))
    ctx.world.advance(seconds)
    return {"now": ctx.world.now()}


@route("PATCH", "/_sim/settings", service="control", write=False)
def patch_settings(ctx: Ctx) -> Any:
    patch = ctx.json()
    unknown = set(patch) - set(ctx.world.settings)
    if unknown:
        raise errors.bad_request("InvalidSetting", f"unknown settings {sorted(unknown)}; "
                                 f"valid: {sorted(ctx.world.settings)}")
    if "speedup" in patch and not (isinstance(patch["speedup"], (int, float))
                                   and patch["speedup"] > 0):
        raise errors.bad_request("InvalidSetting", f"speedup must be a number > 0, got "
                                 f"{patch['speedup']!r}")
    if "latency_ms" in patch and not (isinstance(patch["latency_ms"], int | float)
                                      and not isinstance(patch["latency_ms"], bool)
                                      and patch["latency_ms"] >= 0):
        raise errors.bad_request("InvalidSetting", f"latency_ms must be a number >= 0, got "
                                 f"{patch['latency_ms']!r}")
    if "throttling" in patch:
        throttling.validate(patch["throttling"])
    merge(ctx.world.settings, patch)
    ctx.server.dispatcher.buckets.clear()
    ctx.server.persist()
    return ctx.world.settings
