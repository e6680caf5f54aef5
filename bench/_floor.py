"""The floor a fleet sweep is measured against, and its ARM calls per healthy/failing cluster.

Both read the simulator's per-route request counts (``GET /_sim/stats``: ``"METHOD template"``
-> requests served, 429s included; ``"429"`` -> requests throttled) and classify each route with
the simulator's own routing table (which service answers it) and its own throttling rule (which
bucket a request takes a token from), so nothing here guesses from a URL's shape.

**The floor** (``floor_s``) is a true lower bound on the wall time of *any* client that makes
the same ARM calls against ARM's throttling model, whatever its concurrency:

    floor_s = max(T_buckets + L, D * L)

- ``T_buckets``: ARM's token buckets — per subscription, principal and operation type (reads
  250 at 25/s, writes 200 at 10/s, deletes 200 at 10/s; the type follows the HTTP method as
  Azure documents: GET/HEAD read, DELETE delete, PUT/PATCH/POST write — ``listClusterUserCredential``
  is a POST, so a write), tenant-level requests in the principal's tenant buckets, and global
  subscription buckets ``global_factor`` times larger shared by every principal — serve ``n``
  calls no sooner than ``f(n) = max(0, n - burst) / rate`` seconds after the first (a bucket
  starts full), so the sweep's last ARM call cannot start before the largest such time over
  the buckets. Rates are per second of the twin's clock, which runs ``speedup`` times faster
  than the wall: they are multiplied by it. pullfix signs in as one principal. The stats name
  routes, not subscriptions: calls on ``/subscriptions/{sub}/...`` routes are spread evenly
  over the fleet's ``S`` subscriptions — ``f`` is convex, so the busiest bucket's time is at
  least ``f(n / S)`` (Jensen) — and calls whose bucket the route does not tell
  (``/{scope:path}/...``) are put wherever they lower the bound most (split between the tenant
  bucket and the subscriptions'). Calls answered 429 took no token and are not counted (taken
  off the subscriptions' buckets of each type first, where that lowers the bound most).
- ``+ L``: the last call still takes one round trip of the per-call latency ``L``.
- ``D * L``: the shortest chain of dependent calls that tells whether one cluster's pods pull —
  list the subscriptions, list their clusters, ``listClusterUserCredential``, list the pods:
  ``D = 4`` round trips, none of which can start before the previous one answered.

The floor does not depend on pullfix's own concurrency, start-up or CPU: those are what
``ratio_to_floor`` measures. On a fleet that ARM's buckets do not bind (a few hundred calls),
the floor is a few round trips and the ratio is large by design.

**ARM calls per cluster** come from two sweeps of the same fleet shape: the measured one, and a
healthy-only one (``failing=0``). ``arm_calls_per_healthy`` is the healthy sweep's ARM calls over
its clusters, its fleet-wide lists (subscription-level and above, reported apart) amortised over
the measured fleet's clusters — the same as calls / clusters when the two fleets have the same
size; a smaller healthy fleet (``--baseline-spec``) then still amortises its lists as the
measured one would. ``arm_calls_per_failing`` is what the measured sweep made beyond that for
its healthy clusters, over its failing ones: ``(calls - per_healthy * healthy) / failing``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# list the subscriptions -> list the clusters -> listClusterUserCredential -> list the pods
CRITICAL_PATH_CALLS = 4
KINDS = ("reads", "writes", "deletes")
WHERE = ("sub", "tenant", "scope")


@dataclass(frozen=True)
class RouteKind:
    service: str  # "arm", "k8s", "acr", "graph", "entra", "mi", "public", "control"
    bucket: str  # the ARM bucket a request takes its token from: reads, writes or deletes


def bucket_kind(method: str, route_write: bool) -> str:
    """The operation type ARM throttles a request as: the twin's own rule (by HTTP method);
    a twin without ``simulator.core.throttling`` counted its routes' write flag."""
    try:
        from simulator.core.throttling import kind_of
    except ImportError:
        return "writes" if route_write else "reads"
    return str(kind_of(method))


def route_table() -> dict[str, RouteKind]:
    """Every route the simulator serves, as its stats label, with its service and bucket."""
    from simulator.core.routing import ROUTER
    from simulator.scenario import load_providers

    load_providers()
    return {f"{r.method} {r.template}": RouteKind(r.service, bucket_kind(r.method, r.write))
            for r in ROUTER.routes}


@dataclass(frozen=True)
class Counts:
    """A sweep's requests, classified."""

    # (where, kind) -> ARM calls; where: "sub" (/subscriptions/{sub}/...), "tenant" (above
    # any subscription: GET /subscriptions), "scope" (/{scope:path}/...: not in the stats)
    arm_buckets: dict[tuple[str, str], int]
    fleet_wide: int  # ARM lists at subscription level or above (amortised over the clusters)
    by_service: dict[str, int]
    arm_by_route: dict[str, int]

    def calls(self, where: str, kind: str) -> int:
        return self.arm_buckets.get((where, kind), 0)

    def of_kind(self, kind: str) -> int:
        return sum(self.calls(w, kind) for w in WHERE)

    @property
    def arm(self) -> int:
        return sum(self.arm_buckets.values())


def counts_of(*, by_service: dict[str, int] | None = None, fleet_wide: int = 0,
              **calls: int) -> Counts:
    """``Counts`` from keyword calls such as ``sub_reads=10, scope_writes=2`` (tests, tools)."""
    buckets = {}
    for name, n in calls.items():
        where, kind = name.split("_", 1)
        if where not in WHERE or kind not in KINDS:
            raise ValueError(f"'{name}' is not WHERE_KIND ({', '.join(WHERE)} x {', '.join(KINDS)})")
        buckets[(where, kind)] = n
    total = sum(buckets.values())
    return Counts(arm_buckets=buckets, fleet_wide=fleet_wide,
                  by_service=by_service if by_service is not None else {"arm": total},
                  arm_by_route={})


def _is_fleet_wide(template: str) -> bool:
    """A list at subscription level or above (``GET /subscriptions``,
    ``/subscriptions/{sub}/providers/X/Y``): not about one cluster."""
    parts = [p for p in template.split("/") if p]
    if not parts or parts[0] != "subscriptions":
        return False
    return "resourceGroups" not in parts and len(parts) <= 5


def classify(stats: Mapping[str, int], routes: Mapping[str, RouteKind]) -> Counts:
    """Sort a stats document's routes into services and ARM buckets. Keys that are not routes
    (the simulator's count of 429s) are left out."""
    by_service: dict[str, int] = {}
    arm_by_route: dict[str, int] = {}
    buckets: dict[tuple[str, str], int] = {}
    fleet_wide = 0
    for label, n in stats.items():
        kind = routes.get(label)
        if kind is None or not isinstance(n, int):
            continue
        by_service[kind.service] = by_service.get(kind.service, 0) + n
        if kind.service != "arm":
            continue
        arm_by_route[label] = n
        template = label.split(" ", 1)[1]
        where = ("sub" if template.startswith("/subscriptions/{") else
                 "scope" if template.startswith("/{scope") else "tenant")
        buckets[(where, kind.bucket)] = buckets.get((where, kind.bucket), 0) + n
        if _is_fleet_wide(template) and kind.bucket == "reads":
            fleet_wide += n
    return Counts(arm_buckets=buckets, fleet_wide=fleet_wide, by_service=by_service,
                  arm_by_route=arm_by_route)


def bucket_seconds(calls: float, burst: float, rate: float) -> float:
    """How long after its first call a full token bucket serves its ``calls``-th."""
    return max(0.0, calls - burst) / rate


def _kind_floor(*, sub: int, tenant: int, scope: int, subscriptions: int, burst: float,
                rate: float) -> float:
    """The smallest busiest-bucket time over every way the ``scope`` calls may have been
    split between the tenant bucket and the subscriptions' buckets."""
    best = math.inf
    step = max(1, scope // 2000)
    for k in [*range(0, scope + 1, step), scope]:
        t = max(bucket_seconds((sub + k) / subscriptions, burst, rate),
                bucket_seconds(tenant + scope - k, burst, rate))
        best = min(best, t)
        if t == 0:
            break
    return best if scope or sub or tenant else 0.0


def throttle_seconds(counts: Counts, *, subscriptions: int, throttling: Mapping[str, Any],
                     throttled: int = 0, speedup: float = 1.0) -> dict[str, float]:
    """``T_buckets`` per bucket type (``reads``, ``writes``, ``deletes`` when modelled, and
    ``global_*`` when the twin has global buckets). ``throttled``: calls answered 429 (no token
    taken), removed from every type's count."""
    out: dict[str, float] = {}
    subscriptions = max(1, subscriptions)
    for kind in KINDS:
        if f"{kind}_burst" not in throttling:
            continue  # a twin without this bucket type
        sub, tenant, scope = (counts.calls(w, kind) for w in WHERE)
        # which calls were refused is not in the stats: the 429s come off the subscriptions'
        # buckets first (where they lower the bound most), then the uncertain ones
        sub_n = max(0, sub - throttled)
        left = max(0, throttled - sub)
        scope_n = max(0, scope - left)
        tenant_n = max(0, tenant - max(0, left - scope))
        burst = float(throttling[f"{kind}_burst"])
        rate = float(throttling[f"{kind}_per_second"]) * speedup
        out[kind] = _kind_floor(sub=sub_n, tenant=tenant_n, scope=scope_n,
                                subscriptions=subscriptions, burst=burst, rate=rate)
        factor = throttling.get("global_factor")
        if factor:
            # per subscription, every principal's calls: pullfix's subscription calls only
            out[f"global_{kind}"] = bucket_seconds(sub_n / subscriptions, burst * float(factor),
                                                   rate * float(factor))
    return out


def floor_seconds(buckets: Mapping[str, float], *, latency_s: float, clusters: int) -> float:
    """``max(T_buckets + L, D * L)``: see the module docstring."""
    t = max(buckets.values(), default=0.0)
    path = CRITICAL_PATH_CALLS * latency_s if clusters else latency_s
    return max(t + latency_s, path)


def per_cluster(measured: Counts, baseline: Counts, *, clusters: int, failing: int,
                baseline_clusters: int) -> tuple[float, float | None]:
    """``(arm_calls_per_healthy, arm_calls_per_failing)`` from the measured sweep and a
    healthy-only sweep of the same shape (see the module docstring); ``None`` per failing
    cluster when none failed."""
    per_healthy = ((baseline.arm - baseline.fleet_wide) / max(1, baseline_clusters)
                   + baseline.fleet_wide / max(1, clusters))
    if not failing:
        return per_healthy, None
    extra = measured.arm - per_healthy * (clusters - failing)
    return per_healthy, extra / failing
